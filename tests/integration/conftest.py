"""One localnet per test session, on free loopback ports, driven only over RPC/WS.

The cluster runs in manual-slot mode so tests decide when blocks happen (time travel
is a cheatcode call over RPC like any other). The counter model is registered so the
model plug-in point is exercised through real transactions.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from counter_model import CounterModel
from localnet_support import GENESIS_UNIX_MS, Localnet
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed

from localnet.cluster import Cluster, ClusterConfig
from localnet.server import LocalnetServer


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("DRIFT_PROGRAM_SO"):
        return
    skip = pytest.mark.skip(reason="DRIFT_PROGRAM_SO is set: the real program runs, not the model")
    for item in items:
        if "model_only" in item.keywords:
            item.add_marker(skip)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def localnet() -> AsyncIterator[Localnet]:
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
