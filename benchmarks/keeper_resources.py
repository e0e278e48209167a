"""The idle keeper's RPC requests per minute, memory and CPU, by markets x wallets.

Usage: PYTHONPATH=. python benchmarks/keeper_resources.py [--sizes 1x1,8x10,8x100]
       [--idle-seconds 130] [--poll-seconds 30]

For each size M x W the genesis holds M markets and W wallets, each with a stake in
every market (created in genesis, not by transactions), and the keeper runs as an
operator runs it (a subprocess, `[[wallets]]` config with policy hold on every market,
the operator's defaults: idle refresh 60 s, poll 5 s) behind `keeper.testing.faultproxy`,
which counts every HTTP request by method. Nothing is due while it is measured.

Figures per size (the first size is the baseline of the ratios):
  - start: seconds and CPU seconds until the first snapshot was read;
  - idle RPC requests per minute with healthy sockets, over --idle-seconds (at least two
    idle refreshes), by method;
  - CPU (% of one core) and RSS (current and peak, MiB) of the keeper process over the
    idle window;
  - polling (the websocket refused, a full pass every poll interval) over --poll-seconds:
    requests per minute and CPU %: the cost of one full pass at this size.
RSS and CPU are read from /proc/<pid> (Linux). Timing figures on a shared machine are
noisy: run it on a quiet one for numbers to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from keeper_rig import KeeperRig, wait_for

from localnet.genesis import GenesisSpec, MarketSpec, StakerSpec

SYMBOLS = ("USDC", "SOL", "BTC", "ETH", "USDT", "JTO", "JUP", "PYTH")
#: each wallet's stake per market, base units
STAKE = 1_000_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def genesis(markets: int, wallets: int) -> tuple[GenesisSpec, tuple[str, ...]]:
    names = tuple(f"w{i:03d}" for i in range(wallets))
    spec = GenesisSpec(
        markets=tuple(MarketSpec(i, SYMBOLS[i], 6 if i == 0 else 9) for i in range(markets)),
        stakers=tuple(
            StakerSpec(n, lamports=1_000_000_000, stakes=tuple((i, STAKE) for i in range(markets)))
            for n in names
        ),
        created_ts=1_767_225_600,
    )
    return spec, names


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


@dataclass
class Figures:
    size: str
    accounts_watched: int
    start_seconds: float
    start_cpu: float
    idle_rpm: float
    idle_methods: dict[str, int]
    idle_cpu_percent: float
    rss: float
    rss_peak: float
    polling_rpm: float
    polling_cpu_percent: float


def measure(size: str, idle_seconds: float, poll_seconds: float, workdir: Path) -> Figures:
    markets, wallets = (int(x) for x in size.split("x"))
    spec, names = genesis(markets, wallets)
    with KeeperRig(
        workdir, manual_slots=False, spec=spec, wallets=names, markets=tuple(range(markets))
    ) as rig:
        rig.options = {}
        started = time.monotonic()
        rig.start_keeper()
        assert rig.process is not None
        pid = rig.process.pid
        wait_for(
            "the keeper's first snapshot",
            lambda: rig.proxy.stats()["http"].get("getMultipleAccounts", 0) > 0,
            120,
        )
        wait_for("the subscriptions", lambda: "pubsub subscribed" in rig.log_text(), 120)
        start_seconds = time.monotonic() - started
        start_cpu = cpu_seconds(pid)
        time.sleep(5)  # the pass after subscribing
        base, cpu0, t0 = rig.proxy.stats()["http"], cpu_seconds(pid), time.monotonic()
        time.sleep(idle_seconds)
        after, cpu1, t1 = rig.proxy.stats()["http"], cpu_seconds(pid), time.monotonic()
        rss, peak = rss_mib(pid)
        idle = {k: after.get(k, 0) - base.get(k, 0) for k in after}
        idle = {k: v for k, v in idle.items() if v}
        rig.proxy.set_faults(ws_refuse=True)  # sockets down, HTTP up: a full pass per poll
        time.sleep(8)
        b2, cpu2, t2 = rig.proxy.stats()["http"], cpu_seconds(pid), time.monotonic()
        time.sleep(poll_seconds)
        a2, cpu3, t3 = rig.proxy.stats()["http"], cpu_seconds(pid), time.monotonic()
        _rss, peak = rss_mib(pid)
        alive = rig.alive()
        rig.stop_keeper()
        if not alive:
            raise SystemExit(f"the keeper died:\n{rig.log_text()[-3000:]}")
    return Figures(
        size,
        1 + markets * (2 + wallets),
        start_seconds,
        start_cpu,
        sum(idle.values()) * 60 / (t1 - t0),
        idle,
        100 * (cpu1 - cpu0) / (t1 - t0),
        rss,
        peak,
        sum(a2.get(k, 0) - b2.get(k, 0) for k in a2) * 60 / (t3 - t2),
        100 * (cpu3 - cpu2) / (t3 - t2),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1x1,8x10,8x100")
    parser.add_argument("--idle-seconds", type=float, default=130.0)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--keep", help="keep the keepers' logs in this folder")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    tmp_ctx = tempfile.TemporaryDirectory() if not args.keep else contextlib.nullcontext(args.keep)
    results = []
    with tmp_ctx as tmp:
        for size in args.sizes.split(","):
            print(f"measuring {size} ...", file=sys.stderr)
            results.append(measure(size, args.idle_seconds, args.poll_seconds, Path(tmp) / size))
    base = results[0]
    print(
        f"idle keeper, markets x wallets (a stake each), {args.idle_seconds:g} s idle with "
        f"healthy sockets, {args.poll_seconds:g} s polling; ratios against {base.size}"
    )
    print(
        f"{'size':<7}{'watched':>8}{'start s':>9}{'start cpu s':>12}{'idle req/min':>13}"
        f"{'idle cpu %':>11}{'rss MiB':>9}{'peak MiB':>9}{'poll req/min':>13}{'poll cpu %':>11}"
    )
    for f in results:
        print(
            f"{f.size:<7}{f.accounts_watched:>8}{f.start_seconds:>9.1f}{f.start_cpu:>12.2f}"
            f"{f.idle_rpm:>13.2f}{f.idle_cpu_percent:>11.2f}{f.rss:>9.1f}{f.rss_peak:>9.1f}"
            f"{f.polling_rpm:>13.1f}{f.polling_cpu_percent:>11.1f}"
        )
    for f in results:
        print(
            f"  {f.size}: idle requests {f.idle_methods}; rss x{f.rss / base.rss:.2f}, "
            f"poll cpu x{f.polling_cpu_percent / max(base.polling_cpu_percent, 0.01):.1f} "
            f"vs {base.size}"
        )


if __name__ == "__main__":
    main()
