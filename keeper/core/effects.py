"""Predicted effect of each IF instruction: accounts in, accounts out (or the error).

Each function takes the decoded accounts an instruction reads and `now_ts`, checks in
the program's order (spec §3; the gates live in keeper.core.rules, which the keeper's
other readers ask too), and returns every account it changes, the token
transfers it makes and the events it emits — or raises `Rejected` with the exact code.
The keeper uses this to validate before sending and to verify after; the localnet
uses it to execute Drift instructions natively.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from solders.pubkey import Pubkey

from keeper.core import account_structs, ifmath, rules
from keeper.core.error_codes import DriftError, SplTokenError
from keeper.core.ifmath import Rejected, TokenRejected
from keeper.core.interest import update_interest
from keeper.core.profile import (
    ImplicitSettle,
    ProgramProfile,
    SettleCapBase,
    SettleModel,
    UserStatsRemoveBasis,
)
from keeper.core.rules import EXCHANGE_DEPOSIT_PAUSED, STATUS_DELISTED, STATUS_SETTLEMENT
from keeper.core.views import (
    InsuranceFund,
    InsuranceFundStake,
    SpotMarket,
    State,
    TokenAccount,
    UserStats,
)

QUOTE_MARKET_INDEX, GOV_MARKET_INDEX = 0, 15
I64_MAX = 2**63 - 1


@dataclass(frozen=True)
class IfAccounts:
    """The decoded accounts an IF instruction reads (absent ones are None)."""

    market: SpotMarket
    state: State | None = None
    if_vault: TokenAccount | None = None
    spot_vault: TokenAccount | None = None
    stake: InsuranceFundStake | None = None
    user_stats: UserStats | None = None
    user_token: TokenAccount | None = None


#: IDL account role → the IfAccounts field that holds its decoded view.
ACCOUNT_ROLES: dict[str, str] = {
    "state": "state",
    "spotMarket": "market",
    "insuranceFundStake": "stake",
    "userStats": "user_stats",
    "insuranceFundVault": "if_vault",
    "spotMarketVault": "spot_vault",
    "userTokenAccount": "user_token",
}
#: the roles that are token accounts (the rest are Drift accounts)
TOKEN_ROLES = frozenset({"insuranceFundVault", "spotMarketVault", "userTokenAccount"})


@dataclass(frozen=True)
class TokenMove:
    source: Pubkey
    destination: Pubkey
    amount: int


@dataclass(frozen=True)
class Effect:
    """What an instruction changes. Token accounts change only through `transfers`."""

    market: SpotMarket | None
    stake: InsuranceFundStake | None = None
    user_stats: UserStats | None = None
    state: State | None = None
    transfers: tuple[TokenMove, ...] = ()
    events: tuple[dict[str, Any], ...] = ()
    logs: tuple[str, ...] = field(default=())

    def token_accounts_after(
        self, accounts: Mapping[Pubkey, TokenAccount]
    ) -> dict[Pubkey, TokenAccount]:
        """Apply the transfers to these token accounts (the ones not moved are unchanged)."""
        out = dict(accounts)
        for move in self.transfers:
            src, dst = out[move.source], out[move.destination]
            out[move.source] = dataclasses.replace(src, amount=src.amount - move.amount)
            dst = out[move.destination]
            out[move.destination] = dataclasses.replace(dst, amount=dst.amount + move.amount)
        return out

    def accounts_after(self, acc: IfAccounts) -> IfAccounts:
        """The accounts as the next instruction of the same transaction reads them."""
        tokens = {t.address: t for t in (acc.if_vault, acc.spot_vault, acc.user_token) if t}
        moved = self.token_accounts_after(tokens)

        def token(t: TokenAccount | None) -> TokenAccount | None:
            return moved[t.address] if t is not None else None

        return IfAccounts(
            market=self.market or acc.market,
            state=self.state or acc.state,
            if_vault=token(acc.if_vault),
            spot_vault=token(acc.spot_vault),
            stake=self.stake or acc.stake,
            user_stats=self.user_stats or acc.user_stats,
            user_token=token(acc.user_token),
        )

    def then(self, later: Effect) -> Effect:
        """This effect followed by `later` (predicted on `accounts_after`), as one."""
        return Effect(
            market=later.market or self.market,
            stake=later.stake or self.stake,
            user_stats=later.user_stats or self.user_stats,
            state=later.state or self.state,
            transfers=self.transfers + later.transfers,
            events=self.events + later.events,
            logs=self.logs + later.logs,
        )


def _need(value: Any, what: str) -> Any:
    """An account the prediction reads; `predict` has already refused absent ones as
    Anchor does (keeper.core.account_structs), so only direct callers can get here."""
    if value is None:
        raise ValueError(f"prediction needs the {what} account")
    return value


#: The accounts each instruction's prediction reads (beyond the spot market).
_READS: dict[str, tuple[str, ...]] = {
    "addInsuranceFundStake": (
        "insuranceFundStake",
        "userStats",
        "spotMarketVault",
        "insuranceFundVault",
        "userTokenAccount",
    ),
    "requestRemoveInsuranceFundStake": ("insuranceFundStake", "userStats", "insuranceFundVault"),
    "cancelRequestRemoveInsuranceFundStake": (
        "insuranceFundStake",
        "userStats",
        "insuranceFundVault",
    ),
    "removeInsuranceFundStake": (
        "state",
        "insuranceFundStake",
        "userStats",
        "insuranceFundVault",
        "userTokenAccount",
    ),
    "settleRevenueToInsuranceFund": ("state", "spotMarketVault", "insuranceFundVault"),
    "depositIntoSpotMarketRevenuePool": ("state", "spotMarketVault", "userTokenAccount"),
    "updateUserQuoteAssetInsuranceStake": ("insuranceFundStake", "userStats", "insuranceFundVault"),
    "initializeInsuranceFundStake": ("userStats",),
}

#: What the staking instructions also read to settle first where the profile's do
#: (ImplicitSettle.BOOK_THEN_RELEASE: the vaults, and State for the withdraw pause).
_SETTLE_FIRST_READS = ("state", "spotMarketVault", "insuranceFundVault")


def _reads(instruction: str, profile: ProgramProfile) -> tuple[str, ...]:
    reads = _READS.get(instruction, ())
    if profile.implicit_settle is ImplicitSettle.BOOK_THEN_RELEASE and instruction in (
        "addInsuranceFundStake",
        "requestRemoveInsuranceFundStake",
        "cancelRequestRemoveInsuranceFundStake",
        "removeInsuranceFundStake",
    ):
        reads += tuple(r for r in _SETTLE_FIRST_READS if r not in reads)
    return reads


#: The accounts each handler `load_mut!`s, in its order (a read-only one fails 6065).
_LOADS_MUT = ("insuranceFundStake", "userStats", "spotMarket")


def _before_loads(instruction: str, acc: IfAccounts, args: Mapping[str, int]) -> None:
    """The checks a handler makes before its `load_mut!`s: access control, zero amount."""
    state = acc.state
    paused = state.exchange_status if state is not None else 0
    withdraws = instruction in ("removeInsuranceFundStake", "settleRevenueToInsuranceFund")
    if withdraws and paused & rules.EXCHANGE_WITHDRAW_PAUSED:
        raise Rejected(DriftError.ExchangePaused)
    if instruction == "depositIntoSpotMarketRevenuePool" and paused & EXCHANGE_DEPOSIT_PAUSED:
        raise Rejected(DriftError.ExchangePaused)
    deposits = instruction in ("addInsuranceFundStake", "depositIntoSpotMarketRevenuePool")
    if deposits and args.get("amount") == 0:
        raise Rejected(DriftError.InsufficientDeposit)


def check_loads(
    instruction: str, acc: IfAccounts, args: Mapping[str, int], unwritable: frozenset[str]
) -> None:
    """The handler's `load_mut!` of an account passed read-only (6065), after the checks
    it makes before loading (which then fail first)."""
    loads = [r for r in _LOADS_MUT if r in unwritable]
    if not loads or instruction == "initializeInsuranceFundStake":
        return
    _before_loads(instruction, acc, args)
    raise Rejected(DriftError.UnableToLoadAccountLoader, site=f"load_mut:{loads[0]}")


# -- settle (explicit, and the implicit one inside add) --------------------------------


@dataclass(frozen=True)
class SettleResult:
    market: SpotMarket
    amount: int
    events: tuple[dict[str, Any], ...]


def settle_revenue(
    market: SpotMarket,
    if_vault_amount: int,
    spot_vault_amount: int,
    now_ts: int,
    profile: ProgramProfile,
    *,
    explicit: bool,
) -> SettleResult:
    """Interest update, then the settle algorithm (§4.4, §4.6.6)."""
    updated = update_interest(market, now_ts, profile)
    m = updated.market
    events: list[dict[str, Any]] = [updated.event] if updated.event else []
    fund = m.insurance_fund
    period = fund.revenue_settle_period_seconds
    if period <= 0:
        return SettleResult(m, 0, tuple(events))
    if fund.user_factor > fund.total_factor:
        raise Rejected(DriftError.RevenueSettingsCannotSettleToIF, site="factor")
    # fidelity: validate_spot_market_vault_amount with the program's u64/i64 casts
    # (the vault must hold what depositors could withdraw, the pool ≤ all deposits).
    liquidity = ifmath.validate_spot_market_vault_amount(m, spot_vault_amount)
    pool = ifmath.revenue_pool_amount(m)
    amount = ifmath.settle_amount(
        pool,
        liquidity,
        fund.user_shares,
        if_vault_amount,
        profile.max_apr_for(m.market_index),
        period,
    )
    if explicit and amount == 0:
        raise Rejected(DriftError.NoRevenueToSettleToIF)
    minted = ifmath.protocol_shares_minted(
        amount, fund.total_factor, fund.user_factor, fund.total_shares, if_vault_amount
    )
    total_after = ifmath.u128_add(fund.total_shares, minted)  # fidelity: u128 safe_add
    m = ifmath.with_fund(m, total_shares=total_after, last_revenue_settle_ts=now_ts)
    if amount > 0:
        if amount >= pool:
            m = dataclasses.replace(
                m,
                deposit_balance=m.deposit_balance - m.revenue_pool_scaled_balance,
                revenue_pool_scaled_balance=0,
            )
        else:
            debit = amount * ifmath.balance_precision(m.decimals) // m.cumulative_deposit_interest
            m = dataclasses.replace(
                m,
                deposit_balance=m.deposit_balance - debit,
                revenue_pool_scaled_balance=m.revenue_pool_scaled_balance - debit,
            )
    events.append(
        {
            "name": "InsuranceFundRecord",
            "data": {
                "ts": now_ts,
                "spotMarketIndex": m.market_index,
                "perpMarketIndex": 0,
                "userIfFactor": fund.user_factor,
                "totalIfFactor": fund.total_factor,
                "vaultAmountBefore": spot_vault_amount,
                "insuranceVaultAmountBefore": if_vault_amount,
                "totalIfSharesBefore": total_after,
                "totalIfSharesAfter": total_after,
                "amount": amount,
            },
        }
    )
    return SettleResult(m, amount, tuple(events))


def predict_settle(
    acc: IfAccounts,
    now_ts: int,
    profile: ProgramProfile,
    *,
    spot_market_index: int | None = None,
) -> Effect:
    state, market = _need(acc.state, "state"), acc.market
    if_vault, spot_vault = (
        _need(acc.if_vault, "IF vault"),
        _need(acc.spot_vault, "spot market vault"),
    )
    rules.raise_first(
        rules.settle_blockers(state, market, now_ts, spot_market_index, profile=profile)
    )
    if profile.settle_model is SettleModel.BOOK_RECEIVABLE:
        return _predict_booked_settle(acc, now_ts, profile)
    result = settle_revenue(
        market, if_vault.amount, spot_vault.amount, now_ts, profile, explicit=True
    )
    # fidelity: after the transfer the program re-checks the spot vault against the
    # depositors' claim; the floored pool debit can leave it a few units short.
    ifmath.validate_spot_market_vault_amount(result.market, spot_vault.amount - result.amount)
    return Effect(
        market=result.market,
        transfers=(TokenMove(spot_vault.address, if_vault.address, result.amount),),
        events=result.events,
    )


# -- booking and release (profiles whose settle books a receivable) ----------------------


def _booked_event(
    m: SpotMarket,
    amount: int,
    spot_vault_amount: int,
    if_vault_amount: int,
    total_before: int,
    now_ts: int,
) -> dict[str, Any]:
    fund = m.insurance_fund
    return {
        "name": "InsuranceFundRecord",
        "data": {
            "ts": now_ts,
            "spotMarketIndex": m.market_index,
            "perpMarketIndex": 0,
            # fidelity: both factor fields carry the one `if_fee_factor`
            "userIfFactor": fund.total_factor,
            "totalIfFactor": fund.total_factor,
            "vaultAmountBefore": spot_vault_amount,
            "insuranceVaultAmountBefore": if_vault_amount,
            "totalIfSharesBefore": total_before,
            "totalIfSharesAfter": fund.total_shares,
            "amount": amount,
        },
    }


def _open_settle_period(
    m: SpotMarket, if_vault_amount: int, spot_vault_amount: int, now_ts: int, profile: ProgramProfile
) -> tuple[SpotMarket, bool]:
    """Velocity `open_revenue_settle_period`: the period's allowance and the new period.

    Drift's liquidity rule with the receivable excluded (it is already the IF's), then
    /10 and the APR cap on min(NAV, last-settle NAV) while users hold shares. Returns
    the market and whether the cap base was unset (the seeding settle books 0 and may).
    """
    fund = m.insurance_fund
    claim = ifmath.validate_spot_market_vault_amount(m, spot_vault_amount)
    unreserved = max(max(claim, 0) - ifmath.receivable_amount(m), 0)
    amount = ifmath.revenue_pool_amount(m)
    if unreserved < amount:
        amount = unreserved // 2
    cap_base_was_unset = fund.user_shares > 0 and m.if_last_settle_vault_amount == 0
    if fund.user_shares > 0:
        nav = ifmath.insurance_fund_nav(m, if_vault_amount)
        base = (
            min(nav, m.if_last_settle_vault_amount)
            if profile.settle_cap_base is SettleCapBase.MIN_NAV_AND_LAST_SETTLE
            else if_vault_amount
        )
        cap = ifmath.settle_cap_amount(
            base, profile.max_apr_for(m.market_index), fund.revenue_settle_period_seconds
        )
        amount = min(amount // 10, cap)
    m = dataclasses.replace(m, revenue_settle_allowance=ifmath.cast_to_u64(amount))
    return ifmath.with_fund(m, last_revenue_settle_ts=now_ts), cap_base_was_unset


def book_revenue(
    market: SpotMarket,
    if_vault_amount: int,
    spot_vault_amount: int,
    now_ts: int,
    profile: ProgramProfile,
    *,
    open_period: bool,
    check_invariants: bool,
) -> SettleResult:
    """Velocity `book_revenue_to_insurance_fund`: move revenue-pool claims into the IF's
    receivable, up to the period's allowance; no tokens move (`ifmath.release_receivable` does).

    `amount` is the booked token value. The fund mints no protocol shares: the booked
    revenue raises the share price of every holder; a fund without shares is seeded
    with T = NAV (ballast no instruction can withdraw).
    """
    updated = update_interest(market, now_ts, profile)
    m = updated.market
    events: list[dict[str, Any]] = [updated.event] if updated.event else []
    if m.insurance_fund.revenue_settle_period_seconds == 0:
        return SettleResult(m, 0, tuple(events))
    cap_base_was_unset = False
    if open_period:
        m, cap_base_was_unset = _open_settle_period(
            m, if_vault_amount, spot_vault_amount, now_ts, profile
        )
    pool = ifmath.revenue_pool_amount(m)
    reserved = m.perp_if_revenue_receivable
    if reserved > pool:
        raise Rejected(DriftError.InvalidSpotMarketState, site="perp_receivable")
    amount = min(ifmath.cast_to_u64(pool - reserved), m.revenue_settle_allowance)
    if amount > 0 and reserved > 0:
        # Keep the perp markets' reservation (rounded up) and one scaled unit in the pool.
        minimum = ifmath.scaled_for_tokens_ceil(reserved, m)
        if minimum > m.revenue_pool_scaled_balance:
            raise Rejected(DriftError.InvalidSpotMarketState, site="perp_receivable")
        available = max(m.revenue_pool_scaled_balance - minimum - 1, 0)
        amount = min(
            amount,
            ifmath.cast_to_u64(
                ifmath.deposit_tokens(available, m.cumulative_deposit_interest, m.decimals)
            ),
        )
    nav_before = ifmath.insurance_fund_nav(m, if_vault_amount)
    if amount > 0:
        delta = (
            m.revenue_pool_scaled_balance
            if ifmath.revenue_pool_amount(m) <= amount
            else ifmath.scaled_for_tokens_ceil(amount, m)
        )
        m = dataclasses.replace(
            m,
            revenue_pool_scaled_balance=ifmath.u128_sub(m.revenue_pool_scaled_balance, delta),
            if_revenue_receivable_scaled=ifmath.u128_add(m.if_revenue_receivable_scaled, delta),
        )
        amount = ifmath.cast_to_u64(
            ifmath.deposit_tokens(delta, m.cumulative_deposit_interest, m.decimals)
        )
        m = dataclasses.replace(
            m, revenue_settle_allowance=ifmath.u64_sub(m.revenue_settle_allowance, amount)
        )
    if (
        check_invariants
        and not cap_base_was_unset
        and amount == 0
        and m.if_revenue_receivable_scaled == 0
    ):
        raise Rejected(DriftError.NoRevenueToSettleToIF)
    total_before = m.insurance_fund.total_shares
    if total_before == 0:
        m = ifmath.with_fund(
            m, total_shares=ifmath.cast_to_u128(ifmath.u64_add(nav_before, amount))
        )
    if open_period:
        m = dataclasses.replace(m, if_last_settle_vault_amount=ifmath.u64_add(nav_before, amount))
    events.append(
        _booked_event(m, amount, spot_vault_amount, if_vault_amount, total_before, now_ts)
    )
    return SettleResult(m, amount, tuple(events))


@dataclass(frozen=True)
class FirstSettle:
    """What a staking instruction's implicit settle did: the market after it, the IF and
    spot vault amounts after its transfer, the transfer and its events."""

    market: SpotMarket
    if_vault_amount: int
    spot_vault_amount: int
    transfers: tuple[TokenMove, ...] = ()
    events: tuple[dict[str, Any], ...] = ()


def settle_first(
    acc: IfAccounts, market: SpotMarket, now_ts: int, profile: ProgramProfile
) -> FirstSettle:
    """The settle a staking instruction runs before its own work (profile.implicit_settle).

    Drift's add settles when a settle is due and moves the tokens at once. Velocity's
    `attempt_settle_revenue_to_insurance_fund` books when due (opening a period) or
    while the period's allowance lasts, only accrues interest when just a receivable
    is pending, and releases the receivable into the IF vault unless the exchange or
    the market has paused withdrawals (the booked revenue then waits in the spot vault,
    already counted in NAV).
    """
    if_vault = _need(acc.if_vault, "IF vault")
    spot_vault = _need(acc.spot_vault, "spot market vault")
    vault, spot = if_vault.amount, spot_vault.amount
    fund = market.insurance_fund
    period = fund.revenue_settle_period_seconds
    due = period > 0 and ifmath.settle_wait_seconds(fund.last_revenue_settle_ts, period, now_ts) == 0
    if profile.implicit_settle is ImplicitSettle.ADD_WHEN_DUE:
        if not due:
            return FirstSettle(market, vault, spot)
        settled = settle_revenue(market, vault, spot, now_ts, profile, explicit=False)
        if settled.amount == 0:
            return FirstSettle(settled.market, vault, spot, events=settled.events)
        move = TokenMove(spot_vault.address, if_vault.address, settled.amount)
        return FirstSettle(
            settled.market,
            vault + settled.amount,
            spot - settled.amount,
            (move,),
            settled.events,
        )
    allowance = market.revenue_settle_allowance > 0
    if not due and market.if_revenue_receivable_scaled == 0 and not allowance:
        return FirstSettle(market, vault, spot)
    events: tuple[dict[str, Any], ...]
    if due or allowance:
        booked = book_revenue(
            market, vault, spot, now_ts, profile, open_period=due, check_invariants=False
        )
        market, events = booked.market, booked.events
    else:
        updated = update_interest(market, now_ts, profile)
        market, events = updated.market, ((updated.event,) if updated.event else ())
    if rules.withdraw_transfer_paused(_need(acc.state, "state"), market):
        return FirstSettle(market, vault, spot, events=events)
    market, released = ifmath.release_receivable(market)
    if released == 0:
        return FirstSettle(market, vault, spot, events=events)
    move = TokenMove(spot_vault.address, if_vault.address, released)
    # The release is a real transfer: a spot vault short of it fails in SPL Token, before
    # the caller's reload re-checks the vault (6173).
    _check_receive(spot, vault, released, (move,))
    return FirstSettle(market, vault + released, spot - released, (move,), events)


def _settle_first_if_staking_settles(
    acc: IfAccounts, market: SpotMarket, now_ts: int, profile: ProgramProfile
) -> FirstSettle:
    """Request, cancel and remove settle first only where the profile says so (then,
    like add, they re-check the reloaded spot vault, 6173)."""
    vault = _need(acc.if_vault, "IF vault").amount
    if profile.implicit_settle is not ImplicitSettle.BOOK_THEN_RELEASE:
        return FirstSettle(market, vault, acc.spot_vault.amount if acc.spot_vault else 0)
    first = settle_first(acc, market, now_ts, profile)
    ifmath.validate_spot_market_vault_amount(first.market, first.spot_vault_amount)
    return first


def _predict_booked_settle(acc: IfAccounts, now_ts: int, profile: ProgramProfile) -> Effect:
    """The explicit settle of a receivable-booking build (Velocity
    `settle_revenue_to_insurance_fund`): open a period and book, then release the whole
    receivable and transfer it, re-checking the spot vault after (6173)."""
    if_vault = _need(acc.if_vault, "IF vault")
    spot_vault = _need(acc.spot_vault, "spot market vault")
    booked = book_revenue(
        acc.market,
        if_vault.amount,
        spot_vault.amount,
        now_ts,
        profile,
        open_period=True,
        check_invariants=True,
    )
    market, released = ifmath.release_receivable(booked.market)
    market = ifmath.with_fund(market, last_revenue_settle_ts=now_ts)
    move = TokenMove(spot_vault.address, if_vault.address, released)
    _check_receive(spot_vault.amount, if_vault.amount, released, (move,))
    ifmath.validate_spot_market_vault_amount(market, spot_vault.amount - released)
    return Effect(market=market, transfers=(move,), events=booked.events)


# -- staking -------------------------------------------------------------------------------


def _stake_event(
    stake: InsuranceFundStake,
    action: str,
    amount: int,
    vault_before: int,
    before: tuple[int, int, int],
    after: tuple[int, int, int],
    now_ts: int,
) -> dict[str, Any]:
    return {
        "name": "InsuranceFundStakeRecord",
        "data": {
            "ts": now_ts,
            "userAuthority": str(stake.authority),
            "action": action,
            "amount": amount,
            "marketIndex": stake.market_index,
            "insuranceVaultAmountBefore": vault_before,
            "ifSharesBefore": before[0],
            "userIfSharesBefore": before[1],
            "totalIfSharesBefore": before[2],
            "ifSharesAfter": after[0],
            "userIfSharesAfter": after[1],
            "totalIfSharesAfter": after[2],
        },
    }


def _user_stats_snapshot(
    stats: UserStats | None,
    stake: InsuranceFundStake,
    fund: InsuranceFund,
    vault_amount: int,
    profile: ProgramProfile,
) -> UserStats | None:
    """UserStats mirrors the value of quote (0) and gov (15) stakes."""
    if stats is None or stake.market_index not in profile.user_stats_snapshot_markets:
        return stats
    value = ifmath.shares_to_amount(stake.if_shares, fund.total_shares, vault_amount)
    if stake.market_index == QUOTE_MARKET_INDEX:
        return dataclasses.replace(stats, if_staked_quote_asset_amount=value)
    if stake.market_index == GOV_MARKET_INDEX:
        return dataclasses.replace(stats, if_staked_gov_token_amount=value)
    return stats


def _check_receive(wallet: int, vault: int, amount: int, transfers: tuple[TokenMove, ...]) -> None:
    """`token::receive` of `amount` from a wallet into a vault, as SPL Token checks it
    (its failure ends the instruction there: later checks are never reached)."""
    if wallet < amount:
        raise TokenRejected(
            SplTokenError.InsufficientFunds, ("Error: insufficient funds",), transfers
        )
    if vault + amount > ifmath.U64_MAX:  # fidelity: SPL Overflow of the vault's u64
        raise TokenRejected(SplTokenError.Overflow, ("Error: Operation overflowed",), transfers)


def predict_add(
    acc: IfAccounts,
    market_index: int,
    amount: int,
    now_ts: int,
    profile: ProgramProfile,
    *,
    check_token_balances: bool = True,
) -> Effect:
    market, stake = acc.market, _need(acc.stake, "stake")
    if_vault = _need(acc.if_vault, "IF vault")
    _need(acc.spot_vault, "spot market vault")
    user_token = _need(acc.user_token, "user token")
    rules.raise_first(rules.add_blockers(market, stake, amount, market_index))
    first = settle_first(acc, market, now_ts, profile)
    market = first.market
    events: list[dict[str, Any]] = list(first.events)
    transfers: list[TokenMove] = list(first.transfers)
    vault = first.if_vault_amount
    # fidelity: add re-checks the (reloaded) spot vault whether or not it settled.
    ifmath.validate_spot_market_vault_amount(market, first.spot_vault_amount)
    nav = rules.fund_nav(market, vault, profile)
    if nav == 0 and market.insurance_fund.total_shares != 0:
        raise Rejected(DriftError.InvalidIFForNewStakes)
    market, stake = ifmath.rebase_accounts(market, stake, nav)
    fund = market.insurance_fund
    before = (stake.if_shares, fund.user_shares, fund.total_shares)
    if profile.add_whole_shares:
        # Only the whole shares' exact cost is taken; the rest stays in the wallet.
        cost, minted = ifmath.deposit_cost_and_shares(amount, fund.total_shares, nav)
        if minted == 0:
            raise Rejected(DriftError.IFDepositMintsZeroShares)
    else:
        cost, minted = amount, ifmath.amount_to_shares(amount, fund.total_shares, nav)
    # fidelity: cost basis is i64 — `amount.cast::<i64>()` (CastingFailure) then an
    # i64 safe_add (MathError); shares are u128 safe_adds.
    amount_i64 = ifmath.cast_to_i64(cost)
    cost_basis = (
        amount_i64 if stake.if_shares == 0 else ifmath.i64_add(stake.cost_basis, amount_i64)
    )
    stake = dataclasses.replace(
        stake, if_shares=ifmath.u128_add(stake.if_shares, minted), cost_basis=cost_basis
    )
    market = ifmath.with_fund(
        market,
        total_shares=ifmath.u128_add(fund.total_shares, minted),
        user_shares=ifmath.u128_add(fund.user_shares, minted),
    )
    fund = market.insurance_fund
    snapshot = stake.market_index in profile.user_stats_snapshot_markets
    # fidelity: the snapshot's `vault.safe_add(amount)` is u64 (only where it is taken).
    nav_after = ifmath.u64_add(nav, cost) if snapshot else nav + cost
    stats = _user_stats_snapshot(acc.user_stats, stake, fund, nav_after, profile)
    events.append(
        _stake_event(
            stake,
            "Stake",
            cost,
            vault,
            before,
            (stake.if_shares, fund.user_shares, fund.total_shares),
            now_ts,
        )
    )
    transfers.append(TokenMove(user_token.address, if_vault.address, cost))
    if check_token_balances:
        _check_receive(user_token.amount, vault, cost, tuple(transfers))
    return Effect(
        market=market,
        stake=stake,
        user_stats=stats,
        transfers=tuple(transfers),
        events=tuple(events),
    )


def predict_request(
    acc: IfAccounts, market_index: int, amount: int, now_ts: int, profile: ProgramProfile
) -> Effect:
    market, stake = acc.market, _need(acc.stake, "stake")
    rules.raise_first(rules.request_gate_blockers(market, stake, market_index))
    first = _settle_first_if_staking_settles(acc, market, now_ts, profile)
    market, vault = first.market, first.if_vault_amount
    nav = rules.fund_nav(market, vault, profile)
    rules.raise_first(rules.request_share_blockers(market, stake, nav, amount))
    fund = market.insurance_fund
    shares = ifmath.amount_to_shares(amount, fund.total_shares, nav)
    stake = dataclasses.replace(stake, last_withdraw_request_shares=shares)
    market, stake = ifmath.rebase_accounts(market, stake, nav)
    fund = market.insurance_fund
    value = ifmath.request_value(stake.last_withdraw_request_shares, fund.total_shares, nav)
    shares_now = (stake.if_shares, fund.user_shares, fund.total_shares)
    stats = _user_stats_snapshot(acc.user_stats, stake, fund, nav, profile)
    event = _stake_event(stake, "UnstakeRequest", value, vault, shares_now, shares_now, now_ts)
    stake = dataclasses.replace(
        stake, last_withdraw_request_value=value, last_withdraw_request_ts=now_ts
    )
    return Effect(
        market=market,
        stake=stake,
        user_stats=stats,
        transfers=first.transfers,
        events=(*first.events, event),
    )


def predict_cancel(
    acc: IfAccounts, market_index: int, now_ts: int, profile: ProgramProfile
) -> Effect:
    market, stake = acc.market, _need(acc.stake, "stake")
    rules.raise_first(rules.cancel_gate_blockers(stake, market_index))
    first = _settle_first_if_staking_settles(acc, market, now_ts, profile)
    market, vault = first.market, first.if_vault_amount
    nav = rules.fund_nav(market, vault, profile)
    rules.raise_first(
        rules.cancel_share_blockers(
            market, stake, nav, rejects_rebased_to_zero=profile.cancel_rejects_rebased_to_zero
        )
    )
    market, stake = ifmath.rebase_accounts(market, stake, nav)
    fund = market.insurance_fund
    before = (stake.if_shares, fund.user_shares, fund.total_shares)
    lost = ifmath.cancel_shares_lost(
        stake.last_withdraw_request_shares,
        fund.total_shares,
        nav,
        stake.last_withdraw_request_value,
        sole_staker_guard=profile.cancel_sole_staker_guard,
    )
    # fidelity: u128 safe_sub / safe_decrement
    stake = dataclasses.replace(stake, if_shares=ifmath.u128_sub(stake.if_shares, lost))
    market = ifmath.with_fund(
        market,
        total_shares=ifmath.u128_sub(fund.total_shares, lost),
        user_shares=ifmath.u128_sub(fund.user_shares, lost),
    )
    fund = market.insurance_fund
    stats = _user_stats_snapshot(acc.user_stats, stake, fund, nav, profile)
    event = _stake_event(
        stake,
        "UnstakeCancelRequest",
        0,
        vault,
        before,
        (stake.if_shares, fund.user_shares, fund.total_shares),
        now_ts,
    )
    stake = dataclasses.replace(
        stake,
        last_withdraw_request_shares=0,
        last_withdraw_request_value=0,
        last_withdraw_request_ts=now_ts,
    )
    return Effect(
        market=market,
        stake=stake,
        user_stats=stats,
        transfers=first.transfers,
        events=(*first.events, event),
    )


def predict_remove(
    acc: IfAccounts, market_index: int, now_ts: int, profile: ProgramProfile
) -> Effect:
    state, market, stake = _need(acc.state, "state"), acc.market, _need(acc.stake, "stake")
    if_vault, user_token = _need(acc.if_vault, "IF vault"), _need(acc.user_token, "user token")
    # Every check of the remove, its post-transfer ones included, is a withdraw blocker.
    rules.raise_first(rules.withdraw_gate_blockers(state, market, stake, profile, market_index))
    first = _settle_first_if_staking_settles(acc, market, now_ts, profile)
    market, vault = first.market, first.if_vault_amount
    rules.raise_first(rules.withdraw_stake_blockers(market, stake, vault, now_ts, profile))
    nav = rules.fund_nav(market, vault, profile)
    market, stake = ifmath.rebase_accounts(market, stake, nav)
    shares = stake.last_withdraw_request_shares
    fund = market.insurance_fund
    before = (stake.if_shares, fund.user_shares, fund.total_shares)
    value_now = ifmath.shares_to_amount(shares, fund.total_shares, nav)
    paid = min(value_now, stake.last_withdraw_request_value)
    stake = dataclasses.replace(
        stake,
        if_shares=ifmath.u128_sub(stake.if_shares, shares),
        # fidelity: i64 cost basis minus `withdraw.cast::<i64>()`
        cost_basis=ifmath.i64_sub(stake.cost_basis, ifmath.cast_to_i64(paid)),
        last_withdraw_request_shares=0,
        last_withdraw_request_value=0,
        last_withdraw_request_ts=now_ts,
    )
    market = ifmath.with_fund(
        market,
        total_shares=ifmath.u128_sub(fund.total_shares, shares),
        user_shares=ifmath.u128_sub(fund.user_shares, shares),
    )
    if profile.remove_records_outflow:
        # record_insurance_fund_outflow: the cap base falls to the NAV the payout leaves.
        market = dataclasses.replace(
            market,
            if_last_settle_vault_amount=min(market.if_last_settle_vault_amount, max(nav - paid, 0)),
        )
    fund = market.insurance_fund
    basis = nav - (
        paid
        if profile.user_stats_remove_basis is UserStatsRemoveBasis.VAULT_MINUS_WITHDRAWN
        else value_now
    )
    stats = _user_stats_snapshot(acc.user_stats, stake, fund, basis, profile)
    event = _stake_event(
        stake,
        "Unstake",
        paid,
        vault,
        before,
        (stake.if_shares, fund.user_shares, fund.total_shares),
        now_ts,
    )
    return Effect(
        market=market,
        stake=stake,
        user_stats=stats,
        transfers=(*first.transfers, TokenMove(if_vault.address, user_token.address, paid)),
        events=(*first.events, event),
    )


def predict_deposit_revenue_pool(
    acc: IfAccounts,
    amount: int,
    now_ts: int,
    profile: ProgramProfile,
    *,
    check_token_balances: bool = True,
) -> Effect:
    state, market = _need(acc.state, "state"), acc.market
    spot_vault, user_token = (
        _need(acc.spot_vault, "spot market vault"),
        _need(acc.user_token, "user token"),
    )
    if state.exchange_status & EXCHANGE_DEPOSIT_PAUSED:
        raise Rejected(DriftError.ExchangePaused)
    if amount == 0:
        raise Rejected(DriftError.InsufficientDeposit)
    if market.status in (STATUS_SETTLEMENT, STATUS_DELISTED) or (
        market.expiry_ts != 0 and now_ts >= market.expiry_ts
    ):
        raise Rejected(DriftError.DefaultError)
    scaled = (
        amount * ifmath.balance_precision(market.decimals) // market.cumulative_deposit_interest
    )
    market = dataclasses.replace(
        market,
        revenue_pool_scaled_balance=ifmath.u128_add(market.revenue_pool_scaled_balance, scaled),
        deposit_balance=ifmath.u128_add(market.deposit_balance, scaled),
    )
    receive = TokenMove(user_token.address, spot_vault.address, amount)
    if check_token_balances:
        _check_receive(user_token.amount, spot_vault.amount, amount, (receive,))
    if (
        market.max_token_deposits
        and ifmath.deposit_token_amount(market) > market.max_token_deposits
    ):
        raise Rejected(DriftError.MaxDeposit)
    # fidelity: the full validate_spot_market_vault_amount on the reloaded vault; its
    # i64 casts refuse a deposit total beyond i64::MAX with CastingFailure.
    ifmath.validate_spot_market_vault_amount(market, spot_vault.amount + amount)
    return Effect(market=market, transfers=(receive,))


def predict_update_quote_stake(acc: IfAccounts, now_ts: int, profile: ProgramProfile) -> Effect:
    market, stake = acc.market, _need(acc.stake, "stake")
    stats = _need(acc.user_stats, "user stats")
    vault = _need(acc.if_vault, "IF vault").amount
    rules.raise_first(rules.market_index_blockers(stake, QUOTE_MARKET_INDEX))
    fund = market.insurance_fund
    if stake.if_base != fund.shares_base:
        raise Rejected(DriftError.InvalidIFRebase)
    nav = rules.fund_nav(market, vault, profile)
    value = ifmath.shares_to_amount(stake.if_shares, fund.total_shares, nav)
    return Effect(
        market=market,
        stake=stake,
        user_stats=dataclasses.replace(stats, if_staked_quote_asset_amount=value),
    )


def predict_initialize_user_stats(state: State, user_stats: UserStats) -> Effect:
    """`user_stats` is the new account (AccountCodec.new_user_stats); State counts it."""
    bumped = dataclasses.replace(state, number_of_authorities=state.number_of_authorities + 1)
    return Effect(market=None, state=bumped, user_stats=user_stats)


def predict_initialize_stake(acc: IfAccounts, now_ts: int) -> Effect:
    """The new stake's bytes come from the codec (AccountCodec.new_stake); this checks the gate."""
    rules.raise_first(rules.initialize_stake_blockers(acc.market))
    return Effect(market=acc.market)


