"""TxSender over a scripted in-memory node: re-send, confirm, expire, fail, flake."""

from __future__ import annotations

import pytest
from solana.exceptions import SolanaRpcException
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from keeper.cluster.redact import redact_url
from keeper.cluster.sender import TransactionExpired, TxSender, build_transaction
from keeper.cluster.solana_rpc import rpc_failure
from keeper.cluster.transport import SimulationAnswer
from keeper.core.errors import ProgramError, RpcError, RpcRejected, RpcUnreachable
from keeper.program.idl import DriftIdl
from keeper.testing import FakeTxTransport

PROGRAM = Pubkey.new_unique()
SECRET_URL = "http://rpc.example/?api-key=SECRETKEY12345"


def _sender(node: FakeTxTransport, idl: DriftIdl) -> TxSender:
    return TxSender(
        node,
        PROGRAM,
        idl.errors,
        resend_interval_seconds=0,
        poll_interval_seconds=0,
        max_poll_failures=3,
    )


async def _send(node: FakeTxTransport, idl: DriftIdl) -> tuple[VersionedTransaction, int]:
    """A signed transfer over a blockhash the node handed out, and its expiry height."""
    sender = _sender(node, idl)
    blockhash, last_valid = await sender.latest_blockhash()
    payer = Keypair()
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=1)
    )
    return build_transaction([ix], payer, blockhash), last_valid


async def test_resends_until_confirmed(idl: DriftIdl) -> None:
    # None, None, processed, confirmed: as a node that takes a while to land and confirm.
    node = FakeTxTransport(polls_to_land=2, polls_to_confirm=1)
    tx, last_valid = await _send(node, idl)
    confirmed = await _sender(node, idl).send(tx, last_valid_block_height=last_valid)
    assert confirmed.slot == 42 and len(node.sent) >= 3
    assert confirmed.logs == node.landed_logs


async def test_dropped_broadcasts_are_sent_again(idl: DriftIdl) -> None:
    node = FakeTxTransport(drop_sends=2)
    tx, last_valid = await _send(node, idl)
    confirmed = await _sender(node, idl).send(tx, last_valid_block_height=last_valid)
    assert confirmed.signature == tx.signatures[0] and len(node.sent) == 3


async def test_expires_when_the_blockhash_does(idl: DriftIdl) -> None:
    node = FakeTxTransport(polls_to_land=10, expire_after_polls=2)
    tx, last_valid = await _send(node, idl)
    with pytest.raises(TransactionExpired, match="nothing was changed"):
        await _sender(node, idl).send(tx, last_valid_block_height=last_valid)
    assert node.polls == 3


async def test_landed_failure_is_the_programs_error(idl: DriftIdl) -> None:
    node = FakeTxTransport(landed_err={"InstructionError": [0, {"Custom": 6133}]})
    tx, last_valid = await _send(node, idl)
    with pytest.raises(ProgramError, match="TryingToRemoveLiquidityTooFast"):
        await _sender(node, idl).send(tx, last_valid_block_height=last_valid)


async def test_flaky_polls_are_tolerated_then_reported(idl: DriftIdl) -> None:
    class GetSignatureStatuses:  # the request body type solana-py names in its message
        pass

    cause = OSError(f"HTTP 502 from {SECRET_URL}")
    flake = SolanaRpcException(cause, object(), None, GetSignatureStatuses())
    flake.__cause__ = cause  # solana-py raises it `from` the transport error
    # What the production boundary makes of that flake, at a redacted endpoint.
    typed = rpc_failure("getSignatureStatuses", redact_url(SECRET_URL), flake, 10)
    assert isinstance(typed, RpcUnreachable)

    node = FakeTxTransport(endpoint=redact_url(SECRET_URL))
    node.fail("signature_status", typed, times=2)
    tx, last_valid = await _send(node, idl)
    assert (await _sender(node, idl).send(tx, last_valid_block_height=last_valid)).slot == 42

    dead = FakeTxTransport(endpoint=redact_url(SECRET_URL))
    dead.fail("signature_status", typed, times=100)
    tx, last_valid = await _send(dead, idl)
    with pytest.raises(RpcError, match="may or may not have landed") as info:
        await _sender(dead, idl).send(tx, last_valid_block_height=last_valid)
    assert "SECRETKEY12345" not in str(info.value)
    assert "getSignatureStatuses" in str(info.value) and "rpc.example" in str(info.value)


async def test_failed_simulation_sends_nothing(idl: DriftIdl) -> None:
    node = FakeTxTransport(
        simulation=SimulationAnswer({"InstructionError": [0, {"Custom": 6177}]}, (), 1)
    )
    tx, last_valid = await _send(node, idl)
    with pytest.raises(ProgramError, match="NoRevenueToSettleToIF"):
        await _sender(node, idl).send(tx, last_valid_block_height=last_valid)
    assert node.sent == []


