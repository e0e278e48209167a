"""The localnet's client-level tests, run against a real `solana-test-validator`.

Those test files talk to the cluster only over RPC/WS (no localnet internals), so the
same assertions can be checked against the validator the localnet imitates. Tests that
need a localnet cheatcode (time travel, account writes) skip themselves there. Needs
`solana-test-validator` on PATH; it is not installable on the CI machines here, so this
is skipped with that reason unless it is.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = shutil.which("solana-test-validator")
#: The files whose tests use only the `localnet` fixture's URLs and clients.
CLIENT_LEVEL = [
    "test_account_encodings.py",
    "test_blocks.py",
    "test_lookup_tables.py",
    "test_pubsub.py",
    "test_rpc_protocol.py",
    "test_rpc_surface.py",
    "test_tokens.py",
    "test_transactions.py",
]

pytestmark = pytest.mark.skipif(
    VALIDATOR is None or bool(os.environ.get("LOCALNET_EXTERNAL_RPC_URL")),
    reason="solana-test-validator is not on PATH (not installable here); "
    "the localnet's client-level tests run against the localnet only",
)


def _free_port_pair() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port < 65000:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"solana-test-validator exited with {proc.returncode}")
        try:
            if (
                httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"})
                .json()
                .get("result")
                == "ok"
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail("solana-test-validator did not become healthy in 90 s")


def test_client_level_suite_passes_against_a_real_validator(tmp_path: Path) -> None:
    assert VALIDATOR is not None
    port = _free_port_pair()
    validator = subprocess.Popen(
        [
            VALIDATOR,
            "--reset",
            "--quiet",
            "--ledger",
            str(tmp_path / "ledger"),
            "--rpc-port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        rpc = f"http://127.0.0.1:{port}"
        _wait_healthy(rpc, validator)
        env = {
            **os.environ,
            "LOCALNET_EXTERNAL_RPC_URL": rpc,
            "LOCALNET_EXTERNAL_WS_URL": f"ws://127.0.0.1:{port + 1}",
        }
        files = [str(ROOT / "tests" / "integration" / f) for f in CLIENT_LEVEL]
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    finally:
        validator.terminate()
        validator.wait(timeout=30)
