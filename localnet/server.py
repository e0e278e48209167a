"""The network face of the localnet: HTTP JSON-RPC and WebSocket PubSub on loopback.

HTTP is a small HTTP/1.1 server on asyncio streams (keep-alive, Content-Length and
chunked bodies), because the `websockets` server only accepts GET upgrades and the
standard library has no asyncio HTTP server. It answers POST with JSON-RPC and
`GET /health` with "ok", as a validator does. PubSub runs on its own port (8900 by
default, RPC + 1), also like a validator, on the `websockets` asyncio server.

Everything runs on one event loop with the cluster, so requests are serialized and
each sees one consistent bank.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from localnet.cluster import Cluster
from localnet.pubsub import PubSub
from localnet.rpc import RpcHandler

MAX_BODY = 50 * 1024 * 1024
MAX_HEADER_LINES = 100
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
}


class HttpError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    line = await reader.readline()
    if not line:
        return None
    parts = line.decode("latin-1").strip().split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "malformed request line")
    method, path, version = parts
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADER_LINES):
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise HttpError(400, "too many headers")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        total = 0
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            total += size
            if total > MAX_BODY:
                raise HttpError(413, "body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readline()
        body = b"".join(chunks)
    else:
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY:
            raise HttpError(413, "body too large")
        body = await reader.readexactly(length) if length else b""
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return _Request(method, path, headers, body, keep_alive)


def _response(status: int, body: bytes, content_type: str, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class LocalnetServer:
    """RPC and PubSub servers for one cluster. `await start()`, then `await stop()`."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        host: str = "127.0.0.1",
        rpc_port: int = 8899,
        ws_port: int | None = None,
        cheatcodes: bool = True,
    ) -> None:
        self.cluster = cluster
        self.host = host
        self.rpc = RpcHandler(cluster, cheatcodes=cheatcodes)
        self.pubsub = PubSub(cluster)
        self._rpc_port = rpc_port
        self._ws_port = ws_port if ws_port is not None else (rpc_port + 1 if rpc_port else 0)
        self._http: asyncio.Server | None = None
        self._ws: Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def rpc_port(self) -> int:
        assert self._http is not None, "server not started"
        port: int = self._http.sockets[0].getsockname()[1]
        return port

    @property
    def ws_port(self) -> int:
        assert self._ws is not None, "server not started"
        port: int = next(iter(self._ws.sockets)).getsockname()[1]
        return port

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.rpc_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}"

    async def start(self) -> None:
        self.cluster.add_listener(self.pubsub)
        self._http = await asyncio.start_server(self._serve_http, self.host, self._rpc_port)
        self._ws = await serve(self._serve_ws, self.host, self._ws_port, max_size=MAX_BODY)
        self.cluster.advertised.update(
            rpc=f"{self.host}:{self.rpc_port}", pubsub=f"{self.host}:{self.ws_port}"
        )
        if not self.cluster.config.manual_slots:
            self.cluster.start_ticking()

    async def stop(self) -> None:
        await self.cluster.stop_ticking()
        self.cluster.land_in_flight()
        self.cluster.remove_listener(self.pubsub)
        if self._ws is not None:
            self._ws.close()
            await self._ws.wait_closed()
        if self._http is not None:
            self._http.close()
            for task in list(self._connections):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._connections, return_exceptions=True)
            await self._http.wait_closed()

    async def __aenter__(self) -> LocalnetServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- HTTP --------------------------------------------------------------------------

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except HttpError as err:
                    writer.write(_response(err.status, str(err).encode(), "text/plain", False))
                    await writer.drain()
                    break
                except (asyncio.IncompleteReadError, ValueError):
                    break
                if request is None:
                    break
                writer.write(self._dispatch(request))
                await writer.drain()
                if not request.keep_alive:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _dispatch(self, request: _Request) -> bytes:
        keep = request.keep_alive
        if request.method == "GET" and request.path.split("?")[0] == "/health":
            return _response(200, b"ok", "text/plain", keep)
        if request.method != "POST":
            return _response(
                405,
                b"Used HTTP Method is not allowed. POST or OPTIONS is required",
                "text/plain",
                keep,
            )
        body = self.rpc.handle(request.body)
        return _response(200, body, "application/json", keep)

    # -- WebSocket ---------------------------------------------------------------------

    async def _serve_ws(self, ws: ServerConnection) -> None:
        outbox: asyncio.Queue[str] = asyncio.Queue()
        send = outbox.put_nowait

        async def pump() -> None:
            while True:
                message = await outbox.get()
                await ws.send(message)

        pumper = asyncio.create_task(pump())
        try:
            async for message in ws:
                self.pubsub.handle(message, send)
        except ConnectionClosed:
            pass
        finally:
            self.pubsub.drop_connection(send)
            pumper.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await pumper
