"""Airdrops, transfers, fees, duplicates, simulation and history through solana-py."""

from __future__ import annotations

import base64

import pytest
from anchorpy import Provider, Wallet
from localnet_support import Localnet
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.system_program import TransferParams, transfer
from solders.transaction_status import TransactionErrorFieldless

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _pay(src: Keypair, dst: Keypair, lamports: int) -> list[Instruction]:
    params = TransferParams(from_pubkey=src.pubkey(), to_pubkey=dst.pubkey(), lamports=lamports)
    return [transfer(params)]


async def test_airdrop_then_transfer_charges_the_fee(localnet: Localnet) -> None:
    alice = await localnet.funded(2_000_000_000)
    bob = Keypair()
    assert await localnet.balance(alice.pubkey()) == 2_000_000_000
    tx = await localnet.tx(_pay(alice, bob, 1_000_000), alice)
    sig = await localnet.send(tx)
    assert await localnet.balance(bob.pubkey()) == 1_000_000
    assert await localnet.balance(alice.pubkey()) == 2_000_000_000 - 1_000_000 - 5_000

    got = (await localnet.client.get_transaction(sig)).value
    assert got is not None and got.transaction.meta is not None
    meta = got.transaction.meta
    assert meta.err is None and meta.fee == 5_000
    assert meta.pre_balances[:2] == [2_000_000_000, 0]
    assert meta.post_balances[:2] == [2_000_000_000 - 1_005_000, 1_000_000]
    assert meta.log_messages == [
        "Program 11111111111111111111111111111111 invoke [1]",
        "Program 11111111111111111111111111111111 success",
    ]
    assert meta.compute_units_consumed == 150
    status = (await localnet.client.get_signature_statuses([sig])).value[0]
    assert status is not None and status.err is None and status.slot == got.slot


async def test_duplicate_is_rejected_and_not_charged(localnet: Localnet) -> None:
    alice = await localnet.funded()
    bob = Keypair()
    tx = await localnet.tx(_pay(alice, bob, 10_000_000), alice)
    await localnet.send(tx)
    before = await localnet.balance(alice.pubkey())
    with pytest.raises(RPCException) as caught:
        await localnet.client.send_transaction(tx)
    err = caught.value.args[0]
    assert isinstance(err, SendTransactionPreflightFailureMessage)
    assert (
        err.message == "Transaction simulation failed: This transaction has already been processed"
    )
    assert err.data.err == TransactionErrorFieldless.AlreadyProcessed
    # Without preflight the validator accepts the bytes and drops the duplicate.
    resent = await localnet.client.send_transaction(tx, opts=TxOpts(skip_preflight=True))
    assert resent.value == tx.signatures[0]
    assert await localnet.balance(alice.pubkey()) == before
    assert await localnet.balance(bob.pubkey()) == 10_000_000


async def test_failed_instruction_lands_and_pays_fee(localnet: Localnet) -> None:
    alice = await localnet.funded(1_000_000_000)
    tx = await localnet.tx(_pay(alice, Keypair(), 5_000_000_000), alice)
    with pytest.raises(RPCException) as caught:
        await localnet.client.send_transaction(tx)
    err = caught.value.args[0]
    assert err.message == (
        "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"
    )
    assert any("insufficient lamports" in line for line in err.data.logs)
    assert await localnet.balance(alice.pubkey()) == 1_000_000_000  # preflight: nothing sent
    sig = await localnet.send(tx, skip_preflight=True)
    status = (await localnet.client.get_signature_statuses([sig])).value[0]
    assert status is not None and status.err is not None
    assert await localnet.balance(alice.pubkey()) == 1_000_000_000 - 5_000


async def test_bad_signature_is_a_verification_failure(localnet: Localnet) -> None:
    alice = await localnet.funded()
    tx = await localnet.tx(_pay(alice, Keypair(), 1), alice)
    forged = bytearray(bytes(tx))
    forged[1] ^= 0xFF  # first signature byte
    reply = await localnet.raw(
        "sendTransaction", [base64.b64encode(bytes(forged)).decode(), {"encoding": "base64"}]
    )
    assert reply["error"] == {
        "code": -32003,
        "message": "Transaction signature verification failure",
    }


async def test_simulate_reports_logs_units_and_accounts(localnet: Localnet) -> None:
    alice = await localnet.funded(3_000_000_000)
    bob = Keypair()
    tx = await localnet.tx(_pay(alice, bob, 7_000_000), alice)
    sim = (await localnet.client.simulate_transaction(tx, sig_verify=True)).value
    assert sim.err is None and sim.units_consumed == 150
    assert sim.logs == [
        "Program 11111111111111111111111111111111 invoke [1]",
        "Program 11111111111111111111111111111111 success",
    ]
    assert await localnet.balance(bob.pubkey()) == 0  # nothing committed
    raw = base64.b64encode(bytes(tx)).decode()
    cfg = {
        "encoding": "base64",
        "accounts": {"addresses": [str(bob.pubkey())], "encoding": "base64"},
    }
    reply = await localnet.raw("simulateTransaction", [raw, cfg])
    assert reply["result"]["value"]["accounts"][0]["lamports"] == 7_000_000

    stale = await localnet.tx(_pay(alice, bob, 1), alice, blockhash=Hash.new_unique())
    replaced = await localnet.raw(
        "simulateTransaction",
        [
            base64.b64encode(bytes(stale)).decode(),
            {"encoding": "base64", "replaceRecentBlockhash": True},
        ],
    )
    value = replaced["result"]["value"]
    assert value["err"] is None and value["replacementBlockhash"]["blockhash"]
    both = await localnet.raw(
        "simulateTransaction",
        [raw, {"encoding": "base64", "sigVerify": True, "replaceRecentBlockhash": True}],
    )
    assert both["error"]["code"] == -32602


async def test_fee_for_message_and_multiple_accounts(localnet: Localnet) -> None:
    alice = await localnet.funded()
    tx = await localnet.tx(_pay(alice, Keypair(), 1), alice)
    fee = await localnet.client.get_fee_for_message(tx.message)
    assert fee.value == 5_000
    many = await localnet.client.get_multiple_accounts([alice.pubkey(), Keypair().pubkey()])
    assert many.value[0] is not None and many.value[1] is None
    fees = await localnet.cheat("getRecentPrioritizationFees", [[str(alice.pubkey())]])
    assert fees and all(entry["prioritizationFee"] == 0 for entry in fees)


async def test_priority_fee_is_charged_like_a_validator(localnet: Localnet) -> None:
    alice = await localnet.funded(1_000_000_000)
    budget = [set_compute_unit_limit(50_000), set_compute_unit_price(20_000)]
    tx = await localnet.tx([*budget, *_pay(alice, Keypair(), 1_000)], alice)
    assert (await localnet.client.get_fee_for_message(tx.message)).value == 5_000 + 1_000
    sig = await localnet.send(tx)
    meta = (await localnet.client.get_transaction(sig)).value.transaction.meta  # type: ignore[union-attr]
    assert meta is not None and meta.fee == 6_000
    assert await localnet.balance(alice.pubkey()) == 1_000_000_000 - 1_000 - 6_000


async def test_anchorpy_provider_sends_and_confirms(localnet: Localnet) -> None:
    alice = await localnet.funded()
    bob = Keypair()
    provider = Provider(localnet.client, Wallet(alice))
    sig = await provider.send(await localnet.tx(_pay(alice, bob, 4_242), alice))
    assert (await localnet.client.get_signature_statuses([sig])).value[0] is not None
    assert await localnet.balance(bob.pubkey()) == 4_242
