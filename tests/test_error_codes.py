"""The error-code enums agree with the shipped IDL and with the framework tables."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest

from keeper.core.error_codes import APPENDED_AFTER_DRIFT, AnchorError, DriftError, SplTokenError
from keeper.core.errors import ANCHOR_MESSAGES, EXPLANATIONS, SPL_TOKEN_MESSAGES
from keeper.core.profile import DRIFT_MAINNET, VELOCITY
from keeper.program.idl import load_idl


def _idl_errors(file: str = "idl/drift.json") -> dict[int, str]:
    doc = json.loads(files("keeper.data").joinpath(file).read_text())
    return {e["code"]: e["name"] for e in doc["errors"]}


@pytest.mark.parametrize("member", list(DriftError), ids=lambda m: m.name)
def test_drift_errors_are_named_and_numbered_as_the_idl(member: DriftError) -> None:
    if member in APPENDED_AFTER_DRIFT:
        # A fork's own code: Drift's IDL ends before it (its numbers are not Drift's).
        assert member.value not in _idl_errors()
    else:
        assert _idl_errors().get(member.value) == member.name


@pytest.mark.skipif(not VELOCITY.idl_path.is_file(), reason="Velocity IDL not present")
@pytest.mark.parametrize("member", list(DriftError), ids=lambda m: m.name)
def test_velocity_idl_names_and_numbers_every_code_as_the_enum(member: DriftError) -> None:
    """Velocity keeps Drift's numbering through 6349 and appends its own codes."""
    assert _idl_errors("idl/velocity.json").get(member.value) == member.name


def test_appended_codes_follow_drifts_last_error() -> None:
    assert all(m.value > max(_idl_errors()) for m in APPENDED_AFTER_DRIFT)


def test_error_table_names_every_enum_member_as_the_enum_does() -> None:
    table = load_idl(DRIFT_MAINNET.idl_path).errors
    for member in set(DriftError) - APPENDED_AFTER_DRIFT:
        assert table.lookup(member).name == member.name
    for anchor in AnchorError:
        info = table.lookup(anchor)
        assert (info.code, info.name, info.message) == (anchor, anchor.name, ANCHOR_MESSAGES[anchor])
    for token in SplTokenError:
        info = table.spl_token(token)
        assert (info.code, info.name) == (token, f"SplToken.{token.name}")
        assert info.message == SPL_TOKEN_MESSAGES[token]


def test_framework_tables_cover_exactly_their_enums() -> None:
    assert set(ANCHOR_MESSAGES) == set(AnchorError)
    assert set(SPL_TOKEN_MESSAGES) == set(SplTokenError)
    assert all(isinstance(code, DriftError | AnchorError) for code in EXPLANATIONS)


def test_codes_do_not_collide_across_the_program_and_anchor() -> None:
    assert not {int(m) for m in DriftError} & {int(m) for m in AnchorError}
