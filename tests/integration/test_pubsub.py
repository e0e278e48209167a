"""PubSub through solana-py's websocket client: each subscription fires on its event."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from localnet_support import Localnet, create_mint, token_account
from solana.rpc.websocket_api import SolanaWsClientProtocol, connect
from solders.keypair import Keypair
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.system_program import TransferParams, transfer
from spl.token.constants import TOKEN_PROGRAM_ID

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _next(ws: SolanaWsClientProtocol) -> Any:
    messages = await asyncio.wait_for(ws.recv(), timeout=5)
    return messages[0]


async def test_account_and_signature_notifications(localnet: Localnet) -> None:
    alice = await localnet.funded()
    bob = Keypair()
    async with connect(localnet.ws_url) as ws:
        await ws.account_subscribe(bob.pubkey())
        account_sub = (await _next(ws)).result
        params = TransferParams(
            from_pubkey=alice.pubkey(), to_pubkey=bob.pubkey(), lamports=3_000_000
        )
        tx = await localnet.tx([transfer(params)], alice)
        await ws.signature_subscribe(tx.signatures[0])
        signature_sub = (await _next(ws)).result
        await localnet.client.send_transaction(tx)
        seen = {}
        for _ in range(2):
            note = await _next(ws)
            seen[note.subscription] = note
        assert seen[account_sub].result.value.lamports == 3_000_000
        assert seen[signature_sub].result.value.err is None
        await ws.account_unsubscribe(account_sub)
        assert (await _next(ws)).result is True


async def test_signature_subscribe_after_landing_fires_at_once(localnet: Localnet) -> None:
    sig = (await localnet.client.request_airdrop(Keypair().pubkey(), 1_000_000)).value
    async with connect(localnet.ws_url) as ws:
        await ws.signature_subscribe(sig)
        await _next(ws)
        note = await _next(ws)
        assert note.result.value.err is None


async def test_slot_and_program_and_logs_notifications(localnet: Localnet) -> None:
    alice = await localnet.funded()
    mint = await create_mint(localnet, alice)
    async with connect(localnet.ws_url) as ws:
        await ws.slot_subscribe()
        slot_sub = (await _next(ws)).result
        await localnet.cheat("localnet_timeTravel", [{"slots": 3}])
        note = await _next(ws)
        assert note.subscription == slot_sub and note.result.slot == note.result.parent + 3
        await ws.slot_unsubscribe(slot_sub)
        await _next(ws)

        await ws.program_subscribe(TOKEN_PROGRAM_ID)
        program_sub = (await _next(ws)).result
        await ws.logs_subscribe(RpcTransactionLogsFilterMentions(mint))
        logs_sub = (await _next(ws)).result
        ata = await token_account(localnet, alice, alice.pubkey(), mint, 77)
        notes: dict[int, list[Any]] = {}
        while len(notes.get(logs_sub, [])) < 1 or len(notes.get(program_sub, [])) < 2:
            n = await _next(ws)
            notes.setdefault(n.subscription, []).append(n)
        touched = {n.result.value.pubkey for n in notes[program_sub]}
        assert {ata, mint} <= touched
        assert any("MintTo" in line for line in notes[logs_sub][0].result.value.logs)


async def test_bad_subscriptions_are_errors(localnet: Localnet) -> None:
    async with websockets.connect(localnet.ws_url) as ws:
        await ws.send('{"jsonrpc":"2.0","id":9,"method":"accountUnsubscribe","params":[12345]}')
        reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        assert reply["error"] == {"code": -32602, "message": "Invalid subscription id."}
        await ws.send('{"jsonrpc":"2.0","id":10,"method":"accountSubscribe","params":["nope"]}')
        reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        assert reply["error"]["code"] == -32602 and reply["id"] == 10


async def test_block_vote_and_slot_update_notifications(localnet: Localnet) -> None:
    """Parsed by solana-py's own message types, so the shapes are the validator's."""
    alice = await localnet.funded()
    async with connect(localnet.ws_url) as ws:
        await ws.block_subscribe(commitment="confirmed")
        block_sub = (await _next(ws)).result
        await ws.vote_subscribe()
        vote_sub = (await _next(ws)).result
        await ws.slots_updates_subscribe()
        updates_sub = (await _next(ws)).result
        await ws.root_subscribe()
        root_sub = (await _next(ws)).result
        ix = transfer(
            TransferParams(from_pubkey=alice.pubkey(), to_pubkey=Keypair().pubkey(), lamports=7)
        )
        sig = await localnet.send(await localnet.tx([ix], alice))
        slot = (await localnet.cheat("localnet_getClock"))["absoluteSlot"]
        await localnet.cheat("localnet_timeTravel", [{"slots": 1}])
        seen: dict[int, list[Any]] = {}
        while len(seen.get(updates_sub, [])) < 5 or len(seen) < 4:
            note = await _next(ws)
            seen.setdefault(note.subscription, []).append(note)
        blocks = [n.result.value for n in seen[block_sub]]
        mine = next(b for b in blocks if b.slot == slot)
        assert mine.block is not None and mine.err is None
        assert sig in [t.transaction.signatures[0] for t in mine.block.transactions or []]
        assert blocks[-1].slot == slot  # a block is told once its slot is over
        vote = seen[vote_sub][0].result
        assert vote.slots == [slot + 1] and vote.vote_pubkey is not None
        kinds = {type(n.result).__name__ for n in seen[updates_sub]}
        assert {"SlotUpdateCreatedBank", "SlotUpdateFrozen", "SlotUpdateCompleted"} <= kinds
        assert seen[root_sub][0].result == slot + 1
        await ws.block_unsubscribe(block_sub)
        await ws.vote_unsubscribe(vote_sub)
        await ws.slots_updates_unsubscribe(updates_sub)
        await ws.root_unsubscribe(root_sub)
