"""The snapshot checker accepts every state the program can reach.

States are reached by chaining mirror predictions over random instruction sequences,
with the events the IF instructions do not cause but the program does: losses paid out
of the IF vault (down to a single unit, which forces share rebases), borrows and time.
Accounts sit at their real PDAs so every check of `check_snapshot` applies.
"""

from __future__ import annotations

import dataclasses
import random

from hypothesis import event, given, settings
from hypothesis import strategies as st
from mirror_factories import fund, key, market, stake, state, token, user_stats
from solders.pubkey import Pubkey

from keeper.core import ifmath
from keeper.core.addresses import DriftAddresses
from keeper.core.effects import IfAccounts, predict
from keeper.core.ifmath import Rejected
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84, VELOCITY, ProgramProfile
from keeper.core.rules import SPOT_PAUSE_WITHDRAW
from keeper.core.snapshot import MarketSnapshot, Snapshot
from keeper.core.verify import Severity, check_snapshot
from keeper.core.views import InsuranceFundStake, SpotMarket, TokenAccount, UserStats

ADDR = DriftAddresses(DRIFT_V2_84.program_id)
SIGNER = ADDR.drift_signer()
STAKERS = (key(30), key(31), key(32))
START_TS = 1_725_148_800
KINDS = ("add", "request", "cancel", "remove", "settle", "deposit", "wait", "loss", "borrow")
WEIGHTS = (5, 4, 2, 4, 3, 3, 4, 2, 1)
#: Velocity also pauses and resumes the market's withdrawals (which defer the transfer of
#: booked revenue and make the remove's cash check reachable)
VELOCITY_KINDS = (*KINDS, "pause")
VELOCITY_WEIGHTS = (*WEIGHTS, 2)


def _snapshot(
    m: SpotMarket,
    if_vault: TokenAccount,
    spot_vault: TokenAccount,
    stakes: dict[Pubkey, InsuranceFundStake],
    stats: dict[Pubkey, UserStats],
    now_ts: int,
    addr: DriftAddresses = ADDR,
) -> Snapshot:
    return Snapshot(
        slot=0,
        now_ts=now_ts,
        state=state(address=addr.state(), signer=addr.drift_signer()),
        markets=(MarketSnapshot(m, if_vault, spot_vault),),
        stakes=tuple(stakes.values()),
        user_stats=tuple(stats.values()),
    )


def _request_amount(m: SpotMarket, s: InsuranceFundStake, vault: int, n: int) -> int:
    f = m.insurance_fund
    shares = ifmath.effective_stake_shares(s.if_shares, s.if_base, f.shares_base)
    value = ifmath.shares_to_amount(min(shares, f.total_shares), f.total_shares, vault)
    return value * (n % 101 or 100) // 100


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2**32), st.integers(10, 70), st.booleans())
def test_reachable_states_have_no_error_finding(seed: int, length: int, mainnet: bool) -> None:
    _walk(seed, length, DRIFT_MAINNET if mainnet else DRIFT_V2_84)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32), st.integers(10, 70))
def test_reachable_velocity_states_have_no_error_finding(seed: int, length: int) -> None:
    """The same walk under Velocity's rules (NAV, booking and release, whole-share adds,
    the cash check), with withdraw pauses that hold booked revenue in the spot vault."""
    _walk(seed, length, VELOCITY)


