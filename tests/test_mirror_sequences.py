"""Long random instruction sequences through the mirror, chaining each predicted Effect.

This is how the localnet model uses the mirror: the post-state of one prediction is
the pre-state of the next. Whatever the sequence, tokens are conserved, share totals
stay consistent with the stakes, the IF vault never empties once funded, and every
refusal is one of the program's codes, never a Python exception.
"""

from __future__ import annotations

import dataclasses
import random

from hypothesis import event, given, settings
from hypothesis import strategies as st
from mirror_factories import (
    ALICE,
    ALICE_STAKE,
    ALICE_STATS,
    ALICE_WALLET,
    IF_VAULT,
    SIGNER,
    SPOT_VAULT,
    depositors_claim_amount,
    fund,
    key,
    market,
    stake,
    state,
    token,
    user_stats,
)
from solders.pubkey import Pubkey

from keeper.core import ifmath
from keeper.core.effects import IfAccounts, predict
from keeper.core.ifmath import Rejected, TokenRejected
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84
from keeper.core.views import InsuranceFundStake, SpotMarket, TokenAccount, UserStats

BOB = key(20)
STAKERS = {
    ALICE: (ALICE_STAKE, ALICE_STATS, ALICE_WALLET),
    BOB: (key(21), key(22), key(23)),
}
START_TS = 1_725_148_800

KINDS = ("add", "request", "cancel", "remove", "settle", "deposit", "wait", "loss", "borrow")
WEIGHTS = (5, 4, 1, 4, 3, 3, 4, 1, 1)


