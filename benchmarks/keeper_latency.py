"""Slots late for the keeper's settle and withdraw, healthy and under faults; idle RPC rate.

Usage: PYTHONPATH=. python benchmarks/keeper_latency.py [--trials 50] [--modes healthy,dropped,flaky]

The keeper runs as an operator runs it (a subprocess, single-wallet config, defaults for
polling and refresh) behind `keeper.testing.faultproxy` in front of an embedded localnet
whose slots tick in real time (400 ms). Each trial:
  - withdraw: alice stakes, the keeper requests her unstake; the clock jumps to 2 s before
    the cooldown ends and bob deposits revenue (a change the keeper is told about); the
    withdraw's first allowed slot is the first slot whose time reaches the cooldown end;
  - settle: the clock jumps to 2 s before the next settle time, bob deposits revenue, and
    the settle's first allowed slot is the first slot at the settle time.
Slots late = landed slot − first allowed slot (p50 / p99 / max per action and mode).
Modes: healthy (the baseline), dropped (50 % of sendTransaction silently dropped), flaky
(5 % each of 429 + Retry-After, 5xx, resets; 2 % hangs of 1 s: 17 % of calls fail).
Then the RPC requests per minute of the idle keeper (nothing due) with a healthy socket,
with the socket down (polling) as the baseline beside it, counted by the proxy.
Bounded: each wait has a timeout; about 6 s per trial per mode, plus 2 × --idle-seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from keeper_rig import COOLDOWN, HOUR, KeeperRig, rpc, wait_for

MODES = {
    "healthy": {},
    "dropped": {"drop_send_fraction": 0.5},
    "flaky": {
        "rate_limit_fraction": 0.05,
        "retry_after_seconds": 1,
        "error_fraction": 0.05,
        "reset_fraction": 0.05,
        "hang_fraction": 0.02,
        "hang_seconds": 1.0,
    },
}
LEAD_SECONDS = 2
SLOT_MS = 400


def first_slot_at(slot_then: int, ts_then: int, allowed_ts: int) -> int:
    return slot_then + -(-(allowed_ts - ts_then) * 1000 // SLOT_MS)


def newest(rig: KeeperRig, action: str, seen: set[str]) -> int | None:
    for x in rig.landed():
        if x.action == action and x.err is None and x.signature not in seen:
            seen.add(x.signature)
            return x.slot
    return None


def landed_slot(rig: KeeperRig, action: str, seen: set[str], what: str) -> int:
    box: dict[str, int] = {}

    def done() -> bool:
        slot = newest(rig, action, seen)
        if slot is not None:
            box["slot"] = slot
        return "slot" in box

    wait_for(what, done, 60, 0.2)
    return box["slot"]


def percentile(values: list[int], q: float) -> int:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else -1


def run_mode(name: str, trials: int, workdir: Path) -> dict[str, list[int]]:
    late: dict[str, list[int]] = {"settle": [], "withdraw": []}
    # the operator's defaults (poll 5 s, refresh 60 s): no test-speed polling
    with KeeperRig(workdir, seed=11, manual_slots=False) as rig:
        rig.options = {}
        rig.cli("stake", "3000", who="bob")
        rig.cli("deposit-revenue", "1", who="bob")
        rig.proxy.set_faults(**MODES[name])
        rig.start_keeper()
        seen: set[str] = set()
        started = time.monotonic()
        for _ in range(trials):
            # withdraw
            rig.cli("stake", "10")
            request_slot = landed_slot(rig, "request", seen, "the unstake request")
            allowed = int(rpc(rig.net.url, "getBlockTime", [request_slot])) + COOLDOWN
            slot = rig.travel_to(allowed - LEAD_SECONDS)
            rig.cli("deposit-revenue", "1", who="bob")
            done = landed_slot(rig, "withdraw", seen, "the withdraw")
            late["withdraw"].append(done - first_slot_at(slot, allowed - LEAD_SECONDS, allowed))
            # the settle that came due with the jump is not a trial; wait for it to land
            time.sleep(1.0)
            for x in rig.landed():
                if x.action == "settle":
                    seen.add(x.signature)
            # settle
            next_settle = (rig.now() // HOUR + 1) * HOUR
            slot = rig.travel_to(next_settle - LEAD_SECONDS)
            rig.cli("deposit-revenue", "1", who="bob")
            done = landed_slot(rig, "settle", seen, "the settle")
            late["settle"].append(done - first_slot_at(slot, next_settle - LEAD_SECONDS, next_settle))
            print(
                f"{name} trial {len(late['settle'])}: withdraw {late['withdraw'][-1]:+d}, "
                f"settle {late['settle'][-1]:+d} slots ({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
            )
        rig.stop_keeper()
    return late


def idle_rpm(seconds: float, workdir: Path) -> tuple[float, float, dict[str, int]]:
    with KeeperRig(workdir, manual_slots=False) as rig:
        rig.options = {}
        rig.cli("stake", "3000", who="bob")
        rig.start_keeper()
        wait_for(
            "the keeper's first pass",
            lambda: rig.proxy.stats()["http"].get("getMultipleAccounts", 0) > 0,
            60,
        )
        time.sleep(3)
        base = rig.proxy.stats()["http"]
        time.sleep(seconds)
        after = rig.proxy.stats()["http"]
        healthy = {k: after.get(k, 0) - base.get(k, 0) for k in after}
        rig.proxy.set_faults(ws_refuse=True)  # the socket down, HTTP up: polling
        time.sleep(3)
        b2 = rig.proxy.stats()["http"]
        time.sleep(seconds)
        a2 = rig.proxy.stats()["http"]
        rig.stop_keeper()
    rpm = sum(healthy.values()) * 60 / seconds
    return rpm, sum(a2.get(k, 0) - b2.get(k, 0) for k in a2) * 60 / seconds, healthy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--modes", default="healthy,dropped,flaky")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--keep", help="keep the keepers' logs in this folder")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() if not args.keep else contextlib.nullcontext(args.keep) as tmp:
        results = {m: run_mode(m, args.trials, Path(tmp) / m) for m in args.modes.split(",")}
        rpm, polling_rpm, methods = idle_rpm(args.idle_seconds, Path(tmp) / "idle")
    print(f"slots late (landed slot - first allowed slot), {args.trials} trials per action and mode")
    print(f"{'mode':<10}{'action':<10}{'p50':>5}{'p99':>5}{'max':>5}{'on time':>9}")
    for mode, late in results.items():
        for action, values in late.items():
            on_time = sum(v <= 0 for v in values) / max(1, len(values))
            print(
                f"{mode:<10}{action:<10}{percentile(values, 0.5):>5}{percentile(values, 0.99):>5}"
                f"{max(values, default=-1):>5}{on_time:>8.0%}"
            )
    print(f"idle RPC requests/minute, 1 market x 1 wallet: healthy socket {rpm:.1f} {methods}")
    print(f"  baseline, websocket down (polling every 5 s): {polling_rpm:.1f}")


if __name__ == "__main__":
    main()
