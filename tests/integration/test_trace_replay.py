"""Golden-trace replay over RPC: the localnet's Drift program must match the real one.

Every trace in DRIFT_IF_TRACE_DIR is loaded into a fresh localnet (its setup accounts
written by cheatcode, its clock by time travel), and every step is sent as a real
signed transaction through solana-py. For each instruction the result, the error
code, the program's AnchorError log lines and every post-state account (data,
lamports, owner) must equal what the real program recorded. With DRIFT_PROGRAM_SO set
the same test runs against the real program binary instead of the model.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from keeper.cluster.sender import explain_failure
from keeper.core.profile import DRIFT_V2_84
from keeper.program.goldentrace import (
    InstructionStep,
    SetAccountStep,
    SetClockStep,
    Trace,
    TraceAccount,
)
from keeper.program.idl import load_idl
from localnet.cluster import Cluster, ClusterConfig
from localnet.drift_model import DriftModel
from localnet.server import LocalnetServer


@dataclass
class Replay:
    rpc_url: str
    client: AsyncClient
    now_ts: int

    async def call(self, method: str, params: list[object]) -> object:
        async with httpx.AsyncClient() as http:
            reply = (
                await http.post(
                    self.rpc_url,
                    json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                )
            ).json()
        assert "error" not in reply, reply
        return reply["result"]

    async def put(self, acc: TraceAccount) -> None:
        if acc.omitted:
            return  # programs and sysvars belong to the cluster
        if not acc.exists:
            await self.call(
                "localnet_setAccount",
                [
                    str(acc.address),
                    {"lamports": 0, "data": "", "owner": "11111111111111111111111111111111"},
                ],
            )
            return
        assert acc.owner is not None
        await self.call(
            "localnet_setAccount",
            [
                str(acc.address),
                {
                    "lamports": acc.lamports,
                    "data": base64.b64encode(acc.data or b"").decode(),
                    "owner": str(acc.owner),
                    "executable": acc.executable,
                    "rentEpoch": acc.rent_epoch,
                },
            ],
        )

    async def clock_to(self, unix_ts: int) -> None:
        """Travel to `unix_ts`, or make a fresh block in the same second.

        Some traces set their clock back (a new scenario in the same file); only the
        warp cheatcode follows them there.
        """
        if unix_ts > self.now_ts:
            await self.call("localnet_timeTravel", [{"absoluteTimestamp": unix_ts}])
        elif unix_ts < self.now_ts:
            await self.call("localnet_warpClock", [{"unixTimestamp": unix_ts}])
        else:
            await self.call("localnet_timeTravel", [{"slots": 1}])
        self.now_ts = unix_ts


@pytest_asyncio.fixture(loop_scope="session")
async def replay(trace: Trace) -> AsyncIterator[Replay]:
    start_ts = trace.setup_clock.unix_timestamp - 60
    # 1 ms slots: fresh blockhashes between same-second steps without moving the clock.
    cluster = Cluster(ClusterConfig(manual_slots=True, slot_ms=1, genesis_unix_ms=start_ts * 1000))
    program = os.environ.get("DRIFT_PROGRAM_SO")
    if program:
        cluster.load_program(trace.program_id, Path(program))
    else:
        cluster.register_model(DriftModel(DRIFT_V2_84.with_program_id(trace.program_id)))
    server = LocalnetServer(cluster, rpc_port=0)
    await server.start()
    client = AsyncClient(server.rpc_url, commitment=Confirmed)
    try:
        yield Replay(server.rpc_url, client, start_ts)
    finally:
        await client.close()
        await server.stop()


def _signers(trace: Trace) -> dict[Pubkey, Keypair]:
    keys = {}
    for label in trace.keypair_labels:
        kp = trace.keypair(label)
        keys[kp.pubkey()] = kp
    return keys


async def _run_instruction(
    r: Replay, trace: Trace, step: InstructionStep, keys: dict[Pubkey, Keypair]
) -> None:
    where = f"{trace.name} step {step.index} ({step.instruction})"
    await r.clock_to(step.clock.unix_timestamp)
    ix = Instruction(
        step.program_id,
        step.data,
        [AccountMeta(m.pubkey, m.is_signer, m.is_writable) for m in step.accounts],
    )
    blockhash = (await r.client.get_latest_blockhash()).value.blockhash
    message = Message.new_with_blockhash([ix], step.fee_payer, blockhash)
    tx = VersionedTransaction(message, [keys[s] for s in step.signers])
    sig = (await r.client.send_raw_transaction(bytes(tx), TxOpts(skip_preflight=True))).value
    await r.client.confirm_transaction(sig, Confirmed, sleep_seconds=0.01)
    got = (
        await r.client.get_transaction(
            sig, commitment=Confirmed, max_supported_transaction_version=0
        )
    ).value
    assert got is not None and got.transaction.meta is not None, where
    meta = got.transaction.meta
    logs = list(meta.log_messages or [])
    if step.result.ok:
        assert meta.err is None, f"{where}: failed with {meta.err}: {logs}"
    else:
        assert meta.err is not None, (
            f"{where}: succeeded, the program failed with {step.result.name}"
        )
        err = explain_failure(
            meta.err, logs, step.program_id, load_idl(DRIFT_V2_84.idl_path).errors
        )
        assert getattr(err, "code", None) == step.result.code, f"{where}: {err}"
        for line in step.result.error_logs:
            if "AnchorError occurred" in line or line.startswith("Program log: Error"):
                assert line in logs, f"{where}: missing log line {line!r} in {logs}"
    addresses = [a.address for a in step.post_state if not a.omitted]
    values = (await r.client.get_multiple_accounts(addresses)).value
    for expected, actual in zip([a for a in step.post_state if not a.omitted], values, strict=True):
        name = f"{where}: {expected.label}"
        if not expected.exists:
            assert actual is None or (actual.lamports == 0 and not actual.data), name
            continue
        assert actual is not None, f"{name}: missing"
        assert bytes(actual.data) == (expected.data or b""), f"{name}: data"
        assert actual.lamports == expected.lamports, (
            f"{name}: lamports {actual.lamports} != {expected.lamports}"
        )
        assert actual.owner == expected.owner, f"{name}: owner"


async def test_trace_replays_over_rpc(trace: Trace, replay: Replay) -> None:
    for acc in trace.setup_accounts:
        await replay.put(acc)
    await replay.clock_to(trace.setup_clock.unix_timestamp)
    keys = _signers(trace)
    for step in trace.steps:
        if isinstance(step, SetClockStep):
            await replay.clock_to(step.after.unix_timestamp)
        elif isinstance(step, SetAccountStep):
            await replay.put(step.post_state)
        else:
            await _run_instruction(replay, trace, step, keys)
