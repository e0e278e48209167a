"""The fault proxy itself, in front of an embedded Drift localnet: each fault does what it says."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from keeper.core.profile import DRIFT_MAINNET
from keeper.testing.faultproxy import FaultProxy, ProxyThread
from localnet.embedded import EmbeddedLocalnet

START_TS = 1_767_225_600


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLocalnet]:
    keys = tmp_path_factory.mktemp("proxy-keys")
    with EmbeddedLocalnet(DRIFT_MAINNET, keys, start_ts=START_TS) as n:
        yield n


@pytest.fixture
def proxy(net: EmbeddedLocalnet) -> Iterator[ProxyThread]:
    with ProxyThread(net.url, net.ws_url, lifetime_seconds=120) as p:
        yield p


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 5) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    return httpx.post(url, json=body, timeout=timeout)


def transfer_tx(net: EmbeddedLocalnet, blockhash: str, lamports: int = 1) -> Transaction:
    payer = Keypair.from_json(Path(net.keys["alice"]).read_text())
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=lamports))
    return Transaction([payer], Message([ix], payer.pubkey()), Hash.from_string(blockhash))


def send(url: str, tx: Transaction) -> httpx.Response:
    import base64

    raw = base64.b64encode(bytes(tx)).decode()
    return rpc(url, "sendTransaction", [raw, {"encoding": "base64", "skipPreflight": True}])


def latest(url: str) -> str:
    return str(rpc(url, "getLatestBlockhash").json()["result"]["value"]["blockhash"])


def test_forwards_and_counts(proxy: ProxyThread, net: EmbeddedLocalnet) -> None:
    assert rpc(proxy.url, "getSlot").json()["result"] == rpc(net.url, "getSlot").json()["result"]
    rpc(proxy.url, "getHealth")
    stats = proxy.stats()
    assert stats["http"] == {"getSlot": 1, "getHealth": 1}


def test_dropped_send_answers_the_signature_but_never_lands(
    proxy: ProxyThread, net: EmbeddedLocalnet
) -> None:
    proxy.set_faults(drop_send_fraction=1.0)
    tx = transfer_tx(net, latest(proxy.url))
    assert send(proxy.url, tx).json()["result"] == str(tx.signatures[0])
    status = rpc(net.url, "getSignatureStatuses", [[str(tx.signatures[0])]]).json()
    assert status["result"]["value"] == [None]
    assert proxy.stats()["sends"] == [[str(tx.signatures[0]), "dropped"]]


def test_duplicated_send_lands_once(proxy: ProxyThread, net: EmbeddedLocalnet) -> None:
    proxy.set_faults(duplicate_sends=2)
    tx = transfer_tx(net, latest(proxy.url), lamports=2)
    assert send(proxy.url, tx).json()["result"] == str(tx.signatures[0])
    assert proxy.stats()["faults"]["duplicate_send"] == 2
    status = rpc(net.url, "getSignatureStatuses", [[str(tx.signatures[0])]]).json()
    assert status["result"]["value"][0]["err"] is None


def test_rate_limit_error_reset_and_hang(proxy: ProxyThread) -> None:
    with proxy.faulty(rate_limit_fraction=1.0, retry_after_seconds=3):
        r = rpc(proxy.url, "getSlot")
        assert r.status_code == 429 and r.headers["retry-after"] == "3"
    with proxy.faulty(error_fraction=1.0, error_status=502):
        assert rpc(proxy.url, "getSlot").status_code == 502
    with proxy.faulty(reset_fraction=1.0), pytest.raises(httpx.TransportError):
        rpc(proxy.url, "getSlot")
    with proxy.faulty(hang_fraction=1.0, hang_seconds=0.5):
        started = time.monotonic()
        with pytest.raises(httpx.TransportError):
            rpc(proxy.url, "getSlot", timeout=5)
        assert time.monotonic() - started >= 0.5
    with proxy.faulty(error_fraction=1.0, methods=["getBalance"]):  # other methods untouched
        assert rpc(proxy.url, "getSlot").status_code == 200
    assert rpc(proxy.url, "getSlot").status_code == 200


def test_outage_cuts_http_and_websocket_then_recovers(proxy: ProxyThread) -> None:
    async def scenario() -> None:
        async with websockets.connect(proxy.ws_url) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "slotSubscribe"}))
            assert "result" in json.loads(await asyncio.wait_for(ws.recv(), 5))
            proxy.set_faults(outage_seconds=0.6)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        with pytest.raises((OSError, websockets.InvalidHandshake, EOFError)):
            async with websockets.connect(proxy.ws_url, open_timeout=2):
                pass

    asyncio.run(scenario())
    with pytest.raises(httpx.TransportError):
        rpc(proxy.url, "getSlot")
    time.sleep(0.7)
    assert rpc(proxy.url, "getSlot").status_code == 200


def test_silent_websocket_acks_but_swallows_notifications(
    proxy: ProxyThread, net: EmbeddedLocalnet
) -> None:
    async def scenario() -> None:
        async with websockets.connect(proxy.ws_url) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "slotSubscribe"}))
            assert "result" in json.loads(await asyncio.wait_for(ws.recv(), 5))
            await asyncio.to_thread(net.cheat, "localnet_timeTravel", [{"slots": 1}])
            note = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert note["method"] == "slotNotification"
            proxy.set_faults(ws_silent=True)
            await asyncio.to_thread(net.cheat, "localnet_timeTravel", [{"slots": 1}])
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.5)
            await ws.ping()  # the socket itself is alive

    asyncio.run(scenario())
    assert proxy.stats()["faults"]["ws_swallowed"] >= 1


def test_reads_behind_and_stale_blockhash(proxy: ProxyThread, net: EmbeddedLocalnet) -> None:
    alice = str(Keypair.from_json(Path(net.keys["alice"]).read_text()).pubkey())
    net.cheat("localnet_timeTravel", [{"slots": 10}])
    first_hash = latest(proxy.url)
    before = rpc(proxy.url, "getMultipleAccounts", [[alice]]).json()["result"]
    net.cheat("localnet_timeTravel", [{"slots": 200}])
    net.cheat("localnet_setAccount", [alice, {"lamports": 123}])
    proxy.set_faults(read_lag_answers=1, read_slot_lag=3, stale_blockhash=True)
    lagged = rpc(proxy.url, "getMultipleAccounts", [[alice]]).json()["result"]
    assert lagged["value"] == before["value"]  # the previous answer, not the new state
    assert lagged["context"]["slot"] == before["context"]["slot"] - 3
    assert latest(proxy.url) == first_hash != latest(net.url)
    tx = transfer_tx(net, latest(proxy.url))  # 200 slots old: expired
    send(net.url, tx)  # accepted like a validator does, and never processed
    status = rpc(net.url, "getSignatureStatuses", [[str(tx.signatures[0])]]).json()
    assert status["result"]["value"] == [None]
    proxy.reset_faults()
    fresh = rpc(proxy.url, "getMultipleAccounts", [[alice]]).json()["result"]
    assert fresh["value"][0]["lamports"] == 123


def test_control_methods_and_loopback_only(proxy: ProxyThread) -> None:
    r = rpc(proxy.url, "faultproxy_setFaults", [{"error_fraction": 1.0}]).json()
    assert r["result"]["error_fraction"] == 1.0
    assert rpc(proxy.url, "getSlot").status_code == 503
    rpc(proxy.url, "faultproxy_reset")
    assert rpc(proxy.url, "getSlot").status_code == 200
    stats = rpc(proxy.url, "faultproxy_stats").json()["result"]
    assert stats["faults"]["error"] == 1 and "faultproxy_stats" not in stats["http"]
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("http://10.0.0.1:8899", "ws://10.0.0.1:8900")


def test_stops_by_itself(net: EmbeddedLocalnet) -> None:
    async def scenario() -> None:
        proxy = FaultProxy(net.url, net.ws_url, lifetime_seconds=0.3)
        await proxy.start()
        await asyncio.wait_for(proxy.stopped.wait(), 5)

    asyncio.run(scenario())


def test_websocket_refused_while_http_answers(proxy: ProxyThread) -> None:
    proxy.set_faults(ws_refuse=True)

    async def scenario() -> None:
        with pytest.raises((OSError, websockets.InvalidHandshake, EOFError)):
            async with websockets.connect(proxy.ws_url, open_timeout=2):
                pass

    asyncio.run(scenario())
    assert rpc(proxy.url, "getSlot").status_code == 200
