"""The program's own consistency checks that valid on-chain states never trip.

They matter when accounts are written directly (localnet cheatcodes, a corrupt RPC
answer): the mirror must then fail the way the program does, with 6173 or 6019.
"""

from __future__ import annotations

import dataclasses

import pytest
from mirror_factories import accounts, fund, market_with_pool, stake

from keeper.core.effects import predict
from keeper.core.error_codes import DriftError
from keeper.core.ifmath import Rejected
from keeper.core.profile import DRIFT_MAINNET

NOW = 1_700_000_000 // 3600 * 3600


def _settle_accounts(spot_vault_amount: int | None) -> object:
    f = fund(total_shares=10**9, user_shares=10**9, last_revenue_settle_ts=NOW - 3600)
    m = market_with_pool(50_000_000, f)
    return accounts(m, 10**9, spot_vault_amount=spot_vault_amount)


def test_settle_needs_a_spot_vault_that_covers_liquidity() -> None:
    ok = _settle_accounts(None)
    effect = predict("settleRevenueToInsuranceFund", ok, {"spotMarketIndex": 0}, NOW, DRIFT_MAINNET)  # type: ignore[arg-type]
    assert sum(t.amount for t in effect.transfers) > 0
    short = _settle_accounts(1)
    with pytest.raises(Rejected) as info:
        predict("settleRevenueToInsuranceFund", short, {"spotMarketIndex": 0}, NOW, DRIFT_MAINNET)  # type: ignore[arg-type]
    assert info.value.code == DriftError.SpotMarketVaultInvariantViolated


def test_revenue_pool_above_deposits_is_refused_by_remove() -> None:
    f = fund(total_shares=10**9, user_shares=10**9, unstaking_period_seconds=0)
    m = market_with_pool(50_000_000, f)
    m = dataclasses.replace(m, deposit_balance=m.revenue_pool_scaled_balance - 1)
    requester = stake(
        if_shares=10**9,
        last_withdraw_request_shares=10**8,
        last_withdraw_request_value=10**8,
        last_withdraw_request_ts=NOW - 10,
    )
    acc = accounts(m, 10**9, the_stake=requester, spot_vault_amount=10**12)
    with pytest.raises(Rejected) as info:
        predict("removeInsuranceFundStake", acc, {"marketIndex": 0}, NOW, DRIFT_MAINNET)
    assert info.value.code == DriftError.SpotMarketVaultInvariantViolated


def test_cost_basis_overflow_is_a_math_error() -> None:
    f = fund(total_shares=10**9, user_shares=10**9, last_revenue_settle_ts=NOW)
    m = market_with_pool(0, f)
    rich = stake(if_shares=10**9, cost_basis=2**63 - 10)
    acc = accounts(m, 10**9, the_stake=rich)
    with pytest.raises(Rejected) as info:
        predict("addInsuranceFundStake", acc, {"marketIndex": 0, "amount": 100}, NOW, DRIFT_MAINNET)
    assert info.value.code == DriftError.MathError
