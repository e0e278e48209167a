"""Every RPC method and subscription, checked against the public RPC specification.

Each call goes through solana-py where it has the method, otherwise raw JSON-RPC parsed
by solders' response types (the parsers clients use), so a shape that differs from the
specification fails to parse. The assertions are what the specification promises of a
one-node cluster, not what this implementation happens to answer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from localnet_support import Localnet, create_mint, token_account
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TokenAccountOpts
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc import responses as r
from solders.system_program import TransferParams, transfer
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import ApproveParams, approve, create_associated_token_account

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _parsed(
    net: Localnet, resp_type: Any, method: str, params: list[Any] | None = None
) -> Any:
    """A raw call parsed by solders' response type for the method."""
    reply = await net.raw(method, params)
    assert "error" not in reply, reply
    return resp_type.from_json(json.dumps(reply)).value


async def test_node_and_network(localnet: Localnet) -> None:
    c = localnet.client
    identity = (await c.get_identity()).value.identity
    assert (await c.get_health()) == "ok" if hasattr(c, "get_health") else True
    assert (await c.get_version()).value.solana_core
    nodes = [json.loads(n.to_json()) for n in (await c.get_cluster_nodes()).value]
    assert [n["pubkey"] for n in nodes] == [str(identity)]
    assert nodes[0]["rpc"] == localnet.rpc_url.removeprefix("http://")
    votes = (await c.get_vote_accounts()).value
    assert len(votes.current) == 1 and votes.delinquent == []
    assert votes.current[0].node_pubkey == identity and votes.current[0].activated_stake > 0
    schedule = (await c.get_leader_schedule()).value
    assert schedule is not None and list(schedule) == [identity]
    epoch = (await c.get_epoch_info()).value
    assert len(schedule[identity]) == epoch.slots_in_epoch
    assert (await c.get_slot_leader()).value == identity
    leaders = await _parsed(
        localnet, r.GetSlotLeadersResp, "getSlotLeaders", [epoch.absolute_slot, 10]
    )
    assert leaders == [identity] * 10
    too_many = await localnet.raw("getSlotLeaders", [0, 5001])
    assert too_many["error"]["code"] == -32602
    slot = (await c.get_slot()).value
    assert await _parsed(localnet, r.GetMaxRetransmitSlotResp, "getMaxRetransmitSlot") >= slot
    assert await _parsed(localnet, r.GetMaxShredInsertSlotResp, "getMaxShredInsertSlot") >= slot
    snapshot = await localnet.raw("getHighestSnapshotSlot")
    assert snapshot["error"] == {"code": -32008, "message": "No snapshot"}
    assert (await c.get_first_available_block()).value == 0
    assert (await c.get_minimum_ledger_slot()).value == 0
    assert (await c.get_genesis_hash()).value is not None


async def test_economics(localnet: Localnet) -> None:
    c = localnet.client
    rich = await localnet.funded(7_000_000_000)
    supply = (await c.get_supply()).value
    assert supply.total == supply.circulating + supply.non_circulating
    assert supply.total >= 7_000_000_000
    largest = (await c.get_largest_accounts()).value
    assert 0 < len(largest) <= 20
    assert [a.lamports for a in largest] == sorted((a.lamports for a in largest), reverse=True)
    assert all(a.lamports >= 7_000_000_000 for a in largest) or rich.pubkey() in [
        a.address for a in largest
    ]
    governor = (await c.get_inflation_governor()).value
    assert governor.terminal <= governor.initial
    rate = (await c.get_inflation_rate()).value
    assert abs(rate.total - rate.validator - rate.foundation) < 1e-12
    schedule = (await c.get_epoch_schedule()).value
    first_of_next = schedule.get_first_slot_in_epoch((await c.get_epoch_info()).value.epoch + 1)
    await localnet.cheat("localnet_timeTravel", [{"absoluteSlot": first_of_next}])
    rewards = (await c.get_inflation_reward([rich.pubkey()], commitment=Confirmed)).value
    assert rewards == [None]
    minimum = await localnet.cheat("getStakeMinimumDelegation")
    assert set(minimum) == {"context", "value"} and minimum["value"] >= 1
    samples = (await c.get_recent_performance_samples(4)).value
    assert len(samples) <= 4
    assert all(s.sample_period_secs == 60 and s.num_slots > 0 for s in samples)


