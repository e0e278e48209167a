"""Differential test: the mirror's prediction against the localnet's execution, step by step.

Random IF instruction sequences (add, request, cancel, remove, settle, revenue-pool
deposit) interleaved with time travel, loss and gain events written with cheatcodes
(the IF vault's balance moved behind the program's back, deep enough to force
rebases) run over markets of 6, 8 and 9 decimals with random IF factors, periods and
utilization from borrows. Each step is (a) predicted by keeper.core.effects.predict
over the accounts read back as keeper.core views and (b) sent over RPC; the error
code, and on success every post-state byte of the Drift accounts, every token
balance and every lamport and owner must agree. With DRIFT_PROGRAM_SO the real
binary answers (b). Bounded for CI: DRIFT_DIFF_SEEDS / DRIFT_DIFF_STEPS run longer.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Iterator

import pytest
from drift_world import SPEC, START_TS, Staker, World
from error_scenarios import scaled
from localnet_support import binary_profile

from keeper.core.effects import IfAccounts, predict
from keeper.core.ifmath import Rejected
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84, ProgramProfile
from localnet.embedded import EmbeddedLocalnet

SEEDS = int(os.environ.get("DRIFT_DIFF_SEEDS", "3"))
STEPS = int(os.environ.get("DRIFT_DIFF_STEPS", "30"))
PROFILES = (DRIFT_V2_84, DRIFT_MAINNET)


def _profiles() -> list[ProgramProfile]:
    real = binary_profile()
    return [real] if real is not None else list(PROFILES)


@pytest.fixture(scope="module", params=_profiles(), ids=lambda p: p.name)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    profile: ProgramProfile = request.param
    with EmbeddedLocalnet(
        profile, tmp_path_factory.mktemp("keys"), start_ts=START_TS, spec=SPEC
    ) as net:
        yield World(net)


def _randomize_markets(w: World, rng: random.Random) -> None:
    for i in w.mints:
        one = 10 ** w.market(i).decimals
        total_factor = rng.choice((0, 100_000, 500_000, 1_000_000))
        w.set_fund(
            i,
            total_factor=total_factor,
            user_factor=rng.randint(0, total_factor),
            revenue_settle_period_seconds=rng.choice((0, 60, 3600)),
            unstaking_period_seconds=rng.choice((0, 600, 7200)),
        )
        deposits = rng.randint(0, 10_000) * one
        borrows = rng.randint(0, deposits // max(one, 1)) * one * rng.choice((0, 1)) // 2
        pool = rng.randint(0, deposits // one) * one // 4
        w.set_market(
            i,
            deposit_balance=scaled(w, i, deposits),
            borrow_balance=scaled(w, i, borrows),
            revenue_pool_scaled_balance=scaled(w, i, pool),
        )
        w.set_balance(w.a.spot_market_vault(i), deposits - borrows + rng.randint(0, 3))


def _accounts(w: World, s: Staker, index: int, bob_stats: bool = False) -> IfAccounts:
    def tok(address: object) -> object:
        return w.token(address)  # type: ignore[arg-type]

    raw_stats = w.raw(s.stats)
    assert raw_stats is not None
    return IfAccounts(
        market=w.market(index),
        state=w.state(),
        if_vault=w.token(w.a.insurance_fund_vault(index)),
        spot_vault=w.token(w.a.spot_market_vault(index)),
        stake=w.stake(s, index),
        user_stats=w.codec.decode_user_stats(raw_stats),
        user_token=w.token(s.tokens[index]),
    )


def _step(w: World, rng: random.Random, stakers: list[Staker]) -> tuple[str, dict[str, int]]:
    """One random instruction (name, args) for a random staker and market."""
    kinds = ("add", "add", "request", "cancel", "remove", "settle", "deposit")
    return rng.choice(kinds), {"index": rng.choice(list(w.mints))}


def _event(w: World, rng: random.Random) -> str | None:
    """A cheatcode event between instructions: time travel, a loss or a gain."""
    roll = rng.random()
    if roll < 0.25:
        w.travel(rng.choice((1, 59, 600, 3600, 7200)))
        return "travel"
    i = rng.choice(list(w.mints))
    vault = w.a.insurance_fund_vault(i)
    amount = w.token(vault).amount
    if roll < 0.32 and amount > 0:
        w.set_balance(vault, amount // rng.choice((2, 10, 10_000, 10**7)))  # loss (rebases)
        return "loss"
    if roll < 0.36:
        w.set_balance(vault, amount + rng.randint(1, 10**6))
        return "gain"
    return None


def _instruction(
    w: World, name: str, s: Staker, index: int, amount: int
) -> tuple[str, dict[str, int], object]:
    keys = w.keys(index)
    if name == "add":
        ix = w.b.add_insurance_fund_stake(keys, amount, s.me, s.tokens[index])
        return "addInsuranceFundStake", {"marketIndex": index, "amount": amount}, ix
    if name == "request":
        ix = w.b.request_remove_insurance_fund_stake(keys, amount, s.me)
        return "requestRemoveInsuranceFundStake", {"marketIndex": index, "amount": amount}, ix
    if name == "cancel":
        ix = w.b.cancel_request_remove_insurance_fund_stake(keys, s.me)
        return "cancelRequestRemoveInsuranceFundStake", {"marketIndex": index}, ix
    if name == "remove":
        ix = w.b.remove_insurance_fund_stake(keys, s.me, s.tokens[index])
        return "removeInsuranceFundStake", {"marketIndex": index}, ix
    if name == "settle":
        ix = w.b.settle_revenue_to_insurance_fund(keys)
        return "settleRevenueToInsuranceFund", {"spotMarketIndex": index}, ix
    ix = w.b.deposit_into_spot_market_revenue_pool(keys, amount, s.me, s.tokens[index])
    return "depositIntoSpotMarketRevenuePool", {"amount": amount}, ix


def _run(w: World, seed: int) -> tuple[int, int]:
    """One sequence; returns (instructions sent, of which failed)."""
    rng = random.Random(seed)
    w.reset()
    _randomize_markets(w, rng)
    stakers = [w.staker(markets=tuple(w.mints), tokens=10**16) for _ in range(2)]
    sent = failed = 0
    for step in range(STEPS):
        event = _event(w, rng)
        if event is not None:
            continue
        kind, extra = _step(w, rng, stakers)
        index = extra["index"]
        s = rng.choice(stakers)
        one = 10 ** w.market(index).decimals
        amount = rng.choice((0, 1, rng.randint(1, 1000) * one, rng.randint(1, 10**6)))
        name, args, ix = _instruction(w, kind, s, index, amount)
        w.cheat("localnet_timeTravel", [{"slots": 1}])  # the clock the step runs at
        now = w.now()
        acc = _accounts(w, s, index)
        where = f"seed {seed} step {step} {name} {args} ({w.profile.name})"
        try:
            effect = predict(name, acc, args, now, w.profile)
            predicted: int | None = None
        except Rejected as rej:
            effect, predicted = None, rej.code
        out = w.send(ix, travel=False)  # type: ignore[arg-type]
        sent += 1
        assert out.code == predicted, f"{where}: mirror {predicted}, localnet {out.err} {out.logs}"
        assert out.moved == [], f"{where}: lamports or owner of {out.moved}"
        if effect is None:
            failed += 1
            assert out.changed == [], f"{where}: failed but changed {out.changed}"
            continue
        for view in (effect.market, effect.stake, effect.user_stats):
            if view is None:
                continue
            raw = w.raw(view.address)
            assert raw is not None
            assert raw.data == w.codec.encode(view), f"{where}: {type(view).__name__} bytes"
        tokens = {t.address: t for t in (acc.if_vault, acc.spot_vault, acc.user_token) if t}
        for address, token in effect.token_accounts_after(tokens).items():
            got = w.token(address)
            assert got.amount == token.amount, f"{where}: token {address}"
            assert dataclasses.replace(got, amount=0, raw=b"") == dataclasses.replace(
                token, amount=0, raw=b""
            )
    return sent, failed


@pytest.mark.parametrize("seed", range(SEEDS))
def test_mirror_and_localnet_agree_step_by_step(world: World, seed: int) -> None:
    sent, failed = _run(world, seed)
    assert sent > 0
    print(f"seed {seed} ({world.profile.name}): {sent} instructions, {failed} refused")
