"""What the keeper should do now, and when to look again: a pure function of a snapshot.

Given a verified snapshot, the operator's policies for each wallet and market and
`now` (the cluster's clock), it returns the transactions that are due (as validated
plans: the mirror predicts each succeeds) and, for everything not yet due, why and
from when. The daemon sleeps until the earliest of those times or until an account
changes.

One rule keeps the keeper from racing its own plans: on each market the actions of
a pass form one *chain*. The first is planned on the snapshot; each later one on the
snapshot as the mirror predicts it after the earlier ones (`Plan.snapshot_after`), so
an unstake request after a settle is sized at the post-settle share price. The daemon
sends a chain in order and drops its rest when a step fails or lands differently
from the prediction; the next snapshot plans it afresh.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from solders.pubkey import Pubkey

from keeper.core import ifmath, rules
from keeper.core.actions import ActionKind
from keeper.core.errors import KeeperError, ProgramError
from keeper.core.fmt import format_ratio_ppm
from keeper.core.plan import Plan, Planner
from keeper.core.profile import ProgramProfile
from keeper.core.snapshot import Snapshot

#: utilization precision (1e6 = 100%)
UTILIZATION_ONE = 1_000_000
#: the operator's default withdraw utilization limit: 80%
DEFAULT_MAX_UTILIZATION = 800_000


class Policy(enum.StrEnum):
    """What the keeper does with one wallet's stake in one market."""

    #: never request an unstake (a request made by hand is still withdrawn at maturity)
    HOLD = "hold"
    #: request every share, withdraw at maturity
    EXIT = "exit"
    #: keep the stake's value at most `cap_amount`; request the excess
    CAP = "cap"
    #: request the gains above the stake's cost basis (at least `min_request_amount`)
    TAKE_PROFIT = "take-profit"


class RequestPolicy(enum.Enum):
    """The single-wallet policies of the first config format (see `Policy`)."""

    NEVER = "never"
    #: keep a request pending for every share: exit fully, as soon as possible
    UNSTAKE_ALL = "unstake_all"
    #: request whatever the stake is worth above `max_stake_amount`
    CAP = "cap"


_LEGACY = {RequestPolicy.NEVER: Policy.HOLD, RequestPolicy.UNSTAKE_ALL: Policy.EXIT}
_LEGACY[RequestPolicy.CAP] = Policy.CAP


@dataclass(frozen=True)
class MarketPolicy:
    market_index: int
    policy: Policy = Policy.HOLD
    #: with Policy.CAP: the most the stake may be worth, in token base units
    cap_amount: int = 0
    #: never request less than this (base units): no dust requests
    min_request_amount: int = 1
    #: withdraw a matured request
    withdraw: bool = True


@dataclass(frozen=True)
class WalletPolicy:
    authority: Pubkey
    markets: tuple[MarketPolicy, ...]
    #: the operator's name for the wallet (log lines and metric labels)
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or str(self.authority)


@dataclass(frozen=True)
class PassPolicy:
    """Everything one pass decides over: the wallets, the markets to settle, the limits."""

    wallets: tuple[WalletPolicy, ...]
    settle_markets: tuple[int, ...] = ()
    #: the operator's withdraw utilization limit (1e6 = 100%); never above the profile's
    max_utilization: int = DEFAULT_MAX_UTILIZATION

    @property
    def markets(self) -> tuple[int, ...]:
        """Every market the pass reads, in index order."""
        return markets_of(self.settle_markets, (m for w in self.wallets for m in w.markets))


def markets_of(settle_markets: Iterable[int], policies: Iterable[MarketPolicy]) -> tuple[int, ...]:
    """The markets settled or with a wallet's policy, in index order."""
    return tuple(sorted(set(settle_markets) | {m.market_index for m in policies}))


@dataclass(frozen=True)
class KeeperPolicy:
    """One operator's policy in the first config format: one wallet, one rule for all markets."""

    markets: tuple[int, ...] = (0,)
    settle: bool = True
    withdraw: bool = True
    request: RequestPolicy = RequestPolicy.NEVER
    #: with RequestPolicy.CAP, in token base units (per market, same for each)
    max_stake_amount: int = 0
    #: ignore a request smaller than this (base units), to avoid dust requests
    min_request_amount: int = 1
    max_utilization: int = DEFAULT_MAX_UTILIZATION

    def for_operator(self, operator: Pubkey) -> PassPolicy:
        per_market = tuple(
            MarketPolicy(
                index,
                _LEGACY[self.request],
                cap_amount=self.max_stake_amount,
                min_request_amount=self.min_request_amount,
                withdraw=self.withdraw,
            )
            for index in self.markets
        )
        return PassPolicy(
            (WalletPolicy(operator, per_market),),
            self.markets if self.settle else (),
            self.max_utilization,
        )


