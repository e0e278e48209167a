"""Health and Prometheus metrics for a running keeper (loopback by default).

`KeeperMetrics` holds one prometheus_client registry per keeper (so several keepers,
or tests, never share counters). `GET /metrics` renders it; `GET /health` answers
200 while the keeper's view is fresh and its passes succeed, 503 (with the reason)
otherwise. The HTTP server is a small asyncio one: no threads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from keeper.cluster.transport import (
    RPC_METHOD,
    LatestBlockhash,
    SignatureStatus,
    SimulationAnswer,
)
from keeper.cluster.watch import FeedHealth
from keeper.core.errors import RpcError
from keeper.core.views import RawAccount

if TYPE_CHECKING:
    from keeper.app.daemon import InsuranceFundKeeper
    from keeper.cluster.solana_rpc import SolanaRpcTransport

PREFIX = "drift_if_keeper"
#: landed slot − first allowed slot
LATENESS_BUCKETS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 500)


class _FeedCollector(Collector):
    """The PubSub feed's counters, read from its health at scrape time."""

    def __init__(self, health: Callable[[], FeedHealth]) -> None:
        self._health = health

    def collect(self) -> Iterable[Any]:
        h = self._health()
        yield GaugeMetricFamily(
            f"{PREFIX}_pubsub_connected", "1 while subscribed", int(h.connected)
        )
        yield CounterMetricFamily(
            f"{PREFIX}_pubsub_notifications", "account notifications received", h.notifications
        )
        yield CounterMetricFamily(
            f"{PREFIX}_pubsub_connect_attempts", "connection attempts", h.attempts
        )
        yield CounterMetricFamily(
            f"{PREFIX}_pubsub_disconnects", "sessions lost or attempts failed", h.reconnects
        )
        yield CounterMetricFamily(
            f"{PREFIX}_pubsub_reconnects",
            "subscriptions re-established after a loss",
            h.resubscribed,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_pubsub_stale",
            "1 while subscribed but a watched account changed with no notification",
            int(h.stale),
        )
        yield CounterMetricFamily(
            f"{PREFIX}_pubsub_stale_detections", "changes the feed missed", h.stale_detections
        )


class KeeperMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self._feed: _FeedCollector | None = None
        self.passes = Counter(
            f"{PREFIX}_passes", "passes run (idle checks included)", registry=r
        )
        self.idle_checks = Counter(
            f"{PREFIX}_idle_checks",
            "idle refreshes answered by one sampled read instead of a full pass",
            registry=r,
        )
        self.pass_failures = Counter(
            f"{PREFIX}_pass_failures",
            "passes that failed (no snapshot, or an action failed)",
            registry=r,
        )
        self.actions = Counter(
            f"{PREFIX}_actions",
            "actions by outcome: landed, failed, noop, expired, unknown, dry_run",
            ("kind", "market", "wallet", "outcome"),
            registry=r,
        )
        # The first exposition's names, kept for dashboards that use them.
        self.sent = Counter(f"{PREFIX}_actions_sent", "actions landed", ("action",), registry=r)
        self.failed = Counter(f"{PREFIX}_actions_failed", "actions failed", ("action",), registry=r)
        self.slots_late = Histogram(
            f"{PREFIX}_slots_late",
            "landed slot minus the first slot the action was allowed in",
            ("kind",),
            buckets=LATENESS_BUCKETS,
            registry=r,
        )
        self.rpc_requests = Counter(
            f"{PREFIX}_rpc_requests", "RPC requests by method", ("method",), registry=r
        )
        self.rpc_errors = Counter(
            f"{PREFIX}_rpc_errors", "RPC requests that failed, by method", ("method",), registry=r
        )
        self.next_due = Gauge(
            f"{PREFIX}_next_due_timestamp_seconds",
            "cluster unix time each waiting action is next due (absent: on a change)",
            ("kind", "market", "wallet"),
            registry=r,
        )
        self.fee_payer_lamports = Gauge(
            f"{PREFIX}_fee_payer_lamports", "the fee payer's SOL balance, lamports", registry=r
        )
        self.mismatches = Counter(
            f"{PREFIX}_verification_mismatches",
            "read-back fields that differ from the mirror's prediction",
            ("kind", "market"),
            registry=r,
        )
        self.last_pass_slot = Gauge(
            f"{PREFIX}_last_pass_slot", "slot of the last snapshot", registry=r
        )
        self.healthy = Gauge(f"{PREFIX}_healthy", "1 while /health answers 200", registry=r)

    def watch_feed(self, health: Callable[[], FeedHealth]) -> None:
        """Export this feed's health (once per registry)."""
        if self._feed is None:
            self._feed = _FeedCollector(health)
            self.registry.register(self._feed)

    def render(self) -> str:
        return generate_latest(self.registry).decode()


