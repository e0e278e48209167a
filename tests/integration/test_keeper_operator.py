"""The operator's report, item by item, against a Drift localnet (or nothing at all)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from localnet_support import SUITE_PROFILE, first_settle_seeds_cap
from solders.keypair import Keypair

from keeper.app.cli import main
from keeper.app.config import load_settings
from keeper.app.daemon import TIMER_SLACK_SECONDS, InsuranceFundKeeper, Wallet
from keeper.app.session import Session
from keeper.app.solana_config import load_keypair
from keeper.cluster.sender import TxSender
from keeper.cluster.solana_rpc import SolanaRpcTransport
from keeper.cluster.transport import SimulationAnswer
from keeper.core.decide import WalletPolicy
from keeper.core.errors import RpcError
from keeper.program.idl import load_idl
from keeper.testing import FakeTxTransport
from localnet.embedded import EmbeddedLocalnet
from localnet.genesis import GenesisSpec, MarketSpec, StakerSpec

ROOT = Path(__file__).resolve().parents[2]
START_TS = 1_767_225_600
TWO_MARKETS = GenesisSpec(
    markets=(MarketSpec(0, "USDC", 6), MarketSpec(1, "SOL", 9)),
    stakers=(
        StakerSpec("alice", token_amounts=((0, 10_000_000_000), (1, 100_000_000_000))),
        StakerSpec("bob", token_amounts=((0, 10_000_000_000), (1, 100_000_000_000))),
    ),
    created_ts=START_TS,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(autouse=True)
def default_logging() -> Iterator[None]:
    """CLI runs configure structlog's level process-wide; each test starts from defaults."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture
def net(tmp_path: Path) -> Iterator[EmbeddedLocalnet]:
    with EmbeddedLocalnet(
        SUITE_PROFILE, tmp_path / "keys", start_ts=START_TS, spec=TWO_MARKETS
    ) as n:
        yield n


def cli(*argv: str) -> int:
    return main(list(argv))


def stake(net: EmbeddedLocalnet, who: str, amount: str, market: int = 0) -> None:
    assert (
        cli("stake", amount, "--market", str(market), "-u", net.url, "-k", str(net.keys[who]), "-y")
        == 0
    )


def revenue(net: EmbeddedLocalnet, amount: str, market: int = 0) -> None:
    args = ("--market", str(market), "-u", net.url, "-k", str(net.keys["bob"]), "-y")
    assert cli("deposit-revenue", amount, *args) == 0


def config(net: EmbeddedLocalnet, tmp_path: Path, wallets: str, **keeper: object) -> Path:
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keeper.items())
    path = tmp_path / "keeper.toml"
    path.write_text(
        f'[cluster]\nurl = "{net.url}"\nws_url = "{net.ws_url}"\n'
        f'[keeper]\nfee_payer = "{net.keys["keeper"]}"\n{extra}{wallets}'
    )
    return path


def wallet(net: EmbeddedLocalnet, who: str, markets: str) -> str:
    return f'[[wallets]]\nname = "{who}"\nkeypair = "{net.keys[who]}"\nmarkets = [{markets}]\n'