def _sequence(seed: int, length: int) -> list[tuple[str, Pubkey, int]]:
    """A seeded random sequence: hypothesis picks the seed, `random` the (long) sequence."""
    rng = random.Random(seed)
    who = sorted(STAKERS, key=bytes)
    return [
        (rng.choices(KINDS, WEIGHTS)[0], rng.choice(who), rng.randrange(10**10))
        for _ in range(length)
    ]


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(10, 80), st.booleans())
def test_random_sequences_keep_invariants(seed: int, length: int, mainnet: bool) -> None:
    sequence = _sequence(seed, length)
    profile = DRIFT_MAINNET if mainnet else DRIFT_V2_84
    m: SpotMarket = market(
        fund(total_factor=200_000, user_factor=100_000, unstaking_period_seconds=3 * 86_400),
        deposit_balance=10**16,
        optimal_utilization=650_000,
        optimal_borrow_rate=90_000,
        max_borrow_rate=1_200_000,
        min_borrow_rate=4,
        last_interest_ts=START_TS,
        last_twap_ts=START_TS,
    )
    spot_vault = token(SPOT_VAULT, SIGNER, ifmath.deposit_token_amount(m))
    if_vault = token(IF_VAULT, SIGNER, 0)
    stakes: dict[Pubkey, InsuranceFundStake] = {}
    stats: dict[Pubkey, UserStats] = {}
    wallets: dict[Pubkey, TokenAccount] = {}
    for who, (stake_addr, stats_addr, wallet_addr) in STAKERS.items():
        stakes[who] = stake(address=stake_addr, authority=who)
        stats[who] = user_stats(address=stats_addr, authority=who)
        wallets[who] = token(wallet_addr, who, 10**11)
    external = 0  # tokens that left or entered the system through setAccount-like edits
    total_tokens = spot_vault.amount + if_vault.amount + sum(w.amount for w in wallets.values())
    now_ts = START_TS
    for kind, who, n in sequence:
        if kind == "wait":
            now_ts += (n % 120 + 1) * 3600 + n % 3600  # up to 5 days, off the hour
            continue
        if kind == "loss":  # a bankruptcy payout leaves the IF vault (never all of it)
            loss = min(n, max(if_vault.amount - 1, 0))
            if_vault = dataclasses.replace(if_vault, amount=if_vault.amount - loss)
            external -= loss
            continue
        if kind == "borrow":  # borrowers take up to ~85% of deposits; tokens leave the vault
            target = ifmath.deposit_token_amount(m) * (n % 86) // 100
            borrow_balance = (
                target * ifmath.balance_precision(m.decimals) // m.cumulative_borrow_interest
            )
            before = ifmath.borrow_token_amount(m)
            m = dataclasses.replace(m, borrow_balance=borrow_balance)
            moved = ifmath.borrow_token_amount(m) - before
            spot_vault = dataclasses.replace(spot_vault, amount=spot_vault.amount - moved)
            external -= moved
            continue
        acc = IfAccounts(
            market=m,
            state=state(),
            if_vault=if_vault,
            spot_vault=spot_vault,
            stake=stakes[who],
            user_stats=stats[who],
            user_token=wallets[who],
        )
        name, args = {
            "add": ("addInsuranceFundStake", {"marketIndex": 0, "amount": n % 10**9 + 1}),
            "request": (
                "requestRemoveInsuranceFundStake",
                {"marketIndex": 0, "amount": _share_of_stake(m, stakes[who], if_vault, n)},
            ),
            "cancel": ("cancelRequestRemoveInsuranceFundStake", {"marketIndex": 0}),
            "remove": ("removeInsuranceFundStake", {"marketIndex": 0}),
            "settle": ("settleRevenueToInsuranceFund", {"spotMarketIndex": 0}),
            "deposit": ("depositIntoSpotMarketRevenuePool", {"amount": n % 10**8}),
        }[kind]
        try:
            effect = predict(name, acc, args, now_ts, profile)
        except Rejected as exc:
            event(f"{name}: {'SplToken.' if isinstance(exc, TokenRejected) else ''}{exc.code}")
            assert 6000 <= exc.code < 7000 or isinstance(exc, TokenRejected), exc
            continue
        event(f"{name}: ok")
        tokens = effect.token_accounts_after(
            {t.address: t for t in (if_vault, spot_vault, wallets[who])}
        )
        m = effect.market or m
        stakes[who] = effect.stake or stakes[who]
        stats[who] = effect.user_stats or stats[who]
        if_vault = tokens[if_vault.address]
        spot_vault = tokens[spot_vault.address]
        wallets[who] = tokens[wallets[who].address]
        _check_invariants(m, stakes, if_vault, spot_vault)
        held = spot_vault.amount + if_vault.amount + sum(w.amount for w in wallets.values())
        assert held == total_tokens + external, f"tokens not conserved after {name}"


def _effective_shares(s: InsuranceFundStake, f_base: int) -> int:
    """A stake's shares at the fund's base (what the next touch's lazy rebase leaves)."""
    return ifmath.rebase_stake_shares(s.if_shares, s.if_base, f_base)


def _share_of_stake(m: SpotMarket, s: InsuranceFundStake, if_vault: TokenAccount, n: int) -> int:
    """A request amount between 0 and a bit over the stake's value (to hit 6145 too)."""
    f = m.insurance_fund
    value = ifmath.shares_to_amount(
        _effective_shares(s, f.shares_base), f.total_shares, if_vault.amount
    )
    return value * (n % 105 or 50) // 100


def _check_invariants(
    m: SpotMarket,
    stakes: dict[Pubkey, InsuranceFundStake],
    if_vault: TokenAccount,
    spot_vault: TokenAccount,
) -> None:
    f = m.insurance_fund
    assert 0 <= f.user_shares <= f.total_shares
    effective = [_effective_shares(s, f.shares_base) for s in stakes.values()]
    assert sum(effective) <= f.user_shares
    for s in stakes.values():
        assert s.last_withdraw_request_shares <= s.if_shares or s.if_base < f.shares_base
    if f.total_shares > 0:
        assert if_vault.amount > 0 or f.user_shares == 0
    assert ifmath.revenue_pool_amount(m) <= ifmath.deposit_token_amount(m)
    assert spot_vault.amount >= depositors_claim_amount(m)
