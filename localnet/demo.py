"""The main job's demo: the keeper settles, requests and withdraws on a Drift localnet.

Every step is the real `drift-if` CLI talking JSON-RPC to a local cluster that runs
the Drift IF instructions (the Python model, or a real binary via DRIFT_PROGRAM_SO);
between steps the demo moves the cluster's clock with the time-travel cheatcode.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from keeper.app import main as drift_if
from keeper.core import DRIFT_MAINNET, format_duration
from localnet.embedded import EmbeddedLocalnet

START_TS = 1_767_225_600  # 2026-01-01T00:00:00Z


def run(net: EmbeddedLocalnet, who: str, *argv: str, expect_failure: bool = False) -> None:
    shown = " ".join(argv)
    print(f"\n$ drift-if {shown} -k {who}.json", flush=True)
    # -y: the demo's output is not a terminal, and it means to send
    sends = argv[0] not in ("status", "markets")
    code = drift_if([*argv, "-u", net.url, "-k", str(net.keys[who]), *(["-y"] if sends else [])])
    if (code != 0) != expect_failure:
        raise SystemExit(f"demo step failed: drift-if {shown} exited {code}")


def travel(net: EmbeddedLocalnet, seconds: int, why: str) -> None:
    net.travel(seconds)
    print(f"\n# time travel +{format_duration(seconds)}: {why}", flush=True)


def keeper_pass(net: EmbeddedLocalnet, config: Path) -> None:
    print(f"\n$ drift-if keeper --config {config.name} --once", flush=True)
    if drift_if(["keeper", "--config", str(config), "--once", "--log-level", "warning"]) != 0:
        raise SystemExit("demo step failed: the keeper pass reported errors")


def demo(keys_dir: Path) -> None:
    with EmbeddedLocalnet(DRIFT_MAINNET, keys_dir, start_ts=START_TS) as net:
        program = "the real Drift program" if net.real_program else "the Drift IF model"
        print(f"# localnet at {net.url} running {program}; genesis: USDC market 0, alice, bob")
        config = keys_dir / "keeper.toml"
        config.write_text(
            f'[cluster]\nurl = "{net.url}"\nws_url = "{net.ws_url}"\n'
            f'[keeper]\nkeypair = "{net.keys["alice"]}"\nmarkets = [0]\n'
            'request_policy = "cap"\nmax_stake_base_units = 600000000  # keep at most 600 USDC staked\n'
        )
        print(
            f"# alice's keeper: settles market 0, keeps her stake at most 600 USDC, withdraws\n{config.read_text()}"
        )
        run(net, "alice", "status")
        run(net, "alice", "stake", "1000")
        run(net, "bob", "stake", "3000")
        run(net, "bob", "deposit-revenue", "2000")
        keeper_pass(net, config)
        travel(net, 3600, "the next settle is allowed on the hour")
        keeper_pass(net, config)
        run(net, "alice", "withdraw", expect_failure=True)
        travel(net, 13 * 86_400, "the 13-day cooldown")
        keeper_pass(net, config)
        run(net, "alice", "status")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drift-if-demo-") as tmp:
        demo(Path(tmp))
    print("\ndemo complete", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