def _walk(seed: int, length: int, profile: ProgramProfile) -> None:
    rng = random.Random(seed)
    velocity = profile is VELOCITY
    addr = profile.addresses if velocity else ADDR
    signer = addr.drift_signer()
    kinds, weights = (VELOCITY_KINDS, VELOCITY_WEIGHTS) if velocity else (KINDS, WEIGHTS)
    # Velocity's one `if_fee_factor` is decoded into both factors
    user_factor = 200_000 if velocity else 100_000
    m = market(
        fund(
            vault=addr.insurance_fund_vault(0),
            total_factor=200_000,
            user_factor=user_factor,
            unstaking_period_seconds=2 * 86_400,
        ),
        address=addr.spot_market(0),
        vault=addr.spot_market_vault(0),
        deposit_balance=10**16,
        last_interest_ts=START_TS,
        last_twap_ts=START_TS,
    )
    spot_vault = token(addr.spot_market_vault(0), signer, ifmath.deposit_token_amount(m))
    if_vault = token(addr.insurance_fund_vault(0), signer, 0)
    stakes = {
        who: stake(address=addr.insurance_fund_stake(who, 0), authority=who) for who in STAKERS
    }
    stats = {who: user_stats(address=addr.user_stats(who), authority=who) for who in STAKERS}
    wallets = {who: token(key(40 + i), who, 10**13) for i, who in enumerate(STAKERS)}
    now_ts = START_TS
    for _ in range(length):
        kind = rng.choices(kinds, weights)[0]
        who = rng.choice(STAKERS)
        n = rng.randrange(10**12)
        if kind == "wait":
            now_ts += (n % 72 + 1) * 3600 + n % 3600
            continue
        if kind == "pause":
            m = dataclasses.replace(m, paused_operations=m.paused_operations ^ SPOT_PAUSE_WITHDRAW)
            event("withdraw pause toggled")
            continue
        if kind == "loss":  # a bankruptcy paid from the IF vault, sometimes all but a unit
            keep = 1 if n % 3 == 0 else max(if_vault.amount * (n % 90 + 5) // 100, 1)
            if if_vault.amount > keep:
                if_vault = dataclasses.replace(if_vault, amount=keep)
                event("loss")
        elif kind == "borrow":
            target = ifmath.deposit_token_amount(m) * (n % 80) // 100
            before = ifmath.borrow_token_amount(m)
            m = dataclasses.replace(
                m,
                borrow_balance=target
                * ifmath.balance_precision(m.decimals)
                // m.cumulative_borrow_interest,
            )
            moved = ifmath.borrow_token_amount(m) - before
            spot_vault = dataclasses.replace(spot_vault, amount=spot_vault.amount - moved)
        else:
            acc = IfAccounts(
                market=m,
                state=state(address=addr.state(), signer=signer),
                if_vault=if_vault,
                spot_vault=spot_vault,
                stake=stakes[who],
                user_stats=stats[who],
                user_token=wallets[who],
            )
            name, args = {
                "add": ("addInsuranceFundStake", {"marketIndex": 0, "amount": n % 10**10 + 1}),
                "request": (
                    "requestRemoveInsuranceFundStake",
                    {
                        "marketIndex": 0,
                        "amount": _request_amount(m, stakes[who], if_vault.amount, n),
                    },
                ),
                "cancel": ("cancelRequestRemoveInsuranceFundStake", {"marketIndex": 0}),
                "remove": ("removeInsuranceFundStake", {"marketIndex": 0}),
                "settle": ("settleRevenueToInsuranceFund", {"spotMarketIndex": 0}),
                "deposit": ("depositIntoSpotMarketRevenuePool", {"amount": n % 10**9 + 1}),
            }[kind]
            try:
                effect = predict(name, acc, args, now_ts, profile)
            except Rejected as rej:
                event(f"rejected {rej.code}")
                continue
            tokens = effect.token_accounts_after(
                {t.address: t for t in (if_vault, spot_vault, wallets[who])}
            )
            m = effect.market or m
            stakes[who] = effect.stake or stakes[who]
            stats[who] = effect.user_stats or stats[who]
            if_vault, spot_vault = tokens[if_vault.address], tokens[spot_vault.address]
            wallets[who] = tokens[wallets[who].address]
        if m.if_revenue_receivable_scaled:
            event("receivable pending")
        snap = _snapshot(m, if_vault, spot_vault, stakes, stats, now_ts, addr)
        findings = check_snapshot(snap, addr)
        errors = [f for f in findings if f.severity is Severity.ERROR]
        assert not errors, f"after {kind}: {errors}"
        for f in findings:
            event(f"warning: {f.check}")
        if m.insurance_fund.shares_base:
            event("rebased")


def test_a_loss_during_the_cooldown_is_not_an_error() -> None:
    """The request value is capped below the vault only at request time
    (controller/insurance.rs request_remove_insurance_fund_stake); a loss paid from the IF
    vault afterwards leaves it above the vault, and remove still works."""
    who = STAKERS[0]
    f = fund(vault=ADDR.insurance_fund_vault(0), total_shares=1000, user_shares=1000)
    m = market(f, address=ADDR.spot_market(0), vault=ADDR.spot_market_vault(0))
    if_vault = token(ADDR.insurance_fund_vault(0), SIGNER, 1000)
    spot_vault = token(ADDR.spot_market_vault(0), SIGNER, 0)
    s = stake(address=ADDR.insurance_fund_stake(who, 0), authority=who, if_shares=1000)
    acc = IfAccounts(
        market=m,
        state=state(address=ADDR.state(), signer=SIGNER),
        if_vault=if_vault,
        spot_vault=spot_vault,
        stake=s,
        user_stats=user_stats(address=ADDR.user_stats(who), authority=who),
        user_token=token(key(40), who, 0),
    )
    req = predict(
        "requestRemoveInsuranceFundStake", acc, {"marketIndex": 0, "amount": 900}, 0, DRIFT_V2_84
    )
    assert req.stake is not None and req.stake.last_withdraw_request_value == 900
    after_loss = dataclasses.replace(if_vault, amount=500)
    snap = _snapshot(req.market or m, after_loss, spot_vault, {who: req.stake}, {}, 0)
    findings = check_snapshot(snap, ADDR)
    assert [f.severity for f in findings if f.check == "request"] == [Severity.WARNING]
    assert not [f for f in findings if f.severity is Severity.ERROR]
