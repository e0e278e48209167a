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

from keeper.core import ifmath, rules
from keeper.core.actions import ActionKind
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
    action: ActionKind
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
    action: ActionKind,
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


def _wait_on(
    action: ActionKind,
    market_index: int,
    blockers: tuple[rules.Blocker, ...],
    waits: list[Wait],
) -> bool:
    """Record a wait on the rules' blockers: the program's first reason, and the time
    by which every reason lifts by itself (None: only a change lifts one)."""
    if not blockers:
        return False
    waits.append(Wait(action, market_index, blockers[0].reason, rules.opens_at(blockers)))
    return True


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
    if rules.settle_opens_at(m.market) is None:
        return  # settling is disabled for this market: nothing to wait for
    if _wait_on(
        ActionKind.SETTLE, index, rules.settle_blockers(snap.state, m.market, snap.now_ts), waits
    ):
        return
    # Nothing to settle now: look again when the pool changes or a period passes.
    later = snap.now_ts + fund.revenue_settle_period_seconds
    _attempt(
        ActionKind.SETTLE, index, lambda: planner.settle(snap, payer, index), plans, waits, later
    )


def _withdraw(
    snap: Snapshot,
    m: MarketSnapshot,
    operator: Pubkey,
    planner: Planner,
    plans: list[Plan],
    waits: list[Wait],
) -> None:
    stake = snap.stake(operator, m.market_index)
    index = m.market_index
    blockers = rules.withdraw_blockers(
        snap.state, m.market, stake, m.if_vault_amount, snap.now_ts, planner.profile
    )
    if _wait_on(ActionKind.WITHDRAW, index, blockers, waits):
        return
    _attempt(
        ActionKind.WITHDRAW, index, lambda: planner.withdraw(snap, operator, index), plans, waits
    )


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
    # A stake whose base lags is valued as the program's next touch rebases it.
    shares = ifmath.stake_shares(stake, m.market)
    value = ifmath.stake_value(stake, m.market, m.if_vault_amount)
    amount: int | None
    if policy.request is RequestPolicy.UNSTAKE_ALL:
        amount = None if shares else 0
    else:
        amount = max(value - policy.max_stake_amount, 0)
    if amount is not None and amount < max(policy.min_request_amount, 1):
        return
    index = m.market_index
    _attempt(
        ActionKind.REQUEST,
        index,
        lambda: planner.unstake(snap, operator, index, amount),
        plans,
        waits,
    )
