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

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROOT = Path(__file__).resolve().parents[2]


async def test_cli_serves_ticks_and_stops_cleanly() -> None:
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
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        urls = {}
        while len(urls) < 2:
            line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
            assert line, (await proc.stderr.read()).decode() if proc.stderr else "no output"
            key, _, value = line.partition(":")
            if key in ("RPC URL", "WebSocket URL"):
                urls[key] = value.strip()
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