_log = structlog.get_logger("keeper.rpc")
#: a call this slow is logged at debug level, with its method and duration
SLOW_CALL_SECONDS = 0.3


class CountingTransport:
    """The production transport with every call counted (and its failures) by method."""

    def __init__(self, inner: SolanaRpcTransport, metrics: KeeperMetrics) -> None:
        self.inner = inner
        self.metrics = metrics

    async def _count(self, call: str, make: Callable[[], Any]) -> Any:
        method = RPC_METHOD[call]
        self.metrics.rpc_requests.labels(method).inc()
        started = time.monotonic()
        try:
            return await make()
        except RpcError as exc:
            self.metrics.rpc_errors.labels(method).inc()
            _log.debug(
                "rpc call failed",
                method=method,
                seconds=round(time.monotonic() - started, 3),
                error_type=type(exc).__name__,
            )
            raise
        finally:
            took = time.monotonic() - started
            if took >= SLOW_CALL_SECONDS:
                # the debug log says which call made an action late, and by how much
                _log.debug("rpc call slow", method=method, seconds=round(took, 3))

    @property
    def endpoint(self) -> str:
        return self.inner.endpoint

    @property
    def commitment(self) -> str:
        return self.inner.commitment

    async def get_multiple(
        self, addresses: Sequence[Pubkey]
    ) -> tuple[int, list[RawAccount | None]]:
        out: tuple[int, list[RawAccount | None]] = await self._count(
            "get_multiple", lambda: self.inner.get_multiple(addresses)
        )
        return out

    async def latest_blockhash(self) -> LatestBlockhash:
        out: LatestBlockhash = await self._count("latest_blockhash", self.inner.latest_blockhash)
        return out

    async def simulate(self, tx: VersionedTransaction) -> SimulationAnswer:
        out: SimulationAnswer = await self._count("simulate", lambda: self.inner.simulate(tx))
        return out

    async def send_raw(self, raw: bytes) -> None:
        await self._count("send_raw", lambda: self.inner.send_raw(raw))

    async def signature_status(
        self, signature: Signature, *, search_history: bool = False
    ) -> SignatureStatus | None:
        out: SignatureStatus | None = await self._count(
            "signature_status",
            lambda: self.inner.signature_status(signature, search_history=search_history),
        )
        return out

    async def transaction_logs(self, signature: Signature) -> tuple[str, ...] | None:
        out: tuple[str, ...] | None = await self._count(
            "transaction_logs", lambda: self.inner.transaction_logs(signature)
        )
        return out

    async def block_height(self) -> int:
        out: int = await self._count("block_height", self.inner.block_height)
        return out

    async def priority_fees(self, writable: Sequence[Pubkey]) -> tuple[int, ...]:
        out: tuple[int, ...] = await self._count(
            "priority_fees", lambda: self.inner.priority_fees(writable)
        )
        return out

    async def close(self) -> None:
        await self.inner.close()


def render_metrics(keeper: InsuranceFundKeeper) -> str:
    keeper.prom.healthy.set(int(keeper.healthy()))
    return keeper.prom.render()


async def serve_metrics(
    keeper: InsuranceFundKeeper, host: str = "127.0.0.1", port: int = 9464
) -> asyncio.Server:
    def health() -> tuple[int, str]:
        problem = keeper.health_problem()
        return (200, "ok\n") if problem is None else (503, problem + "\n")

    routes: dict[str, Callable[[], tuple[int, str]]] = {
        "/health": health,
        "/metrics": lambda: (200, render_metrics(keeper)),
    }

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 and parts[0] == "GET" else ""
            status, body = routes[path]() if path in routes else (404, "not found\n")
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            payload = body.encode()
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; version=0.0.4\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
