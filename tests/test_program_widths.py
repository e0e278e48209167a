"""The mirror fails where the program's fixed-width integers fail, with the program's code.

Every expectation here comes from reading protocol-v2 at v2.84.0 (paths under
programs/drift/src/); each test names the site. `safe_*` on a fixed width fails with
MathError (6019), `cast()` with CastingFailure (6041).
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mirror_factories import (
    ALICE,
    accounts,
    depositors_claim_amount,
    fund,
    key,
    market,
    market_with_pool,
    stake,
    user_stats,
)

from keeper.core import ifmath
from keeper.core.addresses import DriftAddresses
from keeper.core.constraints import Meta, check_accounts
from keeper.core.effects import IfAccounts, predict
from keeper.core.error_codes import DriftError
from keeper.core.ifmath import (
    I64_MAX,
    U64_MAX,
    U128_MAX,
    Rejected,
)
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84, ProgramProfile
from keeper.core.views import SpotMarket

NOW = 1_700_000_000 // 3600 * 3600
PROFILES = pytest.mark.parametrize("profile", [DRIFT_V2_84, DRIFT_MAINNET], ids=["v2.84", "v2.161"])


def _code(instruction: str, acc: IfAccounts, args: dict[str, int], profile: ProgramProfile) -> int:
    with pytest.raises(Rejected) as info:
        predict(instruction, acc, args, NOW, profile)
    return info.value.code


# -- the u128 proportion helper ----------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, U64_MAX),
    st.integers(0, U128_MAX),
    st.integers(1, U128_MAX),
)
def test_proportion_is_the_floor_or_the_programs_error(value: int, num: int, den: int) -> None:
    """math/helpers.rs get_proportion_u128: always floor(v·n/d) when it succeeds; it fails
    only with 6041 (a u128 or i128 cast) — its u128 and U192 products cannot overflow for a
    u64 value."""
    try:
        got = ifmath.proportion_u128(value, num, den)
    except Rejected as exc:
        assert exc.code == DriftError.CastingFailure
        return
    assert got == value * num // den


def test_share_value_fails_its_i128_cast_near_u64_max() -> None:
    """math/insurance.rs if_shares_to_vault_amount → get_proportion_u128, branch
    `numerator > denominator / 2 && denominator > numerator`: vault × (total − shares) is
    cast to i128, which fails (6041) for a vault near u64::MAX. Reached here through
    instructions/keeper.rs handle_update_user_quote_asset_insurance_stake."""
    n = 2**64 - 2
    f = fund(total_shares=2 * n - 1, user_shares=2 * n - 1)
    acc = accounts(market(f), 2**64 - 2, the_stake=stake(if_shares=n))
    for profile in (DRIFT_V2_84, DRIFT_MAINNET):
        assert _code("updateUserQuoteAssetInsuranceStake", acc, {}, profile) == DriftError.CastingFailure


def test_request_over_huge_share_totals_fails_the_u128_cast() -> None:
    """math/insurance.rs vault_amount_to_if_shares → get_proportion_u128's U192 branch
    (total ≥ u64::MAX): amount × total ÷ vault is cast to u128 (6041). First arithmetic of
    instructions/if_staker.rs handle_request_remove_insurance_fund_stake."""
    f = fund(total_shares=2**127, user_shares=2**127)
    acc = accounts(market(f), 1, the_stake=stake(if_shares=2**127))
    code = _code(
        "requestRemoveInsuranceFundStake", acc, {"marketIndex": 0, "amount": 4}, DRIFT_V2_84
    )
    assert code == DriftError.CastingFailure


# -- settle ------------------------------------------------------------------------------


def _settle_market(pool: int, **fund_over: int) -> SpotMarket:
    return market_with_pool(pool, fund(last_revenue_settle_ts=NOW - 3600, **fund_over))


@PROFILES
def test_protocol_cut_overflows_u64(profile: ProgramProfile) -> None:
    """controller/insurance.rs settle_revenue_to_insurance_fund: the protocol's cut is
    `insurance_fund_token_amount.safe_mul(protocol_if_factor)` in u64 — 10^15 × 50_000
    overflows (MathError), though both fit u64 and the amount fits i64."""
    m = _settle_market(10**15)  # no user shares: no 10% or APR cap, the whole pool settles
    acc = accounts(m, 10**9)
    assert _code("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, profile) == DriftError.MathError


@PROFILES
def test_add_fails_when_its_settle_overflows(profile: ProgramProfile) -> None:
    """instructions/if_staker.rs handle_add_insurance_fund_stake settles first
    (attempt_settle_revenue_to_insurance_fund) and propagates the settle's MathError."""
    acc = accounts(_settle_market(10**15), 10**9)
    args = {"marketIndex": 0, "amount": 1_000_000}
    assert _code("addInsuranceFundStake", acc, args, profile) == DriftError.MathError


