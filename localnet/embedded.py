"""A Drift localnet in a background thread, for demos and synchronous tests.

The CLI runs its own event loop (`asyncio.run`), so a cluster it talks to must live
in another thread. `EmbeddedLocalnet` starts one with the Drift genesis and the
model (or the real program from DRIFT_PROGRAM_SO), and offers the cheatcodes a demo
needs over the same JSON-RPC a user would call.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from keeper.core import ProgramProfile
from localnet.cluster import Cluster, ClusterConfig
from localnet.drift_model import DriftModel
from localnet.genesis import GenesisSpec, build_genesis, install_genesis, write_keypair_files
from localnet.server import LocalnetServer


class EmbeddedLocalnet:
    def __init__(
        self,
        profile: ProgramProfile,
        keypairs_dir: Path,
        *,
        start_ts: int,
        spec: GenesisSpec | None = None,
        manual_slots: bool = True,
    ) -> None:
        self.profile = profile
        cluster = Cluster(ClusterConfig(manual_slots=manual_slots, genesis_unix_ms=start_ts * 1000))
        program = os.environ.get("DRIFT_PROGRAM_SO")
        if program:
            cluster.load_program(profile.program_id, Path(program))
        else:
            cluster.register_model(DriftModel(profile))
        genesis = build_genesis(spec or GenesisSpec(created_ts=start_ts), profile)
        install_genesis(cluster, genesis)
        self.keys = write_keypair_files(genesis, keypairs_dir)
        self.genesis = genesis
        self.real_program = bool(program)
        self._server = LocalnetServer(cluster, rpc_port=0)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="localnet", daemon=True)
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return self._server.rpc_url

    @property
    def ws_url(self) -> str:
        return self._server.ws_url

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._server.start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> EmbeddedLocalnet:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the localnet did not start within 30 s")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def cheat(self, method: str, params: list[Any]) -> Any:
        reply = httpx.post(
            self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        ).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def travel(self, seconds: int) -> Any:
        return self.cheat("localnet_timeTravel", [{"seconds": seconds}])