@dataclass(frozen=True)
class Wait:
    action: ActionKind
    market_index: int
    reason: str
    #: on-chain unix time from which the action may be due; None = on a change only
    until_ts: int | None
    #: the wallet it is for (None: a market-wide action, the settle)
    authority: Pubkey | None = None


@dataclass(frozen=True)
class Decision:
    #: every plan, chain after chain
    plans: tuple[Plan, ...]
    waits: tuple[Wait, ...]
    #: per market, the plans to send in order, each planned on the predicted state
    #: the ones before it leave
    chains: tuple[tuple[Plan, ...], ...] = ()

    @property
    def next_due_ts(self) -> int | None:
        times = [w.until_ts for w in self.waits if w.until_ts is not None]
        return min(times) if times else None


def decide(snap: Snapshot, operator: Pubkey, policy: KeeperPolicy, planner: Planner) -> Decision:
    """One wallet's decision in the first config format (`decide_pass` does the work)."""
    return decide_pass(snap, policy.for_operator(operator), planner, settle_payer=operator)


def decide_pass(
    snap: Snapshot, policy: PassPolicy, planner: Planner, *, settle_payer: Pubkey
) -> Decision:
    """Every wallet's and market's due actions, one chain per market (see the module doc)."""
    waits: list[Wait] = []
    chains: list[tuple[Plan, ...]] = []
    limit = min(policy.max_utilization, planner.profile.withdraw_utilization_limit)
    for index in policy.markets:
        chain = _Chain(snap)
        if index in policy.settle_markets:
            _settle(chain.state, index, settle_payer, planner, chain.add, waits)
        for wallet in policy.wallets:
            for mp in wallet.markets:
                if mp.market_index != index:
                    continue
                stake = chain.state.stake(wallet.authority, index)
                if stake is None:
                    continue
                if stake.last_withdraw_request_shares:
                    if mp.withdraw:
                        _withdraw(
                            chain.state, wallet.authority, index, limit, planner, chain.add, waits
                        )
                elif mp.policy is not Policy.HOLD:
                    _request(chain.state, wallet.authority, mp, planner, chain.add, waits)
        if chain.plans:
            chains.append(tuple(chain.plans))
    plans = tuple(p for c in chains for p in c)
    return Decision(plans, tuple(waits), tuple(chains))


class _Chain:
    """One market's plans of a pass and the state the next one is planned on."""

    def __init__(self, snap: Snapshot) -> None:
        self.state = snap
        self.plans: list[Plan] = []

    def add(self, plan: Plan) -> None:
        self.plans.append(plan)
        self.state = plan.snapshot_after(self.state)


def _attempt(
    action: ActionKind,
    market_index: int,
    make_plan: Callable[[], Plan],
    add: Callable[[Plan], None],
    waits: list[Wait],
    retry_at_ts: int | None = None,
    authority: Pubkey | None = None,
) -> None:
    """Plan an action, or record why it waits.

    A predicted program error waits until `retry_at_ts` (or a change). Any other
    planning error (e.g. no wallet to receive tokens) waits for a change; either way
    the other actions of the pass go ahead.
    """
    try:
        plan = make_plan()
    except ProgramError as exc:
        waits.append(Wait(action, market_index, exc.info.name, retry_at_ts, authority))
    except KeeperError as exc:
        waits.append(Wait(action, market_index, str(exc), None, authority))
    else:
        add(plan)


def _wait_on(
    action: ActionKind,
    market_index: int,
    blockers: tuple[rules.Blocker, ...],
    waits: list[Wait],
    authority: Pubkey | None = None,
) -> bool:
    """Record a wait on the rules' blockers: the program's first reason, and the time
    by which every reason lifts by itself (None: only a change lifts one)."""
    if not blockers:
        return False
    waits.append(
        Wait(action, market_index, blockers[0].reason, rules.opens_at(blockers), authority)
    )
    return True


