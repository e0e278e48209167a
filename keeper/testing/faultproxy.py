"""A fault-injecting JSON-RPC + PubSub proxy for tests, on loopback, in front of a cluster.

A keeper is only as good as its behaviour when the provider misbehaves, and real
providers misbehave in a handful of well-known ways: they drop transactions without a
word, deliver them twice, rate-limit (429 + Retry-After), fail (5xx), reset or hang
connections, go away for a while, keep a WebSocket open that no longer notifies, serve
reads from a node a few slots behind, and hand out blockhashes that are already old.
`FaultProxy` does each of these on demand, between a client (the keeper) and an
upstream cluster (the localnet), and counts what it saw so tests can assert on it.

It speaks bytes with the standard library only (asyncio streams, a minimal HTTP/1.1
and WebSocket framing reader) so this test double needs no network library of its own.
Safety rails: it binds and connects to loopback addresses only, every wait is bounded,
and it shuts itself down after `lifetime_seconds`.

Faults are set at run time, from the test (`set_faults`, thread-safe through
`ProxyThread`) or from any JSON-RPC client through the proxy's own methods
`faultproxy_setFaults` / `faultproxy_stats` / `faultproxy_reset`, which never reach
the upstream.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import ipaddress
import json
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from solders.transaction import VersionedTransaction

#: methods answered from account state: the ones "reads behind" applies to
READ_METHODS = frozenset({"getMultipleAccounts", "getAccountInfo", "getProgramAccounts"})
SEND_METHOD = "sendTransaction"
CONTROL_PREFIX = "faultproxy_"
_MAX_BODY = 8 * 1024 * 1024
_MAX_HEADER_LINES = 100
_IO_TIMEOUT = 30.0


@dataclass
class Faults:
    """What the proxy does to the traffic right now; every field off by default.

    Fractions are probabilities per request (a seeded RNG, so runs repeat).
    """

    #: sendTransaction answered with the transaction's own signature, never forwarded
    drop_send_fraction: float = 0.0
    #: sendTransaction forwarded this many extra times (the first answer is returned)
    duplicate_sends: int = 0
    #: answered 429 with this Retry-After (seconds)
    rate_limit_fraction: float = 0.0
    retry_after_seconds: int = 1
    #: answered 503 (or `error_status`)
    error_fraction: float = 0.0
    error_status: int = 503
    #: connection closed with a TCP reset, no answer
    reset_fraction: float = 0.0
    #: held `hang_seconds`, then closed with no answer (never forwarded)
    hang_fraction: float = 0.0
    hang_seconds: float = 2.0
    #: which methods the fractions above apply to (empty: all)
    methods: tuple[str, ...] = ()
    #: until this time.monotonic(), HTTP and WebSocket are down (connections reset)
    outage_until: float = 0.0
    #: WebSocket open and answering, but notifications swallowed
    ws_silent: bool = False
    #: WebSocket connections reset (HTTP unaffected): a keeper left to polling
    ws_refuse: bool = False
    #: reads answered with the answer this many reads ago (same request) ...
    read_lag_answers: int = 0
    #: ... and their context.slot lowered by this much (a node behind)
    read_slot_lag: int = 0
    #: reads held this long before they are answered
    read_delay_seconds: float = 0.0
    #: getLatestBlockhash answered with the first blockhash the proxy ever saw
    stale_blockhash: bool = False

    def applies(self, method: str) -> bool:
        return not self.methods or method in self.methods


@dataclass
class ProxyStats:
    """What went through, by JSON-RPC method (HTTP) and by PubSub method (WebSocket)."""

    http: Counter[str] = field(default_factory=Counter)
    ws_in: Counter[str] = field(default_factory=Counter)
    ws_out: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    #: signatures of sendTransaction calls, in order, and what became of each
    sends: list[tuple[str, str]] = field(default_factory=list)
    ws_connections: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "http": dict(self.http),
            "wsIn": dict(self.ws_in),
            "wsOut": dict(self.ws_out),
            "faults": dict(self.faults),
            "sends": [list(s) for s in self.sends],
            "wsConnections": self.ws_connections,
        }

    @property
    def http_total(self) -> int:
        return sum(self.http.values())


def _loopback(host: str) -> str:
    addr = socket.gethostbyname(host)
    if not ipaddress.ip_address(addr).is_loopback:
        raise ValueError(f"the fault proxy only talks to loopback addresses, not {host}")
    return addr


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"an upstream URL needs a host and a port: {url!r}")
    return _loopback(parts.hostname), parts.port


def transaction_signature(params: Any) -> str | None:
    """The first signature of a sendTransaction's transaction (base64 or base58 is sent)."""
    if not isinstance(params, list) or not params or not isinstance(params[0], str):
        return None
    encoding = "base58"
    if len(params) > 1 and isinstance(params[1], dict):
        encoding = str(params[1].get("encoding", "base58"))
    if encoding != "base64":
        return None
    try:
        return str(VersionedTransaction.from_bytes(base64.b64decode(params[0])).signatures[0])
    except (ValueError, TypeError):
        return None


