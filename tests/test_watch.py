"""ChangeFeed against a minimal PubSub server: notifications wake, outages fall back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from solders.pubkey import Pubkey

from keeper.cluster.watch import ChangeFeed


class FakePubSub:
    def __init__(self) -> None:
        self.clients: list[Any] = []
        self.subscribed: list[str] = []

    async def handler(self, ws: Any) -> None:
        self.clients.append(ws)
        async for raw in ws:
            req = json.loads(raw)
            assert req["method"] == "accountSubscribe"
            self.subscribed.append(req["params"][0])
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "result": len(self.subscribed), "id": req["id"]})
            )

    async def notify(self, slot: int) -> None:
        note = {
            "jsonrpc": "2.0",
            "method": "accountNotification",
            "params": {
                "result": {
                    "context": {"slot": slot},
                    "value": {
                        "lamports": 1,
                        "owner": "11111111111111111111111111111111",
                        "data": ["", "base64"],
                        "executable": False,
                        "rentEpoch": 0,
                        "space": 0,
                    },
                },
                "subscription": 1,
            },
        }
        for ws in self.clients:
            await ws.send(json.dumps(note))


async def test_notifications_wake_and_outage_falls_back_to_polling() -> None:
    fake = FakePubSub()
    server = await websockets.serve(fake.handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    watched = [Pubkey.new_unique(), Pubkey.new_unique()]
    feed = ChangeFeed(
        f"ws://127.0.0.1:{port}", watched, poll_interval_seconds=0.2, idle_refresh_seconds=5.0
    )
    task = asyncio.create_task(feed.run())
    try:
        assert await asyncio.wait_for(feed.wait(), 5)  # initial wake once subscribed
        assert feed.health.connected and sorted(fake.subscribed) == sorted(map(str, watched))
        await fake.notify(slot=42)
        assert await asyncio.wait_for(feed.wait(), 5)
        assert feed.health.last_notification_slot == 42
        server.close()
        await server.wait_closed()
        for ws in fake.clients:
            await ws.close()
        await asyncio.sleep(0.1)
        assert await feed.wait()  # the outage itself wakes the daemon to re-read
        assert not feed.health.connected and feed.health.reconnects >= 1
        assert await feed.wait() is False  # then it polls on the short interval
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_reconnects_count_reestablished_subscriptions_not_attempts() -> None:
    """Two failed attempts, then a session: 3 attempts, 2 losses, 1 reconnect."""
    from contextlib import asynccontextmanager

    from solders.rpc.responses import SubscriptionResult

    calls = {"n": 0}
    subscribed = asyncio.Event()

    class _Ws:
        def __init__(self) -> None:
            self.acks = 0

        async def account_subscribe(self, *_args: Any) -> None:
            self.acks += 1

        async def recv(self) -> list[Any]:
            if self.acks:
                self.acks -= 1
                return [SubscriptionResult(1, 1)]
            subscribed.set()
            await asyncio.sleep(3600)
            return []

    @asynccontextmanager
    async def connect(_url: str) -> Any:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OSError("connection refused")
        yield _Ws()

    feed = ChangeFeed("ws://x", [Pubkey.new_unique()], connect=connect)
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(subscribed.wait(), 10)
        h = feed.health
        assert (h.attempts, h.reconnects, h.resubscribed, h.connected) == (3, 2, 1, True)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
