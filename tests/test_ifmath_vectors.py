"""The spec's worked examples (§8 and §4.6.9) as exact vectors for the IF mirror."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from mirror_factories import (
    IF_VAULT,
    SPOT_VAULT,
    accounts,
    depositors_claim_amount,
    fund,
    fund_shares,
    market,
    market_with_pool,
    replace_fund,
    stake,
    token_amounts_after,
)

from keeper.core import ifmath
from keeper.core.effects import IfAccounts, predict, settle_revenue
from keeper.core.ifmath import Rejected
from keeper.core.interest import borrow_rate, update_interest
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84, BorrowRateCurve, ProgramProfile
from keeper.core.views import SpotMarket

MAX_APR = 10_000_000


def _code(
    instruction: str,
    acc: IfAccounts,
    args: Mapping[str, int],
    now_ts: int,
    profile: ProgramProfile,
) -> int:
    """The program error code `predict` raises (it must raise)."""
    with pytest.raises(Rejected) as info:
        predict(instruction, acc, args, now_ts, profile)
    return info.value.code


# -- §8.1 stake ------------------------------------------------------------------------


def test_v1_v2_v3_first_stakes_and_gain() -> None:
    assert ifmath.amount_to_shares(1000, 0, 0) == 1000  # V1: empty fund mints 1:1
    assert ifmath.amount_to_shares(500, 1000, 1000) == 500  # V2
    assert ifmath.shares_to_amount(1000, 1500, 1800) == 1200  # V3: Alice
    assert ifmath.shares_to_amount(500, 1500, 1800) == 600  # V3: Bob


def test_v4_rounding_against_the_staker() -> None:
    minted = ifmath.amount_to_shares(100, 1500, 1800)
    assert minted == 83
    assert ifmath.shares_to_amount(83, 1583, 1900) == 99


def test_v1_through_effects_sets_cost_basis() -> None:
    m = market(fund())
    acc = accounts(m, 0)
    effect = predict(
        "addInsuranceFundStake", acc, {"marketIndex": 0, "amount": 1000}, 10, DRIFT_MAINNET
    )
    assert effect.stake is not None and effect.market is not None
    assert effect.stake.if_shares == 1000 and effect.stake.cost_basis == 1000
    f = effect.market.insurance_fund
    assert (f.total_shares, f.user_shares) == (1000, 1000)
    assert token_amounts_after(effect, acc)[IF_VAULT] == 1000


def test_v_seed_protocol_owns_tokens_without_shares() -> None:
    seeded = ifmath.rebase_fund(fund_shares(fund(total_shares=0, user_shares=0)), 500)
    assert seeded.total_shares == 500 and seeded.user_shares == 0
    m = market(fund(last_revenue_settle_ts=10))
    effect = predict(
        "addInsuranceFundStake",
        accounts(m, 500),
        {"marketIndex": 0, "amount": 1000},
        11,
        DRIFT_MAINNET,
    )
    assert effect.market is not None
    f = effect.market.insurance_fund
    assert (f.total_shares, f.user_shares) == (1500, 1000)
    assert f.total_shares - f.user_shares == 500  # protocol shares


def test_v_dust_mints_nothing_but_takes_the_token() -> None:
    m = market(fund(total_shares=1583, user_shares=1583, last_revenue_settle_ts=10))
    acc = accounts(m, 1900)
    effect = predict(
        "addInsuranceFundStake", acc, {"marketIndex": 0, "amount": 1}, 11, DRIFT_MAINNET
    )
    assert effect.stake is not None and effect.stake.if_shares == 0
    assert effect.stake.cost_basis == 1
    assert token_amounts_after(effect, acc)[IF_VAULT] == 1901


def test_v_empty_refuses_new_stakes() -> None:
    m = market(fund(total_shares=1, user_shares=0, last_revenue_settle_ts=10))
    code = _code(
        "addInsuranceFundStake", accounts(m, 0), {"marketIndex": 0, "amount": 5}, 11, DRIFT_MAINNET
    )
    assert code == 6188


# -- §8.2 request, remove, cancel ------------------------------------------------------


def test_r1_r2_r3_request_sizes() -> None:
    assert ifmath.amount_to_shares(600, 1583, 1900) == 499
    assert ifmath.request_value(499, 1583, 1900) == 598
    assert ifmath.amount_to_shares(1, 1583, 1900) == 0  # R2 → 6200
    assert ifmath.amount_to_shares(2, 1583, 1900) == 1
    assert ifmath.request_value(1, 1583, 1900) == 1


def test_r_errors_through_effects() -> None:
    m = market(fund(total_shares=1583, user_shares=1583))
    s = stake(if_shares=1000, cost_basis=1000)
    acc = accounts(m, 1900, the_stake=s)
    request = "requestRemoveInsuranceFundStake"
    assert _code(request, acc, {"marketIndex": 0, "amount": 1}, 1000, DRIFT_MAINNET) == 6200
    assert _code(request, acc, {"marketIndex": 0, "amount": 1202}, 1000, DRIFT_MAINNET) == 6145
    r1 = predict(request, acc, {"marketIndex": 0, "amount": 600}, 1000, DRIFT_MAINNET)
    assert r1.stake is not None
    assert (r1.stake.last_withdraw_request_shares, r1.stake.last_withdraw_request_value) == (
        499,
        598,
    )
    assert r1.stake.last_withdraw_request_ts == 1000


def test_v_exact_requests() -> None:
    assert ifmath.amount_to_shares(1200, 1583, 1900) == 999
    assert ifmath.request_value(999, 1583, 1900) == 1199
    assert ifmath.amount_to_shares(1201, 1583, 1900) == 1000
    assert ifmath.request_value(1000, 1583, 1900) == 1200
    assert ifmath.amount_to_shares(1202, 1583, 1900) == 1001


def _requested(vault_amount: int) -> IfAccounts:
    m = market(fund(total_shares=1583, user_shares=1583))
    s = stake(
        if_shares=1000,
        cost_basis=1000,
        last_withdraw_request_shares=499,
        last_withdraw_request_value=598,
        last_withdraw_request_ts=1000,
    )
    return accounts(m, vault_amount, the_stake=s)


def test_m1_too_fast() -> None:
    acc = _requested(1900)
    remove = "removeInsuranceFundStake"
    assert _code(remove, acc, {"marketIndex": 0}, 1000 + 1_123_199, DRIFT_MAINNET) == 6133
    s = stake(last_withdraw_request_ts=1000)
    matures = ifmath.cooldown_matures_ts(s.last_withdraw_request_ts, 1_123_200)
    assert matures == 1_124_200
    assert matures - 1_124_199 == 1


@pytest.mark.parametrize(
    ("vault_amount", "raw_value", "paid", "cost_basis"),
    [(2090, 658, 598, 402), (1520, 479, 479, 521)],
)
def test_m2_m3_remove_gain_and_loss(
    vault_amount: int, raw_value: int, paid: int, cost_basis: int
) -> None:
    assert ifmath.shares_to_amount(499, 1583, vault_amount) == raw_value
    assert ifmath.remove_payout(499, 1583, vault_amount, 598) == paid
    acc = _requested(vault_amount)
    effect = predict("removeInsuranceFundStake", acc, {"marketIndex": 0}, 1_124_200, DRIFT_MAINNET)
    assert effect.stake is not None and effect.market is not None
    f = effect.market.insurance_fund
    assert (f.total_shares, f.user_shares) == (1084, 1084)
    assert token_amounts_after(effect, acc)[IF_VAULT] == vault_amount - paid
    assert effect.stake.if_shares == 501 and effect.stake.cost_basis == cost_basis
    assert effect.stake.last_withdraw_request_shares == 0
    assert effect.stake.last_withdraw_request_value == 0
    assert effect.stake.last_withdraw_request_ts == 1_124_200


def test_c1_cancel_after_gain_burns_the_gain() -> None:
    assert ifmath.cancel_shares_lost(499, 1583, 2090, 598) == 65
    acc = _requested(2090)
    effect = predict(
        "cancelRequestRemoveInsuranceFundStake", acc, {"marketIndex": 0}, 5000, DRIFT_MAINNET
    )
    assert effect.stake is not None and effect.market is not None
    assert effect.stake.if_shares == 935
    assert effect.market.insurance_fund.total_shares == 1518
    assert ifmath.shares_to_amount(935, 1518, 2090) == 1287
    assert effect.stake.last_withdraw_request_ts == 5000


def test_c2_cancel_after_loss_burns_nothing() -> None:
    assert ifmath.cancel_shares_lost(499, 1583, 1520, 598) == 0


def test_last_staker_leaves_one_unit() -> None:
    assert ifmath.request_value(1000, 1000, 1000) == 999
    assert ifmath.remove_payout(1000, 1000, 1000, 999) == 999
    after = ifmath.rebase_fund(fund_shares(fund(total_shares=0, user_shares=0)), 1)
    assert after.total_shares == 1 and after.user_shares == 0


def test_noreq_remove_without_request() -> None:
    m = market(fund(total_shares=1000, user_shares=1000))
    acc = accounts(m, 1000, the_stake=stake(if_shares=1000))
    assert _code("removeInsuranceFundStake", acc, {"marketIndex": 0}, 10**9, DRIFT_MAINNET) == 6185


# -- §8.3 revenue settle ---------------------------------------------------------------


def _settle(pool: int, v: int, t: int, u: int, **over: int) -> tuple[int, int]:
    """(A, protocol shares minted) for a market whose pool reads `pool` (plenty of liquidity)."""
    f = fund(total_shares=t, user_shares=u, **over)
    m = market_with_pool(pool, f)
    amount = ifmath.settle_amount(
        ifmath.revenue_pool_amount(m),
        depositors_claim_amount(m),
        f.user_shares,
        v,
        MAX_APR,
        f.revenue_settle_period_seconds,
    )
    minted = ifmath.protocol_shares_minted(amount, f.total_factor, f.user_factor, t, v)
    return amount, minted


def test_s1_docs_thirty_dollars() -> None:
    assert _settle(300_000_000, 10**12, 10**12, 8 * 10**11) == (30_000_000, 15_000_000)
    t, v = 10**12 + 15_000_000, 10**12 + 30_000_000
    assert ifmath.shares_to_amount(8 * 10**11, t, v) == 800_011_999_820
    assert ifmath.shares_to_amount(2 * 10**11 + 15_000_000, t, v) == 200_018_000_179


def test_s1b_protocol_owns_nothing() -> None:
    assert _settle(300_000_000, 10**12, 10**12, 10**12) == (30_000_000, 15_000_000)
    t, v = 10**12 + 15_000_000, 10**12 + 30_000_000
    assert ifmath.shares_to_amount(10**12, t, v) - 10**12 == 14_999_775
    assert ifmath.shares_to_amount(15_000_000, t, v) == 15_000_224


def test_s2_apr_cap_binds() -> None:
    assert ifmath.settle_apr_cap(10**7, MAX_APR, 3600) == 11_415
    assert _settle(300_000, 10**7, 10**7, 10**7) == (11_415, 5707)


def test_s3_one_tenth_rule() -> None:
    assert _settle(30_000, 10**7, 10**7, 10**7) == (3000, 1500)
    assert ifmath.shares_to_amount(10**7, 10**7 + 1500, 10**7 + 3000) == 10_001_499


def test_s4_no_user_stakers_settles_everything() -> None:
    assert _settle(1000, 5000, 5000, 0) == (1000, 500)
    # No APR cap applies with U == 0: even a zero cap leaves the whole pool.
    assert ifmath.settle_amount(1000, 10**12, 0, 5000, 0, 3600) == 1000


@pytest.mark.parametrize(("user_shares", "amount", "minted"), [(10**7, 5, 2), (0, 50, 25)])
def test_s5_liquidity_rule(user_shares: int, amount: int, minted: int) -> None:
    f = fund(total_shares=10**7, user_shares=user_shares)
    # deposits 1000 tokens (300 of them the pool), borrows 900: depositors' claim 100.
    m = market(
        f,
        revenue_pool_scaled_balance=300_000,
        deposit_balance=1_000_000,
        borrow_balance=900_000,
    )
    assert depositors_claim_amount(m) == 100
    pool = ifmath.revenue_pool_amount(m)
    assert ifmath.settle_amount(pool, 100, 0, 10**7, MAX_APR, 3600) == 50  # liquidity-limited
    a = ifmath.settle_amount(pool, 100, user_shares, 10**7, MAX_APR, 3600)
    assert a == amount
    assert ifmath.protocol_shares_minted(a, f.total_factor, f.user_factor, 10**7, 10**7) == minted


def test_s6_gov_market_cap() -> None:
    assert ifmath.settle_apr_cap(10**12, DRIFT_MAINNET.max_apr_for(15), 3600) == 5_188_812
    assert ifmath.settle_apr_cap(10**12, DRIFT_MAINNET.max_apr_for(0), 3600) == 1_141_552_511
    assert DRIFT_V2_84.max_apr_for(15) == MAX_APR


def test_s7_user_factor_equals_total_mints_nothing() -> None:
    assert _settle(30_000, 10**7, 10**7, 10**7, user_factor=100_000) == (3000, 0)


def test_s8_user_factor_zero_all_protocol() -> None:
    assert _settle(30_000, 10**7, 10**7, 10**7, user_factor=0) == (3000, 3000)
    t, v = 10**7 + 3000, 10**7 + 3000
    assert ifmath.shares_to_amount(10**7, t, v) == 10**7


def test_s_zero_explicit_settle_fails() -> None:
    assert _settle(5, 10**7, 10**7, 10**7)[0] == 0
    m = market_with_pool(5, fund(total_shares=10**7, user_shares=10**7))
    code = _code(
        "settleRevenueToInsuranceFund",
        accounts(m, 10**7),
        {"spotMarketIndex": 0},
        3600,
        DRIFT_MAINNET,
    )
    assert code == 6177


def test_settle_through_effects_moves_a_and_debits_pool() -> None:
    m = market_with_pool(30_000, fund(total_shares=10**7, user_shares=10**7))
    acc = accounts(m, 10**7)
    effect = predict(
        "settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, 3600, DRIFT_MAINNET
    )
    assert effect.market is not None and acc.spot_vault is not None
    after = token_amounts_after(effect, acc)
    assert after[IF_VAULT] == 10**7 + 3000
    assert after[SPOT_VAULT] == acc.spot_vault.amount - 3000
    assert ifmath.revenue_pool_amount(effect.market) == 27_000
    assert effect.market.insurance_fund.last_revenue_settle_ts == 3600
    assert effect.market.insurance_fund.total_shares == 10**7 + 1500


def test_settle_whole_pool_zeroes_it() -> None:
    m = market_with_pool(1000, fund(total_shares=5000, user_shares=0))
    effect = predict(
        "settleRevenueToInsuranceFund",
        accounts(m, 5000),
        {"spotMarketIndex": 0},
        3600,
        DRIFT_MAINNET,
    )
    assert effect.market is not None
    assert effect.market.revenue_pool_scaled_balance == 0
    assert effect.market.deposit_balance == m.deposit_balance - m.revenue_pool_scaled_balance


# -- §8.4 settle timing ----------------------------------------------------------------


def _settle_allowed(f_over: dict[str, Any], now_ts: int) -> bool:
    """Whether the explicit settle passes its timing gate (a pool is there to settle)."""
    f = fund(total_shares=10**7, user_shares=10**7, **f_over)
    acc = accounts(market_with_pool(30_000, f), 10**7)
    try:
        predict("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, now_ts, DRIFT_MAINNET)
    except Rejected as exc:
        assert exc.code == 6176, exc
        return False
    return True


@pytest.mark.parametrize(
    ("last_ts", "now_ts", "remaining"),
    [
        (0, 1_700_000_000, 0),
        (7200, 10799, 1),
        (7200, 10800, 0),
        (7500, 10799, 1),
        (7500, 10800, 0),
        (8400, 10800, 0),
        (8401, 10800, 3600),
        (8401, 14399, 1),
        (8401, 14400, 0),
    ],
)
def test_settle_timing_table(last_ts: int, now_ts: int, remaining: int) -> None:
    assert ifmath.settle_wait_seconds(last_ts, 3600, now_ts) == remaining
    over = {"last_revenue_settle_ts": last_ts, "revenue_settle_period_seconds": 3600}
    assert _settle_allowed(over, now_ts) == (remaining == 0)
    if remaining:
        f = fund(total_shares=10**7, user_shares=10**7, **over)
        with pytest.raises(Rejected) as info:
            predict(
                "settleRevenueToInsuranceFund",
                accounts(market_with_pool(30_000, f), 10**7),
                {"spotMarketIndex": 0},
                now_ts,
                DRIFT_MAINNET,
            )
        assert info.value.logs == (
            f"Must wait {remaining} seconds until next available settlement time",
        )


def test_settle_timing_daily_period() -> None:
    assert ifmath.next_settle_ts(432_100, 86_400) == 518_400
    assert ifmath.next_settle_ts(472_000, 86_400) == 604_800
    assert ifmath.next_settle_ts(100, 1) == 101
    assert not _settle_allowed({"revenue_settle_period_seconds": 0}, 10**9)


# -- §8.5 utilization ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deposit_balance", "borrow_balance", "deposits", "borrows", "util", "allowed"),
    [
        (10**12, 8 * 10**11, 1_050_000_000, 880_000_000, 838_095, True),
        (10**12, 859 * 10**9, 1_050_000_000, 944_900_000, 899_904, True),
        (10**12, 860 * 10**9, 1_050_000_000, 946_000_000, 900_952, False),
        (0, 0, 0, 0, 0, True),
        (0, 5, 0, 1, 1_000_000, False),
    ],
)
def test_utilization_table(
    deposit_balance: int, borrow_balance: int, deposits: int, borrows: int, util: int, allowed: bool
) -> None:
    m = market(
        deposit_balance=deposit_balance,
        borrow_balance=borrow_balance,
        cumulative_deposit_interest=10_500_000_000,
        cumulative_borrow_interest=11_000_000_000,
        utilization_twap=900_000,
    )
    assert ifmath.deposit_token_amount(m) == deposits
    assert ifmath.borrow_token_amount(m) == borrows
    assert ifmath.market_utilization(m) == util
    assert ifmath.withdraw_utilization_ok(m, DRIFT_MAINNET.withdraw_utilization_limit) == allowed
    # The v2.84 build's 80% gate also checks the 90% TWAP stored here: all rejected.
    assert not ifmath.withdraw_utilization_ok(m, DRIFT_V2_84.withdraw_utilization_limit)


def test_utilization_gate_in_remove_uses_profile_limit() -> None:
    m = market(
        fund(total_shares=1000, user_shares=1000),
        deposit_balance=10**12,
        borrow_balance=8 * 10**11,
        cumulative_deposit_interest=10_500_000_000,
        cumulative_borrow_interest=11_000_000_000,
    )
    s = stake(if_shares=1000, last_withdraw_request_shares=10, last_withdraw_request_value=10)
    acc = accounts(m, 1000, the_stake=s)
    args = {"marketIndex": 0}
    assert _code("removeInsuranceFundStake", acc, args, 2 * 10**6, DRIFT_V2_84) == 6092
    predict("removeInsuranceFundStake", acc, args, 2 * 10**6, DRIFT_MAINNET)


# -- §8.6 rebase -----------------------------------------------------------------------


def test_rebase_after_large_loss() -> None:
    assert ifmath.rebase_exponent(100_000, 100) == 2
    f = ifmath.rebase_fund(fund_shares(fund(total_shares=100_000, user_shares=80_000)), 100)
    assert (f.total_shares, f.user_shares, f.shares_base) == (1000, 800, 2)
    m = market(fund(total_shares=100_000, user_shares=80_000, last_revenue_settle_ts=10))
    newcomer = predict(
        "addInsuranceFundStake",
        accounts(m, 100),
        {"marketIndex": 0, "amount": 10},
        11,
        DRIFT_MAINNET,
    )
    assert newcomer.market is not None and newcomer.stake is not None
    after = newcomer.market
    assert (after.insurance_fund.total_shares, after.insurance_fund.user_shares) == (1100, 900)
    assert after.insurance_fund.shares_base == 2
    assert (newcomer.stake.if_shares, newcomer.stake.if_base) == (100, 2)
    old = stake(if_shares=80_000, if_base=0)
    code = _code(
        "requestRemoveInsuranceFundStake",
        accounts(after, 110, the_stake=old),
        {"marketIndex": 0, "amount": 50},
        11,
        DRIFT_MAINNET,
    )
    assert code == 6189
    assert ifmath.rebase_stake_shares(old.if_shares, old.if_base, 2) == 800
    topped = predict(
        "addInsuranceFundStake",
        accounts(after, 110, the_stake=old),
        {"marketIndex": 0, "amount": 1},
        11,
        DRIFT_MAINNET,
    )
    assert topped.stake is not None and topped.market is not None
    assert (topped.stake.if_shares, topped.stake.if_base) == (810, 2)
    f2 = topped.market.insurance_fund
    assert (f2.total_shares, f2.user_shares) == (1110, 910)


def test_rebase_keeps_shares_when_price_at_least_a_hundredth() -> None:
    assert ifmath.rebase_exponent(999, 10) == 0
    assert ifmath.rebase_exponent(10, 0) == 0
    assert ifmath.rebase_exponent(1000, 1000) == 0


# -- §4.6.9 interest accrual examples --------------------------------------------------


def _example_a(**over: int) -> SpotMarket:
    f = fund(
        total_shares=100_000_000_000,
        user_shares=80_000_000_000,
        last_revenue_settle_ts=1_699_999_200,
    )
    return market(
        f,
        deposit_balance=1_000_000_000_000,
        borrow_balance=860_000_000_000,
        cumulative_deposit_interest=10_500_000_000,
        cumulative_borrow_interest=11_000_000_000,
        revenue_pool_scaled_balance=10_000_000_000,
        last_interest_ts=1_699_999_200,
        last_twap_ts=1_699_999_200,
        deposit_token_twap=1_040_000_000,
        borrow_token_twap=930_000_000,
        utilization_twap=894_230,
        **over,
    )


EXAMPLE_A: dict[str, dict[str, Any]] = {
    "v2.84": dict(
        profile=DRIFT_V2_84,
        cd=10_500_538_718,
        cb=11_000_696_019,
        rp1=10_005_699_707,
        d1=1_000_005_699_707,
        twaps=(1_040_419_161, 930_669_161, 894_511),
        amount=1_050_652,
        minted=525_326,
        rp2=9_005_130_091,
        d2=999_005_130_091,
        pool_after=9_455_871,
        add_total=100_001_525_320,
    ),
    "v2.161": dict(
        profile=DRIFT_MAINNET,
        cd=10_500_230_898,
        cb=11_000_298_319,
        rp1=10_002_442_803,
        d1=1_000_002_442_803,
        twaps=(1_040_417_736, 930_667_736, 894_511),
        amount=1_050_279,
        minted=525_139,
        rp2=9_002_199_085,
        d2=999_002_199_085,
        pool_after=9_452_516,
        add_total=100_001_525_133,
    ),
}
NOW_A = 1_700_002_800


@pytest.mark.parametrize("version", sorted(EXAMPLE_A))
def test_example_a_accrual_and_settle(version: str) -> None:
    x = EXAMPLE_A[version]
    profile = x["profile"]
    assert isinstance(profile, ProgramProfile)
    m = _example_a()
    update = update_interest(m, NOW_A, profile)
    a = update.market
    assert (a.cumulative_deposit_interest, a.cumulative_borrow_interest) == (x["cd"], x["cb"])
    assert (a.revenue_pool_scaled_balance, a.deposit_balance) == (x["rp1"], x["d1"])
    assert (a.deposit_token_twap, a.borrow_token_twap, a.utilization_twap) == x["twaps"]
    assert a.last_interest_ts == a.last_twap_ts == NOW_A
    assert update.event is not None and update.event["data"]["depositBalance"] == x["d1"]
    acc = accounts(m, 100_000_000_000, spot_vault_amount=110_000_000)
    effect = predict("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, NOW_A, profile)
    s = effect.market
    assert s is not None
    assert effect.transfers[0].amount == x["amount"]
    assert s.insurance_fund.total_shares == 100_000_000_000 + x["minted"]
    assert (s.revenue_pool_scaled_balance, s.deposit_balance) == (x["rp2"], x["d2"])
    assert ifmath.revenue_pool_amount(s) == x["pool_after"]
    assert s.insurance_fund.last_revenue_settle_ts == NOW_A
    assert [e["name"] for e in effect.events] == ["SpotInterestRecord", "InsuranceFundRecord"]
    add = predict(
        "addInsuranceFundStake", acc, {"marketIndex": 0, "amount": 1_000_000}, NOW_A, profile
    )
    assert add.market is not None and add.stake is not None
    assert add.stake.if_shares == 999_994
    assert add.market.insurance_fund.total_shares == x["add_total"]
    assert add.market.insurance_fund.user_shares == 80_000_999_994


def test_rate_curves_example_a() -> None:
    m = _example_a()
    assert borrow_rate(m, 900_952, BorrowRateCurve.LINEAR) == 554_284
    assert borrow_rate(m, 900_952, BorrowRateCurve.SIX_SEGMENT) == 237_570
    test_market = market(
        optimal_utilization=800_000, optimal_borrow_rate=20_000, max_borrow_rate=500_000
    )
    for u, six, linear in (
        (845_000, 41_600, 128_000),
        (985_000, 248_000, 464_000),
        (1_000_000, 500_000, 500_000),
    ):
        assert borrow_rate(test_market, u, BorrowRateCurve.SIX_SEGMENT) == six
        assert borrow_rate(test_market, u, BorrowRateCurve.LINEAR) == linear


def test_example_a_add_one_second_early_skips_settle() -> None:
    acc = accounts(_example_a(), 100_000_000_000, spot_vault_amount=110_000_000)
    for profile in (DRIFT_V2_84, DRIFT_MAINNET):
        add = predict(
            "addInsuranceFundStake",
            acc,
            {"marketIndex": 0, "amount": 1_000_000},
            NOW_A - 1,
            profile,
        )
        assert add.market is not None and add.stake is not None
        assert add.stake.if_shares == 1_000_000
        f = add.market.insurance_fund
        assert (f.total_shares, f.user_shares) == (100_001_000_000, 80_001_000_000)
        assert (
            dataclasses.replace(add.market, insurance_fund=acc.market.insurance_fund) == acc.market
        )
        assert [e["name"] for e in add.events] == ["InsuranceFundStakeRecord"]


@pytest.mark.parametrize("profile", [DRIFT_V2_84, DRIFT_MAINNET], ids=["v2.84", "v2.161"])
def test_example_a_paused_accrual(profile: ProgramProfile) -> None:
    m = _example_a(paused_operations=0x01)
    update = update_interest(m, NOW_A, profile)
    a = update.market
    assert update.event is None
    assert (a.deposit_token_twap, a.borrow_token_twap, a.utilization_twap) == (
        1_040_416_667,
        930_666_667,
        894_511,
    )
    assert a.cumulative_deposit_interest == 10_500_000_000 and a.last_interest_ts == 1_699_999_200
    acc = accounts(m, 100_000_000_000, spot_vault_amount=110_000_000)
    effect = predict("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, NOW_A, profile)
    s = effect.market
    assert s is not None
    assert effect.transfers[0].amount == 1_050_000
    assert s.insurance_fund.total_shares == 100_000_525_000
    assert (s.revenue_pool_scaled_balance, s.deposit_balance) == (9_000_000_000, 999_000_000_000)


@pytest.mark.parametrize("profile", [DRIFT_V2_84, DRIFT_MAINNET], ids=["v2.84", "v2.161"])
def test_example_b_min_rate_floor(profile: ProgramProfile) -> None:
    m = market(
        deposit_balance=10**12,
        borrow_balance=3 * 10**11,
        min_borrow_rate=10,
        deposit_token_twap=1_000_000_000,
        borrow_token_twap=300_000_000,
        utilization_twap=300_000,
        last_interest_ts=1_000_000,
        last_twap_ts=1_000_000,
    )
    now_ts = 1_000_000 + 86_400
    update = update_interest(m, now_ts, profile)
    b = update.market
    assert (b.cumulative_deposit_interest, b.cumulative_borrow_interest) == (
        10_000_369_863,
        10_001_369_864,
    )
    assert (b.revenue_pool_scaled_balance, b.deposit_balance) == (4_108_848, 1_000_004_108_848)
    assert ifmath.revenue_pool_amount(b) == 4108
    assert (b.deposit_token_twap, b.borrow_token_twap, b.utilization_twap) == (
        1_000_041_094,
        300_041_095,
        300_027,
    )
    again = update_interest(b, now_ts, profile)
    assert again.event is None and again.market == b


# -- §8.7 the program's own unit-test vectors ------------------------------------------


def test_program_escrow_gains_stake() -> None:
    staked = 100_000_384_939
    assert ifmath.amount_to_shares(staked, 1, 1) == staked
    total, vault = 1 + staked, 107_692_722_242
    value = ifmath.request_value(staked, total, vault)
    assert value == 107_692_722_240
    vault += vault // 412
    paid = ifmath.remove_payout(staked, total, vault, value)
    assert paid == 107_692_722_240
    assert vault - paid == 261_390_104


def test_program_escrow_losses_stake() -> None:
    staked = 100_000_000_000
    vault = staked - staked // 19
    n = staked // 3
    value = ifmath.request_value(n, staked, vault)
    assert value == 31_578_947_368
    m = market(fund(total_shares=staked, user_shares=staked))
    s = stake(
        if_shares=staked,
        cost_basis=staked,
        last_withdraw_request_shares=n,
        last_withdraw_request_value=value,
        last_withdraw_request_ts=0,
    )
    halved = vault // 2 + vault % 2
    m = replace_fund(m, unstaking_period_seconds=7 * 86_400)
    acc = accounts(m, halved, the_stake=s)
    effect = predict("removeInsuranceFundStake", acc, {"marketIndex": 0}, 7 * 86_400, DRIFT_MAINNET)
    assert effect.transfers[0].amount == 15_789_473_684
    assert effect.stake is not None and effect.stake.cost_basis == 84_210_526_316
    assert token_amounts_after(effect, acc)[IF_VAULT] == 31_578_947_369


def test_program_large_num_seeded_settle() -> None:
    f = fund(total_shares=10**9, user_shares=10**9, revenue_settle_period_seconds=1)
    m = market(
        f,
        decimals=0,
        revenue_pool_scaled_balance=100 * 10**9,
        deposit_balance=10**15,
        cumulative_deposit_interest=11_110_000_000,
    )
    assert ifmath.revenue_pool_amount(m) == 111
    amount = ifmath.settle_amount(111, depositors_claim_amount(m), 10**9, 10**9, MAX_APR, 1)
    assert amount == 11
    # The pool debit, through the settle itself (no borrows: the interest update is a no-op).
    settled = settle_revenue(m, 10**9, depositors_claim_amount(m), 1, DRIFT_V2_84, explicit=True)
    assert settled.amount == 11
    assert settled.market.revenue_pool_scaled_balance == 90_099_009_901