def _settle(
    snap: Snapshot,
    index: int,
    payer: Pubkey,
    planner: Planner,
    add: Callable[[Plan], None],
    waits: list[Wait],
) -> None:
    m = snap.market(index)
    fund = m.market.insurance_fund
    if rules.settle_opens_at(m.market) is None:
        return  # settling is disabled for this market: nothing to wait for
    blockers = rules.settle_blockers(snap.state, m.market, snap.now_ts, profile=planner.profile)
    if blockers and rules.settled_by_next_stake_instruction(m.market, planner.profile):
        # Booked revenue (or the period's allowance) does not wait for the keeper: the
        # next staking instruction of anyone settles it; only the explicit settle waits.
        first = dataclasses.replace(
            blockers[0],
            reason=f"{blockers[0].reason}; booked revenue reaches the IF with the next "
            "add, request, cancel or remove",
        )
        blockers = (first, *blockers[1:])
    if _wait_on(ActionKind.SETTLE, index, blockers, waits):
        return
    # Nothing to settle now: look again when the pool changes or a period passes.
    later = snap.now_ts + fund.revenue_settle_period_seconds
    _attempt(
        ActionKind.SETTLE, index, lambda: planner.settle(snap, payer, index), add, waits, later
    )


def utilization_wait(snap: Snapshot, index: int, limit: int) -> str | None:
    """Why a withdraw waits on the operator's utilization limit (None: it need not).

    The program's own gate compares utilization and its TWAP with the profile's
    limit; the operator's limit (never above it) applies to both the same way.
    """
    market = snap.market(index).market
    current = ifmath.market_utilization(market)
    twap = market.utilization_twap
    if current <= limit and twap <= limit:
        return None
    return f"utilization {format_ratio_ppm(current)} (TWAP {format_ratio_ppm(twap)}) above the withdraw limit {format_ratio_ppm(limit)}"


def _withdraw(
    snap: Snapshot,
    operator: Pubkey,
    index: int,
    limit: int,
    planner: Planner,
    add: Callable[[Plan], None],
    waits: list[Wait],
) -> None:
    m = snap.market(index)
    stake = snap.stake(operator, index)
    blockers = rules.withdraw_blockers(
        snap.state, m.market, stake, m.if_vault_amount, snap.now_ts, planner.profile
    )
    if _wait_on(ActionKind.WITHDRAW, index, blockers, waits, operator):
        return
    busy = utilization_wait(snap, index, limit)
    if busy is not None:
        waits.append(Wait(ActionKind.WITHDRAW, index, busy, None, operator))
        return
    _attempt(
        ActionKind.WITHDRAW,
        index,
        lambda: planner.withdraw(snap, operator, index),
        add,
        waits,
        authority=operator,
    )


def request_amount(
    snap: Snapshot, operator: Pubkey, mp: MarketPolicy, profile: ProgramProfile
) -> int | None:
    """What the policy requests now, in base units; None = every share; 0 = nothing.

    The stake is valued at the fund's NAV (rules.fund_nav), as the request prices it.
    """
    m = snap.market(mp.market_index)
    stake = snap.stake(operator, mp.market_index)
    assert stake is not None
    # A stake whose base lags is valued as the program's next touch rebases it.
    shares = ifmath.stake_shares(stake, m.market)
    nav = rules.fund_nav(m.market, m.if_vault_amount, profile)
    value = ifmath.stake_value(stake, m.market, nav)
    if mp.policy is Policy.EXIT:
        return None if shares else 0
    if mp.policy is Policy.CAP:
        amount = max(value - mp.cap_amount, 0)
    elif mp.policy is Policy.TAKE_PROFIT:
        amount = max(value - stake.cost_basis, 0)
    else:
        return 0
    return amount if amount >= max(mp.min_request_amount, 1) else 0


def _request(
    snap: Snapshot,
    operator: Pubkey,
    mp: MarketPolicy,
    planner: Planner,
    add: Callable[[Plan], None],
    waits: list[Wait],
) -> None:
    index = mp.market_index
    try:
        amount = request_amount(snap, operator, mp, planner.profile)
    except ifmath.Rejected as rej:  # the program could not value it either: wait
        reason = f"the stake cannot be valued (program error {rej.code})"
        waits.append(Wait(ActionKind.REQUEST, index, reason, None, operator))
        return
    if amount == 0:
        return
    _attempt(
        ActionKind.REQUEST,
        index,
        lambda: planner.unstake(snap, operator, index, amount),
        add,
        waits,
        authority=operator,
    )
