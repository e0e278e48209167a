"""Throughput of the keeper's pure core on recorded data, against in-run baselines.

Usage: python benchmarks/core.py [--seconds 1.0]

Figures (operations per second, best of three runs of about `seconds` each):
  - decode a SpotMarket with AnchorPy into a view, vs reading one field at its IDL
    offset (the floor any decoder pays);
  - encode a view back to bytes;
  - predict every instruction step of every bundled trace with the mirror, vs
    building the same IfAccounts bundle without predicting (the cost of the math);
  - decide() over a snapshot (what a keeper pass computes between RPC calls).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keeper.core.decide import KeeperPolicy, RequestPolicy, decide
from keeper.core.effects import ACCOUNT_ROLES, IfAccounts, predict
from keeper.core.ifmath import Rejected
from keeper.core.profile import DRIFT_V2_84
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID
from keeper.core.snapshot import build_snapshot
from keeper.core.spl_token import decode_token_account
from keeper.program.codec import AccountCodec
from keeper.program.goldentrace import load_all, replay_world
from keeper.program.idl import load_idl
from keeper.program.instructions import DriftInstructions
from keeper.program.planner import Planner


def rate(fn: Callable[[], int], seconds: float) -> float:
    """Best-of-three operations per second of `fn` (which returns how many it did)."""
    best = 0.0
    for _ in range(3):
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            done += fn()
        best = max(best, done / elapsed)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    idl = load_idl(DRIFT_V2_84.idl_path)
    codec = AccountCodec(idl, DRIFT_V2_84.program_id)
    traces = load_all()
    market_raw = next(
        a.raw() for t in traces for a in t.setup_accounts if a.label.startswith("spotMarket")
    )
    layout = idl.layout
    market_view = codec.decode_spot_market(market_raw)

    steps = []
    for trace in traces:
        for step in trace.instruction_steps():
            if step.instruction in ("initializeUserStats", "initializeInsuranceFundStake"):
                continue
            views = {}
            for acc in step.pre_state:
                if not acc.has_data or acc.owner not in (codec.program_id, SPL_TOKEN_PROGRAM_ID):
                    continue
                raw = acc.raw()
                views[acc.address] = (
                    codec.decode_drift(raw)
                    if raw.owner == codec.program_id
                    else decode_token_account(raw)
                )
            bundle = {
                kind: views.get(step.meta(role).pubkey)
                for role, kind in ACCOUNT_ROLES.items()
                if any(m.role == role for m in step.accounts)
            }
            steps.append((step.instruction, bundle, step.args, step.clock.unix_timestamp))

    def decode_views() -> int:
        codec.decode_spot_market(market_raw)
        return 1

    def read_field() -> int:
        layout.read("SpotMarket", market_raw.data, "insuranceFund.totalShares")
        return 1

    def encode_view() -> int:
        codec.encode(market_view)
        return 1

    def bundles_only() -> int:
        for _name, bundle, _args, _now in steps:
            IfAccounts(**bundle)
        return len(steps)

    def predictions() -> int:
        for name, bundle, step_args, now in steps:
            with contextlib.suppress(Rejected):
                predict(name, IfAccounts(**bundle), step_args, now, DRIFT_V2_84)
        return len(steps)

    # Trace b's final state at alice's cooldown end: a settle and a withdraw are both due,
    # so decide() predicts two instructions, as a busy keeper pass does.
    trace = next(t for t in traces if t.name.startswith("b_"))
    *_, (_last, world) = replay_world(trace)
    raws = [a.raw() for a in world.values() if a.has_data]
    alice = trace.keypair("alice").pubkey()
    probe = build_snapshot(raws, codec, slot=0, now_ts=0)
    pending = probe.stake(alice, 0)
    assert pending is not None and pending.last_withdraw_request_shares
    due_ts = (
        pending.last_withdraw_request_ts
        + probe.market(0).market.insurance_fund.unstaking_period_seconds
    )
    snap = build_snapshot(raws, codec, slot=0, now_ts=due_ts)
    wallets = tuple(
        decode_token_account(a)
        for a in raws
        if a.owner == SPL_TOKEN_PROGRAM_ID and len(a.data) == 165 and a.data[32:64] == bytes(alice)
    )
    snap = dataclasses.replace(snap, wallets=wallets)
    planner = Planner(DRIFT_V2_84, DriftInstructions(DRIFT_V2_84, idl), codec)
    policy = KeeperPolicy(request=RequestPolicy.CAP, max_stake_amount=10**6)

    assert {p.action for p in decide(snap, alice, policy, planner).plans} == {"settle", "withdraw"}

    def decisions() -> int:
        decide(snap, alice, policy, planner)
        return 1

    s = args.seconds
    figures = [
        (
            "SpotMarket decode (AnchorPy → view)",
            rate(decode_views, s),
            "one field read at its IDL offset",
            rate(read_field, s),
        ),
        ("SpotMarket encode (view → bytes)", rate(encode_view, s), None, None),
        (
            f"mirror predictions ({len(steps)} trace steps)",
            rate(predictions, s),
            "building the same account bundles",
            rate(bundles_only, s),
        ),
        ("keeper decide() (settle + withdraw due)", rate(decisions, s), None, None),
    ]
    for name, ops, base_name, base in figures:
        line = f"{name:<48} {ops:>12,.0f} /s"
        if base:
            line += f"   baseline {base_name}: {base:,.0f} /s (ratio {base / ops:,.1f}x)"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
