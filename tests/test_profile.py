"""Profiles: defaults, file loading and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from keeper.core.errors import ConfigError
from keeper.core.profile import (
    DRIFT_MAINNET,
    DRIFT_V2_84,
    BorrowRateCurve,
    get_profile,
    load_profile_file,
    profile_from_mapping,
)
from keeper.program.idl import load_idl

CONFIG = Path(__file__).resolve().parent.parent / "config"


def test_defaults_encode_the_version_rules() -> None:
    assert DRIFT_MAINNET.withdraw_utilization_limit == 900_000
    assert DRIFT_V2_84.withdraw_utilization_limit == 800_000
    assert DRIFT_V2_84.borrow_rate_curve is BorrowRateCurve.LINEAR
    assert DRIFT_MAINNET.max_apr_for(15) == 45_454
    assert DRIFT_MAINNET.max_apr_for(0) == 10_000_000
    assert DRIFT_V2_84.max_apr_for(15) == 10_000_000
    assert get_profile("drift-v2.84") is DRIFT_V2_84


def test_example_configs_load() -> None:
    for path in sorted(CONFIG.glob("profile-*.toml")):
        prof = load_profile_file(path)
        assert load_idl(prof.idl_path).instruction("addInsuranceFundStake")


def test_fork_program_id_and_overrides(tmp_path: Path) -> None:
    fork = Pubkey.new_unique()
    prof = profile_from_mapping(
        {"base": "drift-v2.84", "program_id": str(fork), "withdraw_utilization_limit": 850_000}
    )
    assert prof.program_id == fork
    assert prof.withdraw_utilization_limit == 850_000
    assert prof.borrow_rate_curve is BorrowRateCurve.LINEAR


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"base": "nope"}, "unknown program profile 'nope'"),
        ({"program_id": "not-a-key"}, "not a valid base58 public key"),
        ({"withdraw_utilization_limit": 1.5}, "integer in"),
        ({"withdraw_utilization_limit": 2_000_000}, "integer in"),
        ({"borrow_rate_curve": "cubic"}, "borrow_rate_curve must be one of"),
        ({"idl_path": "/nonexistent/drift.json"}, "no such file"),
        ({"colour": "red"}, "unknown keys"),
        ({"init_user_stats_authority_signs": "yes"}, "true or false"),
    ],
)
def test_bad_profile_values_are_rejected(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        profile_from_mapping(table)


def test_bad_profile_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[profile\nbase=")
    with pytest.raises(ConfigError, match="is not valid"):
        load_profile_file(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_profile_file(tmp_path / "missing.toml")


def test_idl_errors_and_bad_idl(tmp_path: Path) -> None:
    idl = load_idl(DRIFT_MAINNET.idl_path)
    info = idl.errors.lookup(6133)
    assert info.name == "TryingToRemoveLiquidityTooFast"
    assert "cooldown" in info.describe()
    assert idl.errors.lookup(3006).name == "AccountNotMutable"
    frozen = idl.errors.lookup(101).describe()
    assert "InstructionFallbackNotFound" in frozen and "v2.162" in frozen
    assert idl.errors.spl_token(1).name == "SplToken.InsufficientFunds"
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    with pytest.raises(ConfigError, match="not a legacy-format Anchor IDL"):
        load_idl(broken)


def test_velocity_rule_flags_differ_from_drift_where_its_source_does() -> None:
    from keeper.core.profile import VELOCITY, ImplicitSettle, SettleCapBase, SettleModel

    for drift in (DRIFT_MAINNET, DRIFT_V2_84):
        assert not drift.nav_includes_receivable and not drift.add_whole_shares
        assert drift.implicit_settle is ImplicitSettle.ADD_WHEN_DUE
        assert drift.settle_model is SettleModel.TRANSFER
        assert drift.settle_cap_base is SettleCapBase.VAULT
        assert drift.cancel_rejects_rebased_to_zero and not drift.cancel_sole_staker_guard
        assert not drift.remove_cash_check and not drift.remove_records_outflow
        assert not drift.settle_checks_market_withdraw_pause
    assert VELOCITY.nav_includes_receivable and VELOCITY.add_whole_shares
    assert VELOCITY.implicit_settle is ImplicitSettle.BOOK_THEN_RELEASE
    assert VELOCITY.settle_model is SettleModel.BOOK_RECEIVABLE
    assert VELOCITY.settle_cap_base is SettleCapBase.MIN_NAV_AND_LAST_SETTLE
    assert VELOCITY.settle_checks_market_withdraw_pause
    assert VELOCITY.cancel_sole_staker_guard and not VELOCITY.cancel_rejects_rebased_to_zero
    assert VELOCITY.remove_cash_check and VELOCITY.remove_records_outflow
    # one cap for every market, the quote market's stake alone mirrored, no fuel
    assert VELOCITY.max_apr_for(15) == VELOCITY.max_apr_for(0) == 10_000_000
    assert VELOCITY.user_stats_snapshot_markets == (0,)
    assert not VELOCITY.user_stats_if_fuel