async def test_a_simulation_says_when_the_blockhash_is_gone(idl: DriftIdl) -> None:
    """The daemon rebuilds a transaction on a fresh blockhash on the node's own error
    variant, not on the text of the explanation."""
    gone = FakeTxTransport(simulation=SimulationAnswer("BlockhashNotFound", (), None))
    tx, _ = await _send(gone, idl)
    sim = await _sender(gone, idl).simulate(tx)
    assert not sim.ok and sim.blockhash_not_found and sim.error is not None
    failed = FakeTxTransport(
        simulation=SimulationAnswer({"InstructionError": [0, {"Custom": 6177}]}, (), 1)
    )
    tx, _ = await _send(failed, idl)
    assert not (await _sender(failed, idl).simulate(tx)).blockhash_not_found


async def test_resending_a_landed_transaction_is_not_an_error(idl: DriftIdl) -> None:
    node = FakeTxTransport(polls_to_confirm=2)
    tx, last_valid = await _send(node, idl)
    await node.send_raw(bytes(tx))  # it landed from an earlier attempt
    node.rejected(
        "send_raw", "Transaction simulation failed: This transaction has already been processed"
    )
    confirmed = await _sender(node, idl).send(tx, last_valid_block_height=last_valid)
    assert confirmed.slot == 42


async def test_refused_or_unreachable_broadcast_is_reported(idl: DriftIdl) -> None:
    node = FakeTxTransport()
    node.rejected("send_raw", "Invalid params: transaction too large")
    tx, last_valid = await _send(node, idl)
    with pytest.raises(RpcRejected, match="sendTransaction to fake://cluster failed"):
        await _sender(node, idl).send(tx, last_valid_block_height=last_valid)
    node.unreachable("send_raw")
    with pytest.raises(RpcUnreachable, match="connection refused"):
        await _sender(node, idl).send(tx, last_valid_block_height=last_valid)


async def test_logs_that_cannot_be_read_do_not_hide_the_error(idl: DriftIdl) -> None:
    node = FakeTxTransport(landed_err={"InstructionError": [0, {"Custom": 6133}]})
    node.unreachable("transaction_logs")
    tx, last_valid = await _send(node, idl)
    with pytest.raises(ProgramError, match="TryingToRemoveLiquidityTooFast"):
        await _sender(node, idl).send(tx, last_valid_block_height=last_valid)


async def test_a_lost_answer_to_a_forwarded_send_is_judged_by_the_status(idl: DriftIdl) -> None:
    """A timeout or 5xx after forwarding is not a failure: the status says it landed."""
    node = FakeTxTransport(lose_send_answers=3)
    tx, last_valid = await _send(node, idl)
    confirmed = await _sender(node, idl).send(tx, last_valid_block_height=last_valid)
    assert confirmed.signature == tx.signatures[0]
    assert len(node.sent) >= 1 and len({bytes(r) for r in node.sent}) == 1
    # and if it never lands, it is expired (nothing changed), not failed on the answer
    lost = FakeTxTransport(lose_send_answers=10**6, drop_sends=10**6, expire_after_polls=3)
    tx, last_valid = await _send(lost, idl)
    with pytest.raises(TransactionExpired):
        await _sender(lost, idl).send(tx, last_valid_block_height=last_valid)


def test_timeouts_and_5xx_may_have_been_delivered_refusals_not() -> None:
    import httpx

    request = httpx.Request("POST", SECRET_URL)
    timeout = rpc_failure("sendTransaction", "e", httpx.ReadTimeout("slow", request=request), 10)
    bad_gateway = httpx.HTTPStatusError(
        "502", request=request, response=httpx.Response(502, request=request)
    )
    too_many = httpx.HTTPStatusError(
        "429", request=request, response=httpx.Response(429, request=request)
    )
    refused = rpc_failure("sendTransaction", "e", httpx.ConnectError("refused"), 10)
    assert isinstance(timeout, RpcUnreachable) and timeout.maybe_delivered
    gateway, throttled = (
        rpc_failure("sendTransaction", "e", exc, 10) for exc in (bad_gateway, too_many)
    )
    assert isinstance(gateway, RpcUnreachable) and gateway.maybe_delivered
    assert isinstance(throttled, RpcUnreachable) and not throttled.maybe_delivered
    assert isinstance(refused, RpcUnreachable) and not refused.maybe_delivered


