"""Shared fixtures: the profile of the traces' build, its IDL, codec and builders."""

from __future__ import annotations

import pytest

from keeper.core.profile import DRIFT_V2_84, ProgramProfile
from keeper.program.codec import AccountCodec
from keeper.program.goldentrace import BUNDLED_TRACE_DIR, Trace, load_all, load_trace, trace_paths
from keeper.program.idl import DriftIdl, load_idl
from keeper.program.instructions import DriftInstructions


def pytest_report_header(config: pytest.Config) -> str:
    paths = trace_paths()
    return f"golden traces: {len(paths)} file(s) in {paths[0].parent}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`trace` parametrizes a test over every trace file, one test id per file."""
    if "trace" in metafunc.fixturenames:
        paths = trace_paths()
        metafunc.parametrize("trace", [load_trace(p) for p in paths], ids=[p.stem for p in paths])


@pytest.fixture(scope="session")
def traces() -> list[Trace]:
    """Every trace in DRIFT_IF_TRACE_DIR (default: the shipped copy): for tests over all traces."""
    return load_all()


@pytest.fixture(scope="session")
def bundled_traces() -> list[Trace]:
    """The shipped public traces: for tests that need a particular account or scenario."""
    return load_all(BUNDLED_TRACE_DIR)


@pytest.fixture(scope="session")
def trace_profile() -> ProgramProfile:
    return DRIFT_V2_84


@pytest.fixture(scope="session")
def idl(trace_profile: ProgramProfile) -> DriftIdl:
    return load_idl(trace_profile.idl_path)


@pytest.fixture(scope="session")
def codec(idl: DriftIdl, trace_profile: ProgramProfile) -> AccountCodec:
    return AccountCodec(idl, trace_profile.program_id)


@pytest.fixture(scope="session")
def builders(idl: DriftIdl, trace_profile: ProgramProfile) -> DriftInstructions:
    return DriftInstructions(trace_profile, idl)
