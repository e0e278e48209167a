"""A keeper subprocess behind the fault proxy, in front of an embedded Drift localnet.

Shared by the fault scenarios (tests/integration/test_keeper_faults.py) and the latency
benchmark (benchmarks/keeper_latency.py). The keeper is run exactly as an operator runs
it (`python -m keeper.app.cli keeper --config F`) with a single-wallet config in the
format of config/keeper.example.toml; the chain is driven with the CLI and the
localnet's cheatcodes, and judged only from what landed (getSignaturesForAddress on the
IF vault and getTransaction of each signature).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from localnet_support import SUITE_PROFILE

from keeper.app.cli import main as cli
from keeper.testing.faultproxy import ProxyThread
from localnet.embedded import EmbeddedLocalnet
from localnet.genesis import GenesisSpec

START_TS = 1_767_225_600
HOUR = 3600
#: the mainnet IF unstake cooldown (13 days) the genesis market uses
COOLDOWN = 1_123_200
#: the instruction names the program logs, by the keeper's action
ACTIONS = {
    "SettleRevenueToInsuranceFund": "settle",
    "RequestRemoveInsuranceFundStake": "request",
    "RemoveInsuranceFundStake": "withdraw",
    "AddInsuranceFundStake": "stake",
}
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Landed:
    signature: str
    slot: int
    action: str
    err: Any
    fee_payer: str


def rpc(url: str, method: str, params: list[Any] | None = None) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    reply = httpx.post(url, json=body, timeout=10).json()
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def wait_for(what: str, predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> float:
    """Poll until `predicate()`; the seconds it took (AssertionError after `timeout`)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(step)
    return time.monotonic() - started


class KeeperRig:
    """One localnet, one proxy in front of it, one keeper process (restartable)."""

    def __init__(
        self,
        workdir: Path,
        *,
        seed: int = 0,
        manual_slots: bool = True,
        spec: GenesisSpec | None = None,
        wallets: tuple[str, ...] = (),
        markets: tuple[int, ...] = (0,),
        **keeper_options: Any,
    ) -> None:
        """`spec`: another genesis (many markets, wallets with stakes); `wallets`: run
        the keeper for these genesis stakers (`[[wallets]]`, policy hold on `markets`,
        the genesis keeper as fee payer) instead of the single-wallet config for alice."""
        self.workdir = workdir
        self.net = EmbeddedLocalnet(
            SUITE_PROFILE, workdir / "keys", start_ts=START_TS, manual_slots=manual_slots, spec=spec
        )
        self.wallets = wallets
        self.markets = markets
        self.seed = seed
        self.options = {"poll_interval_seconds": 0.5, "idle_refresh_seconds": 1, **keeper_options}
        self.proxy: ProxyThread
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        #: with ticking slots, "confirmed" (1 slot) instead of the CLI's default wait
        self.cli_flags = () if manual_slots else ("--commitment", "confirmed")
        self.pdas = SUITE_PROFILE.addresses
        self._before: set[str] = set()
        #: getTransaction answers are final once landed: read each once
        self._seen: dict[str, Landed] = {}

    def __enter__(self) -> KeeperRig:
        self.net.__enter__()
        self.proxy = ProxyThread(self.net.url, self.net.ws_url, seed=self.seed, lifetime_seconds=600)
        self.proxy.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_keeper()
        self.proxy.__exit__(None, None, None)
        self.net.__exit__(None, None, None)

    # -- the chain -------------------------------------------------------------------

    def cli(self, *argv: str, who: str = "alice") -> None:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = cli([*argv, "-u", self.net.url, "-k", str(self.net.keys[who]), "-y", *self.cli_flags])
        assert code == 0, f"drift-if {' '.join(argv)} failed ({code}): {out.getvalue()}"

    def now(self) -> int:
        return int(rpc(self.net.url, "localnet_getClock")["unixTimestamp"])

    def slot(self) -> int:
        return int(rpc(self.net.url, "getSlot"))

    def travel_to(self, unix_ts: int) -> int:
        """Jump the cluster's clock to `unix_ts`; the slot it then is at."""
        clock = rpc(self.net.url, "localnet_timeTravel", [{"absoluteTimestamp": unix_ts}])
        return int(clock["absoluteSlot"])

    def landed(self, market: int = 0) -> list[Landed]:
        """Every transaction that touched the market's IF vault since `mark()`, oldest first."""
        vault = str(self.pdas.insurance_fund_vault(market))
        out = []
        for entry in reversed(rpc(self.net.url, "getSignaturesForAddress", [vault, {"limit": 1000, "commitment": "confirmed"}])):
            sig = entry["signature"]
            if sig in self._before:
                continue
            if sig in self._seen:
                out.append(self._seen[sig])
                continue
            tx = rpc(
                self.net.url,
                "getTransaction",
                [
                    sig,
                    {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": "confirmed"},
                ],
            )
            logs = tx["meta"]["logMessages"] or []
            action = next(
                (ACTIONS[ln.split("Instruction: ")[1]] for ln in logs if "Instruction: " in ln
                 and ln.split("Instruction: ")[1] in ACTIONS),
                "other",
            )
            payer = tx["transaction"]["message"]["accountKeys"][0]
            landed = Landed(sig, int(entry["slot"]), action, tx["meta"]["err"], payer)
            self._seen[sig] = landed
            out.append(landed)
        return out

    def mark(self) -> None:
        """From now on, `landed()` shows only newer transactions."""
        self._before |= {x.signature for x in self.landed()}

    def counts(self) -> Counter[str]:
        return Counter(x.action for x in self.landed() if x.err is None)

    # -- the keeper ------------------------------------------------------------------

    def config(self) -> Path:
        lines = [
            "[cluster]",
            f'url = "{self.proxy.url}"',
            f'ws_url = "{self.proxy.ws_url}"',
            'commitment = "confirmed"',
            "requests_per_second = 50",
            "[keeper]",
        ]
        if self.wallets:
            lines += [f'fee_payer = "{self.net.keys["keeper"]}"']
            lines += [f"{k} = {v}" for k, v in self.options.items()]
            markets = ", ".join(f'{{ market = {i}, policy = "hold" }}' for i in self.markets)
            for name in self.wallets:
                lines += [
                    "[[wallets]]",
                    f'name = "{name}"',
                    f'keypair = "{self.net.keys[name]}"',
                    f"markets = [{markets}]",
                ]
        else:
            lines += [
                f'keypair = "{self.net.keys["alice"]}"',
                "markets = [0]",
                'request_policy = "unstake_all"',
            ]
            lines += [f"{k} = {v}" for k, v in self.options.items()]
        path = self.workdir / "keeper.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start_keeper(self) -> None:
        log = self.workdir / f"keeper-{len(self.logs)}.log"
        self.logs.append(log)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "keeper.app.cli", "keeper", "--config", str(self.config()),
                 "--log-json", "--log-level", os.environ.get("KEEPER_LOG_LEVEL", "info")],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=env,
            )

    def stop_keeper(self, *, kill: bool = False) -> None:
        p, self.process = self.process, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None
