"""ChangeFeed against a minimal PubSub server: notifications wake, outages fall back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from typing import Any

import websockets
from solders.pubkey import Pubkey

from keeper.cluster.watch import ChangeFeed


class FakePubSub:
    def __init__(self) -> None:
        self.clients: list[Any] = []
        self.subscribed: list[str] = []
        self.slot_subscriptions = 0
        self.connections = 0

    async def handler(self, ws: Any) -> None:
        self.clients.append(ws)
        self.connections += 1
        async for raw in ws:
            req = json.loads(raw)
            assert req["method"] in ("accountSubscribe", "slotSubscribe")
            if req["method"] == "slotSubscribe":  # the feed's heartbeat
                self.slot_subscriptions += 1
            else:
                self.subscribed.append(req["params"][0])
            sub = len(self.subscribed) + self.slot_subscriptions
            await ws.send(json.dumps({"jsonrpc": "2.0", "result": sub, "id": req["id"]}))

    async def notify_slot(self, slot: int) -> None:
        note = {
            "jsonrpc": "2.0",
            "method": "slotNotification",
            "params": {"result": {"slot": slot, "parent": slot - 1, "root": slot - 32}, "subscription": 0},
        }
        for ws in self.clients:
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send(json.dumps(note))

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


async def _serve(fake: FakePubSub) -> tuple[Any, str]:
    server = await websockets.serve(fake.handler, "127.0.0.1", 0)
    return server, f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def _until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_one_connection_carries_every_subscription_and_the_slot_stream() -> None:
    fake = FakePubSub()
    server, url = await _serve(fake)
    watched = [Pubkey.new_unique() for _ in range(5)]
    feed = ChangeFeed(url, watched)
    task = asyncio.create_task(feed.run())
    try:
        assert await asyncio.wait_for(feed.wait(), 5)
        assert fake.connections == 1 and fake.slot_subscriptions == 1
        assert sorted(fake.subscribed) == sorted(map(str, watched))
        await fake.notify_slot(77)
        await _until(lambda: feed.health.last_slot == 77)
        assert feed.health.notifications == 0  # slots are a heartbeat, not a wake-up
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()


async def test_a_silent_socket_is_stale_once_the_slot_clock_moves_on() -> None:
    """Open and subscribed, but nothing heard while getSlot runs ahead: drop, poll, resubscribe."""
    fake = FakePubSub()
    server, url = await _serve(fake)
    cluster_slot = {"slot": 10}

    async def slot_source() -> int:
        return cluster_slot["slot"]

    events: list[str] = []
    feed = ChangeFeed(
        url,
        [Pubkey.new_unique()],
        slot_source=slot_source,
        stale_after_seconds=0.3,
        max_slot_lag=5,
        poll_interval_seconds=0.1,
        listeners=[lambda event, _h: events.append(event)],
        rng=random.Random(1),
    )
    task = asyncio.create_task(feed.run())
    try:
        assert await asyncio.wait_for(feed.wait(), 5)
        await asyncio.sleep(0.8)  # silent, but the cluster did not move: not stale
        assert feed.health.connected and feed.health.stale_detections == 0
        cluster_slot["slot"] = 100  # the cluster moved on; the socket heard nothing
        await _until(lambda: feed.health.stale_detections == 1)
        await _until(lambda: fake.connections == 2 and feed.health.connected)
        h = feed.health
        assert (h.resubscribed, h.reconnects, h.stale) == (1, 1, False)
        assert events == ["connected", "stale", "disconnected", "reconnected"]
        # after resubscribing, the feed's slot is the clock's: no second detection
        await asyncio.sleep(0.8)
        assert feed.health.stale_detections == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()


async def test_daemon_reads_are_a_slot_clock_too() -> None:
    fake = FakePubSub()
    server, url = await _serve(fake)
    feed = ChangeFeed(url, [Pubkey.new_unique()], stale_after_seconds=0.3, max_slot_lag=5)
    task = asyncio.create_task(feed.run())
    try:
        assert await asyncio.wait_for(feed.wait(), 5)
        await fake.notify_slot(50)
        await _until(lambda: feed.health.last_slot == 50)
        feed.observe_slot(54)  # within the lag: fine
        await asyncio.sleep(0.7)
        assert feed.health.stale_detections == 0
        feed.observe_slot(90)
        await _until(lambda: feed.health.stale_detections == 1)
        await _until(lambda: fake.connections == 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()


async def test_an_unreachable_slot_clock_never_declares_staleness() -> None:
    fake = FakePubSub()
    server, url = await _serve(fake)

    async def broken() -> int:
        raise OSError("connection refused")

    feed = ChangeFeed(url, [Pubkey.new_unique()], slot_source=broken, stale_after_seconds=0.2)
    task = asyncio.create_task(feed.run())
    try:
        assert await asyncio.wait_for(feed.wait(), 5)
        await asyncio.sleep(0.7)
        assert feed.health.connected and feed.health.stale_detections == 0
        assert fake.connections == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()


def test_backoff_has_jitter_within_its_bounds() -> None:
    feed = ChangeFeed("ws://x", [], rng=random.Random(7))
    delays = [feed.backoff_delay(8.0) for _ in range(200)]
    assert all(4.0 <= d <= 8.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 50  # not lock-step
    assert feed.backoff_delay(0.0) == feed.initial_backoff_seconds / 2


async def test_backoff_grows_while_failing_and_resets_after_a_reconnect() -> None:
    """Failures double the delay; a session that subscribed starts the next wait over."""
    from contextlib import asynccontextmanager

    plan = ["fail", "fail", "fail", "ok", "fail"]
    sleeps: list[float] = []
    done = asyncio.Event()

    class _Ws:
        def __init__(self) -> None:
            self.acks = 0

        async def account_subscribe(self, *_args: Any) -> None:
            self.acks += 1

        async def slot_subscribe(self) -> None:
            self.acks += 1

        async def recv(self) -> list[Any]:
            from solders.rpc.responses import SubscriptionResult

            if self.acks:
                self.acks -= 1
                return [SubscriptionResult(1, 1)]
            raise ConnectionError("socket closed")  # a session that subscribed, then dropped

    @asynccontextmanager
    async def connect(_url: str) -> Any:
        step = plan.pop(0) if plan else "end"
        if step == "end":
            done.set()
            await asyncio.sleep(3600)
        if step == "fail":
            raise OSError("refused")
        yield _Ws()

    feed = ChangeFeed(
        "ws://x",
        [Pubkey.new_unique()],
        connect=connect,
        initial_backoff_seconds=0.01,
        max_backoff_seconds=0.04,
        rng=random.Random(3),
    )
    real = feed.backoff_delay
    feed.backoff_delay = lambda b: (sleeps.append(b), real(b))[1]  # type: ignore[method-assign]
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(done.wait(), 5)
        # fail, fail, fail (capped), subscribed-then-lost (reset), fail
        assert sleeps == [0.01, 0.02, 0.04, 0.01, 0.02]
        assert feed.health.resubscribed == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_connection_without_a_slot_stream_still_subscribes() -> None:
    """Test doubles (and minimal providers) may not offer slotSubscribe."""
    from contextlib import asynccontextmanager

    from solders.rpc.responses import SubscriptionResult

    subscribed = asyncio.Event()

    class _Ws:
        acks = 0

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
        yield _Ws()

    feed = ChangeFeed("ws://x", [Pubkey.new_unique(), Pubkey.new_unique()], connect=connect)
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(subscribed.wait(), 5)
        assert feed.health.connected and feed.health.subscriptions == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
