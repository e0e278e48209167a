"""When is each IF action possible? The program's checks, in its order, in one place.

Each `*_blockers` function lists every reason the program would refuse an instruction
right now, in the order the program checks them (the order effects.py is verified in
against the golden traces, spec §3), each with its exact error code and, where the
reason lifts by itself with time, the unix time it does. `check_*` raises the first
one as the program would; the mirror (keeper.core.effects) calls it before computing
an instruction's effect, and `status`, `decide`, the planner and the CLI ask the same
functions, so "when may I withdraw?" has one answer: `withdraw_blockers` and
`withdraw_opens_at`.

Checks that need an instruction's own computation half-way (the settle algorithm,
the implicit settle inside add, token balances) stay with that computation in effects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from keeper.core import ifmath
from keeper.core.error_codes import DriftError
from keeper.core.ifmath import Rejected
from keeper.core.profile import ImplicitSettle, ProgramProfile
from keeper.core.views import InsuranceFundStake, SpotMarket, State

# SpotMarket.if_paused_operations bits (InsuranceFundOperation)
IF_PAUSE_INIT, IF_PAUSE_ADD, IF_PAUSE_REQUEST_REMOVE, IF_PAUSE_REMOVE = 0x01, 0x02, 0x04, 0x08
# State.exchange_status bits (ExchangeStatus)
EXCHANGE_DEPOSIT_PAUSED, EXCHANGE_WITHDRAW_PAUSED = 0x01, 0x02
# SpotMarket.status values (MarketStatus)
STATUS_INITIALIZED, STATUS_SETTLEMENT, STATUS_DELISTED = 0, 7, 8
# SpotMarket.paused_operations bit (SpotOperation::Withdraw: Drift's value; Velocity's
# paused_operations.rs is not in the index, its enum is assumed unchanged)
SPOT_PAUSE_WITHDRAW = 0x08


@dataclass(frozen=True)
class Blocker:
    """One reason the program would refuse an instruction now."""

    code: DriftError
    #: short, stable text (decide's Wait reason, status's list of reasons)
    reason: str
    #: unix time from which this reason lifts by itself; None = only a change lifts it
    opens_at: int | None = None
    #: the `msg!` lines the program logs with the error
    logs: tuple[str, ...] = ()
    #: which raise site of the code (keeper.core.error_sites key), where several exist
    site: str | None = None

    def rejected(self) -> Rejected:
        return Rejected(self.code, self.logs, self.site)


def raise_first(blockers: Sequence[Blocker]) -> None:
    """Fail as the program does: with the first reason in its order, if any."""
    if blockers:
        raise blockers[0].rejected()


def opens_at(blockers: Sequence[Blocker]) -> int | None:
    """When every reason has lifted by itself (None if one needs a change)."""
    times = [b.opens_at for b in blockers]
    if not times or any(t is None for t in times):
        return None
    return max(t for t in times if t is not None)


def fund_nav(market: SpotMarket, vault_amount: int, profile: ProgramProfile) -> int:
    """What one share is a fraction of: the IF vault, plus the receivable where the
    profile counts it (`nav_includes_receivable`). Cash checks use the vault alone."""
    if profile.nav_includes_receivable:
        return ifmath.insurance_fund_nav(market, vault_amount)
    return vault_amount


def withdraw_transfer_paused(state: State, market: SpotMarket) -> bool:
    """A withdraw pause (the exchange's or the market's own) that holds booked revenue
    back in the spot vault (Velocity `attempt_settle_revenue_to_insurance_fund`)."""
    return bool(
        state.exchange_status & EXCHANGE_WITHDRAW_PAUSED
        or market.paused_operations & SPOT_PAUSE_WITHDRAW
    )


def market_index_blockers(stake: InsuranceFundStake, market_index: int | None) -> list[Blocker]:
    """The stake must belong to the instruction's market (None: not an argument here)."""
    if market_index is not None and stake.market_index != market_index:
        return [Blocker(DriftError.IncorrectSpotMarketAccountPassed, "stake of another market")]
    return []


