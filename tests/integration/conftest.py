"""One localnet per test session, on free loopback ports, driven only over RPC/WS.

The cluster runs in manual-slot mode so tests decide when blocks happen (time travel
is a cheatcode call over RPC like any other). The counter model is registered so the
model plug-in point is exercised through real transactions.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from counter_model import CounterModel
from localnet_support import GENESIS_UNIX_MS, Localnet
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed

from localnet.cluster import Cluster, ClusterConfig
from localnet.server import LocalnetServer

#: Point the client-level tests at a running validator instead (test_real_validator.py).
EXTERNAL_RPC = "LOCALNET_EXTERNAL_RPC_URL"
EXTERNAL_WS = "LOCALNET_EXTERNAL_WS_URL"


#: Tests written for manual slots that rely on zero commitment lag (a landed transaction
#: is finalized at once); a ticking validator lags 1/31 slots, so they skip there.
ZERO_LAG = {
    "test_blocks_that_cannot_be_served",
    "test_account_and_signature_notifications",
    "test_signature_subscribe_after_landing_fires_at_once",
    "test_ledger_methods",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(EXTERNAL_RPC):
        lag = pytest.mark.skip(reason="assumes manual slots' zero commitment lag")
        for item in items:
            if item.name in ZERO_LAG:
                item.add_marker(lag)
    if not os.environ.get("DRIFT_PROGRAM_SO"):
        return
    skip = pytest.mark.skip(reason="DRIFT_PROGRAM_SO is set: the real program runs, not the model")
    for item in items:
        if "model_only" in item.keywords:
            item.add_marker(skip)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def localnet() -> AsyncIterator[Localnet]:
    if os.environ.get(EXTERNAL_RPC):
        rpc_url = os.environ[EXTERNAL_RPC]
        parts = urlsplit(rpc_url)  # a validator's PubSub port is its RPC port + 1
        default_ws = f"ws://{parts.hostname}:{(parts.port or 8899) + 1}"
        ws_url = os.environ.get(EXTERNAL_WS) or default_ws
        async with AsyncClient(rpc_url, commitment=Confirmed) as external:
            yield Localnet(rpc_url, ws_url, external, external=True)
        return
    cluster = Cluster(ClusterConfig(manual_slots=True, genesis_unix_ms=GENESIS_UNIX_MS))
    cluster.register_model(CounterModel())
    server = LocalnetServer(cluster, rpc_port=0)
    await server.start()
    client = AsyncClient(server.rpc_url, commitment=Confirmed)
    try:
        yield Localnet(server.rpc_url, server.ws_url, client)
    finally:
        await client.close()
        await server.stop()
