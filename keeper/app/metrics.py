"""Health and metrics over HTTP for a running keeper (loopback by default).

`GET /health` answers 200 while passes succeed, 503 otherwise; `GET /metrics` is
Prometheus text. A tiny asyncio server: no dependency, no threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from keeper.app.daemon import InsuranceFundKeeper


def render_metrics(keeper: InsuranceFundKeeper) -> str:
    m, feed = keeper.metrics, keeper.feed.health
    lines = [
        "# TYPE drift_if_keeper_passes_total counter",
        f"drift_if_keeper_passes_total {m.passes}",
        "# TYPE drift_if_keeper_last_pass_slot gauge",
        f"drift_if_keeper_last_pass_slot {m.last_pass_slot}",
        "# TYPE drift_if_keeper_actions_sent_total counter",
        *(
            f'drift_if_keeper_actions_sent_total{{action="{a}"}} {n}'
            for a, n in sorted(m.sent.items())
        ),
        "# TYPE drift_if_keeper_actions_failed_total counter",
        *(
            f'drift_if_keeper_actions_failed_total{{action="{a}"}} {n}'
            for a, n in sorted(m.failed.items())
        ),
        "# TYPE drift_if_keeper_pubsub_connected gauge",
        f"drift_if_keeper_pubsub_connected {int(feed.connected)}",
        "# TYPE drift_if_keeper_pubsub_notifications_total counter",
        f"drift_if_keeper_pubsub_notifications_total {feed.notifications}",
        "# TYPE drift_if_keeper_pubsub_reconnects_total counter",
        f"drift_if_keeper_pubsub_reconnects_total {feed.reconnects}",
        "# TYPE drift_if_keeper_healthy gauge",
        f"drift_if_keeper_healthy {int(keeper.healthy())}",
    ]
    return "\n".join(lines) + "\n"


async def serve_metrics(
    keeper: InsuranceFundKeeper, host: str = "127.0.0.1", port: int = 9464
) -> asyncio.Server:
    routes: dict[str, Callable[[], tuple[int, str]]] = {
        "/health": lambda: (200, "ok\n") if keeper.healthy() else (503, "stale\n"),
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