def _rebased(
    market: SpotMarket, stake: InsuranceFundStake, vault_amount: int, out: list[Blocker]
) -> tuple[SpotMarket, InsuranceFundStake] | None:
    """The instruction's rebase step; a stake ahead of its market fails it (6189)."""
    try:
        return ifmath.rebase_accounts(market, stake, vault_amount)
    except Rejected as rej:
        out.append(Blocker(DriftError(rej.code), "stake base ahead of the market", site=rej.site))
        return None


# -- withdraw (removeInsuranceFundStake) ------------------------------------------------


def withdraw_opens_at(stake: InsuranceFundStake, market: SpotMarket) -> int:
    """The time the stake's pending request matures: request ts + unstaking period."""
    return ifmath.cooldown_matures_ts(
        stake.last_withdraw_request_ts, market.insurance_fund.unstaking_period_seconds
    )


def withdraw_blockers(
    state: State,
    market: SpotMarket,
    stake: InsuranceFundStake | None,
    vault_amount: int,
    now_ts: int,
    profile: ProgramProfile,
    market_index: int | None = None,
) -> tuple[Blocker, ...]:
    """Every reason a remove would fail now, in the program's order.

    Without a stake, the market-wide reasons only (are withdrawals open at all?).
    `market_index` is the instruction's argument (None: the stake's own market).
    Where the remove settles first (ImplicitSettle.BOOK_THEN_RELEASE), the stake's
    checks see the pending receivable released into the IF vault unless a withdraw
    pause defers it; what the settle would newly book (a due period, an allowance) only
    `effects.predict_remove` computes, and it raises NAV and cash alike.
    """
    out = list(withdraw_gate_blockers(state, market, stake, profile, market_index))
    if stake is None:
        return tuple(out)
    if profile.implicit_settle is ImplicitSettle.BOOK_THEN_RELEASE and not (
        withdraw_transfer_paused(state, market)
    ):
        try:
            market, released = ifmath.release_receivable(market)
        except Rejected as rej:
            return (*out, Blocker(DriftError(rej.code), "the receivable cannot be released"))
        vault_amount += released
    return tuple(out) + withdraw_stake_blockers(market, stake, vault_amount, now_ts, profile)


def withdraw_gate_blockers(
    state: State,
    market: SpotMarket,
    stake: InsuranceFundStake | None,
    profile: ProgramProfile,
    market_index: int | None = None,
) -> tuple[Blocker, ...]:
    """The remove's checks before its implicit settle (where the profile has one)."""
    out: list[Blocker] = []
    if state.exchange_status & EXCHANGE_WITHDRAW_PAUSED:
        out.append(Blocker(DriftError.ExchangePaused, "exchange withdrawals paused"))
    if market.if_paused_operations & IF_PAUSE_REMOVE:
        out.append(Blocker(DriftError.InsuranceFundOperationPaused, "IF remove paused"))
    if stake is not None:
        out += market_index_blockers(stake, market_index)
    if not ifmath.withdraw_utilization_ok(market, profile.withdraw_utilization_limit):
        out.append(
            Blocker(
                DriftError.SpotMarketInsufficientDeposits, "utilization above the withdraw limit"
            )
        )
    return tuple(out)