async def test_token_holders_and_delegates(localnet: Localnet) -> None:
    c = localnet.client
    alice = await localnet.funded()
    mint = await create_mint(localnet, alice)
    holder = await token_account(localnet, alice, alice.pubkey(), mint, 1_000)
    small = await token_account(localnet, alice, Keypair().pubkey(), mint, 10)
    delegate = Keypair().pubkey()
    ix = approve(
        ApproveParams(
            program_id=TOKEN_PROGRAM_ID,
            source=holder,
            delegate=delegate,
            owner=alice.pubkey(),
            amount=5,
        )
    )
    await localnet.send(await localnet.tx([ix], alice))
    largest = (await c.get_token_largest_accounts(mint)).value
    assert [a.address for a in largest] == [holder, small]
    assert largest[0].amount.amount == "1000"
    delegated = (
        await c.get_token_accounts_by_delegate(delegate, TokenAccountOpts(mint=mint))
    ).value
    assert [a.pubkey for a in delegated] == [holder]
    none = (
        await c.get_token_accounts_by_delegate(Keypair().pubkey(), TokenAccountOpts(mint=mint))
    ).value
    assert none == []
    native = (await c.get_token_supply(WRAPPED_SOL_MINT)).value
    assert native.decimals == 9


async def test_ledger_methods(localnet: Localnet) -> None:
    c = localnet.client
    alice = await localnet.funded()
    ix = transfer(
        TransferParams(from_pubkey=alice.pubkey(), to_pubkey=Keypair().pubkey(), lamports=9)
    )
    sig = await localnet.send(await localnet.tx([ix], alice))
    tx = (await c.get_transaction(sig, max_supported_transaction_version=0)).value
    assert tx is not None
    block = (await c.get_block(tx.slot, max_supported_transaction_version=0)).value
    assert sig in [t.transaction.signatures[0] for t in block.transactions]
    assert tx.slot in (await c.get_blocks(max(0, tx.slot - 2), tx.slot)).value
    assert (await c.get_block_time(tx.slot)).value == block.block_time
    assert (await c.get_block_commitment(tx.slot)).value.total_stake > 0
    limited = await _parsed(localnet, r.GetBlocksWithLimitResp, "getBlocksWithLimit", [tx.slot, 1])
    assert limited == [tx.slot]
    production = await _parsed(localnet, r.GetBlockProductionResp, "getBlockProduction")
    assert production.range.last_slot >= tx.slot
    assert (await c.get_block_height()).value >= tx.slot
    assert (await c.get_transaction_count()).value > 0
    sigs = (await c.get_signatures_for_address(alice.pubkey(), limit=1)).value
    assert sigs[0].signature == sig
    statuses = (await c.get_signature_statuses([sig])).value
    assert statuses[0] is not None and statuses[0].slot == tx.slot
    fees = await localnet.cheat("getRecentPrioritizationFees", [[str(alice.pubkey())]])
    assert fees and set(fees[0]) == {"slot", "prioritizationFee"}
    message = Message.new_with_blockhash([ix], alice.pubkey(), await localnet.blockhash())
    assert (await c.get_fee_for_message(message)).value == 5000
    valid = await _parsed(
        localnet, r.IsBlockhashValidResp, "isBlockhashValid", [str(await localnet.blockhash())]
    )
    assert valid is True


async def test_program_accounts_see_the_whole_bank(localnet: Localnet) -> None:
    """Built-in accounts, never touched by a transaction, are in getProgramAccounts too."""
    sysvars = (
        await localnet.client.get_program_accounts(
            Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
        )
    ).value
    names = {str(a.pubkey) for a in sysvars}
    assert "SysvarC1ock11111111111111111111111111111111" in names
    assert "SysvarRent111111111111111111111111111111111" in names
    mints = await localnet.raw(
        "getProgramAccounts",
        [
            str(TOKEN_PROGRAM_ID),
            {"encoding": "base64", "filters": [{"dataSize": 82}], "withContext": True},
        ],
    )
    value = mints["result"]["value"]
    assert str(WRAPPED_SOL_MINT) in {a["pubkey"] for a in value}


async def test_transaction_meta_inner_instructions_and_parsed(localnet: Localnet) -> None:
    """Creating an associated token account makes CPIs; jsonParsed names the instructions."""
    c = localnet.client
    alice = await localnet.funded()
    mint = await create_mint(localnet, alice)
    pay = transfer(
        TransferParams(from_pubkey=alice.pubkey(), to_pubkey=Keypair().pubkey(), lamports=3)
    )
    ata_ix = create_associated_token_account(alice.pubkey(), alice.pubkey(), mint)
    sig = await localnet.send(await localnet.tx([pay, ata_ix], alice))
    plain = (await c.get_transaction(sig, max_supported_transaction_version=0)).value
    assert plain is not None and plain.transaction.meta is not None
    inner = plain.transaction.meta.inner_instructions
    assert inner and inner[0].index == 1 and len(inner[0].instructions) >= 2
    assert all(ix.stack_height == 2 for ix in inner[0].instructions)
    parsed = (await c.get_transaction(sig, "jsonParsed", max_supported_transaction_version=0)).value
    assert parsed is not None
    first = parsed.transaction.transaction.message.instructions[0]
    assert first.program == "system" and first.parsed["type"] == "transfer"
    assert first.parsed["info"]["lamports"] == 3
    second = parsed.transaction.transaction.message.instructions[1]
    assert second.program == "spl-associated-token-account"
    assert parsed.transaction.meta.inner_instructions
