"""fetch_snapshot over an in-memory account source built from a recorded trace."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from solders.pubkey import Pubkey
from solders.sysvar import CLOCK

from keeper.cluster.reader import SnapshotRequest, fetch_snapshot
from keeper.cluster.solana_rpc import SolanaRpcTransport
from keeper.core.errors import RpcBadAnswer, RpcError, RpcUnreachable
from keeper.core.views import RawAccount
from keeper.program.codec import AccountCodec
from keeper.program.goldentrace import InstructionStep, Trace, replay_world
from keeper.testing import FakeAccountSource


def _last_world(trace: Trace) -> tuple[dict[Pubkey, RawAccount], InstructionStep]:
    last_ix = None
    world = {}
    for step, w in replay_world(trace):
        world = w
        if isinstance(step, InstructionStep):
            last_ix = step
    assert last_ix is not None
    return {k: v.raw() for k, v in world.items() if v.has_data}, last_ix


@pytest.fixture
def source(bundled_traces: list[Trace]) -> tuple[FakeAccountSource, Trace]:
    trace = next(t for t in bundled_traces if t.name.startswith("b_"))
    accounts, step = _last_world(trace)
    src = FakeAccountSource(
        accounts, slot=step.clock.slot, unix_timestamp=step.clock.unix_timestamp, epoch=664
    )
    return src, trace


async def test_snapshot_in_one_call(
    source: tuple[FakeAccountSource, Trace], codec: AccountCodec
) -> None:
    src, trace = source
    alice, bob = trace.keypair("alice").pubkey(), trace.keypair("bob").pubkey()
    snap = await fetch_snapshot(src, codec, SnapshotRequest((0,), (alice, bob)))
    assert src.reads == 1
    assert snap.market(0).market.market_index == 0
    assert {s.authority for s in snap.stakes} == {alice, bob}
    assert snap.now_ts == int.from_bytes(src.accounts[CLOCK].data[32:40], "little")
    assert snap.slot == src.slot


async def test_missing_market_and_wrong_program(
    source: tuple[FakeAccountSource, Trace], codec: AccountCodec
) -> None:
    src, _ = source
    with pytest.raises(RpcError, match="spot market 7 does not exist"):
        await fetch_snapshot(src, codec, SnapshotRequest((7,)))
    other = AccountCodec(codec.idl, Pubkey.new_unique())
    with pytest.raises(RpcError, match="no Drift State account"):
        await fetch_snapshot(src, other, SnapshotRequest((0,)))


async def test_tampered_answers_are_refused(
    source: tuple[FakeAccountSource, Trace], codec: AccountCodec
) -> None:
    src, trace = source
    market = trace.addresses["spotMarket"]
    good = src.accounts[market]
    src.accounts[market] = dataclasses.replace(good, owner=Pubkey.new_unique())
    with pytest.raises(RpcError, match="do not decode"):
        await fetch_snapshot(src, codec, SnapshotRequest((0,)))
    src.accounts[market] = dataclasses.replace(good, data=good.data[:-1])
    with pytest.raises(RpcError, match="776 bytes"):
        await fetch_snapshot(src, codec, SnapshotRequest((0,)))
    src.accounts[market] = good
    src.accounts[CLOCK] = dataclasses.replace(src.accounts[CLOCK], data=b"\x00" * 12)
    with pytest.raises(RpcError, match="Clock sysvar"):
        await fetch_snapshot(src, codec, SnapshotRequest((0,)))


async def test_unreachable_provider_is_a_redacted_rpc_error(codec: AccountCodec) -> None:
    source = SolanaRpcTransport("http://127.0.0.1:9/?api-key=TOPSECRETKEY123", timeout_seconds=2)
    try:
        with pytest.raises(RpcUnreachable) as info:
            await fetch_snapshot(source, codec, SnapshotRequest((0,)))
    finally:
        await source.close()
    assert "TOPSECRETKEY123" not in str(info.value)
    assert "127.0.0.1:9" in str(info.value)
    assert str(info.value).startswith("getMultipleAccounts to http://127.0.0.1:9/")


async def test_garbage_answer_is_an_rpc_error(codec: AccountCodec) -> None:
    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"jsonrpc": "2.0", "id": 0, "result": {"value": "nonsense"}}
        )

    source = SolanaRpcTransport(
        "http://rpc.invalid/?token=abcdefabcdef123456", http_transport=httpx.MockTransport(garbage)
    )
    try:
        with pytest.raises(RpcError, match="unusable answer") as info:
            await fetch_snapshot(source, codec, SnapshotRequest((0,)))
    finally:
        await source.close()
    assert isinstance(info.value, RpcBadAnswer)
    assert "abcdefabcdef123456" not in str(info.value)


async def test_a_source_that_fails_fails_the_snapshot(
    source: tuple[FakeAccountSource, Trace], codec: AccountCodec
) -> None:
    src, _ = source
    src.unreachable("get_multiple")
    with pytest.raises(RpcUnreachable, match="getMultipleAccounts to fake://cluster failed"):
        await fetch_snapshot(src, codec, SnapshotRequest((0,)))
    assert (await fetch_snapshot(src, codec, SnapshotRequest((0,)))).slot == src.slot


async def test_a_large_snapshot_takes_as_few_calls_as_fit(
    source: tuple[FakeAccountSource, Trace], codec: AccountCodec
) -> None:
    """Many wallets: ≤100 accounts a call, as few calls as fit, never an older slot."""
    src, trace = source
    alice = trace.keypair("alice").pubkey()
    others = tuple(Pubkey.new_unique() for _ in range(60))  # 2 accounts each + the rest
    request = SnapshotRequest((0,), (alice, *others), balances=(alice,))
    snap = await fetch_snapshot(src, codec, request)
    assert src.reads == 2  # 5 market accounts + 122 wallet accounts + 1 balance
    assert snap.stake(alice, 0) is not None
    assert snap.lamports(alice) == src.accounts[alice].lamports > 0

    class Behind(FakeAccountSource):
        async def get_multiple(self, addresses):  # type: ignore[no-untyped-def]
            slot, accounts = await super().get_multiple(addresses)
            return (slot - 1 if self.reads > 1 else slot), accounts

    behind = Behind(src.accounts, slot=src.slot)
    with pytest.raises(RpcError, match="the provider's nodes disagree"):
        await fetch_snapshot(behind, codec, request)
