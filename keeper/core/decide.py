"""What the keeper should do now, and when to look again: a pure function of a snapshot.

Given a verified snapshot, the operator's policy and `now` (the cluster's clock), it
returns the transactions that are due (as validated plans: the mirror predicts each
succeeds) and, for everything not yet due, why and from when. The daemon sleeps
until the earliest of those times or until an account changes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from solders.pubkey import Pubkey

from keeper.core import ifmath
from keeper.core.effects import EXCHANGE_WITHDRAW_PAUSED
from keeper.core.errors import KeeperError, ProgramError
from keeper.core.plan import Plan, Planner
from keeper.core.snapshot import MarketSnapshot, Snapshot


class RequestPolicy(enum.Enum):
    """When the keeper requests an unstake of the operator's own stake."""

    NEVER = "never"
    #: keep a request pending for every share: exit fully, as soon as possible
    UNSTAKE_ALL = "unstake_all"
    #: request whatever the stake is worth above `max_stake_amount`
    CAP = "cap"


@dataclass(frozen=True)
class KeeperPolicy:
    markets: tuple[int, ...] = (0,)
    settle: bool = True
    withdraw: bool = True
    request: RequestPolicy = RequestPolicy.NEVER
    #: with RequestPolicy.CAP, in token base units (per market, same for each)
    max_stake_amount: int = 0
    #: ignore a request smaller than this (base units), to avoid dust requests
    min_request_amount: int = 1


@dataclass(frozen=True)
class Wait:
    action: str
    market_index: int
    reason: str
    #: on-chain unix time from which the action may be due; None = on a change only
    until_ts: int | None


@dataclass(frozen=True)
class Decision:
    plans: tuple[Plan, ...]
    waits: tuple[Wait, ...]

    @property
    def next_due_ts(self) -> int | None:
        times = [w.until_ts for w in self.waits if w.until_ts is not None]
        return min(times) if times else None


def decide(snap: Snapshot, operator: Pubkey, policy: KeeperPolicy, planner: Planner) -> Decision:
    plans: list[Plan] = []
    waits: list[Wait] = []
    for index in policy.markets:
        m = snap.market(index)
        if policy.settle:
            _settle(snap, m, operator, planner, plans, waits)
        stake = snap.stake(operator, index)
        if stake is None:
            continue
        if stake.last_withdraw_request_shares:
            if policy.withdraw:
                _withdraw(snap, m, operator, planner, plans, waits)
        elif policy.request is not RequestPolicy.NEVER:
            _request(snap, m, operator, policy, planner, plans, waits)
    return Decision(tuple(plans), tuple(waits))


def _attempt(
    action: str,
    market_index: int,
    make_plan: Callable[[], Plan],
    plans: list[Plan],
    waits: list[Wait],
    retry_at_ts: int | None = None,
) -> None:
    """Plan an action, or record why it waits.

    A predicted program error waits until `retry_at_ts` (or a change). Any other
    planning error (e.g. no wallet to receive tokens) waits for a change; either way
    the other actions of the pass go ahead.
    """
    try:
        plans.append(make_plan())
    except ProgramError as exc:
        waits.append(Wait(action, market_index, exc.info.name, retry_at_ts))
    except KeeperError as exc:
        waits.append(Wait(action, market_index, str(exc), None))


def _settle(
    snap: Snapshot,
    m: MarketSnapshot,
    payer: Pubkey,
    planner: Planner,
    plans: list[Plan],
    waits: list[Wait],
) -> None:
    fund = m.market.insurance_fund
    index = m.market_index
    if fund.revenue_settle_period_seconds <= 0:
        return
    if snap.state.exchange_status & EXCHANGE_WITHDRAW_PAUSED:
        waits.append(
            Wait("settle", index, "the exchange has paused withdrawals (and so settles)", None)
        )
        return
    next_ts = ifmath.next_settle_ts(fund.last_revenue_settle_ts, fund.revenue_settle_period_seconds)
    if snap.now_ts < next_ts:
        waits.append(Wait("settle", index, "next settle time", next_ts))
        return
    # Nothing to settle now: look again when the pool changes or a period passes.
    later = snap.now_ts + fund.revenue_settle_period_seconds
    _attempt("settle", index, lambda: planner.settle(snap, payer, index), plans, waits, later)


def _withdraw(
    snap: Snapshot,
    m: MarketSnapshot,
    operator: Pubkey,
    planner: Planner,
    plans: list[Plan],
    waits: list[Wait],
) -> None:
    stake = snap.stake(operator, m.market_index)
    assert stake is not None
    matures = ifmath.cooldown_matures_ts(
        stake.last_withdraw_request_ts, m.market.insurance_fund.unstaking_period_seconds
    )
    if snap.now_ts < matures:
        waits.append(Wait("withdraw", m.market_index, "cooldown", matures))
        return
    if not ifmath.withdraw_utilization_ok(m.market, planner.profile.withdraw_utilization_limit):
        waits.append(Wait("withdraw", m.market_index, "utilization above the withdraw limit", None))
        return
    index = m.market_index
    _attempt("withdraw", index, lambda: planner.withdraw(snap, operator, index), plans, waits)


def _request(
    snap: Snapshot,
    m: MarketSnapshot,
    operator: Pubkey,
    policy: KeeperPolicy,
    planner: Planner,
    plans: list[Plan],
    waits: list[Wait],
) -> None:
    stake = snap.stake(operator, m.market_index)
    assert stake is not None
    fund = m.market.insurance_fund
    shares = stake.if_shares if stake.if_base == fund.shares_base else 0
    value = ifmath.shares_to_amount(shares, fund.total_shares, m.if_vault_amount)
    amount: int | None
    if policy.request is RequestPolicy.UNSTAKE_ALL:
        amount = None if shares else 0
    else:
        amount = max(value - policy.max_stake_amount, 0)
    if amount is not None and amount < max(policy.min_request_amount, 1):
        return
    index = m.market_index
    _attempt("request", index, lambda: planner.unstake(snap, operator, index, amount), plans, waits)
