"""The keeper against a Drift localnet: one pass at a time, then the long-running loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from localnet_support import SUITE_PROFILE

from keeper.app.cli import main
from keeper.app.daemon import InsuranceFundKeeper, load_keeper_config
from keeper.app.metrics import serve_metrics
from keeper.core.errors import ConfigError
from localnet.embedded import EmbeddedLocalnet

START_TS = 1_767_225_600


@pytest.fixture
def net(tmp_path: Path) -> Iterator[EmbeddedLocalnet]:
    with EmbeddedLocalnet(SUITE_PROFILE, tmp_path / "keys", start_ts=START_TS) as n:
        yield n


@contextlib.contextmanager
def running(keeper: InsuranceFundKeeper) -> Iterator[asyncio.AbstractEventLoop]:
    """The daemon loop in its own thread and event loop, stopped (and joined) on exit."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(keeper.run(stop)), daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        assert not thread.is_alive(), "the keeper did not stop"


def write_config(net: EmbeddedLocalnet, tmp_path: Path, **keeper: object) -> Path:
    lines = [
        f'[cluster]\nurl = "{net.url}"\nws_url = "{net.ws_url}"\n'
        f'[keeper]\nkeypair = "{net.keys["alice"]}"'
    ]
    for key, value in keeper.items():
        lines.append(f"{key} = {json.dumps(value)}")
    path = tmp_path / "keeper.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip().startswith("{") else {})


def stake(net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str], who: str, amount: str) -> None:
    assert main(["stake", amount, "-u", net.url, "-k", str(net.keys[who]), "-y"]) == 0
    capsys.readouterr()


def test_one_pass_at_a_time(
    net: EmbeddedLocalnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stake(net, capsys, "alice", "1000")
    stake(net, capsys, "bob", "3000")
    assert main(["deposit-revenue", "500", "-u", net.url, "-k", str(net.keys["bob"]), "-y"]) == 0
    capsys.readouterr()
    cfg = write_config(net, tmp_path, request_policy="unstake_all")

    # The stakes' implicit settle stamped the settle clock at START_TS (amount 0).
    code, doc = run(capsys, "keeper", "--config", str(cfg), "--once", "--json")
    assert code == 0, doc
    assert [(s["action"], s["market"]) for s in doc["sent"]] == [("unstake request", 0)]  # type: ignore[union-attr]
    waits = {w["action"]: w for w in doc["waiting"]}  # type: ignore[union-attr]
    assert waits["settle"]["untilTs"] == START_TS + 3600

    net.travel(3600)
    code, doc = run(capsys, "keeper", "--config", str(cfg), "--once", "--json")
    assert code == 0, doc
    assert [s["action"] for s in doc["sent"]] == ["settle"]  # type: ignore[union-attr]
    waits = {w["action"]: w for w in doc["waiting"]}  # type: ignore[union-attr]
    assert waits["withdraw"]["reason"] == "cooldown"
    assert waits["withdraw"]["untilTs"] == START_TS + 1_123_200

    net.travel(1_123_200 - 3600)
    code, doc = run(capsys, "keeper", "--config", str(cfg), "--once", "--json")
    assert code == 0, doc
    assert {s["action"] for s in doc["sent"]} == {"settle", "withdraw"}  # type: ignore[union-attr]
    code, status = run(capsys, "status", "-u", net.url, "-k", str(net.keys["alice"]), "--json")
    assert status["stakes"][0]["shares"] == 0  # type: ignore[index]


def test_daemon_loop_reacts_to_the_clock(
    net: EmbeddedLocalnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stake(net, capsys, "alice", "1000")
    assert main(["deposit-revenue", "500", "-u", net.url, "-k", str(net.keys["alice"]), "-y"]) == 0
    capsys.readouterr()
    cfg = load_keeper_config(
        write_config(net, tmp_path, idle_refresh_seconds=0.2, poll_interval_seconds=0.2)
    )
    keeper = InsuranceFundKeeper.from_config(cfg)
    with running(keeper) as loop:
        deadline = time.monotonic() + 20
        while keeper.metrics.passes < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert keeper.metrics.passes >= 1 and "settle" not in keeper.metrics.sent
        net.travel(3600)  # the next hour: the keeper must notice on its own
        while keeper.metrics.sent.get("settle", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert keeper.metrics.sent.get("settle") == 1
        net.travel(3600)
        while keeper.metrics.sent.get("settle", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert keeper.metrics.sent.get("settle") == 2
        assert keeper.healthy() and keeper.feed.health.connected
        server = asyncio.run_coroutine_threadsafe(serve_metrics(keeper, port=0), loop).result(5)
        port = server.sockets[0].getsockname()[1]
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'drift_if_keeper_actions_sent_total{action="settle"} 2' in text
        assert "drift_if_keeper_pubsub_connected 1" in text
        assert httpx.get(f"http://127.0.0.1:{port}/nope").status_code == 404
        loop.call_soon_threadsafe(server.close)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[keeper]\nmarkets = []\n", "markets must be a non-empty list"),
        ('[keeper]\nrequest_policy = "sometimes"\n', "request_policy must be one of"),
        ("[keeper]\npoll_interval_seconds = -1\n", "positive number"),
        ("[extra]\n", "unknown sections"),
        ("[keeper\n", "not valid TOML"),
    ],
)
def test_bad_keeper_config(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "k.toml"
    path.write_text('[cluster]\nurl = "l"\n' + body if not body.startswith("[keeper\n") else body)
    with pytest.raises(ConfigError, match=message):
        load_keeper_config(path)


def test_daemon_survives_a_crashing_pass(net: EmbeddedLocalnet, tmp_path: Path) -> None:
    cfg = load_keeper_config(
        write_config(net, tmp_path, idle_refresh_seconds=0.1, poll_interval_seconds=0.1)
    )
    keeper = InsuranceFundKeeper.from_config(cfg)
    real = keeper.run_once
    calls = {"n": 0}

    async def flaky() -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in a pass")
        return await real()

    keeper.run_once = flaky  # type: ignore[method-assign]
    with running(keeper):
        deadline = time.monotonic() + 10
        while keeper.metrics.passes < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert keeper.metrics.passes >= 1 and calls["n"] >= 2
        assert "RuntimeError: a bug in a pass" in keeper.metrics.last_error
