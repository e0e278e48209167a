"""Properties of the IF mirror that must hold for every state, not just the vectors.

Rounding must always favour the fund, tokens must be conserved, settles must never
lower the users' share price, and rebases must keep prices within their bounds.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mirror_factories import (
    ALICE_WALLET,
    IF_VAULT,
    SPOT_VAULT,
    accounts,
    fund,
    fund_shares,
    market,
    market_with_pool,
    stake,
    token_amounts_after,
)

from keeper.core import ifmath
from keeper.core.effects import predict
from keeper.core.ifmath import Rejected, TokenRejected
from keeper.core.interest import TWAP_WINDOW_SECONDS, update_interest, weighted_twap
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84

FAST = settings(max_examples=200, deadline=None)

amounts = st.integers(min_value=1, max_value=10**15)
shares = st.integers(min_value=1, max_value=10**20)


@st.composite
def funds(draw: st.DrawFn) -> tuple[int, int, int]:
    """(vault_amount, total_shares, user_shares) with a live fund (V > 0, T > 0)."""
    vault = draw(st.integers(min_value=1, max_value=10**15))
    total = draw(st.integers(min_value=1, max_value=10**20))
    user = draw(st.integers(min_value=0, max_value=total))
    return vault, total, user


@FAST
@given(funds(), amounts)
def test_stake_then_full_request_never_exceeds_stake(f: tuple[int, int, int], amount: int) -> None:
    vault, total, _ = f
    minted = ifmath.amount_to_shares(amount, total, vault)
    assume(minted > 0)
    value = ifmath.request_value(minted, total + minted, vault + amount)
    assert value <= amount


@FAST
@given(funds(), st.data())
def test_round_trip_shares_amount_shares_never_grows(
    f: tuple[int, int, int], data: st.DataObject
) -> None:
    vault, total, _ = f
    held = data.draw(st.integers(min_value=0, max_value=total))
    amount = ifmath.shares_to_amount(held, total, vault)
    assert ifmath.amount_to_shares(amount, total, vault) <= held


@FAST
@given(funds(), amounts)
def test_round_trip_amount_shares_amount_never_grows(f: tuple[int, int, int], amount: int) -> None:
    vault, total, _ = f
    minted = ifmath.amount_to_shares(amount, total, vault)
    assume(minted <= total)
    assert ifmath.shares_to_amount(minted, total, vault) <= amount


@FAST
@given(funds(), st.data())
def test_payout_bounded_by_value_and_request(f: tuple[int, int, int], data: st.DataObject) -> None:
    vault, total, _ = f
    n = data.draw(st.integers(min_value=1, max_value=total))
    frozen = data.draw(st.integers(min_value=0, max_value=vault))
    paid = ifmath.remove_payout(n, total, vault, frozen)
    assert paid <= ifmath.shares_to_amount(n, total, vault)
    assert paid <= frozen
    assert ifmath.request_value(n, total, vault) < vault or vault == 0


@FAST
@given(funds(), st.data())
def test_cancel_burns_only_the_gain(f: tuple[int, int, int], data: st.DataObject) -> None:
    vault, total, _ = f
    assume(total >= 2)
    n = data.draw(st.integers(min_value=1, max_value=total - 1))
    frozen = data.draw(st.integers(min_value=0, max_value=vault - 1)) if vault > 1 else 0
    lost = ifmath.cancel_shares_lost(n, total, vault, frozen)
    assert 0 <= lost <= n
    if ifmath.shares_to_amount(n, total, vault) <= frozen:
        assert lost == 0
    else:
        # What remains of the slice is worth no more than the frozen value plus one unit.
        kept = n - lost
        assert ifmath.shares_to_amount(kept, total - lost, vault) <= frozen + 1


@FAST
@given(funds(), st.data())
def test_remove_conserves_tokens(f: tuple[int, int, int], data: st.DataObject) -> None:
    vault, total, _ = f
    own = data.draw(st.integers(min_value=1, max_value=total))
    n = data.draw(st.integers(min_value=1, max_value=own))
    assume(ifmath.rebase_exponent(total, vault) == 0)
    frozen = ifmath.request_value(n, total, vault)
    drift = data.draw(st.integers(min_value=-(vault - 1), max_value=vault))  # gain or loss
    now_vault = vault + drift
    assume(ifmath.rebase_exponent(total, now_vault) == 0)  # rebases are covered separately
    m = market(fund(total_shares=total, user_shares=total))
    s = stake(if_shares=own, last_withdraw_request_shares=n, last_withdraw_request_value=frozen)
    acc = accounts(m, now_vault, the_stake=s, wallet_amount=0)
    try:
        effect = predict(
            "removeInsuranceFundStake", acc, {"marketIndex": 0}, 2 * 10**6, DRIFT_MAINNET
        )
    except Rejected as exc:
        # The only legitimate refusal: the payout would empty the vault.
        assert exc.code == 6192, exc
        return
    after = token_amounts_after(effect, acc)
    paid = effect.transfers[0].amount
    assert now_vault - after[IF_VAULT] == paid
    assert after[ALICE_WALLET] == paid
    assert paid <= frozen
    assert after[IF_VAULT] > 0
    assert effect.market is not None
    assert (
        effect.market.insurance_fund.total_shares
        == ifmath.rebase_fund(fund_shares(m.insurance_fund), now_vault).total_shares - n
    )


@st.composite
def settle_inputs(draw: st.DrawFn) -> tuple[int, int, int, int, int, int]:
    vault, total, user = draw(funds())
    pool = draw(st.integers(min_value=0, max_value=10**13))
    total_factor = draw(st.integers(min_value=1, max_value=1_000_000))
    user_factor = draw(st.integers(min_value=0, max_value=total_factor))
    return vault, total, user, pool, total_factor, user_factor


@FAST
@given(settle_inputs(), st.booleans())
def test_settle_moves_exactly_a_and_never_lowers_user_price(
    x: tuple[int, int, int, int, int, int], mainnet: bool
) -> None:
    vault, total, user, pool, total_factor, user_factor = x
    f = fund(
        total_shares=total,
        user_shares=user,
        total_factor=total_factor,
        user_factor=user_factor,
    )
    m = market_with_pool(pool, f)
    acc = accounts(m, vault)
    profile = DRIFT_MAINNET if mainnet else DRIFT_V2_84
    try:
        effect = predict("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, 3600, profile)
    except Rejected as exc:
        assert exc.code == 6177, exc
        return
    assert acc.spot_vault is not None and effect.market is not None
    after = token_amounts_after(effect, acc)
    moved = effect.transfers[0].amount
    assert moved > 0
    assert acc.spot_vault.amount - after[SPOT_VAULT] == moved
    assert after[IF_VAULT] - vault == moved
    assert moved <= pool
    new_total = effect.market.insurance_fund.total_shares
    assert effect.market.insurance_fund.user_shares == user
    # price (V+A)/T' ≥ V/T, compared exactly as rationals
    assert (vault + moved) * total >= vault * new_total
    assert ifmath.shares_to_amount(user, new_total, vault + moved) >= ifmath.shares_to_amount(
        user, total, vault
    )
    # the pool loses what was moved, within one unit of index rounding
    left = ifmath.revenue_pool_amount(effect.market)
    assert pool - moved <= left <= pool - moved + 1


@FAST
@given(
    st.integers(min_value=1, max_value=10**12),
    st.integers(min_value=1, max_value=10**30),
    st.data(),
)
def test_rebase_keeps_price_within_bounds(vault: int, total: int, data: st.DataObject) -> None:
    user = data.draw(st.integers(min_value=0, max_value=total))
    before = fund_shares(fund(total_shares=total, user_shares=user))
    after = ifmath.rebase_fund(before, vault)
    expo = after.shares_base - before.shares_base
    assert expo == ifmath.rebase_exponent(total, vault)
    if expo == 0:
        assert (after.total_shares, after.user_shares) == (total, user)
    else:
        assert 10 * vault <= after.total_shares < 100 * vault
        assert after.user_shares == user // 10**expo
    assert after.user_shares <= after.total_shares
    # a rebased stake is never worth more than before
    held = data.draw(st.integers(min_value=0, max_value=user))
    rebased = ifmath.rebase_stake_shares(held, 0, after.shares_base)
    assert (
        ifmath.shares_to_amount(rebased, after.total_shares, vault)
        <= ifmath.shares_to_amount(held, total, vault) + 1
    )


@FAST
@given(
    st.integers(min_value=0, max_value=10**18),
    st.integers(min_value=0, max_value=10**18),
    st.integers(min_value=0, max_value=200_000),
)
def test_twap_stays_between_old_and_new(new: int, old: int, since: int) -> None:
    assert TWAP_WINDOW_SECONDS == 86_400
    twap = weighted_twap(new, old, since)
    assert min(new, old) - 1 <= twap <= max(new, old) + 1
    assert twap >= 0


@FAST
@given(
    st.integers(min_value=10**9, max_value=10**16),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=0, max_value=1_000_000),
    st.booleans(),
)
def test_interest_indices_and_pool_never_decrease(
    deposit_balance: int, borrow_pct: int, elapsed: int, total_factor: int, mainnet: bool
) -> None:
    m = market(
        fund(total_factor=total_factor, user_factor=0),
        deposit_balance=deposit_balance,
        borrow_balance=deposit_balance * borrow_pct // 100,
        last_interest_ts=1_000,
        last_twap_ts=1_000,
    )
    profile = DRIFT_MAINNET if mainnet else DRIFT_V2_84
    after = update_interest(m, 1_000 + elapsed, profile).market
    assert after.cumulative_deposit_interest >= m.cumulative_deposit_interest
    assert after.cumulative_borrow_interest >= m.cumulative_borrow_interest
    assert after.revenue_pool_scaled_balance >= m.revenue_pool_scaled_balance
    assert (
        after.deposit_balance - m.deposit_balance
        == after.revenue_pool_scaled_balance - m.revenue_pool_scaled_balance
    )
    assert after.borrow_balance == m.borrow_balance
    assert after.last_twap_ts == 1_000 + elapsed
    assert (
        dataclasses.replace(
            after,
            cumulative_deposit_interest=m.cumulative_deposit_interest,
            cumulative_borrow_interest=m.cumulative_borrow_interest,
            revenue_pool_scaled_balance=m.revenue_pool_scaled_balance,
            deposit_balance=m.deposit_balance,
            deposit_token_twap=m.deposit_token_twap,
            borrow_token_twap=m.borrow_token_twap,
            utilization_twap=m.utilization_twap,
            last_interest_ts=m.last_interest_ts,
            last_twap_ts=m.last_twap_ts,
        )
        == m
    )


@FAST
@given(funds(), amounts)
def test_add_effect_conserves_and_prices_fairly(f: tuple[int, int, int], amount: int) -> None:
    vault, total, user = f
    assume(ifmath.rebase_exponent(total, vault) == 0)
    m = market(fund(total_shares=total, user_shares=user, last_revenue_settle_ts=10))
    acc = accounts(m, vault, the_stake=stake(), wallet_amount=amount)
    args = {"marketIndex": 0, "amount": amount}
    effect = predict("addInsuranceFundStake", acc, args, 11, DRIFT_MAINNET)
    after = token_amounts_after(effect, acc)
    assert after[ALICE_WALLET] == 0
    assert after[IF_VAULT] == vault + amount
    assert effect.stake is not None and effect.market is not None
    minted = effect.stake.if_shares
    new_total = effect.market.insurance_fund.total_shares
    assert new_total - total == minted
    # existing holders are never diluted: price after ≥ price before
    assert (vault + amount) * total >= vault * new_total
    assert acc.user_token is not None
    short = dataclasses.replace(
        acc, user_token=dataclasses.replace(acc.user_token, amount=amount - 1)
    )
    with pytest.raises(TokenRejected) as info:
        predict("addInsuranceFundStake", short, args, 11, DRIFT_MAINNET)
    assert info.value.code == 1  # SPL Token InsufficientFunds
