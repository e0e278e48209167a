"""Blocks through solana-py: getBlock in every encoding and detail, block lists, times,
commitment and production, and the validator's errors for blocks it cannot serve."""

from __future__ import annotations

import json

import pytest
from localnet_support import Localnet
from solana.rpc.commitment import Confirmed, Finalized, Processed
from solana.rpc.core import RPCException
from solders.keypair import Keypair
from solders.rpc.responses import GetBlockProductionResp
from solders.system_program import TransferParams, transfer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _landed_transfer(localnet: Localnet) -> tuple[int, str]:
    """A transfer in a block of its own; returns (slot, signature)."""
    await localnet.cheat("localnet_timeTravel", [{"slots": 1}])
    alice = await localnet.funded(1_000_000_000)
    ix = transfer(
        TransferParams(from_pubkey=alice.pubkey(), to_pubkey=Keypair().pubkey(), lamports=5)
    )
    sig = await localnet.send(await localnet.tx([ix], alice))
    status = (await localnet.client.get_signature_statuses([sig])).value[0]
    assert status is not None
    return status.slot, str(sig)


async def test_get_block_lists_the_slot_transactions(localnet: Localnet) -> None:
    slot, sig = await _landed_transfer(localnet)
    block = (await localnet.client.get_block(slot, max_supported_transaction_version=0)).value
    assert block.block_height == slot and block.parent_slot == slot - 1
    assert block.block_time is not None
    signatures = [str(t.transaction.signatures[0]) for t in block.transactions]
    assert sig in signatures and len(signatures) == 2  # the airdrop and the transfer
    parent = (await localnet.client.get_block(slot - 1)).value
    assert block.previous_blockhash == parent.blockhash
    assert block.rewards == []


async def test_get_block_encodings_and_details(localnet: Localnet) -> None:
    slot, sig = await _landed_transfer(localnet)
    for encoding in ("json", "jsonParsed", "base64", "base58"):
        raw = await localnet.raw("getBlock", [slot, {"encoding": encoding}])
        txs = raw["result"]["transactions"]
        assert len(txs) == 2 and all("meta" in t for t in txs), encoding
        if encoding in ("base64", "base58"):
            assert txs[1]["transaction"][1] == encoding
    sigs = await localnet.raw("getBlock", [slot, {"transactionDetails": "signatures"}])
    assert sigs["result"]["signatures"][-1] == sig and "transactions" not in sigs["result"]
    none = await localnet.raw("getBlock", [slot, {"transactionDetails": "none", "rewards": False}])
    assert not {"transactions", "signatures", "rewards"} & set(none["result"])
    accounts = await localnet.raw("getBlock", [slot, {"transactionDetails": "accounts"}])
    entry = accounts["result"]["transactions"][1]
    assert entry["transaction"]["accountKeys"][0]["signer"] is True
    assert set(entry["meta"]) >= {"fee", "preBalances", "postBalances", "status"}


async def test_blocks_that_cannot_be_served(localnet: Localnet) -> None:
    tip = (await localnet.client.get_slot(Confirmed)).value
    future = await localnet.raw("getBlock", [tip + 5])
    assert future["error"] == {"code": -32004, "message": f"Block not available for slot {tip + 5}"}
    with pytest.raises(RPCException):
        await localnet.client.get_block_time(tip + 5)
    processed = await localnet.raw("getBlock", [tip, {"commitment": "processed"}])
    assert processed["error"]["code"] == -32602
    assert "below `confirmed`" in processed["error"]["message"]
    bad = await localnet.raw("getBlock", [tip, {"transactionDetails": "most"}])
    assert bad["error"]["code"] == -32602


async def test_block_lists_time_commitment_production(localnet: Localnet) -> None:
    await localnet.cheat("localnet_timeTravel", [{"slots": 3}])
    tip = (await localnet.client.get_slot(Finalized)).value
    blocks = (await localnet.client.get_blocks(tip - 3, tip + 10)).value
    assert blocks == [tip - 3, tip - 2, tip - 1, tip]
    assert (await localnet.client.get_blocks(tip, tip - 1)).value == []
    limited = await localnet.raw("getBlocksWithLimit", [tip - 3, 2])
    assert limited["result"] == [tip - 3, tip - 2]
    too_many = await localnet.raw("getBlocksWithLimit", [0, 500_001])
    assert too_many["error"]["message"] == "Limit too large; max 500000"
    too_wide = await localnet.raw("getBlocks", [0, 500_001])
    assert tip > 500_001 or too_wide["result"] == list(range(0, tip + 1))
    clock = await localnet.cheat("localnet_getClock")
    assert (await localnet.client.get_block_time(tip)).value == clock["unixTimestamp"]
    commitment = (await localnet.client.get_block_commitment(tip)).value
    assert commitment.total_stake > 0
    raw = await localnet.raw("getBlockProduction")
    production = GetBlockProductionResp.from_json(json.dumps(raw)).value
    identity = (await localnet.client.get_identity()).value.identity
    leader, produced = production.by_identity[identity]
    assert leader == produced == production.range.last_slot - production.range.first_slot + 1
    empty = await localnet.raw("getBlockProduction", [{"identity": str(Keypair().pubkey())}])
    assert empty["result"]["value"]["byIdentity"] == {}
    assert (await localnet.client.get_slot(Processed)).value == tip  # manual slots: no lag