def withdraw_stake_blockers(
    market: SpotMarket,
    stake: InsuranceFundStake,
    vault_amount: int,
    now_ts: int,
    profile: ProgramProfile,
) -> tuple[Blocker, ...]:
    """The remove's checks of the stake and the payout, on the market as its implicit
    settle (if any) leaves it. Shares are valued at NAV (`fund_nav`); the payout must
    leave cash in the IF vault (and, with `remove_cash_check`, be below it)."""
    out: list[Blocker] = []
    nav = fund_nav(market, vault_amount, profile)
    matures = withdraw_opens_at(stake, market)
    if now_ts < matures:
        out.append(Blocker(DriftError.TryingToRemoveLiquidityTooFast, "cooldown", matures))
    after = _rebased(market, stake, nav, out)
    if after is None:
        return tuple(out)
    rebased_market, rebased = after
    shares = rebased.last_withdraw_request_shares
    if shares == 0:
        out.append(Blocker(DriftError.InvalidIFUnstake, "no pending request"))
        return tuple(out)
    if rebased.if_shares < shares:
        out.append(Blocker(DriftError.InsufficientIFShares, "request exceeds the stake"))
        return tuple(out)
    fund = rebased_market.insurance_fund
    request_value = rebased.last_withdraw_request_value
    try:
        # The payout's arithmetic at the program's widths: the shares' value, the
        # cancel's shares-lost (computed and discarded, its errors kept), the i64 basis.
        value_now = ifmath.shares_to_amount(shares, fund.total_shares, nav)
        ifmath.cancel_shares_lost(
            shares,
            fund.total_shares,
            nav,
            request_value,
            sole_staker_guard=profile.cancel_sole_staker_guard,
        )
        paid = min(value_now, request_value)
    except Rejected as rej:
        out.append(Blocker(DriftError(rej.code), "the payout overflows the program's integers"))
        return tuple(out)
    if profile.remove_cash_check and not (paid == 0 or paid < vault_amount):
        out.append(
            Blocker(
                DriftError.InvalidIFUnstakeSize,
                "the IF vault's cash is short (booked revenue held back by a withdraw pause)",
                site="cash",
            )
        )
        return tuple(out)
    try:
        ifmath.i64_sub(rebased.cost_basis, ifmath.cast_to_i64(paid))
    except Rejected as rej:
        out.append(Blocker(DriftError(rej.code), "the payout overflows the program's integers"))
        return tuple(out)
    if vault_amount - paid == 0:
        out.append(Blocker(DriftError.InvalidIFDetected, "would empty the IF vault"))
        return tuple(out)
    try:
        ifmath.validate_spot_balances(market)
    except Rejected as rej:
        out.append(Blocker(DriftError(rej.code), "market balances inconsistent"))
    return tuple(out)


# -- settle (settleRevenueToInsuranceFund) --------------------------------------------------


def settle_opens_at(market: SpotMarket) -> int | None:
    """The next on-the-hour time of the explicit settle instruction (None: settling is
    disabled for the market).

    On profiles whose staking instructions settle first (ImplicitSettle
    BOOK_THEN_RELEASE) revenue also reaches the IF between these times: a booked
    receivable, or what is left of the period's allowance, is settled by the next add,
    request, cancel or remove (`settled_by_next_stake_instruction`); the keeper itself
    can only send the explicit settle, from this time.
    """
    fund = market.insurance_fund
    period = fund.revenue_settle_period_seconds
    if period <= 0:
        return None
    return ifmath.next_settle_ts(fund.last_revenue_settle_ts, period)


def settled_by_next_stake_instruction(market: SpotMarket, profile: ProgramProfile) -> bool:
    """Revenue the next staking instruction moves into the IF before the next explicit
    settle: a pending receivable (released unless a withdraw pause defers it) or an
    allowance left in the open period (booked, then released)."""
    if profile.implicit_settle is not ImplicitSettle.BOOK_THEN_RELEASE:
        return False
    return market.if_revenue_receivable_scaled > 0 or market.revenue_settle_allowance > 0


def settle_blockers(
    state: State,
    market: SpotMarket,
    now_ts: int,
    spot_market_index: int | None = None,
    *,
    profile: ProgramProfile | None = None,
) -> tuple[Blocker, ...]:
    """The settle's gates, in the program's order (the settle algorithm checks the rest).

    `spot_market_index` is the instruction's argument (None: the market's own index);
    the program checks it after the access-control pause check. `profile` adds the
    build's own gates (None: Drift's).
    """
    out: list[Blocker] = []
    if state.exchange_status & EXCHANGE_WITHDRAW_PAUSED:
        out.append(
            Blocker(
                DriftError.ExchangePaused, "the exchange has paused withdrawals (and so settles)"
            )
        )
    if spot_market_index is not None and market.market_index != spot_market_index:
        out.append(Blocker(DriftError.InvalidSpotMarketAccount, "spot market of another index"))
    if (
        profile is not None
        and profile.settle_checks_market_withdraw_pause
        and market.paused_operations & SPOT_PAUSE_WITHDRAW
    ):
        out.append(
            Blocker(DriftError.MarketWithdrawPaused, "the market has paused withdrawals (and so settles)")
        )
    next_ts = settle_opens_at(market)
    if next_ts is None:
        out.append(
            Blocker(DriftError.RevenueSettingsCannotSettleToIF, "settling disabled", site="period")
        )
    elif now_ts < next_ts:
        wait = next_ts - now_ts
        logs = (f"Must wait {wait} seconds until next available settlement time",)
        out.append(
            Blocker(
                DriftError.RevenueSettingsCannotSettleToIF,
                "next settle time",
                next_ts,
                logs,
                site="wait",
            )
        )
    return tuple(out)


