"""What a staker or operator wants to see, computed purely from a snapshot and `now`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from solders.pubkey import Pubkey

from keeper.core import ifmath, rules
from keeper.core.fmt import camel_case
from keeper.core.profile import ProgramProfile
from keeper.core.snapshot import MarketSnapshot, Snapshot
from keeper.core.views import InsuranceFundStake, State


@dataclass(frozen=True)
class MarketStatus:
    market_index: int
    #: the market's recorded name (e.g. "USDC"), or `#index`
    symbol: str
    decimals: int
    if_vault_amount: int
    total_shares: int
    user_shares: int
    protocol_shares: int
    shares_base: int
    revenue_pool_amount: int
    utilization: int
    utilization_twap: int
    withdraw_utilization_limit: int
    withdrawals_open: bool
    #: why withdrawals are closed market-wide (rules.withdraw_blockers), in program order
    withdraw_blockers: tuple[str, ...]
    settle_enabled: bool
    next_settle_ts: int
    unstaking_period_seconds: int
    #: tokens per share × 1e6 (ifmath.share_price, at the NAV)
    share_price: int = 0
    #: what shares are a fraction of: the IF vault, plus the booked receivable where the
    #: profile counts it (rules.fund_nav); `protocol_shares` is then ballast
    nav: int = 0
    #: revenue booked to the IF but still in the spot vault (token units)
    if_receivable_amount: int = 0
    #: what the open settle period may still book (token units)
    settle_allowance: int = 0
    #: the next add/request/cancel/remove moves revenue into the IF before the next
    #: explicit settle (rules.settled_by_next_stake_instruction)
    settled_by_next_stake_instruction: bool = False

    def to_json(self) -> dict[str, Any]:
        return {camel_case(f.name): getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class StakeStatus:
    authority: Pubkey
    market_index: int
    shares: int
    value_amount: int
    cost_basis: int
    request_shares: int
    request_value: int
    request_ts: int
    matures_ts: int
    withdrawable: bool
    #: every reason the program would refuse a withdraw now, in its order (empty = open)
    withdraw_blockers: tuple[str, ...]
    #: the requested shares' value now (a withdraw pays min(this, request_value))
    request_value_now: int = 0
    #: the stake as the Drift app values it: requested shares at min(frozen value,
    #: value now), the other shares at their value now
    position_value: int = 0
    #: position_value − cost_basis
    gain_loss: int = 0

    def to_json(self) -> dict[str, Any]:
        doc = {camel_case(f.name): getattr(self, f.name) for f in fields(self)}
        doc["authority"] = str(self.authority)
        return doc


def market_status(
    snap: MarketSnapshot, state: State, now_ts: int, profile: ProgramProfile
) -> MarketStatus:
    market, fund = snap.market, snap.market.insurance_fund
    utilization = ifmath.market_utilization(market)
    blockers = rules.withdraw_blockers(state, market, None, snap.if_vault_amount, now_ts, profile)
    next_settle = rules.settle_opens_at(market)
    nav = rules.fund_nav(market, snap.if_vault_amount, profile)
    return MarketStatus(
        market_index=market.market_index,
        symbol=market.symbol,
        decimals=market.decimals,
        if_vault_amount=snap.if_vault_amount,
        total_shares=fund.total_shares,
        user_shares=fund.user_shares,
        protocol_shares=fund.protocol_shares,
        shares_base=fund.shares_base,
        revenue_pool_amount=ifmath.revenue_pool_amount(market),
        utilization=utilization,
        utilization_twap=market.utilization_twap,
        withdraw_utilization_limit=profile.withdraw_utilization_limit,
        withdrawals_open=not blockers,
        withdraw_blockers=tuple(b.reason for b in blockers),
        settle_enabled=next_settle is not None,
        next_settle_ts=next_settle or 0,
        unstaking_period_seconds=fund.unstaking_period_seconds,
        share_price=ifmath.share_price(fund.total_shares, nav),
        nav=nav,
        if_receivable_amount=ifmath.receivable_amount(market),
        settle_allowance=market.revenue_settle_allowance,
        settled_by_next_stake_instruction=rules.settled_by_next_stake_instruction(market, profile),
    )


def stake_status(
    stake: InsuranceFundStake,
    snap: MarketSnapshot,
    state: State,
    now_ts: int,
    profile: ProgramProfile,
) -> StakeStatus:
    """A stake as its owner sees it: valued as the program's next touch rebases it, and
    withdrawable exactly when the program would accept a withdraw (rules)."""
    pending = stake.last_withdraw_request_shares != 0
    blockers = rules.withdraw_blockers(
        state, snap.market, stake, snap.if_vault_amount, now_ts, profile
    )
    fund = snap.market.insurance_fund
    nav = rules.fund_nav(snap.market, snap.if_vault_amount, profile)
    shares = ifmath.stake_shares(stake, snap.market)
    requested = min(stake.last_withdraw_request_shares, shares)
    requested_now = ifmath.shares_to_amount(requested, fund.total_shares, nav)
    rest_now = ifmath.shares_to_amount(shares - requested, fund.total_shares, nav)
    position = (min(stake.last_withdraw_request_value, requested_now) if pending else 0) + rest_now
    if not pending:
        position = ifmath.stake_value(stake, snap.market, nav)
    return StakeStatus(
        authority=stake.authority,
        market_index=stake.market_index,
        shares=ifmath.stake_shares(stake, snap.market),
        value_amount=ifmath.stake_value(stake, snap.market, nav),
        cost_basis=stake.cost_basis,
        request_shares=stake.last_withdraw_request_shares,
        request_value=stake.last_withdraw_request_value,
        request_ts=stake.last_withdraw_request_ts if pending else 0,
        matures_ts=rules.withdraw_opens_at(stake, snap.market) if pending else 0,
        withdrawable=pending and not blockers,
        withdraw_blockers=tuple(b.reason for b in blockers),
        request_value_now=requested_now if pending else 0,
        position_value=position,
        gain_loss=position - stake.cost_basis,
    )


def snapshot_status(
    snap: Snapshot, profile: ProgramProfile
) -> tuple[list[MarketStatus], list[StakeStatus]]:
    """Every market and every stake (of a market read) of a snapshot, at its clock."""
    markets = [market_status(m, snap.state, snap.now_ts, profile) for m in snap.markets]
    by_index = {m.market_index: m for m in snap.markets}
    stakes = [
        stake_status(s, by_index[s.market_index], snap.state, snap.now_ts, profile)
        for s in snap.stakes
        if s.market_index in by_index
    ]
    return markets, stakes
