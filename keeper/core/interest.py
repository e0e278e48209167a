"""Spot-market interest accrual and TWAP update, as settle and add run them (spec §4.6).

The settle amount depends on the revenue pool *after* this update, so predicting a
settle exactly means replaying it: accrue borrow/deposit interest with the build's
rate curve, credit the IF's cut to the revenue pool, then update the three 24-hour
TWAPs. Only the account and `now` are inputs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from keeper.core.error_codes import DriftError
from keeper.core.ifmath import (
    IF_FACTOR_PRECISION,
    ONE_YEAR_SECONDS,
    SPOT_RATE_PRECISION,
    SPOT_UTILIZATION_PRECISION,
    Rejected,
    balance_precision,
    borrow_tokens,
    deposit_tokens,
    utilization,
)
from keeper.core.profile import BorrowRateCurve, ProgramProfile
from keeper.core.views import SpotMarket

TWAP_WINDOW_SECONDS = 86_400
PAUSE_UPDATE_CUMULATIVE_INTEREST = 0x01
I64_MAX = 2**63 - 1

# v2.122+: segment end points above the optimum and their per-mille weights.
_SEGMENTS = (
    (850_000, 50),
    (900_000, 100),
    (950_000, 150),
    (990_000, 200),
    (995_000, 250),
    (SPOT_UTILIZATION_PRECISION, 250),
)


def borrow_rate(market: SpotMarket, util: int, curve: BorrowRateCurve) -> int:
    """Annual borrow rate at 1e6 for utilization `util`, floored by min_borrow_rate."""
    ou, orate, mrate = (
        market.optimal_utilization,
        market.optimal_borrow_rate,
        market.max_borrow_rate,
    )
    if util <= ou:
        if ou == 0:
            raise Rejected(DriftError.MathError)
        slope = orate * SPOT_RATE_PRECISION // ou
        rate = util * slope // SPOT_UTILIZATION_PRECISION
    elif curve is BorrowRateCurve.LINEAR:
        if ou >= SPOT_UTILIZATION_PRECISION:
            raise Rejected(DriftError.MathError)
        slope = (mrate - orate) * SPOT_RATE_PRECISION // (SPOT_UTILIZATION_PRECISION - ou)
        rate = orate + (util - ou) * slope // SPOT_UTILIZATION_PRECISION
    else:
        extra = mrate - orate
        rate, start = orate, ou
        for end, weight in _SEGMENTS:
            span = end - start
            if span < 0:
                raise Rejected(DriftError.MathError)
            gain = extra * weight // 1000
            if util <= end:
                rate += gain * (util - start) // span if span else gain
                break
            rate += gain
            start = end
    return max(rate, market.min_borrow_rate * 5_000)


def weighted_twap(new_value: int, old_twap: int, since_seconds: int) -> int:
    """The program's 24-hour weighted mean with its ±1 bias (spec §4.6.5)."""
    if since_seconds == 0:
        return old_twap
    if new_value > I64_MAX or old_twap > I64_MAX:
        raise Rejected(DriftError.CastingFailure)
    old_weight = max(1, TWAP_WINDOW_SECONDS - since_seconds)
    new_part, old_part = new_value * since_seconds, old_twap * old_weight
    mean = (new_part + old_part) // (since_seconds + old_weight)
    bias = 0
    if old_weight >= 2:
        bias = 1 if old_part > new_part else -1 if old_part < new_part else 0
    if mean == 0 and bias == -1:
        return 0
    return mean + bias


@dataclass(frozen=True)
class InterestUpdate:
    market: SpotMarket
    #: the SpotInterestRecord event, when interest was applied
    event: dict[str, Any] | None


def update_interest(market: SpotMarket, now_ts: int, profile: ProgramProfile) -> InterestUpdate:
    """Accrue interest (unless paused) and update the TWAPs; returns the new market."""
    p = balance_precision(market.decimals)
    dep0 = deposit_tokens(
        market.deposit_balance, market.cumulative_deposit_interest, market.decimals
    )
    bor0 = borrow_tokens(market.borrow_balance, market.cumulative_borrow_interest, market.decimals)
    new = market
    event: dict[str, Any] | None = None
    if not market.paused_operations & PAUSE_UPDATE_CUMULATIVE_INTEREST:
        elapsed = now_ts - market.last_interest_ts
        if elapsed < 0 and profile.interest_fails_on_clock_regression:
            raise Rejected(DriftError.MathError)
        util = utilization(dep0, bor0)
        if elapsed > 0 and util > 0:
            rate = borrow_rate(market, util, profile.borrow_rate_curve)
            borrow_growth = rate * elapsed
            deposit_growth = borrow_growth * util // SPOT_UTILIZATION_PRECISION
            borrow_inc = (
                market.cumulative_borrow_interest
                * borrow_growth
                // ONE_YEAR_SECONDS
                // SPOT_RATE_PRECISION
                + 1
            )
            deposit_inc = (
                market.cumulative_deposit_interest
                * deposit_growth
                // ONE_YEAR_SECONDS
                // SPOT_RATE_PRECISION
            )
            if deposit_inc > 0 and borrow_inc > 1:
                total_factor = market.insurance_fund.total_factor
                if_cut = deposit_inc * total_factor // IF_FACTOR_PRECISION
                lenders = deposit_inc - if_cut
                if lenders > 0:
                    cdi = market.cumulative_deposit_interest + lenders
                    cbi = market.cumulative_borrow_interest + borrow_inc
                    credit_tokens = market.deposit_balance * if_cut // p
                    credit_scaled = credit_tokens * p // cdi
                    new = dataclasses.replace(
                        market,
                        cumulative_deposit_interest=cdi,
                        cumulative_borrow_interest=cbi,
                        last_interest_ts=now_ts,
                        revenue_pool_scaled_balance=market.revenue_pool_scaled_balance
                        + credit_scaled,
                        deposit_balance=market.deposit_balance + credit_scaled,
                    )
                    event = {
                        "name": "SpotInterestRecord",
                        "data": {
                            "ts": now_ts,
                            "marketIndex": market.market_index,
                            "depositBalance": new.deposit_balance,
                            "cumulativeDepositInterest": cdi,
                            "borrowBalance": market.borrow_balance,
                            "cumulativeBorrowInterest": cbi,
                            "optimalUtilization": market.optimal_utilization,
                            "optimalBorrowRate": market.optimal_borrow_rate,
                            "maxBorrowRate": market.max_borrow_rate,
                        },
                    }
    since = max(0, now_ts - market.last_twap_ts)
    dep1 = deposit_tokens(new.deposit_balance, new.cumulative_deposit_interest, new.decimals)
    bor1 = borrow_tokens(new.borrow_balance, new.cumulative_borrow_interest, new.decimals)
    new = dataclasses.replace(
        new,
        deposit_token_twap=weighted_twap(dep1, market.deposit_token_twap, since),
        borrow_token_twap=weighted_twap(bor1, market.borrow_token_twap, since),
        utilization_twap=weighted_twap(utilization(dep1, bor1), market.utilization_twap, since),
        last_twap_ts=now_ts,
    )
    return InterestUpdate(new, event)
