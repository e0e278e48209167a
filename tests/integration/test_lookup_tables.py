"""Versioned (v0) transactions with an address lookup table made by the real ALT program.

The table is created and extended with the Address Lookup Table program's own
instructions (LiteSVM ships the program), then a v0 transfer borrows its recipients
from the table; getTransaction must report them as `loadedAddresses`.
"""

from __future__ import annotations

import struct

import pytest
from localnet_support import Localnet
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.address_lookup_table_account import (
    ID as ALT_PROGRAM_ID,
)
from solders.address_lookup_table_account import (
    AddressLookupTable,
    AddressLookupTableAccount,
    derive_lookup_table_address,
)
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

pytestmark = pytest.mark.asyncio(loop_scope="session")


def create_table(authority: Pubkey, payer: Pubkey, recent_slot: int) -> tuple[Instruction, Pubkey]:
    """ProgramInstruction::CreateLookupTable (bincode: u32 tag 0, u64 slot, u8 bump)."""
    table, bump = derive_lookup_table_address(authority, recent_slot)
    data = struct.pack("<IQB", 0, recent_slot, bump)
    metas = [
        AccountMeta(table, False, True),
        AccountMeta(authority, True, False),
        AccountMeta(payer, True, True),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
    ]
    return Instruction(ALT_PROGRAM_ID, data, metas), table


def extend_table(table: Pubkey, authority: Pubkey, payer: Pubkey, new: list[Pubkey]) -> Instruction:
    """ProgramInstruction::ExtendLookupTable (u32 tag 2, Vec<Pubkey> with a u64 length)."""
    data = struct.pack("<IQ", 2, len(new)) + b"".join(bytes(a) for a in new)
    metas = [
        AccountMeta(table, False, True),
        AccountMeta(authority, True, False),
        AccountMeta(payer, True, True),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
    ]
    return Instruction(ALT_PROGRAM_ID, data, metas)


def deactivate_table(table: Pubkey, authority: Pubkey) -> Instruction:
    """ProgramInstruction::DeactivateLookupTable (u32 tag 3)."""
    metas = [AccountMeta(table, False, True), AccountMeta(authority, True, False)]
    return Instruction(ALT_PROGRAM_ID, struct.pack("<I", 3), metas)


async def _v0(
    net: Localnet, payer: Keypair, ixs: list[Instruction], tables: list[AddressLookupTableAccount]
) -> VersionedTransaction:
    message = MessageV0.try_compile(payer.pubkey(), ixs, tables, await net.blockhash())
    return VersionedTransaction(message, [payer])


async def _table_account(net: Localnet, table: Pubkey) -> AddressLookupTableAccount:
    info = await net.client.get_account_info(table)
    assert info.value is not None and info.value.owner == ALT_PROGRAM_ID
    parsed = AddressLookupTable.deserialize(bytes(info.value.data))
    return AddressLookupTableAccount(table, list(parsed.addresses))


async def test_v0_transfer_through_a_lookup_table(localnet: Localnet) -> None:
    alice = await localnet.funded()
    recipients = [Keypair().pubkey() for _ in range(3)]
    slot = (await localnet.client.get_slot(Confirmed)).value
    await localnet.cheat("localnet_timeTravel", [{"slots": 1}])  # `slot` is now in SlotHashes
    create, table = create_table(alice.pubkey(), alice.pubkey(), slot)
    extend = extend_table(table, alice.pubkey(), alice.pubkey(), recipients)
    await localnet.send(await localnet.tx([create, extend], alice))
    lookup = await _table_account(localnet, table)
    assert lookup.addresses == recipients

    pays = [
        transfer(TransferParams(from_pubkey=alice.pubkey(), to_pubkey=r, lamports=1_000_000 + i))
        for i, r in enumerate(recipients)
    ]
    # Addresses appended in this slot are not lent yet: the runtime refuses the lookup.
    early = await _v0(localnet, alice, pays, [lookup])
    refused = await localnet.client.simulate_transaction(early)
    assert "InvalidAddressLookupTableIndex" in str(refused.value.err)

    await localnet.cheat("localnet_timeTravel", [{"slots": 1}])
    tx = await _v0(localnet, alice, pays, [lookup])
    assert isinstance(tx.message, MessageV0) and len(tx.message.account_keys) == 2
    sig = await localnet.send(tx)
    for i, r in enumerate(recipients):
        assert await localnet.balance(r) == 1_000_000 + i

    got = await localnet.raw(
        "getTransaction",
        [
            str(sig),
            {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": "confirmed"},
        ],
    )
    result = got["result"]
    assert result["version"] == 0
    assert result["meta"]["err"] is None
    (used,) = tx.message.address_table_lookups
    order = list(bytes(used.writable_indexes))
    assert sorted(order) == [0, 1, 2] and not bytes(used.readonly_indexes)
    assert result["meta"]["loadedAddresses"] == {
        "writable": [str(recipients[i]) for i in order],
        "readonly": [],
    }
    lookups = result["transaction"]["message"]["addressTableLookups"]
    assert lookups == [{"accountKey": str(table), "writableIndexes": order, "readonlyIndexes": []}]
    # pre/post balances cover static keys then loaded ones, in that order.
    assert result["meta"]["postBalances"][2:] == [1_000_000 + i for i in order]

    # Without maxSupportedTransactionVersion a v0 transaction is refused, as on a validator.
    refused_version = await localnet.raw("getTransaction", [str(sig), {"commitment": "confirmed"}])
    assert refused_version["error"]["code"] == -32015

    # A deactivated table keeps lending until it leaves SlotHashes (512 slots), then not.
    await localnet.send(await localnet.tx([deactivate_table(table, alice.pubkey())], alice))
    await localnet.cheat("localnet_timeTravel", [{"slots": 1}])
    still = await localnet.client.simulate_transaction(await _v0(localnet, alice, pays, [lookup]))
    assert still.value.err is None
    await localnet.cheat("localnet_timeTravel", [{"slots": 513}])
    gone = await _v0(localnet, alice, pays, [lookup])
    opts = TxOpts(skip_preflight=False, preflight_commitment=Confirmed)
    with pytest.raises(Exception, match=r"AddressLookupTableNotFound|lookup table"):
        await localnet.client.send_transaction(gone, opts=opts)
