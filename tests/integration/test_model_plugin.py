"""The ProgramModel plug-in point, driven by real transactions against the counter model.

Model instructions mix with real-program instructions in one transaction; the whole
transaction is atomic, errors and logs look like a validator's, and a model cannot do
what the runtime forbids a program to do.
"""

from __future__ import annotations

import pytest
from counter_model import (
    COUNTER_PROGRAM_ID,
    counter_address,
    counter_ix,
    fail_ix,
    increment_ix,
    init_ix,
    pay_ix,
    vault_authority,
)
from localnet_support import Localnet, create_mint, token_account
from solana.rpc.core import RPCException
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import AccountMeta
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import TransferCheckedParams, transfer_checked

pytestmark = pytest.mark.asyncio(loop_scope="session")
COUNTER = str(COUNTER_PROGRAM_ID)


async def _status_err(net: Localnet, sig: Signature) -> object:
    reply = await net.cheat("getSignatureStatuses", [[str(sig)]])
    return reply["value"][0]["err"]


async def _counter_value(net: Localnet, counter: Pubkey) -> int:
    acc = (await net.client.get_account_info(counter)).value
    assert acc is not None and acc.owner == COUNTER_PROGRAM_ID
    return int.from_bytes(bytes(acc.data), "little")


async def test_init_via_pda_signed_cpi_then_increment(localnet: Localnet) -> None:
    alice = await localnet.funded()
    counter, _ = counter_address(alice.pubkey())
    sig = await localnet.send(await localnet.tx([init_ix(alice.pubkey())], alice))
    assert await _counter_value(localnet, counter) == 0
    meta = (await localnet.client.get_transaction(sig)).value.transaction.meta  # type: ignore[union-attr]
    assert meta is not None and meta.log_messages is not None
    logs = meta.log_messages
    assert logs[0] == f"Program {COUNTER} invoke [1]"
    assert logs[1] == "Program log: Instruction: Init"
    assert logs[2] == "Program 11111111111111111111111111111111 invoke [2]"
    assert logs[-1] == f"Program {COUNTER} success"
    assert logs[-2].startswith(f"Program {COUNTER} consumed ")
    assert meta.compute_units_consumed == 1_200 + 150

    await localnet.send(
        await localnet.tx([increment_ix(counter, 5), increment_ix(counter, 7)], alice)
    )
    assert await _counter_value(localnet, counter) == 12
    owned = await localnet.client.get_program_accounts(COUNTER_PROGRAM_ID)
    assert counter in {a.pubkey for a in owned.value}


async def test_failure_after_spl_transfer_undoes_it_and_charges_fee(localnet: Localnet) -> None:
    alice = await localnet.funded()
    bob = Keypair()
    mint = await create_mint(localnet, alice, decimals=0)
    src = await token_account(localnet, alice, alice.pubkey(), mint, 1_000)
    dst = await token_account(localnet, alice, bob.pubkey(), mint)
    move = transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=src,
            mint=mint,
            dest=dst,
            owner=alice.pubkey(),
            amount=400,
            decimals=0,
        )
    )
    tx = await localnet.tx([move, fail_ix()], alice)

    with pytest.raises(RPCException) as caught:
        await localnet.client.send_transaction(tx)
    err = caught.value.args[0]
    assert err.message == (
        "Transaction simulation failed: Error processing Instruction 1: custom program error: 0x2a"
    )
    assert err.data.logs[-1] == f"Program {COUNTER} failed: custom program error: 0x2a"
    assert "Program log: counter: asked to fail" in err.data.logs

    lamports = await localnet.balance(alice.pubkey())
    sig = await localnet.send(tx, skip_preflight=True)
    assert await _status_err(localnet, sig) == {"InstructionError": [1, {"Custom": 42}]}
    assert (await localnet.client.get_token_account_balance(src)).value.amount == "1000"
    assert (await localnet.client.get_token_account_balance(dst)).value.amount == "0"
    assert await localnet.balance(alice.pubkey()) == lamports - 5_000
    meta = (await localnet.client.get_transaction(sig)).value.transaction.meta  # type: ignore[union-attr]
    assert meta is not None and meta.fee == 5_000


async def test_pda_signed_token_transfer(localnet: Localnet) -> None:
    alice = await localnet.funded()
    mint = await create_mint(localnet, alice, decimals=0)
    authority, _ = vault_authority()
    made = await localnet.cheat(
        "localnet_setTokenAccount", [str(authority), str(mint), {"amount": 500}]
    )
    vault = Pubkey.from_string(made["value"]["address"])
    dest = await token_account(localnet, alice, alice.pubkey(), mint)
    sig = await localnet.send(await localnet.tx([pay_ix(vault, dest, 123)], alice))
    assert (await localnet.client.get_token_account_balance(vault)).value.amount == "377"
    assert (await localnet.client.get_token_account_balance(dest)).value.amount == "123"
    meta = (await localnet.client.get_transaction(sig)).value.transaction.meta  # type: ignore[union-attr]
    assert meta is not None and meta.log_messages is not None
    assert f"Program {TOKEN_PROGRAM_ID} invoke [2]" in meta.log_messages


async def test_runtime_rules_bind_the_model(localnet: Localnet) -> None:
    alice = await localnet.funded()
    bob = Keypair()
    trespass = counter_ix(4, [AccountMeta(alice.pubkey(), True, True)])
    sig = await localnet.send(await localnet.tx([trespass], alice), skip_preflight=True)
    assert await _status_err(localnet, sig) == {
        "InstructionError": [0, "ExternalAccountDataModified"]
    }

    mint = await create_mint(localnet, alice, decimals=0)
    bobs = await token_account(localnet, alice, bob.pubkey(), mint, 50)
    mine = await token_account(localnet, alice, alice.pubkey(), mint)
    forge = counter_ix(
        5,
        [
            AccountMeta(bobs, False, True),
            AccountMeta(mine, False, True),
            AccountMeta(bob.pubkey(), False, False),
            AccountMeta(TOKEN_PROGRAM_ID, False, False),
        ],
        50,
    )
    sig = await localnet.send(await localnet.tx([forge], alice), skip_preflight=True)
    assert await _status_err(localnet, sig) == {"InstructionError": [0, "PrivilegeEscalation"]}
    assert (await localnet.client.get_token_account_balance(bobs)).value.amount == "50"


async def test_model_error_leaves_state_and_priority_fee_is_charged(localnet: Localnet) -> None:
    alice = await localnet.funded()
    counter, _ = counter_address(alice.pubkey())
    await localnet.send(await localnet.tx([init_ix(alice.pubkey())], alice))
    before = await localnet.balance(alice.pubkey())
    budget = [set_compute_unit_limit(100_000), set_compute_unit_price(10_000)]
    tx = await localnet.tx([*budget, increment_ix(counter, 5_000)], alice)
    sig = await localnet.send(tx, skip_preflight=True)
    assert await _status_err(localnet, sig) == {"InstructionError": [2, {"Custom": 1}]}
    assert await _counter_value(localnet, counter) == 0
    assert await localnet.balance(alice.pubkey()) == before - 5_000 - 1_000