# -- request, cancel, add -------------------------------------------------------------------


def request_blockers(
    market: SpotMarket,
    stake: InsuranceFundStake,
    vault_amount: int,
    amount: int,
    market_index: int | None = None,
) -> tuple[Blocker, ...]:
    """Every reason a request of `amount` tokens would fail now, in the program's order.

    `vault_amount` is what shares are priced off: the IF vault, or the NAV (`fund_nav`)
    where the profile counts the receivable.
    """
    return request_gate_blockers(market, stake, market_index) + request_share_blockers(
        market, stake, vault_amount, amount
    )


def request_gate_blockers(
    market: SpotMarket, stake: InsuranceFundStake, market_index: int | None = None
) -> tuple[Blocker, ...]:
    """The request's checks before its implicit settle (where the profile has one)."""
    out: list[Blocker] = []
    if market.if_paused_operations & IF_PAUSE_REQUEST_REMOVE:
        out.append(Blocker(DriftError.InsuranceFundOperationPaused, "IF request paused"))
    out += market_index_blockers(stake, market_index)
    if stake.last_withdraw_request_shares != 0:
        out.append(Blocker(DriftError.IFWithdrawRequestInProgress, "a request is pending"))
    return tuple(out)


def request_share_blockers(
    market: SpotMarket, stake: InsuranceFundStake, vault_amount: int, amount: int
) -> tuple[Blocker, ...]:
    """The request's share checks, on the market as its implicit settle leaves it."""
    out: list[Blocker] = []
    fund = market.insurance_fund
    if vault_amount == 0 and fund.total_shares != 0:
        out.append(Blocker(DriftError.InvalidIFSharesDetected, "shares over an empty IF vault"))
        return tuple(out)
    shares = ifmath.amount_to_shares(amount, fund.total_shares, vault_amount)
    if shares == 0:
        out.append(Blocker(DriftError.IFWithdrawRequestTooSmall, "amount below one share"))
    if request_needs_rebase(stake, market):
        # The request handler checks the base before rebasing: only an add rebases it.
        out.append(Blocker(DriftError.InvalidIFRebase, "stake not rebased"))
        return tuple(out)
    if stake.if_shares < shares:
        out.append(Blocker(DriftError.InsufficientIFShares, "amount exceeds the stake"))
        return tuple(out)
    requested = dataclasses.replace(stake, last_withdraw_request_shares=shares)
    rebased = _rebased(market, requested, vault_amount, out)
    if rebased is not None and rebased[1].last_withdraw_request_shares > rebased[1].if_shares:
        out.append(Blocker(DriftError.InvalidInsuranceUnstakeSize, "request exceeds the stake"))
    return tuple(out)


def request_needs_rebase(stake: InsuranceFundStake, market: SpotMarket) -> bool:
    """The request handler refuses a stake not at its market's base (6189)."""
    return stake.if_base != market.insurance_fund.shares_base


#: What the keeper adds to rebase a lagging stake before requesting (one base unit).
REBASE_TOUCH_AMOUNT = 1


def rebase_touch_amount(market: SpotMarket, vault_amount: int, profile: ProgramProfile) -> int:
    """The add that rebases a lagging stake: one base unit, or where adds buy whole
    shares only (`add_whole_shares`, else 6360) the price of one share, ceil(NAV / T)
    (the add transfers just that share's cost). Priced on the accounts as they are: a
    settle the add books first can raise the price, and the planner's prediction says so."""
    fund = market.insurance_fund
    if not profile.add_whole_shares or fund.total_shares == 0:
        return REBASE_TOUCH_AMOUNT
    nav = fund_nav(market, vault_amount, profile)
    return max(REBASE_TOUCH_AMOUNT, ifmath.ceil_div(nav, fund.total_shares))


