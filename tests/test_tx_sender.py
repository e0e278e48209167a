"""TxSender against a fault-injecting client: re-send, confirm, expire, fail, flake."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from solana.exceptions import SolanaRpcException
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from keeper.cluster.sender import TransactionExpired, TxSender, build_transaction
from keeper.core.errors import ProgramError, RpcError
from keeper.program.idl import DriftIdl

PROGRAM = Pubkey.new_unique()


class FakeClient:
    """Scripted answers; each list is consumed one call at a time (last one repeats)."""

    def __init__(self, *, statuses: list[Any], heights: list[int], sim_err: Any = None) -> None:
        self._statuses, self._heights, self.sim_err = statuses, heights, sim_err
        self.sent = 0
        self._provider = SimpleNamespace(endpoint_uri="http://rpc.example/?api-key=SECRETKEY12345")

    @staticmethod
    def _next(items: list[Any]) -> Any:
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return item

    async def simulate_transaction(self, tx: Any, **_: Any) -> Any:
        return SimpleNamespace(
            value=SimpleNamespace(err=self.sim_err, logs=["Program log: sim"], units_consumed=1234)
        )

    async def send_raw_transaction(self, raw: bytes, opts: Any) -> Any:
        self.sent += 1
        return SimpleNamespace(value=None)

    async def get_signature_statuses(self, sigs: Any) -> Any:
        return SimpleNamespace(value=[self._next(self._statuses)])

    async def get_block_height(self, commitment: Any) -> Any:
        return SimpleNamespace(value=self._next(self._heights))

    async def get_transaction(self, sig: Any, **_: Any) -> Any:
        return SimpleNamespace(value=None)


def _tx() -> Any:
    payer = Keypair()
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=1)
    )
    return build_transaction([ix], payer, Hash.default())


def _sender(client: FakeClient, idl: DriftIdl) -> TxSender:
    return TxSender(
        client,
        PROGRAM,
        idl.errors,
        resend_interval_seconds=0,
        poll_interval_seconds=0,
        max_poll_failures=3,
    )  # type: ignore[arg-type]


def status(err: Any = None, level: str = "confirmed") -> Any:
    return SimpleNamespace(err=err, confirmation_status=level, slot=42)


@pytest.fixture
def tx() -> Iterator[Any]:
    yield _tx()


async def test_resends_until_confirmed(idl: DriftIdl, tx: Any) -> None:
    client = FakeClient(statuses=[None, None, status(level="processed"), status()], heights=[10])
    confirmed = await _sender(client, idl).send(tx, last_valid_block_height=100)
    assert confirmed.slot == 42 and client.sent >= 3


async def test_expires_when_the_blockhash_does(idl: DriftIdl, tx: Any) -> None:
    client = FakeClient(statuses=[None], heights=[99, 100, 101])
    with pytest.raises(TransactionExpired, match="nothing was changed"):
        await _sender(client, idl).send(tx, last_valid_block_height=100)


async def test_landed_failure_is_the_programs_error(idl: DriftIdl, tx: Any) -> None:
    client = FakeClient(
        statuses=[status(err={"InstructionError": [0, {"Custom": 6133}]})], heights=[1]
    )
    with pytest.raises(ProgramError, match="TryingToRemoveLiquidityTooFast"):
        await _sender(client, idl).send(tx, last_valid_block_height=100)


async def test_flaky_polls_are_tolerated_then_reported(idl: DriftIdl, tx: Any) -> None:
    class GetSignatureStatuses:  # the request body type solana-py names in its message
        pass

    cause = OSError("HTTP 502 from https://rpc.example/?api-key=SECRETKEY12345")
    flake = SolanaRpcException(
        cause, FakeClient.get_signature_statuses, None, GetSignatureStatuses()
    )
    flake.__cause__ = cause  # solana-py raises it `from` the transport error
    client = FakeClient(statuses=[flake, flake, status()], heights=[1])
    assert (await _sender(client, idl).send(tx, last_valid_block_height=100)).slot == 42
    dead = FakeClient(statuses=[flake], heights=[1])
    with pytest.raises(RpcError, match="may or may not have landed") as info:
        await _sender(dead, idl).send(tx, last_valid_block_height=100)
    assert "SECRETKEY12345" not in str(info.value)


async def test_failed_simulation_sends_nothing(idl: DriftIdl, tx: Any) -> None:
    client = FakeClient(
        statuses=[None], heights=[1], sim_err={"InstructionError": [0, {"Custom": 6177}]}
    )
    with pytest.raises(ProgramError, match="NoRevenueToSettleToIF"):
        await _sender(client, idl).send(tx, last_valid_block_height=100)
    assert client.sent == 0
