"""The mirror under the Velocity profile against an independent model of the program.

`tests/reference/velocity_if.py` was written separately, straight from the Velocity
source, without reading the mirror. Here both run the same instruction on the same
state (hypothesis draws states near the edges: empty funds, ballast, lagging bases,
pending requests, receivables, allowances, withdraw pauses, violated vault invariants,
6- and 9-decimal markets) and must agree: the same error code, or the same post-state
to the base unit (fund shares, base, receivable, allowance, cap base, revenue pool,
deposit balance, settle time, the stake, and every token balance moved).

Interest accrual is out of scope here (the reference leaves it to a hook): every
state is drawn with `last_interest_ts == now`, so neither side accrues.
"""

from __future__ import annotations

import dataclasses
import os

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mirror_factories import ALICE_WALLET, IF_VAULT, SPOT_VAULT, accounts, fund, market, stake
from mirror_factories import state as state_view
from reference import velocity_if as ref

from keeper.core import rules
from keeper.core.effects import Effect, IfAccounts, predict
from keeper.core.ifmath import Rejected
from keeper.core.profile import VELOCITY

HOUR = 3600
#: an on-the-hour time far from the epoch (a settle period boundary)
T0 = 1_767_225_600
WALLET_AMOUNT = 10**15

EXAMPLES = settings(
    max_examples=int(os.environ.get("DRIFT_DIFF_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)


@dataclasses.dataclass(frozen=True)
class Case:
    """One instruction on one state, in the reference model's terms."""

    fund: ref.Fund
    stake: ref.Stake
    vault_amount: int
    spot_vault_amount: int
    now: int
    exchange_withdraw_paused: bool


@st.composite
def cases(draw: st.DrawFn, *, pending: bool | None = None) -> Case:
    decimals = draw(st.sampled_from([6, 6, 6, 9]))
    index = draw(st.sampled_from([10**10, 10**10, 10_000_000_001, 11_000_000_000, 12_345_678_901]))
    big = draw(st.sampled_from([10**3, 10**6, 10**9, 10**12]))
    user_shares = draw(st.integers(0, big))
    ballast = draw(st.sampled_from([0, 0, 1, draw(st.integers(0, big))]))
    total = user_shares + ballast
    base = draw(st.sampled_from([0, 0, 0, 1, 2]))
    vault = draw(st.integers(0, big * 2))
    receivable = draw(st.sampled_from([0, 0, draw(st.integers(0, big * 1000))]))
    pool = draw(st.sampled_from([0, draw(st.integers(0, big * 1000))]))
    perp = draw(st.sampled_from([0, 0, 0, draw(st.integers(0, max(pool // 1000, 0)))]))
    other_deposits = draw(st.integers(0, big * 1000))
    deposit_balance = pool + receivable + other_deposits
    period = draw(st.sampled_from([HOUR, HOUR, 0, 60]))
    hours = draw(st.integers(1, 1000))
    now = T0 + hours * HOUR + draw(st.sampled_from([0, 0, 1, 1799, 3599]))
    last_settle = draw(st.sampled_from([0, now - HOUR, now - 1, now - 2 * HOUR, now]))
    allowance = draw(st.sampled_from([0, 0, draw(st.integers(0, big))]))
    cap_base = draw(st.sampled_from([0, vault, draw(st.integers(0, big * 2))]))
    f = ref.Fund(
        total_shares=total,
        user_shares=user_shares,
        shares_base=base,
        unstaking_period=draw(st.sampled_from([0, 1_123_200])),
        last_revenue_settle_ts=last_settle,
        revenue_settle_period=period,
        if_fee_factor=draw(st.sampled_from([0, 100_000])),
        if_last_settle_vault_amount=cap_base,
        revenue_settle_allowance=allowance,
        receivable_scaled=receivable,
        perp_receivable=perp,
        revenue_pool_scaled=pool,
        deposit_balance=deposit_balance,
        borrow_balance=0,
        cumulative_deposit_interest=index,
        cumulative_borrow_interest=index,
        decimals=decimals,
        utilization_twap=draw(st.sampled_from([0, 0, 950_000])),
        market_initialized=draw(st.sampled_from([False] * 9 + [True])),
        market_withdraw_paused=draw(st.sampled_from([False] * 4 + [True])),
        if_paused_operations=draw(st.sampled_from([0] * 9 + [draw(st.integers(0, 15))])),
    )
    deposit_tokens = ref.get_token_amount(deposit_balance, f)
    spot_vault = deposit_tokens + draw(
        st.sampled_from([0, 0, 1, 1000] + ([] if os.environ.get("DIFF_NO_SHORT") else [-1]))
    )
    assume(spot_vault >= 0)
    shares = draw(st.integers(0, user_shares))
    has_request = draw(st.booleans()) if pending is None else pending
    request_shares = draw(st.integers(0, shares)) if has_request else 0
    s = ref.Stake(
        if_shares=shares,
        if_base=draw(st.sampled_from([base, base, base, max(base - 1, 0), base + 1])),
        last_withdraw_request_shares=request_shares,
        last_withdraw_request_value=draw(st.integers(0, vault)) if has_request else 0,
        last_withdraw_request_ts=draw(st.sampled_from([0, now - 1_123_200, now - 5])),
        cost_basis=draw(st.integers(-(10**6), big)),
    )
    return Case(f, s, vault, spot_vault, now, draw(st.sampled_from([False] * 5 + [True])))


def _views(c: Case) -> IfAccounts:
    f = c.fund
    ins = fund(
        total_shares=f.total_shares,
        user_shares=f.user_shares,
        shares_base=f.shares_base,
        unstaking_period_seconds=f.unstaking_period,
        last_revenue_settle_ts=f.last_revenue_settle_ts,
        revenue_settle_period_seconds=f.revenue_settle_period,
        total_factor=f.if_fee_factor,
        user_factor=f.if_fee_factor,
    )
    m = market(
        ins,
        revenue_pool_scaled_balance=f.revenue_pool_scaled,
        deposit_balance=f.deposit_balance,
        borrow_balance=f.borrow_balance,
        cumulative_deposit_interest=f.cumulative_deposit_interest,
        cumulative_borrow_interest=f.cumulative_borrow_interest,
        decimals=f.decimals,
        utilization_twap=f.utilization_twap,
        last_interest_ts=c.now,
        last_twap_ts=c.now,
        status=0 if f.market_initialized else 1,
        paused_operations=rules.SPOT_PAUSE_WITHDRAW if f.market_withdraw_paused else 0,
        if_paused_operations=f.if_paused_operations,
        if_revenue_receivable_scaled=f.receivable_scaled,
        revenue_settle_allowance=f.revenue_settle_allowance,
        perp_if_revenue_receivable=f.perp_receivable,
        if_last_settle_vault_amount=f.if_last_settle_vault_amount,
    )
    s = c.stake
    the_stake = stake(
        if_shares=s.if_shares,
        if_base=s.if_base,
        last_withdraw_request_shares=s.last_withdraw_request_shares,
        last_withdraw_request_value=s.last_withdraw_request_value,
        last_withdraw_request_ts=s.last_withdraw_request_ts,
        cost_basis=s.cost_basis,
    )
    acc = accounts(
        m,
        c.vault_amount,
        the_stake=the_stake,
        spot_vault_amount=c.spot_vault_amount,
        wallet_amount=WALLET_AMOUNT,
    )
    status = rules.EXCHANGE_WITHDRAW_PAUSED if c.exchange_withdraw_paused else 0
    return dataclasses.replace(acc, state=state_view(exchange_status=status))


def _run_both(kind: str, c: Case, amount: int = 0) -> tuple[Effect | int, ref.Outcome | int | None]:
    """`kind` on `c` in the mirror (its Effect or error code) and in the reference model
    (its Outcome, error code, or None for a Rust panic)."""
    name, fn, args = {
        "add": ("addInsuranceFundStake", ref.add, {"marketIndex": 0, "amount": amount}),
        "request": (
            "requestRemoveInsuranceFundStake",
            ref.request,
            {"marketIndex": 0, "amount": amount},
        ),
        "cancel": ("cancelRequestRemoveInsuranceFundStake", ref.cancel, {"marketIndex": 0}),
        "remove": ("removeInsuranceFundStake", ref.remove, {"marketIndex": 0}),
        "settle": ("settleRevenueToInsuranceFund", ref.settle, {"spotMarketIndex": 0}),
    }[kind]
    mirror: Effect | int
    try:
        mirror = predict(name, _views(c), args, c.now, VELOCITY)
    except Rejected as rej:
        mirror = int(rej.code)
    paused = c.exchange_withdraw_paused
    try:
        if kind == "settle":  # no stake; the instruction's market-index argument
            out: ref.Outcome = fn(c.fund, c.vault_amount, c.spot_vault_amount, c.now, paused, 0)
        else:
            extra = (amount,) if "amount" in args else ()
            out = fn(c.fund, c.stake, c.vault_amount, c.spot_vault_amount, *extra, c.now, paused)
    except ref.ProgramError as err:
        return mirror, None if err.code is None else int(err.code)
    return mirror, out


def _compare(mirror: Effect | int, expected: ref.Outcome | int | None, c: Case) -> None:
    assume(expected is not None)  # a Rust panic: the mirror needs no particular code
    if isinstance(expected, int) or isinstance(mirror, int):
        assert mirror == expected, f"mirror {_show(mirror)}, program {_show(expected)}"
        return
    assert isinstance(expected, ref.Outcome)
    m = mirror.market
    assert m is not None
    f = expected.fund
    got = {
        "total_shares": m.insurance_fund.total_shares,
        "user_shares": m.insurance_fund.user_shares,
        "shares_base": m.insurance_fund.shares_base,
        "last_revenue_settle_ts": m.insurance_fund.last_revenue_settle_ts,
        "receivable_scaled": m.if_revenue_receivable_scaled,
        "revenue_settle_allowance": m.revenue_settle_allowance,
        "if_last_settle_vault_amount": m.if_last_settle_vault_amount,
        "revenue_pool_scaled": m.revenue_pool_scaled_balance,
        "deposit_balance": m.deposit_balance,
    }
    want = {k: getattr(f, k) for k in got}
    assert got == want
    if expected.stake is not None and mirror.stake is not None:
        st_got = mirror.stake
        st_want = expected.stake
        assert (
            st_got.if_shares,
            st_got.if_base,
            st_got.last_withdraw_request_shares,
            st_got.last_withdraw_request_value,
            st_got.last_withdraw_request_ts,
            st_got.cost_basis,
        ) == (
            st_want.if_shares,
            st_want.if_base,
            st_want.last_withdraw_request_shares,
            st_want.last_withdraw_request_value,
            st_want.last_withdraw_request_ts,
            st_want.cost_basis,
        )
    acc = _views(c)
    tokens = {t.address: t for t in (acc.if_vault, acc.spot_vault, acc.user_token) if t}
    after = {a: t.amount for a, t in mirror.token_accounts_after(tokens).items()}
    assert after[IF_VAULT] == expected.vault_amount
    assert after[SPOT_VAULT] == expected.spot_vault_amount
    moved_to_user = expected.if_to_user - expected.user_to_if
    assert after[ALICE_WALLET] - WALLET_AMOUNT == moved_to_user


def _show(x: object) -> str:
    return f"error {x}" if isinstance(x, int) else "success"


AMOUNTS = st.one_of(st.integers(0, 10), st.integers(0, 10**13), st.sampled_from([2**64 - 1]))


@EXAMPLES
@given(cases(pending=False), AMOUNTS)
def test_add_agrees_with_the_program(c: Case, amount: int) -> None:
    _compare(*_run_both("add", c, amount), c)


@EXAMPLES
@given(cases(), AMOUNTS)
def test_request_agrees_with_the_program(c: Case, amount: int) -> None:
    _compare(*_run_both("request", c, amount), c)


@EXAMPLES
@given(cases(pending=True))
def test_cancel_agrees_with_the_program(c: Case) -> None:
    _compare(*_run_both("cancel", c), c)


@EXAMPLES
@given(cases(pending=True))
def test_remove_agrees_with_the_program(c: Case) -> None:
    _compare(*_run_both("remove", c), c)


@EXAMPLES
@given(cases())
def test_settle_agrees_with_the_program(c: Case) -> None:
    _compare(*_run_both("settle", c), c)


def _step(c: Case, out: ref.Outcome) -> Case:
    stake_after = out.stake if out.stake is not None else c.stake
    return dataclasses.replace(
        c,
        fund=out.fund,
        stake=stake_after,
        vault_amount=out.vault_amount,
        spot_vault_amount=out.spot_vault_amount,
    )


@settings(max_examples=int(os.environ.get("DRIFT_DIFF_WALKS", "60")), deadline=None)
@given(st.data())
def test_walks_agree_with_the_program(data: st.DataObject) -> None:
    """Long walks through reachable states: stake, request, cancel, remove, settle and
    revenue arriving in the pool, with time moving on; every step must agree."""
    decimals = data.draw(st.sampled_from([6, 9]))
    start = T0 + data.draw(st.integers(0, 3599))
    c = Case(
        fund=ref.Fund(
            unstaking_period=data.draw(st.sampled_from([0, 60, 1_123_200])),
            revenue_settle_period=HOUR,
            decimals=decimals,
        ),
        stake=ref.Stake(),
        vault_amount=0,
        spot_vault_amount=0,
        now=start,
        exchange_withdraw_paused=False,
    )
    unit = 10**decimals
    for _ in range(data.draw(st.integers(5, 40))):
        c = dataclasses.replace(
            c,
            now=c.now + data.draw(st.sampled_from([1, 60, 1799, HOUR, 3 * HOUR, 1_123_200])),
            exchange_withdraw_paused=data.draw(st.sampled_from([False] * 7 + [True])),
            fund=dataclasses.replace(
                c.fund, market_withdraw_paused=data.draw(st.sampled_from([False] * 7 + [True]))
            ),
        )
        kind = data.draw(
            st.sampled_from(["add", "request", "cancel", "remove", "settle", "revenue"])
        )
        if kind == "revenue":
            tokens = data.draw(st.integers(1, 1000 * unit))
            scaled = ref.get_spot_balance(tokens, c.fund, round_up=False)
            c = dataclasses.replace(
                c,
                fund=dataclasses.replace(
                    c.fund,
                    revenue_pool_scaled=c.fund.revenue_pool_scaled + scaled,
                    deposit_balance=c.fund.deposit_balance + scaled,
                ),
                spot_vault_amount=c.spot_vault_amount + tokens,
            )
            continue
        amount = data.draw(st.integers(1, 10_000 * unit))
        if kind == "request":  # a fraction of the fund, so that some requests succeed
            share = data.draw(st.sampled_from([1, 2, 10]))
            amount = max(ref.get_insurance_fund_nav(c.vault_amount, c.fund) // share, 1)
        mirror, expected = _run_both(kind, c, amount)
        if expected is None:
            return
        _compare(mirror, expected, c)
        if isinstance(expected, ref.Outcome):
            c = _step(c, expected)
