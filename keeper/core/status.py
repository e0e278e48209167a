"""What a staker or operator wants to see, computed purely from a snapshot and `now`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from solders.pubkey import Pubkey

from keeper.core import ifmath
from keeper.core.fmt import camel_case
from keeper.core.profile import ProgramProfile
from keeper.core.snapshot import MarketSnapshot
from keeper.core.views import InsuranceFundStake


@dataclass(frozen=True)
class MarketStatus:
    market_index: int
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
    settle_enabled: bool
    next_settle_ts: int
    unstaking_period_seconds: int

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

    def to_json(self) -> dict[str, Any]:
        doc = {camel_case(f.name): getattr(self, f.name) for f in fields(self)}
        doc["authority"] = str(self.authority)
        return doc


def market_status(snap: MarketSnapshot, now_ts: int, profile: ProgramProfile) -> MarketStatus:
    market, fund = snap.market, snap.market.insurance_fund
    utilization = ifmath.market_utilization(market)
    period = fund.revenue_settle_period_seconds
    return MarketStatus(
        market_index=market.market_index,
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
        withdrawals_open=ifmath.withdraw_utilization_ok(market, profile.withdraw_utilization_limit),
        settle_enabled=period > 0,
        next_settle_ts=ifmath.next_settle_ts(fund.last_revenue_settle_ts, period)
        if period > 0
        else 0,
        unstaking_period_seconds=fund.unstaking_period_seconds,
    )


def stake_status(
    stake: InsuranceFundStake, snap: MarketSnapshot, now_ts: int, profile: ProgramProfile
) -> StakeStatus:
    fund = snap.market.insurance_fund
    shares = ifmath.effective_stake_shares(stake.if_shares, stake.if_base, fund.shares_base)
    pending = stake.last_withdraw_request_shares != 0
    matures = stake.last_withdraw_request_ts + fund.unstaking_period_seconds if pending else 0
    return StakeStatus(
        authority=stake.authority,
        market_index=stake.market_index,
        shares=shares,
        value_amount=ifmath.shares_to_amount(shares, fund.total_shares, snap.if_vault_amount),
        cost_basis=stake.cost_basis,
        request_shares=stake.last_withdraw_request_shares,
        request_value=stake.last_withdraw_request_value,
        request_ts=stake.last_withdraw_request_ts if pending else 0,
        matures_ts=matures,
        withdrawable=pending
        and now_ts >= matures
        and ifmath.withdraw_utilization_ok(snap.market, profile.withdraw_utilization_limit),
    )