def predict(
    instruction: str,
    accounts: IfAccounts,
    args: Mapping[str, int],
    now_ts: int,
    profile: ProgramProfile,
    *,
    check_token_balances: bool = True,
    unwritable: frozenset[str] = frozenset(),
) -> Effect:
    """Dispatch by IDL instruction name (camelCase) with the instruction's args.

    An account the instruction reads that is absent (None) fails as Anchor's
    deserialization does, first in struct order. `unwritable` names roles passed
    read-only that the handler loads for writing (keeper.core.constraints has
    already refused those the struct declares `mut`).
    With `check_token_balances=False` a short wallet is left for the token program
    to reject (the localnet runs the real SPL Token program for transfers).
    """
    present = {
        role: getattr(accounts, ACCOUNT_ROLES[role]) is not None
        for role in _reads(instruction, profile)
    }
    account_structs.raise_first_missing(instruction, present, profile)
    account_structs.raise_foreign_token_accounts(
        instruction, accounts.market.token_program, profile
    )
    check_loads(instruction, accounts, args, unwritable)
    if instruction == "addInsuranceFundStake":
        return predict_add(
            accounts,
            args["marketIndex"],
            args["amount"],
            now_ts,
            profile,
            check_token_balances=check_token_balances,
        )
    if instruction == "requestRemoveInsuranceFundStake":
        return predict_request(accounts, args["marketIndex"], args["amount"], now_ts, profile)
    if instruction == "cancelRequestRemoveInsuranceFundStake":
        return predict_cancel(accounts, args["marketIndex"], now_ts, profile)
    if instruction == "removeInsuranceFundStake":
        return predict_remove(accounts, args["marketIndex"], now_ts, profile)
    if instruction == "settleRevenueToInsuranceFund":
        return predict_settle(accounts, now_ts, profile, spot_market_index=args["spotMarketIndex"])
    if instruction == "depositIntoSpotMarketRevenuePool":
        return predict_deposit_revenue_pool(
            accounts, args["amount"], now_ts, profile, check_token_balances=check_token_balances
        )
    if instruction == "updateUserQuoteAssetInsuranceStake":
        return predict_update_quote_stake(accounts, now_ts, profile)
    if instruction == "initializeInsuranceFundStake":
        return predict_initialize_stake(accounts, now_ts)
    raise ValueError(f"the mirror does not model {instruction!r}")