def _rewrite_slot(answer: dict[str, Any], lag: int) -> None:
    result = answer.get("result")
    if lag and isinstance(result, dict) and isinstance(result.get("context"), dict):
        ctx = result["context"]
        if isinstance(ctx.get("slot"), int):
            ctx["slot"] = max(0, ctx["slot"] - lag)


def _http(status: int, body: bytes, *, extra: str = "", keep_alive: bool = True) -> bytes:
    reason = {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error"}.get(
        status, "Error"
    )
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]] | None:
    line = await reader.readline()
    if not line:
        return None
    headers: list[tuple[str, str]] = []
    for _ in range(_MAX_HEADER_LINES):
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            return line.decode("latin-1").rstrip("\r\n"), headers
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    raise ValueError("too many header lines")


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


async def _read_frame(reader: asyncio.StreamReader) -> tuple[bytes, int, bytes]:
    """One WebSocket frame: (raw bytes as received, opcode, unmasked payload)."""
    head = await reader.readexactly(2)
    opcode, masked, length = head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
    ext = b""
    if length == 126:
        ext = await reader.readexactly(2)
        length = struct.unpack("!H", ext)[0]
    elif length == 127:
        ext = await reader.readexactly(8)
        length = struct.unpack("!Q", ext)[0]
    if length > _MAX_BODY:
        raise ValueError("websocket frame too large")
    mask = await reader.readexactly(4) if masked else b""
    payload = await reader.readexactly(length)
    plain = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if mask else payload
    return head + ext + mask + payload, opcode, plain


def _ws_method(payload: bytes) -> str:
    try:
        doc = json.loads(payload)
    except ValueError:
        return "?"
    if isinstance(doc, dict):
        return str(doc.get("method") or ("result" if "result" in doc else "error"))
    return "batch"


