"""`python -m localnet` prints its URLs, ticks slots on its own and stops on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.websocket_api import connect

from keeper.app.solana_config import load_keypair
from keeper.cluster.reader import SnapshotRequest, fetch_snapshot
from keeper.cluster.solana_rpc import SolanaRpcTransport
from keeper.core.addresses import DriftAddresses
from keeper.core.profile import DRIFT_MAINNET
from keeper.core.verify import check_snapshot
from keeper.program.codec import AccountCodec
from keeper.program.idl import load_idl

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]


async def test_cli_serves_ticks_and_stops_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("DRIFT_PROGRAM_SO", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "localnet",
        "--port",
        "0",
        "--slot-ms",
        "50",
        "--keypairs-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        urls: dict[str, str] = {}
        keypairs: dict[str, str] = {}
        while "Slots" not in urls:
            line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
            assert line, (await proc.stderr.read()).decode() if proc.stderr else "no output"
            key, _, value = line.partition(":")
            if key.startswith("Keypair "):
                keypairs[key.split()[1]] = value.strip()
            else:
                urls[key] = value.strip()
        assert urls["Drift"].startswith("Python model")
        assert Path(keypairs["alice"]) == tmp_path / "alice.json"
        alice = load_keypair(keypairs["alice"]).pubkey()
        source = SolanaRpcTransport(urls["RPC URL"])
        codec = AccountCodec(load_idl(DRIFT_MAINNET.idl_path), DRIFT_MAINNET.program_id)
        snap = await fetch_snapshot(source, codec, SnapshotRequest((0,), (alice,)))
        await source.close()
        assert check_snapshot(snap, DriftAddresses(DRIFT_MAINNET.program_id)) == []
        assert snap.market(0).market.decimals == 6 and snap.stakes == ()
        async with AsyncClient(urls["RPC URL"]) as client:
            assert (await client.is_connected()) is True
            first = (await client.get_slot()).value
            async with connect(urls["WebSocket URL"]) as ws:
                await ws.slot_subscribe()
                await asyncio.wait_for(ws.recv(), timeout=5)
                note = (await asyncio.wait_for(ws.recv(), timeout=5))[0]
                assert note.result.slot > first
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), timeout=10)
    out = (await proc.stdout.read()).decode()
    assert code == 0 and "localnet stopped" in out
