"""A Session over the shipped fakes: what a library user gets without a network."""

from __future__ import annotations

import pytest
from solders.sysvar import CLOCK

from keeper.app.session import Session
from keeper.cluster.sender import TxSender
from keeper.core.errors import RpcUnreachable
from keeper.core.profile import ProgramProfile
from keeper.program.goldentrace import InstructionStep, Trace, replay_world
from keeper.program.idl import DriftIdl
from keeper.testing import FakeAccountSource, FakeTxTransport


def _session(
    trace: Trace, profile: ProgramProfile, idl: DriftIdl
) -> tuple[Session, FakeAccountSource, FakeTxTransport]:
    world, last = {}, None
    for step, w in replay_world(trace):
        world = w
        if isinstance(step, InstructionStep):
            last = step
    assert last is not None
    reader = FakeAccountSource(
        {k: v.raw() for k, v in world.items() if v.has_data and k != CLOCK},
        slot=last.clock.slot,
        unix_timestamp=last.clock.unix_timestamp,
    )
    node = FakeTxTransport()
    sender = TxSender(node, profile.program_id, idl.errors, poll_interval_seconds=0)
    session = Session.create(profile, reader, sender, keypair=trace.keypair("alice"), idl=idl)
    return session, reader, node


async def test_a_session_reads_plans_and_sends_over_the_fakes(
    bundled_traces: list[Trace], trace_profile: ProgramProfile, idl: DriftIdl
) -> None:
    trace = next(t for t in bundled_traces if t.name.startswith("b_"))
    session, reader, node = _session(trace, trace_profile, idl)
    alice = trace.keypair("alice").pubkey()
    snap = await session.snapshot((0,), (alice,))
    assert snap.stake(alice, 0) is not None and reader.reads == 2  # mints learnt, then read
    assert session.url == "fake://cluster"
    plan = session.planner.cancel(snap, alice, 0)
    dry = await session.execute(plan, dry_run=True)
    assert dry.dry_run and dry.units_consumed == node.simulation.units_consumed
    assert node.sent == []
    sent = await session.execute(plan)
    assert sent.signature is not None and sent.slot == node.slot and len(node.sent) == 1
    # the fake node does not execute programs: the read-back stake differs from the prediction
    assert sent.mismatches
    node.unreachable("latest_blockhash")
    with pytest.raises(RpcUnreachable, match="getLatestBlockhash to fake://cluster failed"):
        await session.execute(plan)
    await session.close()