class FaultProxy:
    """An HTTP JSON-RPC and a WebSocket listener on loopback, forwarding to `upstream`."""

    def __init__(
        self,
        upstream_url: str,
        upstream_ws_url: str,
        *,
        faults: Faults | None = None,
        seed: int = 0,
        lifetime_seconds: float = 900.0,
    ) -> None:
        self._up_http = _host_port(upstream_url)
        self._up_ws = _host_port(upstream_ws_url)
        self.faults = faults or Faults()
        self.stats = ProxyStats()
        self.lifetime_seconds = lifetime_seconds
        self._rng = random.Random(seed)
        self._history: dict[bytes, deque[dict[str, Any]]] = {}
        self._first_blockhash: dict[str, Any] | None = None
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ws_writers: set[asyncio.StreamWriter] = set()
        self._expiry: asyncio.TimerHandle | None = None
        self.stopped = asyncio.Event()

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        self._servers = [
            await asyncio.start_server(self._serve_http, "127.0.0.1", 0),
            await asyncio.start_server(self._serve_ws, "127.0.0.1", 0),
        ]
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(
            self.lifetime_seconds, lambda: loop.create_task(self.stop())
        )

    async def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        for server in self._servers:
            server.close()
        self._drop_ws()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        self.stopped.set()

    def _port(self, i: int) -> int:
        return int(self._servers[i].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port(0)}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._port(1)}"

    # -- control ---------------------------------------------------------------------

    def set_faults(self, **changes: Any) -> Faults:
        """Change some faults (keyword names of `Faults`); `outage_seconds=` starts an outage."""
        outage = changes.pop("outage_seconds", None)
        if "methods" in changes:
            changes["methods"] = tuple(changes["methods"])
        self.faults = dataclasses.replace(self.faults, **changes)
        if outage is not None:
            self.outage(float(outage))
        if self.faults.ws_refuse:
            self._drop_ws()
        return self.faults

    def reset_faults(self) -> None:
        self.faults = Faults()

    def outage(self, seconds: float) -> None:
        """Everything down for `seconds`: open sockets are cut, new ones are reset."""
        self.faults.outage_until = time.monotonic() + seconds
        self._drop_ws()

    def _down(self) -> bool:
        return time.monotonic() < self.faults.outage_until

    def _drop_ws(self) -> None:
        for writer in list(self._ws_writers):
            _abort(writer)
        self._ws_writers.clear()

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # -- HTTP ------------------------------------------------------------------------

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track()
        try:
            while True:
                head = await asyncio.wait_for(_read_head(reader), _IO_TIMEOUT)
                if head is None:
                    break
                _, headers = head
                length = int(_header(headers, "content-length") or 0)
                if length > _MAX_BODY:
                    break
                body = await reader.readexactly(length) if length else b""
                if self._down():
                    self.stats.faults["outage"] += 1
                    _abort(writer)
                    return
                answer = await self._answer(body)
                if answer is None:  # reset or hang: no answer at all
                    _abort(writer)
                    return
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            pass
        finally:
            writer.close()

    async def _answer(self, body: bytes) -> bytes | None:
        try:
            request = json.loads(body)
        except ValueError:
            return await self._forward(body)
        if not isinstance(request, dict):  # a batch: counted, passed through untouched
            for item in request if isinstance(request, list) else ():
                if isinstance(item, dict):
                    self.stats.http[str(item.get("method"))] += 1
            return await self._forward(body)
        method = str(request.get("method"))
        if method.startswith(CONTROL_PREFIX):
            return self._control(request)
        self.stats.http[method] += 1
        f = self.faults
        if f.applies(method):
            roll = self._rng.random()
            for name, fraction in (
                ("reset", f.reset_fraction),
                ("hang", f.hang_fraction),
                ("rate_limit", f.rate_limit_fraction),
                ("error", f.error_fraction),
            ):
                if roll < fraction:
                    return await self._fail(name, request)
                roll -= fraction
        if method == SEND_METHOD:
            return await self._send(body, request)
        if method == "getLatestBlockhash":
            return await self._blockhash(body)
        if method in READ_METHODS:
            return await self._read(body, request)
        return await self._forward(body)

    async def _fail(self, name: str, request: dict[str, Any]) -> bytes | None:
        self.stats.faults[name] += 1
        f = self.faults
        if name == "hang":
            await asyncio.sleep(f.hang_seconds)
            return None
        if name == "reset":
            return None
        if name == "rate_limit":
            error = {"code": 429, "message": "Too many requests for a specific RPC call"}
            doc = {"jsonrpc": "2.0", "id": request.get("id"), "error": error}
            return _http(
                429, json.dumps(doc).encode(), extra=f"Retry-After: {f.retry_after_seconds}\r\n"
            )
        return _http(f.error_status, b'{"error": "upstream unavailable"}')

    async def _send(self, body: bytes, request: dict[str, Any]) -> bytes | None:
        signature = transaction_signature(request.get("params"))
        f = self.faults
        if (
            signature is not None
            and f.applies(SEND_METHOD)
            and self._rng.random() < f.drop_send_fraction
        ):
            self.stats.faults["drop_send"] += 1
            self.stats.sends.append((signature, "dropped"))
            doc = {"jsonrpc": "2.0", "id": request.get("id"), "result": signature}
            return _http(200, json.dumps(doc).encode())
        answer = await self._forward(body)
        for _ in range(f.duplicate_sends if f.applies(SEND_METHOD) else 0):
            self.stats.faults["duplicate_send"] += 1
            await self._forward(body)
        self.stats.sends.append((signature or "?", "forwarded"))
        return answer

    async def _blockhash(self, body: bytes) -> bytes | None:
        raw = await self._forward(body)
        if raw is None:
            return None
        status, doc = _split_json(raw)
        if status != 200 or not isinstance(doc, dict) or "result" not in doc:
            return raw
        if self._first_blockhash is None:
            self._first_blockhash = doc["result"]
        if self.faults.stale_blockhash:
            self.stats.faults["stale_blockhash"] += 1
            doc["result"] = self._first_blockhash
            return _http(200, json.dumps(doc).encode())
        return raw

    async def _read(self, body: bytes, request: dict[str, Any]) -> bytes | None:
        raw = await self._forward(body)
        if raw is None:
            return None
        f = self.faults
        status, doc = _split_json(raw)
        if status != 200 or not isinstance(doc, dict) or "result" not in doc:
            return raw
        key = json.dumps([request.get("method"), request.get("params")]).encode()
        past = self._history.setdefault(key, deque(maxlen=16))
        past.append(doc)
        if not (f.read_lag_answers or f.read_slot_lag or f.read_delay_seconds):
            return raw
        self.stats.faults["stale_read"] += 1
        lagged = past[max(0, len(past) - 1 - f.read_lag_answers)]
        answer = json.loads(json.dumps(lagged))
        answer["id"] = request.get("id")
        _rewrite_slot(answer, f.read_slot_lag)
        if f.read_delay_seconds:
            await asyncio.sleep(f.read_delay_seconds)
        return _http(200, json.dumps(answer).encode())

    async def _forward(self, body: bytes) -> bytes | None:
        """One request upstream on a fresh connection; the raw answer, or None if it failed."""
        host, port = self._up_http
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), _IO_TIMEOUT
            )
        except (OSError, TimeoutError):
            return None
        try:
            writer.write(
                (
                    f"POST / HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                ).encode("latin-1")
                + body
            )
            await writer.drain()
            return await asyncio.wait_for(reader.read(-1), _IO_TIMEOUT)
        except (OSError, TimeoutError):
            return None
        finally:
            writer.close()

    def _control(self, request: dict[str, Any]) -> bytes:
        method = str(request["method"])[len(CONTROL_PREFIX) :]
        params = request.get("params") or [{}]
        result: Any
        if method == "setFaults":
            result = dataclasses.asdict(self.set_faults(**params[0]))
        elif method == "reset":
            self.reset_faults()
            result = True
        elif method == "stats":
            result = self.stats.to_json()
        else:
            doc = {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32601}}
            return _http(200, json.dumps(doc).encode())
        return _http(200, json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": result}).encode())

    # -- WebSocket -------------------------------------------------------------------

    async def _serve_ws(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._track()
        if self._down() or self.faults.ws_refuse:
            self.stats.faults["outage"] += 1
            _abort(writer)
            return
        up_writer: asyncio.StreamWriter | None = None
        try:
            head = await asyncio.wait_for(_read_head(reader), _IO_TIMEOUT)
            if head is None:
                return
            line, headers = head
            # No permessage-deflate: frames stay readable, so notifications can be told apart.
            headers = [(k, v) for k, v in headers if k.lower() != "sec-websocket-extensions"]
            host, port = self._up_ws
            up_reader, upw = await asyncio.wait_for(
                asyncio.open_connection(host, port), _IO_TIMEOUT
            )
            up_writer = upw
            upw.write(
                (line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode(
                    "latin-1"
                )
            )
            await upw.drain()
            reply = await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), _IO_TIMEOUT)
            writer.write(reply)
            await writer.drain()
            self.stats.ws_connections += 1
            self._ws_writers.add(writer)
            pumps = [
                asyncio.create_task(self._pump(reader, upw, self.stats.ws_in, False)),
                asyncio.create_task(self._pump(up_reader, writer, self.stats.ws_out, True)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for p in pumps:
                    p.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            pass
        finally:
            self._ws_writers.discard(writer)
            if up_writer is not None:
                up_writer.close()
            writer.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        counts: Counter[str],
        downstream: bool,
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
            while True:
                raw, opcode, payload = await _read_frame(reader)
                if opcode == 1:
                    method = _ws_method(payload)
                    counts[method] += 1
                    if downstream and self.faults.ws_silent and method.endswith("Notification"):
                        self.stats.faults["ws_swallowed"] += 1
                        continue
                writer.write(raw)
                await writer.drain()
                if opcode == 8:
                    return


def _split_json(raw: bytes) -> tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
        return status, json.loads(body)
    except (IndexError, ValueError):
        return 0, None


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), the way a dying load balancer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ProxyThread:
    """A `FaultProxy` on its own event loop in a daemon thread, for synchronous tests."""

    def __init__(self, upstream_url: str, upstream_ws_url: str, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._args = (upstream_url, upstream_ws_url)
        self._kwargs = kwargs
        self.proxy: FaultProxy

    def __enter__(self) -> ProxyThread:
        self._thread.start()

        async def make() -> FaultProxy:
            proxy = FaultProxy(*self._args, **self._kwargs)
            await proxy.start()
            return proxy

        self.proxy = self._call(make())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            self._call(self.proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    @property
    def url(self) -> str:
        return self.proxy.url

    @property
    def ws_url(self) -> str:
        return self.proxy.ws_url

    def set_faults(self, **changes: Any) -> Faults:
        async def apply() -> Faults:
            return self.proxy.set_faults(**changes)

        return self._call(apply())  # type: ignore[no-any-return]

    def reset_faults(self) -> None:
        async def reset() -> None:
            self.proxy.reset_faults()

        self._call(reset())

    def stats(self) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            return self.proxy.stats.to_json()

        return self._call(read())  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def faulty(self, **changes: Any) -> Iterator[Faults]:
        """Faults on inside the block, all off after it."""
        try:
            yield self.set_faults(**changes)
        finally:
            self.reset_faults()