async def test_priority_fee_is_a_capped_percentile_and_units_come_from_simulation(
    idl: DriftIdl,
) -> None:
    from keeper.cluster.sender import percentile_of, sized_compute_units

    assert percentile_of([], 75) == 0
    assert percentile_of([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], 75) == 70
    assert percentile_of([5], 0) == 5 and percentile_of([1, 2, 3], 100) == 3
    node = FakeTxTransport(recent_priority_fees=(0, 100, 200, 5_000))
    sender = _sender(node, idl)
    assert await sender.priority_fee([PROGRAM], 75, 1_000_000) == 200
    assert await sender.priority_fee([PROGRAM], 100, 1_000) == 1_000  # the operator's cap
    assert await sender.priority_fee([PROGRAM], 100, 0) == 0
    node.unreachable("priority_fees")
    assert await sender.priority_fee([PROGRAM], 75, 1_000) == 0  # no data: no priority fee
    assert sized_compute_units(50_000, 20, 400_000) == 61_000
    assert sized_compute_units(390_000, 20, 400_000) == 400_000
    assert sized_compute_units(None, 20, 400_000) == 400_000


async def test_past_its_expiry_a_resumed_transaction_is_looked_up_in_the_ledger(
    idl: DriftIdl,
) -> None:
    """Landed long ago (out of the status cache), it is found, not declared expired."""
    node = FakeTxTransport(status_cache_polls=0, slot=7)
    tx, last_valid = await _send(node, idl)
    node.land_now(bytes(tx))
    node.expire_blockhashes()
    sender = _sender(node, idl)
    assert await node.signature_status(tx.signatures[0]) is None
    confirmed = await sender.send(tx, last_valid_block_height=last_valid, preflight=False)
    assert confirmed.slot == 7 and node.history_searches == 1
    # landed and failed: the program's error, not "expired"
    failed = FakeTxTransport(status_cache_polls=0)
    tx2, last_valid2 = await _send(failed, idl)
    failed.land_now(bytes(tx2), {"InstructionError": [0, {"Custom": 6133}]})
    failed.expire_blockhashes()
    with pytest.raises(ProgramError, match="6133"):
        await _sender(failed, idl).send(tx2, last_valid_block_height=last_valid2, preflight=False)
    # never landed: still expired, after one look at the ledger
    gone = FakeTxTransport(status_cache_polls=0)
    tx3, last_valid3 = await _send(gone, idl)
    gone.expire_blockhashes()
    with pytest.raises(TransactionExpired):
        await _sender(gone, idl).send(tx3, last_valid_block_height=last_valid3, preflight=False)
    assert gone.history_searches == 1


async def test_each_broadcast_sends_its_copies_at_once(idl: DriftIdl) -> None:
    node = FakeTxTransport(drop_sends=2)  # two of the three copies are lost
    tx, last_valid = await _send(node, idl)
    sender = TxSender(node, PROGRAM, idl.errors, poll_interval_seconds=0, copies_per_broadcast=3)
    confirmed = await sender.send(tx, last_valid_block_height=last_valid)
    assert confirmed.signature == tx.signatures[0]
    assert len(node.sent) == 3 and len(set(node.sent)) == 1  # one broadcast, the same bytes
    assert node.calls["signature_status"] == 1  # landed at the first poll


async def test_a_hung_copy_does_not_hold_up_the_next_broadcast(idl: DriftIdl) -> None:
    import asyncio
    import time

    class Hangs(FakeTxTransport):
        async def send_raw(self, raw: bytes) -> None:
            if not self.sent:
                self.sent.append(raw)
                await asyncio.sleep(30)  # the first copy never answers
            await super().send_raw(raw)

    node = Hangs(polls_to_land=1)
    tx, last_valid = await _send(node, idl)
    sender = TxSender(
        node, PROGRAM, idl.errors, resend_interval_seconds=0.05, poll_interval_seconds=0.01
    )
    started = time.monotonic()
    confirmed = await sender.send(tx, last_valid_block_height=last_valid)
    assert confirmed.signature == tx.signatures[0] and time.monotonic() - started < 2


async def test_a_broadcast_whose_every_copy_is_refused_fails_the_send(idl: DriftIdl) -> None:
    node = FakeTxTransport()
    node.unreachable("send_raw", times=3)
    tx, last_valid = await _send(node, idl)
    sender = TxSender(node, PROGRAM, idl.errors, poll_interval_seconds=0, copies_per_broadcast=3)
    with pytest.raises(RpcUnreachable, match="connection refused"):
        await sender.send(tx, last_valid_block_height=last_valid)
    # two of three refused, one taken: it lands
    node2 = FakeTxTransport()
    node2.unreachable("send_raw", times=2)
    tx2, last_valid2 = await _send(node2, idl)
    sender2 = TxSender(node2, PROGRAM, idl.errors, poll_interval_seconds=0, copies_per_broadcast=3)
    assert (await sender2.send(tx2, last_valid_block_height=last_valid2)).signature == tx2.signatures[0]