def request_amount_for_shares(
    market: SpotMarket, vault_amount: int, shares: int, profile: ProgramProfile
) -> int:
    """The largest request amount that converts to at most `shares` shares at the NAV
    the request prices off (`ifmath.amount_for_shares` over `fund_nav`)."""
    nav = fund_nav(market, vault_amount, profile)
    return ifmath.amount_for_shares(shares, market.insurance_fund.total_shares, nav)


def needs_rebase_touch(stake: InsuranceFundStake, market: SpotMarket) -> bool:
    """A stake whose base lags, with no request pending, can only be rebased by an add
    (spec §3.3 step 6): the keeper adds `REBASE_TOUCH_AMOUNT` before requesting."""
    return stake.if_base < market.insurance_fund.shares_base and not stake.has_pending_request


def cancel_blockers(
    market: SpotMarket,
    stake: InsuranceFundStake,
    vault_amount: int,
    market_index: int | None = None,
    *,
    rejects_rebased_to_zero: bool = True,
) -> tuple[Blocker, ...]:
    """Every reason a cancel would fail now, in the program's order.

    `vault_amount` as in `request_blockers`; `rejects_rebased_to_zero` is the profile's
    `cancel_rejects_rebased_to_zero` (6187).
    """
    gates = cancel_gate_blockers(stake, market_index)
    if gates and gates[-1].code is DriftError.NoIFWithdrawRequestInProgress:
        return gates
    return gates + cancel_share_blockers(
        market, stake, vault_amount, rejects_rebased_to_zero=rejects_rebased_to_zero
    )


def cancel_gate_blockers(
    stake: InsuranceFundStake, market_index: int | None = None
) -> tuple[Blocker, ...]:
    """The cancel's checks before its implicit settle (where the profile has one)."""
    out = market_index_blockers(stake, market_index)
    if stake.last_withdraw_request_shares == 0:
        out.append(Blocker(DriftError.NoIFWithdrawRequestInProgress, "no pending request"))
    return tuple(out)


def cancel_share_blockers(
    market: SpotMarket,
    stake: InsuranceFundStake,
    vault_amount: int,
    *,
    rejects_rebased_to_zero: bool = True,
) -> tuple[Blocker, ...]:
    """The cancel's rebase checks, on the market as its implicit settle leaves it."""
    out: list[Blocker] = []
    after = _rebased(market, stake, vault_amount, out)
    if (
        rejects_rebased_to_zero
        and after is not None
        and after[1].last_withdraw_request_shares == 0
    ):
        out.append(Blocker(DriftError.InvalidIFUnstakeCancel, "request rebased to zero"))
    return tuple(out)


def add_blockers(
    market: SpotMarket,
    stake: InsuranceFundStake,
    amount: int,
    market_index: int | None = None,
) -> tuple[Blocker, ...]:
    """The add's gates before its implicit settle, in the program's order."""
    out: list[Blocker] = []
    if amount == 0:
        out.append(Blocker(DriftError.InsufficientDeposit, "amount is zero"))
    if market.if_paused_operations & IF_PAUSE_ADD:
        out.append(Blocker(DriftError.InsuranceFundOperationPaused, "IF add paused"))
    out += market_index_blockers(stake, market_index)
    if market.status == STATUS_INITIALIZED:
        out.append(Blocker(DriftError.InvalidSpotMarketState, "market not active"))
    if stake.has_pending_request:
        out.append(Blocker(DriftError.IFWithdrawRequestInProgress, "a request is pending"))
    return tuple(out)


def initialize_stake_blockers(market: SpotMarket) -> tuple[Blocker, ...]:
    if market.if_paused_operations & IF_PAUSE_INIT:
        return (Blocker(DriftError.InsuranceFundOperationPaused, "IF stake creation paused"),)
    return ()
