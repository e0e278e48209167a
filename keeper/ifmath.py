"""Insurance Fund share math, pure integers (placeholder subset until the full mirror lands)."""

from __future__ import annotations

from keeper.codec import SpotMarket

PERCENTAGE_PRECISION = 1_000_000


def balance_precision(decimals: int) -> int:
    """Scaled balance × cumulative interest / this = token units: 10^(19 − decimals)."""
    result: int = 10 ** (19 - decimals)
    return result


def shares_to_amount(shares: int, total_shares: int, vault_amount: int) -> int:
    if total_shares == 0:
        return 0
    return shares * vault_amount // total_shares


def deposit_token_amount(market: SpotMarket) -> int:
    return (
        market.deposit_balance
        * market.cumulative_deposit_interest
        // balance_precision(market.decimals)
    )


def borrow_token_amount(market: SpotMarket) -> int:
    p = balance_precision(market.decimals)
    return -(-market.borrow_balance * market.cumulative_borrow_interest // p)


def revenue_pool_amount(market: SpotMarket) -> int:
    return (
        market.revenue_pool_scaled_balance
        * market.cumulative_deposit_interest
        // balance_precision(market.decimals)
    )


def utilization(deposit_amount: int, borrow_amount: int) -> int:
    if borrow_amount == 0 and deposit_amount == 0:
        return 0
    if deposit_amount == 0:
        return PERCENTAGE_PRECISION
    return borrow_amount * PERCENTAGE_PRECISION // deposit_amount


def market_utilization(market: SpotMarket) -> int:
    return utilization(deposit_token_amount(market), borrow_token_amount(market))


def withdraw_utilization_ok(market: SpotMarket, limit: int) -> bool:
    return market.utilization_twap <= limit and market_utilization(market) <= limit


def next_settle_ts(last_settle_ts: int, period_seconds: int) -> int:
    if period_seconds <= 1:
        return last_settle_ts + period_seconds
    delay = last_settle_ts % period_seconds
    if delay == 0:
        return last_settle_ts + period_seconds
    if delay <= period_seconds // 3:
        return last_settle_ts - delay + period_seconds
    return last_settle_ts - delay + 2 * period_seconds