def once(capsys: pytest.CaptureFixture[str], cfg: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = cli("keeper", "--config", str(cfg), "--once", "--json", "--log-level", "error", *extra)
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith("{") else {}


def stake_of(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str], who: str, market: int
) -> dict[str, Any]:
    capsys.readouterr()
    assert (
        cli("status", "--market", str(market), "-u", net.url, "-k", str(net.keys[who]), "--json")
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    (mine,) = [s for s in doc["stakes"] if s["marketIndex"] == market]
    result: dict[str, Any] = mine
    return result


# -- never exit on a fault of the environment --------------------------------------------


def test_the_example_config_with_nothing_listening_keeps_running_until_sigterm(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "config"
    conf.mkdir()
    shutil.copy(ROOT / "config/keeper.example.toml", conf / "keeper.example.toml")
    keys = tmp_path / ".localnet/keypairs"  # where the example's relative paths point
    keys.mkdir(parents=True)
    for name in ("keeper", "alice", "bob"):
        (keys / f"{name}.json").write_text(json.dumps(list(bytes(Keypair()))))
    rpc, metrics = free_port(), free_port()
    secret = "SECRETKEY0123456789"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFT_IF_")}
    env["DRIFT_IF_RPC_URL"] = f"http://127.0.0.1:{rpc}/?api-key={secret}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keeper.app.cli",
            "keeper",
            "--config",
            str(conf / "keeper.example.toml"),
            "--log-json",
            "--metrics-port",
            str(metrics),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 20
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{metrics}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health is not None and health.status_code == 503, health
        assert "RpcUnreachable" not in health.text and secret not in health.text
        time.sleep(6)  # past one poll interval: a retry, still alive
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        text = httpx.get(f"http://127.0.0.1:{metrics}/metrics", timeout=2).text
        assert 'drift_if_keeper_rpc_errors_total{method="getMultipleAccounts"}' in text
        assert "drift_if_keeper_healthy 0.0" in text
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    retries = [e for e in lines if e.get("event") == "cluster unreachable; retrying"]
    assert len(retries) >= 2 and all(e["error_type"] == "RpcUnreachable" for e in retries)
    assert "could not reach the node" in retries[0]["error"]
    assert secret not in err and "api-key=***" in err
    starts = [e["timestamp"] for e in retries]
    from datetime import datetime

    gaps = [
        (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()
        for a, b in itertools.pairwise(starts)
    ]
    assert all(5.0 - TIMER_SLACK_SECONDS <= g < 6.0 for g in gaps), gaps  # the example's poll interval, as logged
    assert lines[-1]["event"] == "keeper stopped"


def test_a_wrong_cluster_fails_at_start(
    net: EmbeddedLocalnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(net, tmp_path, wallet(net, "alice", "{ market = 0 }"))
    cfg.write_text(cfg.read_text() + f'[profile]\nprogram_id = "{Keypair().pubkey()}"\n')
    started = time.monotonic()
    assert cli("keeper", "--config", str(cfg), "--log-level", "error") == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no executable program" in err[0] and "wrong cluster" in err[0]


def test_check_validates_and_connects(
    net: EmbeddedLocalnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(
        net, tmp_path, wallet(net, "alice", "{ market = 0 }, { market = 1, policy = 'exit' }")
    )
    capsys.readouterr()
    assert cli("keeper", "check", "--config", str(cfg)) == 0
    out = capsys.readouterr().out
    assert "ok: program" in out and "ok: spot markets [0, 1] exist" in out and "wallet alice" in out

    broke = tmp_path / "broke.json"
    broke.write_text(json.dumps(list(bytes(Keypair()))))
    assert cli("keeper", "check", "--config", str(cfg), "-k", str(broke)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fund it" in err[0]

    missing = cfg.read_text().replace(str(net.keys["alice"]), "nowhere/alice.json")
    cfg.write_text(missing)
    assert cli("keeper", "check", "--config", str(cfg)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere/alice.json" in err[0]

    assert cli("keeper", "check") == 2  # a usage error: --config is required


# -- one fund-changing chain per market, planned on the predicted state -------------------


def test_settle_and_exit_in_one_pass_leave_no_dust(
    net: EmbeddedLocalnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stake(net, "alice", "1000")
    stake(net, "bob", "3000")
    revenue(net, "500")
    net.travel(3600)
    cfg = config(
        net, tmp_path, wallet(net, "alice", "{ market = 0, policy = 'exit' }"), settle_markets=[0]
    )
    code, doc = once(capsys, cfg)
    assert code == 0, doc
    assert [s["action"] for s in doc["sent"]] == ["settle", "unstake request"]
    assert all(s["mismatches"] == [] for s in doc["sent"])
    mine = stake_of(net, capsys, "alice", 0)
    assert mine["requestShares"] == mine["shares"] > 0  # every share requested: no dust


def test_dry_run_plans_and_simulates_but_sends_nothing(
    net: EmbeddedLocalnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stake(net, "alice", "1000")
    revenue(net, "500")
    net.travel(3600)
    cfg = config(net, tmp_path, wallet(net, "alice", "{ market = 0, policy = 'exit' }"))
    code, doc = once(capsys, cfg, "--dry-run")
    assert code == 0, doc
    assert doc["dryRun"] and [(s["action"], s["signature"]) for s in doc["sent"]] == [
        ("settle", None)
    ]
    assert stake_of(net, capsys, "alice", 0)["requestShares"] == 0
    code, doc = once(capsys, cfg)  # for real: still due, so nothing was sent before
    assert [s["action"] for s in doc["sent"]] == ["settle", "unstake request"]


def test_settles_due_together_land_in_one_transaction(
    net: EmbeddedLocalnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stake(net, "alice", "1000")
    stake(net, "alice", "10", market=1)
    revenue(net, "500")
    revenue(net, "5", market=1)
    net.travel(3600)
    cfg = config(net, tmp_path, wallet(net, "alice", "{ market = 0 }, { market = 1 }"))
    code, doc = once(capsys, cfg)
    assert code == 0, doc
    settles = [s for s in doc["sent"] if s["action"] == "settle"]
    assert [s["market"] for s in settles] == [0, 1]
    assert settles[0]["signature"] == settles[1]["signature"]  # one transaction
    code, doc = once(capsys, cfg)  # a second keeper (or pass) finds nothing due
    assert doc["sent"] == [] and {w["reason"] for w in doc["waiting"]} == {"next settle time"}


def test_an_expected_noop_is_caught_in_simulation(
    net: EmbeddedLocalnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another keeper settles between our snapshot and our send: 6177/6176 in simulation,
    no fee, logged at info, not counted as a failure."""
    stake(net, "alice", "1000")
    revenue(net, "500")
    net.travel(3600)
    settings = load_settings(config(net, tmp_path, wallet(net, "alice", "{ market = 0 }")))
    keeper = InsuranceFundKeeper.from_config(settings)

    async def race() -> Any:
        snap = await keeper._snapshot()
        from keeper.core.decide import decide_pass

        decision = decide_pass(
            snap, keeper.policy, keeper.session.planner, settle_payer=keeper.operator
        )
        assert [p.action for p in decision.plans] == ["settle"]
        other = ("settle", "-u", net.url, "-k", str(net.keys["bob"]), "-y")
        assert await asyncio.to_thread(cli, *other) == 0  # the other keeper
        try:
            return await keeper._act(decision, snap)
        finally:
            await keeper.session.close()

    with structlog.testing.capture_logs() as logs:
        outcomes, errors, noops = asyncio.run(race())
    assert outcomes == [] and errors == [] and len(noops) == 1
    assert "RevenueSettingsCannotSettleToIF" in noops[0] or "NoRevenueToSettleToIF" in noops[0]
    assert keeper.metrics.failed == {} and keeper.metrics.noops == 1
    (line,) = [e for e in logs if e["event"].startswith("no-op")]
    assert line["log_level"] == "info"
    text = keeper.prom.render()
    assert (
        'drift_if_keeper_actions_total{kind="settle",market="0",outcome="noop",wallet=""} 1.0'
        in text
    )


# -- backoff, maybe-delivered sends, the journal ------------------------------------------


def _keeper_over(
    net: EmbeddedLocalnet, tmp_path: Path, node: FakeTxTransport, wallets: str, **keeper: object
) -> InsuranceFundKeeper:
    """A keeper reading the localnet but sending to a scripted node."""
    settings = load_settings(config(net, tmp_path, wallets, **keeper))
    idl = load_idl(SUITE_PROFILE.idl_path)
    reader = SolanaRpcTransport(net.url)
    sender = TxSender(
        node,
        SUITE_PROFILE.program_id,
        idl.errors,
        resend_interval_seconds=0,
        poll_interval_seconds=0,
    )
    payer = load_keypair(str(net.keys["keeper"]))
    session = Session.create(
        SUITE_PROFILE, reader, sender, keypair=payer, closer=reader.close, idl=idl
    )
    ws = []
    for w in settings.wallets:
        kp = load_keypair(str(w.keypair_path))
        ws.append(Wallet(w.name, kp, WalletPolicy(kp.pubkey(), w.markets, w.name)))
    return InsuranceFundKeeper(settings, session, wallets=ws)


@dataclass
class TimedNode(FakeTxTransport):
    """Records when each simulation starts and ends (the ends of attempts)."""

    attempts: list[tuple[float, float]] = field(default_factory=list)

    async def simulate(self, tx: Any) -> SimulationAnswer:
        start = time.monotonic()
        await asyncio.sleep(0.05)  # a slow node: the attempt takes time
        answer = await super().simulate(tx)
        self.attempts.append((start, time.monotonic()))
        return answer


def test_the_retry_delay_logged_is_the_delay_kept_from_the_end_of_the_attempt(
    net: EmbeddedLocalnet, tmp_path: Path
) -> None:
    stake(net, "alice", "1000")
    revenue(net, "500")
    net.travel(3600)
    node = TimedNode(
        simulation=SimulationAnswer({"InstructionError": [0, {"Custom": 6133}]}, (), 1)
    )
    keeper = _keeper_over(
        net,
        tmp_path,
        node,
        wallet(net, "alice", "{ market = 0 }"),
        retry_initial_seconds=0.4,
        poll_interval_seconds=0.1,
        idle_refresh_seconds=0.1,
    )
    stop = asyncio.Event()

    async def drive() -> None:
        task = asyncio.create_task(keeper.run(stop))
        while len(node.attempts) < 3 and not task.done():
            await asyncio.sleep(0.01)
        stop.set()
        await task

    with structlog.testing.capture_logs() as logs:
        asyncio.run(asyncio.wait_for(drive(), 30))
    failures = [e for e in logs if e["event"] == "action failed"]
    assert [e["retry_in_s"] for e in failures[:2]] == [0.4, 0.8]
    assert all(e["outcome"] == "failed" for e in failures)
    (_, end1), (start2, end2), (start3, _) = node.attempts[:3]
    # never earlier than the delay (less the timer slack), and not much later
    early = TIMER_SLACK_SECONDS
    assert 0.4 - early <= start2 - end1 < 0.4 + 0.5
    assert 0.8 - early <= start3 - end2 < 0.8 + 0.5
    assert keeper.metrics.failed["settle"] >= 2


def test_a_send_answered_with_a_timeout_is_judged_by_its_status(
    net: EmbeddedLocalnet, tmp_path: Path
) -> None:
    stake(net, "alice", "1000")
    revenue(net, "500")
    net.travel(3600)
    node = FakeTxTransport(lose_send_answers=5)  # forwarded, answer lost: it lands anyway
    keeper = _keeper_over(net, tmp_path, node, wallet(net, "alice", "{ market = 0 }"))

    async def one() -> Any:
        try:
            return await keeper.run_once()
        finally:
            await keeper.session.close()

    report = asyncio.run(one())
    assert report.errors == () and [o.plan.action for o in report.outcomes] == ["settle"]
    assert keeper.metrics.sent == {"settle": 1} and keeper.metrics.failed == {}
    assert len({bytes(r) for r in node.sent}) == 1  # the same signed bytes, re-sent
    # its compute-unit limit came from the simulation (1,234 units) + 20% + 1000
    from solders.transaction import VersionedTransaction

    tx = VersionedTransaction.from_bytes(node.sent[0])
    budget = tx.message.instructions[0]
    assert bytes(budget.data) == bytes([2]) + (1_234 + 247 + 1_000).to_bytes(4, "little")


def test_a_journalled_send_is_resumed_not_repeated_after_a_kill(
    net: EmbeddedLocalnet, tmp_path: Path
) -> None:
    stake(net, "alice", "1000")
    revenue(net, "500")
    net.travel(3600)
    node = FakeTxTransport(polls_to_land=10**9)  # never lands while the first keeper runs
    node.unreachable("signature_status", times=10**6)
    first = _keeper_over(net, tmp_path, node, wallet(net, "alice", "{ market = 0 }"))
    first.session.sender.max_poll_failures = 2

    async def run(keeper: InsuranceFundKeeper) -> Any:
        try:
            return await keeper.run_once()
        finally:
            await keeper.session.close()

    report = asyncio.run(run(first))  # "killed" with the outcome unknown
    assert report.outcomes == () and len(report.errors) == 1
    (entry,) = first.journal.entries
    assert entry.keys == ("settle|0|-",)
    unknown = (
        'drift_if_keeper_actions_total{kind="settle",market="0",outcome="unknown",wallet=""} 1.0'
    )
    assert unknown in first.prom.render()
    # a new process over the same state dir: while the outcome is still unknown it
    # sends nothing new for that action (the pass fails; /health will say so)
    second = _keeper_over(net, tmp_path, node, wallet(net, "alice", "{ market = 0 }"))
    second.session.sender.max_poll_failures = 2
    assert [e.signature for e in second.journal.entries] == [entry.signature]
    report = asyncio.run(run(second))
    (error,) = report.errors
    assert "may or may not have landed" in error and report.outcomes == ()
    assert [p.action for p in report.decision.plans] == ["settle"]  # due, but in flight
    assert len({bytes(r) for r in node.sent}) == 1 and len(second.journal.entries) == 1
    # the node recovers: the same signed bytes are re-sent and land; the entry is done
    node._queued.clear()
    for pending in node._pending.values():
        pending.polls_left = 0
    third = _keeper_over(net, tmp_path, node, wallet(net, "alice", "{ market = 0 }"))

    async def resume() -> None:
        try:
            await third._resume_journal()
        finally:
            await third.session.close()

    asyncio.run(resume())
    assert len({bytes(r) for r in node.sent}) == 1  # only ever the one transaction
    assert third.journal.entries == () and third.metrics.sent == {"settle": 1}
    assert not (tmp_path / ".drift-if-keeper/journal.json").read_text().count("signature")


@pytest.mark.parametrize("err", [None, {"InstructionError": [0, {"Custom": 6133}]}])
def test_a_journalled_transaction_that_landed_long_ago_is_counted_with_its_slot(
    net: EmbeddedLocalnet, tmp_path: Path, err: Any
) -> None:
    """Out of the node's status cache, only searchTransactionHistory finds it: it is
    counted (landed or failed) with its slot, not read as expired."""
    from keeper.app.journal import JournalEntry
    from keeper.cluster.sender import FeePolicy, build_transaction

    node = FakeTxTransport(status_cache_polls=0, slot=77)
    keeper = _keeper_over(net, tmp_path, node, wallet(net, "alice", "{ market = 0 }"))
    latest = asyncio.run(node.latest_blockhash())
    tx = build_transaction([], keeper.fee_payer, latest.blockhash, fees=FeePolicy(200_000, 0))
    keeper.journal.record(
        JournalEntry(
            ("settle|0|-",),
            str(tx.signatures[0]),
            base64.b64encode(bytes(tx)).decode(),
            latest.last_valid_block_height,
            70,
        )
    )
    node.land_now(bytes(tx), err)  # landed while no keeper watched ...
    node.expire_blockhashes()  # ... long ago: its blockhash has expired since
    assert asyncio.run(node.signature_status(tx.signatures[0])) is None  # the cache forgot it

    async def resume() -> list[str]:
        try:
            return await keeper._resume_journal()
        finally:
            await keeper.session.close()

    with structlog.testing.capture_logs() as logs:
        errors = asyncio.run(resume())
    assert errors == [] and keeper.journal.entries == () and node.history_searches >= 1
    events = {e["event"]: e for e in logs}
    assert "journalled transaction expired unlanded" not in events
    text = keeper.prom.render()
    if err is None:
        assert events["journalled transaction landed"]["slot"] == 77
        assert events["journalled transaction landed"]["slots_late"] == 7
        assert keeper.metrics.sent == {"settle": 1} and keeper.metrics.failed == {}
        assert 'outcome="landed",wallet=""} 1.0' in text
        assert 'drift_if_keeper_slots_late_count{kind="settle"} 1.0' in text
    else:
        failed = events["journalled transaction landed and failed"]
        assert failed["slot"] == 77 and "6133" in failed["error"]
        assert keeper.metrics.failed == {"settle": 1} and keeper.metrics.sent == {}
        assert 'outcome="failed",wallet=""} 1.0' in text
    assert node.sent == []  # nothing re-sent: the ledger already had it


# -- metrics, health and what the log says ------------------------------------------------


def test_metrics_after_a_run_and_a_quiet_info_log(
    net: EmbeddedLocalnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stake(net, "alice", "1000")
    revenue(net, "500")
    settings = load_settings(
        config(
            net,
            tmp_path,
            wallet(net, "alice", "{ market = 0 }"),
            poll_interval_seconds=0.1,
            idle_refresh_seconds=0.1,
        )
    )
    keeper = InsuranceFundKeeper.from_config(settings)
    stop = asyncio.Event()

    async def drive() -> str:
        task = asyncio.create_task(keeper.run(stop))
        deadline = time.monotonic() + 20
        while keeper.metrics.passes < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(net.travel, 3600)
        while keeper.metrics.sent.get("settle", 0) < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        passes = keeper.metrics.passes
        while keeper.metrics.passes < passes + 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        from keeper.app.metrics import render_metrics

        text = render_metrics(keeper)
        stop.set()
        await task
        return text

    with structlog.testing.capture_logs() as logs:
        text = asyncio.run(drive())
    assert (
        'drift_if_keeper_actions_total{kind="settle",market="0",outcome="landed",wallet=""} 1.0'
        in text
    )
    assert 'drift_if_keeper_slots_late_count{kind="settle"} 1.0' in text
    assert 'drift_if_keeper_rpc_requests_total{method="getMultipleAccounts"}' in text
    assert 'drift_if_keeper_rpc_requests_total{method="getRecentPrioritizationFees"} 1.0' in text
    assert (
        'drift_if_keeper_next_due_timestamp_seconds{kind="settle",market="0",wallet=""} 1.7672328e+09'
        in text
    )
    assert "drift_if_keeper_fee_payer_lamports 9.99" in text
    assert "drift_if_keeper_verification_mismatches_total" not in text.replace(
        "# HELP drift_if_keeper_verification_mismatches_total", ""
    ).replace("# TYPE drift_if_keeper_verification_mismatches_total", "")
    assert "drift_if_keeper_healthy 1.0" in text
    info = [e for e in logs if e["log_level"] == "info"]
    nexts = [e["event"] for e in info if e["event"].startswith("next:")]
    # ≥ 10 passes, but one line per change of plan: before and after the settle
    assert nexts == [
        "next: settle market 0 at 01:00:00 UTC (in 1h)",
        "next: settle market 0 at 02:00:00 UTC (in 1h)",
    ]
    # 1000 x 1000% APR / 8760 hourly settles; a first settle that only seeds the cap
    # base (Velocity) books nothing
    amount = "0.000000" if first_settle_seeds_cap(SUITE_PROFILE) else "1.141552"
    assert [e["event"] for e in info if e["event"].startswith("landed")] == [
        f"landed: settle on market 0, amount {amount}"
    ]
    assert len(info) <= 6, [e["event"] for e in info]


class _Down:
    """A reader whose node went away."""

    async def get_multiple(self, addresses: Any) -> Any:
        from keeper.core.errors import RpcUnreachable

        raise RpcUnreachable("getMultipleAccounts", "fake://down", "connection refused")


def test_health_turns_503_through_an_outage_and_back(net: EmbeddedLocalnet, tmp_path: Path) -> None:
    stake(net, "alice", "1000")
    node = FakeTxTransport()
    keeper = _keeper_over(
        net, tmp_path, node, wallet(net, "alice", "{ market = 0 }"), max_failed_passes=2
    )

    async def passes() -> list[str | None]:
        seen = [keeper.health_problem()]
        await keeper.run_once()
        seen.append(keeper.health_problem())
        up, keeper.session.reader = keeper.session.reader, _Down()  # type: ignore[assignment]
        for _ in range(2):
            with pytest.raises(RpcError):
                await keeper.run_once()
            seen.append(keeper.health_problem())
        keeper.session.reader = up
        await keeper.run_once()
        seen.append(keeper.health_problem())
        keeper.metrics.last_pass_unix -= keeper.config.stale_after_seconds + 1  # time passes
        seen.append(keeper.health_problem())
        await keeper.session.close()
        return seen

    before, ok, one, two, back, stale = asyncio.run(passes())
    assert before == "no snapshot read yet" and ok is None
    assert one is None  # one failed pass is not yet an outage
    assert two is not None and two.startswith("failing: 2 passes in a row failed")
    assert "connection refused" in two
    assert back is None
    assert stale is not None and stale.startswith("stale: the last good snapshot is")


def test_a_change_the_subscriptions_missed_marks_the_feed_stale(
    net: EmbeddedLocalnet, tmp_path: Path
) -> None:
    stake(net, "alice", "1000")
    keeper = _keeper_over(net, tmp_path, FakeTxTransport(), wallet(net, "alice", "{ market = 0 }"))

    async def go() -> None:
        keeper.feed.health.connected = True
        keeper._observe(await keeper._snapshot())
        keeper._observe(await keeper._snapshot())  # nothing changed: not stale
        assert not keeper.feed.health.stale
        await asyncio.to_thread(revenue, net, "5")  # a change, and no notification for it
        keeper._observe(await keeper._snapshot())
        await keeper.session.close()

    asyncio.run(go())
    assert keeper.feed.health.stale and keeper.feed.health.stale_detections == 1
    text = keeper.prom.render()
    assert "drift_if_keeper_pubsub_stale 1.0" in text
    assert "drift_if_keeper_pubsub_stale_detections_total 1.0" in text


def test_an_idle_refresh_costs_one_request_and_still_catches_a_missed_change(
    net: EmbeddedLocalnet, tmp_path: Path
) -> None:
    stake(net, "alice", "1000")
    keeper = _keeper_over(net, tmp_path, FakeTxTransport(), wallet(net, "alice", "{ market = 0 }"))
    reads: list[int] = []
    inner = keeper.session.reader.get_multiple

    async def counted(addresses: Any) -> Any:
        reads.append(len(addresses))
        return await inner(addresses)

    keeper.session.reader.get_multiple = counted  # type: ignore[method-assign]

    async def go() -> list[bool]:
        keeper.feed.health.connected = True
        await keeper.run_once()
        reads.clear()
        seen = [await keeper._nothing_missed(), await keeper._nothing_missed()]
        assert reads == [5, 5]  # the clock and the 4 watched accounts, one call each
        await asyncio.to_thread(revenue, net, "5")  # a change, and no notification for it
        seen.append(await keeper._nothing_missed())
        await keeper.run_once()  # the full pass it asks for
        assert not await keeper._nothing_missed()  # stale: full passes, until ...
        keeper.feed.health.stale = False  # ... the feed's next notification clears it
        seen.append(await keeper._nothing_missed())
        await asyncio.to_thread(net.travel, 3600)  # the clock jumps: a due time may be here
        seen.append(await keeper._nothing_missed())
        keeper.feed.health.connected = False  # polling: every wake-up is a full pass
        seen.append(await keeper._nothing_missed())
        await keeper.session.close()
        return seen

    assert asyncio.run(go()) == [True, True, False, True, False, False]
    assert keeper.feed.health.stale_detections == 1
    assert "drift_if_keeper_idle_checks_total 3.0" in keeper.prom.render()


def test_an_expired_transaction_is_rebuilt_from_a_fresh_snapshot(
    net: EmbeddedLocalnet, tmp_path: Path
) -> None:
    stake(net, "alice", "1000")
    revenue(net, "500")
    net.travel(3600)
    node = FakeTxTransport(drop_sends=10**6, expire_after_polls=2)  # lost, then expired
    keeper = _keeper_over(net, tmp_path, node, wallet(net, "alice", "{ market = 0 }"))

    async def go() -> tuple[Any, Any]:
        first = await keeper.run_once()
        assert keeper._again  # the loop passes again at once, on a fresh snapshot
        node.drop_sends, node.expire_after_polls = 0, None
        second = await keeper.run_once()
        await keeper.session.close()
        return first, second

    first, second = asyncio.run(go())
    assert first.outcomes == () and first.errors == () and keeper.journal.entries == ()
    assert [o.plan.action for o in second.outcomes] == ["settle"]
    assert len({bytes(r) for r in node.sent}) == 2  # re-sent the same bytes, then rebuilt once
    text = keeper.prom.render()
    assert 'market="0",outcome="expired",wallet=""} 1.0' in text
    assert 'market="0",outcome="landed",wallet=""} 1.0' in text
