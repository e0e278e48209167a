"""The error-site table (keeper.core.error_sites) against the golden traces and itself."""

from __future__ import annotations

import pytest

from keeper.core import error_sites
from keeper.core.account_structs import structs
from keeper.core.error_sites import Form
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84, ProgramProfile
from keeper.program.goldentrace import InstructionStep, Trace
from keeper.program.idl import load_idl

PROFILES = (DRIFT_V2_84, DRIFT_MAINNET)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_validate_entry_cites_a_source_line(profile: ProgramProfile) -> None:
    for name, entries in error_sites.table(profile).items():
        for entry in entries:
            if entry.form is Form.VALIDATE:
                site = error_sites.source_site(profile, entry)
                assert site is not None and site.startswith("programs/drift/src/"), (name, entry)
                assert int(site.rsplit(":", 1)[1]) > 0


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_instruction_has_a_table_and_the_codes_are_known(profile: ProgramProfile) -> None:
    errors = load_idl(profile.idl_path).errors
    table = error_sites.table(profile)
    assert set(table) == set(structs(profile))
    for name, entries in table.items():
        assert entries, name
        for entry in entries:
            if entry.form in (Form.VALIDATE, Form.PLAIN, Form.ARITHMETIC, Form.ANCHOR):
                assert not errors.lookup(entry.code).name.startswith("Unknown"), (name, entry)


def _check_sites(traces: list[Trace]) -> int:
    """Every `Error … thrown at` line of these traces is the table's site; how many were seen."""
    seen = 0
    for trace in traces:
        for step in trace.steps:
            if not isinstance(step, InstructionStep) or step.result.ok:
                continue
            lines = [x for x in step.result.error_logs if " thrown at " in x]
            entry = error_sites.find(DRIFT_V2_84, step.instruction, step.result.code or 0)
            if not lines:
                assert entry is None or entry.form is not Form.VALIDATE or entry.key, step.note
                continue
            site = lines[0].rsplit(" thrown at ", 1)[1]
            keyed = [
                e
                for e in error_sites.table(DRIFT_V2_84)[step.instruction]
                if e.code == step.result.code and error_sites.source_site(DRIFT_V2_84, e) == site
            ]
            assert keyed, f"{trace.name} step {step.index}: {site} not in the table"
            seen += 1
    return seen


def test_every_traced_site_is_the_tables(traces: list[Trace]) -> None:
    """Over every trace in DRIFT_IF_TRACE_DIR: the real program's sites are the table's."""
    _check_sites(traces)


def test_the_shipped_traces_cover_many_sites(bundled_traces: list[Trace]) -> None:
    """The shipped v2.84 traces log at least ten sites, and each is the table's."""
    assert _check_sites(bundled_traces) >= 10


def test_anchor_entries_follow_the_struct_field_order() -> None:
    entries = error_sites.table(DRIFT_V2_84)["addInsuranceFundStake"]
    anchor = [(e.code, e.account) for e in entries if e.form is Form.ANCHOR]
    # deserialization of every field first (state … tokenProgram), then constraints
    assert anchor[0] == (3012, "state")
    first_constraint = next(i for i, (c, _) in enumerate(anchor) if c < 3000)
    assert anchor[first_constraint] == (2006, "spotMarket")
    roles = [a for c, a in anchor[first_constraint:]]
    assert roles.index("insuranceFundStake") < roles.index("spotMarketVault")