@PROFILES
def test_minting_past_u128_share_total(profile: ProgramProfile) -> None:
    """controller/insurance.rs settle_revenue_to_insurance_fund:
    `total_shares.safe_add(n_shares)` is u128 — a 1-unit vault with 2^127 + 1 shares mints
    as many again for a 1-unit cut (MathError)."""
    m = _settle_market(2, total_shares=2**127 + 1, user_shares=0)
    acc = accounts(m, 1)
    assert _code("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, profile) == DriftError.MathError


@PROFILES
def test_one_unit_vault_caps_settle_to_nothing(profile: ProgramProfile) -> None:
    """controller/insurance.rs settle_revenue_to_insurance_fund: with user shares, the APR cap
    is vault × 1000% ÷ settles per year — 0 for a 1-unit vault — so an explicit settle
    fails with NoRevenueToSettleToIF (6177)."""
    m = _settle_market(10**6, total_shares=10, user_shares=10)
    acc = accounts(m, 1)
    assert _code("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, profile) == 6177


def _shortfall_settle() -> IfAccounts:
    """A settle whose floored pool debit leaves the spot vault below the depositors' claim.

    Searched deterministically: an uneven deposit index makes `amount × p ÷ index` lose a
    fraction, so deposits fall by less than the `amount` that leaves the vault.
    """
    for extra in range(1, 2000):
        f = fund(total_shares=10**12, user_shares=10**12, last_revenue_settle_ts=NOW - 3600)
        m = market(
            f,
            cumulative_deposit_interest=10_000_000_007,
            revenue_pool_scaled_balance=10**9 + extra * 7919,
            deposit_balance=10**15 + extra * 104_729,
            last_interest_ts=NOW,
            last_twap_ts=NOW,
        )
        acc = accounts(m, 10**12)  # the spot vault holds exactly the claim
        amount = ifmath.settle_amount(
            ifmath.revenue_pool_amount(m),
            depositors_claim_amount(m),
            f.user_shares,
            10**12,
            DRIFT_V2_84.max_apr_for(0),
            3600,
        )
        debit = amount * ifmath.balance_precision(6) // m.cumulative_deposit_interest
        after = dataclasses.replace(m, deposit_balance=m.deposit_balance - debit)
        assert acc.spot_vault is not None
        if acc.spot_vault.amount - amount < depositors_claim_amount(after):
            return acc
    raise AssertionError("no shortfall found")


@PROFILES
def test_settle_rechecks_the_spot_vault_after_the_transfer(profile: ProgramProfile) -> None:
    """instructions/keeper.rs handle_settle_revenue_to_insurance_fund: after
    send_from_program_vault it reloads the spot vault and runs
    math/spot_withdraw.rs validate_spot_market_vault_amount again; the debit in
    controller/spot_balance.rs update_spot_balances floors, so the vault can end a unit
    short of the claim (SpotMarketVaultInvariantViolated 6173)."""
    acc = _shortfall_settle()
    code = _code("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, profile)
    assert code == DriftError.SpotMarketVaultInvariantViolated
    assert acc.spot_vault is not None
    roomy = dataclasses.replace(
        acc, spot_vault=dataclasses.replace(acc.spot_vault, amount=acc.spot_vault.amount + 3)
    )
    predict("settleRevenueToInsuranceFund", roomy, {"spotMarketIndex": 0}, NOW, profile)


@PROFILES
def test_settle_checks_the_pause_before_the_market_index(profile: ProgramProfile) -> None:
    """instructions/keeper.rs: `#[access_control(withdraw_not_paused)]` runs before the
    handler's `spot_market_index == spot_market.market_index` check (ExchangePaused 6024,
    not InvalidSpotMarketAccount 6088)."""
    acc = accounts(_settle_market(10**6), 10**9)
    assert acc.state is not None
    paused = dataclasses.replace(acc, state=dataclasses.replace(acc.state, exchange_status=0x02))
    assert _code("settleRevenueToInsuranceFund", paused, {"spotMarketIndex": 3}, profile) == 6024
    assert _code("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 3}, profile) == 6088


# -- add -----------------------------------------------------------------------------------


@PROFILES
def test_add_above_i64_max_is_a_casting_failure(profile: ProgramProfile) -> None:
    """controller/insurance.rs add_insurance_fund_stake: the cost basis is i64 and takes
    `amount.cast()?` (6041) for an amount above i64::MAX, whether or not the stake is
    empty; the u64 amount itself is valid."""
    m = market_with_pool(0, fund(last_revenue_settle_ts=NOW))
    acc = accounts(m, 0, wallet_amount=U64_MAX)
    for amount in (I64_MAX + 1, U64_MAX):
        args = {"marketIndex": 0, "amount": amount}
        assert _code("addInsuranceFundStake", acc, args, profile) == DriftError.CastingFailure
    held = accounts(
        market_with_pool(0, fund(total_shares=10, user_shares=10, last_revenue_settle_ts=NOW)),
        10,
        the_stake=stake(if_shares=10, cost_basis=10),
        wallet_amount=U64_MAX,
    )
    args = {"marketIndex": 0, "amount": I64_MAX + 1}
    assert _code("addInsuranceFundStake", held, args, profile) == DriftError.CastingFailure
    predict("addInsuranceFundStake", acc, {"marketIndex": 0, "amount": I64_MAX}, NOW, profile)


@PROFILES
def test_add_checks_the_spot_vault_without_a_settle(profile: ProgramProfile) -> None:
    """instructions/if_staker.rs handle_add_insurance_fund_stake: after the (here skipped:
    not a settle time) attempt_settle it always runs validate_spot_market_vault_amount on
    the reloaded spot vault — one unit short of the claim fails with 6173."""
    m = market_with_pool(10**6, fund(last_revenue_settle_ts=NOW))
    short = accounts(m, 0, spot_vault_amount=depositors_claim_amount(m) - 1)
    args = {"marketIndex": 0, "amount": 10}
    code = _code("addInsuranceFundStake", short, args, profile)
    assert code == DriftError.SpotMarketVaultInvariantViolated
    predict("addInsuranceFundStake", accounts(m, 0), args, NOW, profile)


# -- remove ----------------------------------------------------------------------------------


@PROFILES
def test_remove_cost_basis_underflows_i64(profile: ProgramProfile) -> None:
    """controller/insurance.rs remove_insurance_fund_stake:
    `cost_basis.safe_sub(withdraw_amount.cast()?)` is i64 (MathError below i64::MIN)."""
    f = fund(total_shares=1000, user_shares=1000, unstaking_period_seconds=0)
    requester = stake(
        if_shares=1000,
        cost_basis=-(2**63) + 5,
        last_withdraw_request_shares=100,
        last_withdraw_request_value=100,
        last_withdraw_request_ts=NOW - 10,
    )
    acc = accounts(market(f), 1000, the_stake=requester)
    assert _code("removeInsuranceFundStake", acc, {"marketIndex": 0}, profile) == DriftError.MathError


@PROFILES
def test_remove_utilization_is_cast_before_the_gate(profile: ProgramProfile) -> None:
    """state/spot_market.rs is_healthy_utilization: `get_utilization()?.cast::<u64>()` runs
    before the TWAP comparison, so borrows of 2^64 over 1 deposited unit fail with 6041
    even though the TWAP alone would refuse (6092)."""
    f = fund(total_shares=1000, user_shares=1000, unstaking_period_seconds=0)
    m = market(f, deposit_balance=1000, borrow_balance=2**64 * 1000, utilization_twap=10**6)
    requester = stake(if_shares=1000, last_withdraw_request_shares=1, last_withdraw_request_value=1)
    acc = accounts(m, 1000, the_stake=requester)
    assert _code("removeInsuranceFundStake", acc, {"marketIndex": 0}, profile) == DriftError.CastingFailure


@PROFILES
def test_one_unit_vault_request_is_frozen_at_zero(profile: ProgramProfile) -> None:
    """controller/insurance.rs request_remove_insurance_fund_stake caps the value at
    `vault.saturating_sub(1)`: the sole share of a 1-unit vault requests 0 tokens, and
    remove then pays 0 and leaves the unit (instructions/if_staker.rs: vault > 0, 6192)."""
    f = fund(total_shares=1, user_shares=1, unstaking_period_seconds=0)
    acc = accounts(market(f), 1, the_stake=stake(if_shares=1))
    req = predict(
        "requestRemoveInsuranceFundStake", acc, {"marketIndex": 0, "amount": 1}, NOW, profile
    )
    assert req.stake is not None and req.stake.last_withdraw_request_value == 0
    assert req.stake.last_withdraw_request_shares == 1
    removed = predict(
        "removeInsuranceFundStake",
        dataclasses.replace(acc, stake=req.stake),
        {"marketIndex": 0},
        NOW,
        profile,
    )
    assert [t.amount for t in removed.transfers] == [0]


# -- revenue-pool deposit -----------------------------------------------------------------------


@PROFILES
def test_revenue_deposit_past_i64_is_a_casting_failure(profile: ProgramProfile) -> None:
    """instructions/user.rs handle_deposit_into_spot_market_revenue_pool ends with
    math/spot_withdraw.rs validate_spot_market_vault_amount, whose validate_spot_balances
    casts the deposit total to i64 (6041) — a deposit taking it past i64::MAX fails."""
    claim = I64_MAX - 10
    m = market(fund(), deposit_balance=claim * 1000)
    acc = accounts(m, 0, spot_vault_amount=claim)
    args = {"amount": 100}
    assert _code("depositIntoSpotMarketRevenuePool", acc, args, profile) == DriftError.CastingFailure
    predict("depositIntoSpotMarketRevenuePool", acc, {"amount": 10}, NOW, profile)


# -- UserStats and the quote-stake update across builds ------------------------------------------


def test_v2_84_quote_stake_update_needs_the_authority() -> None:
    """v2.84 instructions/keeper.rs UpdateUserQuoteAssetInsuranceStake: `has_one = authority`
    on the stake (ConstraintHasOne 2001) with `authority: Signer`; v2.161 takes any `signer`
    (constraint is_stats_for_if_stake only)."""
    addresses = DriftAddresses(DRIFT_V2_84.program_id)
    f = fund(total_shares=100, user_shares=100)
    acc = accounts(market(f), 100, the_stake=stake(if_shares=100))
    stranger = key(99)
    metas = {
        "spotMarket": Meta(addresses.spot_market(0), False, True),
        "insuranceFundStake": Meta(key(6), False, True),
        "userStats": Meta(key(7), False, True),
        "signer": Meta(stranger, True, False),
        "insuranceFundVault": Meta(addresses.insurance_fund_vault(0), False, True),
    }
    with pytest.raises(Rejected) as info:
        check_accounts("updateUserQuoteAssetInsuranceStake", metas, acc, addresses, DRIFT_V2_84)
    assert info.value.code == 2001
    check_accounts("updateUserQuoteAssetInsuranceStake", metas, acc, addresses, DRIFT_MAINNET)
    own = {**metas, "signer": Meta(ALICE, True, False)}
    check_accounts("updateUserQuoteAssetInsuranceStake", own, acc, addresses, DRIFT_V2_84)


def test_v2_84_snapshots_only_the_quote_market() -> None:
    """v2.84 controller/insurance.rs add_insurance_fund_stake updates UserStats only
    `if spot_market.market_index == 0`; v2.161's update_user_stats_if_stake_amount also
    mirrors market 15 into if_staked_gov_token_amount."""
    f = fund(last_revenue_settle_ts=NOW)
    m = market(f, market_index=15)
    acc = dataclasses.replace(
        accounts(m, 0, the_stake=stake(market_index=15)), user_stats=user_stats()
    )
    args = {"marketIndex": 15, "amount": 500}
    old = predict("addInsuranceFundStake", acc, args, NOW, DRIFT_V2_84)
    new = predict("addInsuranceFundStake", acc, args, NOW, DRIFT_MAINNET)
    assert old.user_stats is not None and old.user_stats.if_staked_gov_token_amount == 0
    assert new.user_stats is not None and new.user_stats.if_staked_gov_token_amount == 500
