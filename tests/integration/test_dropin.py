"""What solana-py's own integration suite relies on, written for solana-test-validator.

Each test pins one behaviour that suite found different: a sent transaction lands when
its slot ends (not inside sendTransaction), an airdrop is a lone System transfer, and
a batch of subscriptions over one websocket message is answered with one array.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import websockets
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Processed
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster, ClusterConfig
from localnet.server import LocalnetServer

pytestmark = pytest.mark.asyncio(loop_scope="session")
SLOT_MS = 50


@pytest_asyncio.fixture(loop_scope="session")
async def ticking() -> AsyncIterator[tuple[LocalnetServer, AsyncClient]]:
    """A cluster whose slots tick on their own, like a validator's."""
    server = LocalnetServer(Cluster(ClusterConfig(slot_ms=SLOT_MS)), rpc_port=0)
    await server.start()
    client = AsyncClient(server.rpc_url, commitment=Processed)
    try:
        yield server, client
    finally:
        await client.close()
        await server.stop()


async def test_a_sent_transaction_lands_when_its_slot_ends(
    ticking: tuple[LocalnetServer, AsyncClient],
) -> None:
    server, client = ticking
    alice, bob = Keypair(), Keypair()
    airdrop = (await client.request_airdrop(alice.pubkey(), 10**9)).value
    # Like a validator: the status is null right after the call, there a slot later.
    assert (await client.get_signature_statuses([airdrop])).value[0] is None
    await client.confirm_transaction(airdrop, Processed, sleep_seconds=SLOT_MS / 1000)
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    ix = transfer(TransferParams(from_pubkey=alice.pubkey(), to_pubkey=bob.pubkey(), lamports=1))
    tx = VersionedTransaction(Message.new_with_blockhash([ix], alice.pubkey(), blockhash), [alice])
    sig = (await client.send_transaction(tx)).value
    assert (await client.get_signature_statuses([sig])).value[0] is None
    await client.confirm_transaction(sig, Processed, sleep_seconds=SLOT_MS / 1000)
    landed = server.cluster.transaction(sig)
    assert landed is not None and landed.result.err is None
    # The slot it landed in is over, so the same transfer signed now is a new transaction.
    assert (await client.get_latest_blockhash()).value.blockhash != blockhash
    assert (await client.get_balance(bob.pubkey())).value == 1


async def test_stopping_lands_what_is_in_flight() -> None:
    cluster = Cluster(ClusterConfig(slot_ms=60_000))
    server = LocalnetServer(cluster, rpc_port=0)
    await server.start()
    tx = cluster.airdrop_transaction(Keypair().pubkey(), 5)
    cluster.submit_transaction(tx)
    assert cluster.transaction(tx.signatures[0]) is None
    await server.stop()
    assert cluster.transaction(tx.signatures[0]) is not None


async def test_an_airdrop_is_a_lone_system_transfer_and_repeats_stay_distinct() -> None:
    cluster = Cluster(ClusterConfig(manual_slots=True))
    to = Keypair().pubkey()
    first = cluster.airdrop(to, 1_000)
    second = cluster.airdrop(to, 1_000)
    assert first.record is not None and second.record is not None
    assert first.signature != second.signature
    logs = first.record.result.logs
    assert logs[0] == "Program 11111111111111111111111111111111 invoke [1]"
    assert len(first.record.transaction.message.instructions) == 1
    assert cluster.get_account(to) is not None
    assert cluster.get_account(to).lamports == 2_000  # type: ignore[union-attr]


async def test_a_batch_of_subscriptions_gets_one_array_reply(
    ticking: tuple[LocalnetServer, AsyncClient],
) -> None:
    server, _ = ticking
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "logsSubscribe", "params": ["all"]},
        {"jsonrpc": "2.0", "id": 2, "method": "slotSubscribe"},
        {"jsonrpc": "2.0", "id": 3, "method": "accountSubscribe", "params": ["nope"]},
    ]
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(json.dumps(batch))
        replies = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert [r["id"] for r in replies] == [1, 2, 3]
        assert isinstance(replies[0]["result"], int) and isinstance(replies[1]["result"], int)
        assert replies[2]["error"]["code"] == -32602
        await ws.send("[]")
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["error"]["code"] == -32600
