"""The Velocity IF reference model against the program's own vectors and hand-checked cases.

Part 1 replays every vector of programs/velocity/src/math/insurance/tests.rs (commit 94fc16e1,
read id 69386061610; the 194e5207 version holds a subset of the same vectors): the numbers
there are facts about the program. Part 2 runs whole instructions on small markets whose
results were worked out by hand (the arithmetic is in each test's docstring).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from .velocity_if import (
    IF_OP_ADD,
    IF_OP_REMOVE,
    QUOTE_PRECISION,
    SPOT_CUMULATIVE_INTEREST_PRECISION,
    Code,
    Fund,
    ProgramError,
    Stake,
    add,
    apply_rebase_to_insurance_fund,
    attempt_settle,
    calculate_if_shares_lost,
    calculate_rebase_info,
    cancel,
    deposit_amount_and_shares_for_if_stake,
    get_insurance_fund_nav,
    get_proportion_u128,
    on_the_hour_update,
    receivable_tokens,
    remove,
    request,
    settle,
)

Q = QUOTE_PRECISION
ONE = SPOT_CUMULATIVE_INTEREST_PRECISION


def _fails(code: Code, fn: object, *args: object, **kwargs: object) -> ProgramError:
    assert callable(fn)
    with pytest.raises(ProgramError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, str(info.value)
    return info.value


# --- Part 1: tests.rs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total_shares", "vault", "expo", "divisor"),
    [
        (10_000, 10_000, 0, 1),
        (20_000, 10_000, 0, 1),
        (60_078, 10_000, 0, 1),
        (60_078, 9_999, 0, 1),
        (60_078, 6_008, 0, 1),
        (60_078, 6_007, 0, 1),
        (60_078, 6_006, 0, 1),
        (60_078, 606, 0, 1),
        (60_078, 600, 1, 10),
        (60_078 * Q, 600 * Q + 19_234, 1, 10),
        (60_078 * Q, 601 * Q + 19_234, 0, 1),
        (800_000_078 * Q, 1, 13, 10**13),  # "$800M goes to 1e-6 of dollar"
        (99_999, 100, 1, 10),
        (100_000, 100, 2, 100),
        (100_001, 100, 2, 100),
        (1_242_418_900_000, 1, 11, 10**11),
        (12_412, 83_295_723_895_729_080, 0, 1),  # "does not rebase the other direction"
    ],
)
def test_basic_stake_if_test(total_shares: int, vault: int, expo: int, divisor: int) -> None:
    """tests.rs `basic_stake_if_test`: `calculate_rebase_info(T, V)`."""
    assert calculate_rebase_info(total_shares, vault) == (expo, divisor)


def _lost_fixture() -> tuple[Fund, Stake]:
    """tests.rs `if_shares_lost_test`: T = U = 1000e6, a 100e6-share stake requesting all of it
    at a frozen value of 100e6 - 1, deposit index 1.111 (irrelevant: no receivable)."""
    fund = Fund(
        total_shares=1000 * Q,
        user_shares=1000 * Q,
        cumulative_deposit_interest=1111 * ONE // 1000,
    )
    stake = Stake(
        if_shares=100 * Q,
        last_withdraw_request_shares=100 * Q,
        last_withdraw_request_value=100 * Q - 1,
    )
    return fund, stake


def test_if_shares_lost_test() -> None:
    """tests.rs `if_shares_lost_test`, every step in its order."""
    fund, stake = _lost_fixture()
    balance = 1000 * Q
    assert calculate_if_shares_lost(stake, fund, balance) == 2  # unchanged balance

    balance += 100 * Q
    fund = replace(fund, total_shares=fund.total_shares + 100 * Q, user_shares=fund.user_shares + 100 * Q)
    assert calculate_if_shares_lost(stake, fund, balance) == 2

    balance -= 100 * Q
    fund = replace(fund, total_shares=fund.total_shares - 100 * Q, user_shares=fund.user_shares - 100 * Q)
    assert calculate_if_shares_lost(stake, fund, balance) == 2

    balance = 1100 * Q  # take back gain
    assert calculate_if_shares_lost(stake, fund, balance) == 10_000_001

    stake = replace(stake, last_withdraw_request_value=200 * Q)  # doesn't matter if there's a loss
    assert calculate_if_shares_lost(stake, fund, balance) == 0
    stake = replace(stake, last_withdraw_request_value=100 * Q - 1)

    balance = 2100 * Q  # total shares altered without the user
    fund = replace(fund, total_shares=fund.total_shares * 2)
    assert calculate_if_shares_lost(stake, fund, balance) == 5_000_001

    balance = 2100 * Q * 10
    assert balance * 100 // 2000 == 1_050_000_000
    lost = calculate_if_shares_lost(stake, fund, balance)
    assert lost == 90_909_092
    assert 9_090_908 * balance // (fund.total_shares - lost) < stake.last_withdraw_request_value


def test_if_shares_lost_sole_staker_full_request_test() -> None:
    """tests.rs `if_shares_lost_sole_staker_full_request_test` (OtterSec #108)."""
    fund = Fund(total_shares=100 * Q, user_shares=100 * Q)
    stake = Stake(
        if_shares=100 * Q,
        last_withdraw_request_shares=100 * Q,
        last_withdraw_request_value=100 * Q,
    )
    assert calculate_if_shares_lost(stake, fund, 110 * Q) == 0
    others = replace(fund, total_shares=200 * Q, user_shares=200 * Q)
    assert calculate_if_shares_lost(stake, others, 220 * Q) > 0


@pytest.mark.parametrize(
    ("amount", "total_shares", "vault", "cost", "shares"),
    [
        (1_500_000, 1, 1_000_000, 1_000_000, 1),  # 1.5 shares buys one, charged one price
        (999_999, 1, 1_000_000, 0, 0),  # below one share: nothing
        (100 * Q, 0, 0, 100 * Q, 100 * Q),  # empty fund: 1:1
        (7, 1000, 100, 7, 70),  # share price below one token unit
    ],
)
def test_deposit_amount_and_shares_charges_only_whole_shares(
    amount: int, total_shares: int, vault: int, cost: int, shares: int
) -> None:
    """tests.rs `deposit_amount_and_shares_charges_only_whole_shares`."""
    assert deposit_amount_and_shares_for_if_stake(amount, total_shares, vault) == (cost, shares)


@pytest.mark.parametrize(
    "amount", [142_858, 142_857 * 2, 1_000_003, 1_000_004, 2_000_005, 7_000_021, 12_345_678]
)
def test_deposit_amount_and_shares_never_overcharges(amount: int) -> None:
    """tests.rs `deposit_amount_and_shares_never_overcharges` (T = 7, V = 1_000_003)."""
    total_shares, vault = 7, 1_000_003
    cost, n = deposit_amount_and_shares_for_if_stake(amount, total_shares, vault)
    assert cost <= amount
    assert (amount - cost) * total_shares < vault
    assert n * (vault + cost) <= cost * (total_shares + n)


# --- Part 2: helpers, hand-checked ------------------------------------------------------------


def test_get_proportion_branches_give_the_floor() -> None:
    """[H] `get_proportion_u128`: the 'ceiling' branch (n > d/2, d > n) and the plain branch
    both give floor(v * n / d); the U192 branch handles values past u64."""
    assert get_proportion_u128(99_999_999, 900_000_000, 900_000_001) == (
        99_999_999 * 900_000_000 // 900_000_001
    )
    assert get_proportion_u128(10, 3, 7) == 4
    assert get_proportion_u128(2**70, 3, 7) == (2**70 * 3) // 7
    assert get_proportion_u128(5, 9, 9) == 5


def test_get_proportion_ceiling_branch_overflows_where_the_floor_would_not() -> None:
    """The ceiling branch (n > d/2, d > n) computes v * (d - n) in u128 and casts it to i128.
    With v = n = 2^64 - 2 and d = 2n - 1, v * (d - n) = (2^64 - 2)(2^64 - 3) is past 2^127, so
    the cast fails, though floor(v * n / d) (about v / 2) fits easily."""
    v = n = 2**64 - 2
    d = 2 * n - 1
    assert n > d // 2 and d > n
    assert 2**127 < v * (d - n) < 2**128
    _fails(Code.CastingFailure, get_proportion_u128, v, n, d)


def test_on_the_hour_update() -> None:
    """[H] `on_the_hour_update`: a settle stamped 100 s past the hour may run again on the next
    hour; one stamped past a third of the period waits for the hour after."""
    assert on_the_hour_update(3600, 0, 3600) == 0
    assert on_the_hour_update(3599, 0, 3600) == 1
    assert on_the_hour_update(7200, 3700, 3600) == 0  # delay 100 <= 1200: wait 3500
    assert on_the_hour_update(7199, 3700, 3600) == 1
    assert on_the_hour_update(7200, 5000, 3600) == 3600  # delay 1400 > 1200: wait 5800


def test_receivable_value_and_nav_follow_the_deposit_index() -> None:
    """NAV = IF vault + floor(receivable_scaled * deposit index / 10^(19 - decimals)).

    6 decimals: 5e10 scaled is 50e6 base units at index 1.0 and 55e6 at 1.1; 9 decimals:
    the same claim is 5e10 units (scaled = units at index 1.0).
    """
    fund = Fund(receivable_scaled=50_000_000_000, decimals=6)
    assert receivable_tokens(fund) == 50 * Q
    assert get_insurance_fund_nav(1_000, fund) == 50 * Q + 1_000
    grown = replace(fund, cumulative_deposit_interest=11 * ONE // 10)
    assert receivable_tokens(grown) == 55 * Q
    assert get_insurance_fund_nav(1_000, grown) == 55 * Q + 1_000
    assert receivable_tokens(replace(fund, decimals=9)) == 50_000_000_000
    _fails(Code.MathError, get_insurance_fund_nav, 2**64 - 1, fund)


def test_rebase_uses_nav() -> None:
    """[C] `apply_rebase_to_insurance_fund`: T = 100_000 against NAV 100 -> divide by 100."""
    fund = apply_rebase_to_insurance_fund(100, Fund(total_shares=100_000, user_shares=90_000))
    assert (fund.total_shares, fund.user_shares, fund.shares_base) == (1_000, 900, 2)


# --- Part 2: instructions, hand-checked ---------------------------------------------------------


def test_add_buys_whole_shares_only() -> None:
    """T = U = 7 against V = 1_000_003, no settle due. 1_000_000 buys n = floor(7e6 / 1_000_003)
    = 6 shares for ceil(6 * 1_000_003 / 7) = 857_146; the rest stays in the wallet. Snapshot
    (market 0): floor(6 * (1_000_003 + 857_146) / 13) = 857_145."""
    fund = Fund(total_shares=7, user_shares=7)
    out = add(fund, Stake(), 1_000_003, 0, 1_000_000, now=100)
    assert out.user_to_if == 857_146
    assert out.vault_amount == 1_000_003 + 857_146
    assert out.stake is not None
    assert (out.stake.if_shares, out.stake.cost_basis) == (6, 857_146)
    assert (out.fund.total_shares, out.fund.user_shares) == (13, 13)
    assert out.user_stats_if_staked == 857_145


def test_add_refusals_in_program_order() -> None:
    """InsufficientDeposit before the pause, the pause before the market check, ...; then
    NAV 0 with shares (6188) and a request below one share's price (6360)."""
    fund = Fund(total_shares=7, user_shares=7, if_paused_operations=IF_OP_ADD)
    _fails(Code.InsufficientDeposit, add, fund, Stake(market_index=3), 1, 0, 0, 0)
    _fails(Code.InsuranceFundOperationPaused, add, fund, Stake(market_index=3), 1, 0, 5, 0)
    fund = replace(fund, if_paused_operations=0)
    _fails(Code.IncorrectSpotMarketAccountPassed, add, fund, Stake(market_index=3), 1, 0, 5, 0)
    _fails(Code.InvalidSpotMarketState, add, replace(fund, market_initialized=True), Stake(), 1, 0, 5, 0)
    pending = Stake(last_withdraw_request_value=1)
    _fails(Code.IFWithdrawRequestInProgress, add, fund, pending, 1, 0, 5, 0)
    _fails(Code.InvalidIFForNewStakes, add, fund, Stake(), 0, 0, 5, 0)
    _fails(Code.IFDepositMintsZeroShares, add, fund, Stake(), 1_000_003, 0, 142_857, 0)


def test_add_seeds_ballast_shares_when_none_exist() -> None:
    """T == 0 with NAV 500: T becomes 500 (protocol ballast), then 100 buys 100 shares."""
    out = add(Fund(), Stake(), 500, 0, 100, now=0)
    assert (out.fund.total_shares, out.fund.user_shares) == (600, 100)
    assert out.stake is not None and out.stake.if_shares == 100


def _settled_market(**kw: int | bool) -> Fund:
    """Market 0, 6 decimals, hourly settles, last at 3600; 1000 tokens in the revenue pool
    (scaled 1_000_000; 1 base unit is 1_000 scaled at index 1.0), counted in the deposits;
    T = U = 10_000 against a 10_000-token IF vault whose cap base is already seeded."""
    base = Fund(
        total_shares=10_000,
        user_shares=10_000,
        revenue_settle_period=3600,
        last_revenue_settle_ts=3600,
        if_last_settle_vault_amount=10_000,
        revenue_pool_scaled=1_000_000,
        deposit_balance=1_000_000,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_settle_seeding_books_nothing_and_sets_the_cap_base() -> None:
    """First settle with stakers and no cap base: cap = min(NAV, 0) = 0, so nothing is booked,
    no NoRevenueToSettleToIF, and the cap base becomes NAV_before + 0 = 10_000."""
    fund = _settled_market(last_revenue_settle_ts=0, if_last_settle_vault_amount=0)
    out = settle(fund, 10_000, 1_000, now=3600)
    assert (out.booked, out.spot_to_if) == (0, 0)
    assert out.fund.if_last_settle_vault_amount == 10_000
    assert out.fund.revenue_settle_allowance == 0
    assert out.fund.last_revenue_settle_ts == 3600


def test_settle_books_under_the_apr_cap_and_releases() -> None:
    """APR cap: floor(10_000 * 10e6 / 1e6 / floor(31_536_000 / 3600)) = floor(100_000 / 8760)
    = 11 < 1000 / 10. Debit: get_spot_balance(11, up) = 11_000 + 1 scaled; its token value is
    floor(11.001) = 11, which leaves the allowance at 0. Released 11: deposit_balance
    1_000_000 - 11_001 = 988_999 (988 tokens) <= the 989 left in the spot vault."""
    out = settle(_settled_market(), 10_000, 1_000, now=7200)
    assert (out.booked, out.spot_to_if) == (11, 11)
    f = out.fund
    assert (f.revenue_pool_scaled, f.receivable_scaled, f.deposit_balance) == (988_999, 0, 988_999)
    assert (f.revenue_settle_allowance, f.if_last_settle_vault_amount) == (0, 10_011)
    assert (out.vault_amount, out.spot_vault_amount) == (10_011, 989)


def test_settle_keeps_the_perp_reservation() -> None:
    """Perp receivable 995 of the pool's 1000: unreserved 5; the reserve's ceil-scaled balance
    995_001 leaves 4_999 scaled, less one unit -> floor(4.998) = 4 tokens bookable. Debit 4_001
    scaled (token value 4); the allowance falls 11 -> 7."""
    out = settle(_settled_market(perp_receivable=995), 10_000, 1_000, now=7200)
    assert out.booked == 4
    assert out.fund.revenue_pool_scaled == 1_000_000 - 4_001
    assert out.fund.revenue_settle_allowance == 7
    assert out.fund.if_last_settle_vault_amount == 10_004


def test_settle_liquidity_rule_halves_the_unreserved_claim() -> None:
    """Deposits 1000, borrows 900 (ceil): the depositors' claim is 100 < the pool's 1000, so
    the amount is floor(100 / 2) = 50, then a tenth of it: 5 (under the APR cap of 11)."""
    fund = _settled_market(borrow_balance=900_000)
    out = settle(fund, 10_000, 100, now=7200)
    assert out.booked == 5
    assert out.fund.revenue_settle_allowance == 0
    assert out.spot_vault_amount == 95


def test_settle_refusals_in_program_order() -> None:
    """ExchangePaused, then the market's Withdraw pause, then the period and the hour, then
    NoRevenueToSettleToIF on an empty pool once the cap base is set."""
    fund = _settled_market(market_withdraw_paused=True)
    _fails(Code.ExchangePaused, settle, fund, 10_000, 1_000, 7200, exchange_withdraw_paused=True)
    _fails(Code.InvalidSpotMarketAccount, settle, fund, 10_000, 1_000, 7200, spot_market_index=1)
    _fails(Code.MarketWithdrawPaused, settle, fund, 10_000, 1_000, 7200)
    fund = replace(fund, market_withdraw_paused=False)
    _fails(Code.RevenueSettingsCannotSettleToIF, settle, replace(fund, revenue_settle_period=0), 10_000, 1_000, 7200)
    _fails(Code.RevenueSettingsCannotSettleToIF, settle, fund, 10_000, 1_000, 7199)
    empty = replace(fund, revenue_pool_scaled=0)
    _fails(Code.NoRevenueToSettleToIF, settle, empty, 10_000, 1_000, 7200)
    _fails(Code.SpotMarketVaultInvariantViolated, settle, fund, 10_000, 999, 7200)


def test_settle_on_a_9_decimal_market_at_index_one_underflows_the_allowance() -> None:
    """With 9 decimals the scaled precision equals the index at 1.0, so the ceil-scaled debit
    of the allowance's 11 tokens is 11 + 1 = 12 scaled, worth 12 tokens; 11 - 12 fails the u64
    subtraction. This is what the source as read does (get_spot_balance adds 1 even when the
    division is exact); it needs confirming against a build of the program."""
    fund = _settled_market(decimals=9, revenue_pool_scaled=1_000, deposit_balance=1_000)
    _fails(Code.MathError, settle, fund, 10_000, 1_000, 7200)
    # the implicit settle books the same way, so a due period blocks add (and request, cancel,
    # remove) on such a market
    _fails(Code.MathError, add, fund, Stake(), 10_000, 1_000, 1_000, 7200)
    # with stakers the allowance is at most a tenth of the pool, so the debit is always
    # ceil-scaled; without stakers there is no cap, the allowance covers the pool and the
    # debit is the pool itself, which does not fail (and seeds T = NAV_before + 1000)
    unstaked = replace(fund, total_shares=0, user_shares=0)
    out = settle(unstaked, 10_000, 1_000, 7200)
    assert (out.booked, out.fund.revenue_pool_scaled) == (1_000, 0)
    assert out.fund.total_shares == 11_000


def test_implicit_settle_books_during_a_pause_and_prices_off_nav() -> None:
    """add during a market Withdraw pause with a settle due: 11 tokens are booked (receivable
    11_001 scaled) but stay in the spot vault; NAV = 10_000 + 11 prices the add exactly as
    after an unpaused settle: n = floor(1000 * 10_000 / 10_011) = 998, cost =
    ceil(998 * 10_011 / 10_000) = 1000, snapshot floor(998 * 11_011 / 10_998) = 999."""
    paused = add(_settled_market(market_withdraw_paused=True), Stake(), 10_000, 1_000, 1_000, 7200)
    assert (paused.booked, paused.spot_to_if) == (11, 0)
    assert paused.fund.receivable_scaled == 11_001
    assert (paused.vault_amount, paused.spot_vault_amount) == (11_000, 1_000)
    free = add(_settled_market(), Stake(), 10_000, 1_000, 1_000, 7200)
    assert (free.booked, free.spot_to_if) == (11, 11)
    assert (free.vault_amount, free.spot_vault_amount) == (10_011 + 1_000, 989)
    for out in (paused, free):
        assert out.user_to_if == 1_000
        assert out.stake is not None and out.stake.if_shares == 998
        assert out.fund.total_shares == 10_998
        assert out.user_stats_if_staked == 999


def test_implicit_settle_continues_on_a_left_over_allowance() -> None:
    """Not due, but 3 tokens of allowance left: the settle books min(pool, 3) = 3 with no new
    period (cap base and settle time unchanged) and releases it."""
    fund = _settled_market(revenue_settle_allowance=3, last_revenue_settle_ts=7200)
    out = request(fund, Stake(if_shares=100), 10_000, 1_000, 50, now=7300)
    assert (out.booked, out.spot_to_if) == (3, 3)
    assert out.fund.revenue_settle_allowance == 0
    assert out.fund.if_last_settle_vault_amount == 10_000
    assert out.fund.last_revenue_settle_ts == 7200


def test_accrual_hook_runs_where_the_program_accrues() -> None:
    """Nothing due, no receivable, no allowance: no accrual. A pending receivable alone: the
    accrual runs, then the release reads the grown claim (1000 -> 1100 tokens at index 1.1),
    and request prices off NAV = 100 + 1100."""
    calls: list[int] = []

    def grow(fund: Fund, now: int) -> Fund:
        calls.append(now)
        return replace(fund, cumulative_deposit_interest=ONE * 11 // 10)

    idle = Fund(total_shares=1_100, user_shares=1_100)
    attempt_settle(idle, 100, 0, 5, False, grow)
    assert calls == []
    fund = replace(idle, receivable_scaled=1_000_000, deposit_balance=1_000_000)
    out = request(fund, Stake(if_shares=1_000), 100, 1_100, 600, now=5, accrue=grow)
    assert calls == [5]
    assert (out.spot_to_if, out.vault_amount, out.fund.deposit_balance) == (1_100, 1_200, 0)
    assert out.stake is not None
    assert out.stake.last_withdraw_request_shares == 550  # floor(600 * 1100 / 1200)
    assert out.stake.last_withdraw_request_value == 600


def test_request_freezes_value_at_nav() -> None:
    """V = 100 cash + 1000 receivable (pause keeps it booked): NAV 1100, T = 1100. 550 tokens
    -> 550 shares, value min(550, 1099) = 550."""
    fund = Fund(
        total_shares=1_100,
        user_shares=1_100,
        receivable_scaled=1_000_000,
        deposit_balance=1_000_000,
        market_withdraw_paused=True,
    )
    out = request(fund, Stake(if_shares=1_000), 100, 1_000, 550, now=5)
    assert out.stake is not None
    assert out.stake.last_withdraw_request_shares == 550
    assert out.stake.last_withdraw_request_value == 550
    assert out.stake.last_withdraw_request_ts == 5
    assert out.spot_to_if == 0


def test_request_refusals() -> None:
    """A pending request; too small; more than the stake; a stake left behind by a rebase is
    refused before the handler rebases it (InvalidIFRebase)."""
    fund = Fund(total_shares=1_000, user_shares=1_000)
    _fails(Code.IFWithdrawRequestInProgress, request, fund, Stake(last_withdraw_request_shares=1), 1_000, 0, 1, 0)
    _fails(Code.IFWithdrawRequestTooSmall, request, fund, Stake(if_shares=10), 10_000, 0, 9, 0)
    _fails(Code.InsufficientIFShares, request, fund, Stake(if_shares=10), 1_000, 0, 11, 0)
    stale = replace(fund, shares_base=1)
    _fails(Code.InvalidIFRebase, request, stale, Stake(if_shares=10), 1_000, 0, 5, 0)


def _pending_fund_and_stake() -> tuple[Fund, Stake]:
    """T = U = 1100; the stake holds 1000 shares, all requested at a frozen value of 999; the
    IF vault holds 100 cash and a receivable of 1000 tokens sits in the spot vault."""
    fund = Fund(
        total_shares=1_100,
        user_shares=1_100,
        receivable_scaled=1_000_000,
        deposit_balance=1_000_000,
    )
    stake = Stake(
        if_shares=1_000,
        last_withdraw_request_shares=1_000,
        last_withdraw_request_value=999,
        cost_basis=1_000,
    )
    return fund, stake


def test_remove_refuses_a_payout_the_cash_cannot_cover_during_a_pause() -> None:
    """Market Withdraw pause: the receivable stays in the spot vault, NAV 1100, payout
    min(1000, 999) = 999 is not below the 100 of cash -> InvalidIFUnstakeSize."""
    fund, stake = _pending_fund_and_stake()
    paused = replace(fund, market_withdraw_paused=True)
    _fails(Code.InvalidIFUnstakeSize, remove, paused, stake, 100, 1_000, 10)
    _fails(Code.ExchangePaused, remove, fund, stake, 100, 1_000, 10, exchange_withdraw_paused=True)


def test_remove_settles_first_and_pays() -> None:
    """Unpaused: the 1000-token receivable is released first (V = 1100), payout 999; T = U =
    100; cost basis 1000 - 999; the cap base falls to min(0, .) = 0; 101 tokens stay."""
    fund, stake = _pending_fund_and_stake()
    out = remove(fund, stake, 100, 1_000, 10)
    assert (out.spot_to_if, out.if_to_user, out.vault_amount) == (1_000, 999, 101)
    assert (out.fund.total_shares, out.fund.user_shares) == (100, 100)
    assert out.fund.deposit_balance == 0
    assert out.stake is not None
    assert (out.stake.if_shares, out.stake.cost_basis) == (0, 1)
    assert out.stake.last_withdraw_request_shares == 0
    assert out.user_stats_if_staked == 0


def test_remove_lowers_the_cap_base_to_the_nav_left() -> None:
    """Cap base 5000 > NAV after the payout (1100 - 999 = 101): it falls to 101."""
    fund, stake = _pending_fund_and_stake()
    out = remove(replace(fund, if_last_settle_vault_amount=5_000), stake, 100, 1_000, 10)
    assert out.fund.if_last_settle_vault_amount == 101


def test_remove_refusals() -> None:
    """Remove pause; utilization above 90%; too early; no request."""
    fund, stake = _pending_fund_and_stake()
    _fails(Code.InsuranceFundOperationPaused, remove, replace(fund, if_paused_operations=IF_OP_REMOVE), stake, 100, 1_000, 10)
    busy = replace(fund, borrow_balance=900_001)  # ceil(900.001) = 901 of 1000 tokens
    _fails(Code.SpotMarketInsufficientDeposits, remove, busy, stake, 100, 1_000, 10)
    _fails(Code.SpotMarketInsufficientDeposits, remove, replace(fund, utilization_twap=900_001), stake, 100, 1_000, 10)
    slow = replace(fund, unstaking_period=11)
    _fails(Code.TryingToRemoveLiquidityTooFast, remove, slow, stake, 100, 1_000, 10)
    _fails(Code.InvalidIFUnstake, remove, fund, replace(stake, last_withdraw_request_shares=0), 100, 1_000, 10)


def test_cancel_forfeits_the_escrow_gain() -> None:
    """Requested 100 of 1000 shares at value 99 (V was 990); V is now 1100 (a remove-free
    settle). Worth floor(1100 * 100 / 1000) = 110 > 99: keeps floor(99 * 900 / 1001) = 89,
    forfeits 11."""
    fund = Fund(total_shares=1_000, user_shares=1_000)
    stake = Stake(if_shares=500, last_withdraw_request_shares=100, last_withdraw_request_value=99)
    out = cancel(fund, stake, 1_100, 0, now=50)
    assert out.stake is not None
    assert out.stake.if_shares == 489
    assert (out.fund.total_shares, out.fund.user_shares) == (989, 989)
    assert (out.stake.last_withdraw_request_shares, out.stake.last_withdraw_request_value) == (0, 0)


def test_cancel_sole_staker_keeps_everything() -> None:
    """OtterSec #108 through the instruction: the whole fund requested, then appreciation."""
    fund = Fund(total_shares=100 * Q, user_shares=100 * Q)
    stake = Stake(if_shares=100 * Q, last_withdraw_request_shares=100 * Q, last_withdraw_request_value=100 * Q)
    out = cancel(fund, stake, 110 * Q, 0, now=1)
    assert out.stake is not None and out.stake.if_shares == 100 * Q
    assert out.fund.total_shares == 100 * Q


def test_cancel_after_a_rebase_floors_the_request_to_zero() -> None:
    """NAV 100 against T = 100_000: the rebase divides by 100; the 50-share request floors to
    0, which cancels without InvalidIFUnstakeCancel and burns nothing (OtterSec #34)."""
    fund = Fund(total_shares=100_000, user_shares=100_000)
    stake = Stake(if_shares=100_000, last_withdraw_request_shares=50, last_withdraw_request_value=0)
    out = cancel(fund, stake, 100, 0, now=1)
    assert out.stake is not None
    assert (out.stake.if_shares, out.stake.if_base) == (1_000, 2)
    assert (out.fund.total_shares, out.fund.shares_base) == (1_000, 2)
    _fails(Code.NoIFWithdrawRequestInProgress, cancel, fund, Stake(if_shares=1), 100, 0, 1)


# --- Part 3: the SDK's own vectors (packages/sdk tests, read id 69700881497) ---------------------
# These check the TypeScript mirror, not the program, but they pin the same rules.


@pytest.mark.parametrize(
    ("now", "last", "remaining"),
    [
        (1_683_576_852, 1_683_576_000, 2_748),
        (1_683_576_852, 1_683_576_000 - 3_600, 0),
        (1_683_576_000 - 1_201 + 1, 1_683_576_000 - 1_201, 4_800),  # stamped too late
        (1_683_576_852, 1_683_576_001, 2_748),
        (1_683_576_852, 1_683_575_999, 2_748),
    ],
)
def test_sdk_time_remaining_updates(now: int, last: int, remaining: int) -> None:
    """SDK 'time remaining updates' (hourly period) against [H] `on_the_hour_update`."""
    assert on_the_hour_update(now, last, 3_600) == remaining


def test_sdk_receivable_in_nav() -> None:
    """SDK 'includes booked revenue in insurance fund nav' and 'grows the receivable with
    deposit interest': 50 * 1e9 / 1e6 = 50_000 scaled is 50 base units at index 1.0 (NAV with
    a 1_000 vault: 1_050) and 55 at index 1.1."""
    fund = Fund(decimals=6, receivable_scaled=50 * 1_000_000_000 // Q)
    assert get_insurance_fund_nav(1_000, fund) == 1_050
    assert receivable_tokens(replace(fund, cumulative_deposit_interest=ONE * 11 // 10)) == 55
    _fails(Code.InvalidIFSharesDetected, deposit_amount_and_shares_for_if_stake, 100, 1, 0)
