"""Wake-ups for the daemon: account subscriptions, with polling when they fail.

The daemon never trusts a notification's payload: any change to a watched account
only wakes it, and it then re-reads every account in one call so its snapshot is
consistent. While the websocket is down the daemon still wakes every
`poll_interval_seconds`, so a dead subscription degrades to polling, not blindness.

One WebSocket connection carries every subscription: the watched accounts and the
slot stream. The slot stream is the heartbeat: a provider can keep a socket open and
answer pings long after it stopped notifying, so the feed holds the slots it hears
against a slot clock (`getSlot` over HTTP when `rpc_url` is given, and the slots the
daemon reads, `observe_slot`). A socket silent for `stale_after_seconds` while that
clock moved more than `max_slot_lag` slots past the last slot it heard is stale: the
feed drops it (the daemon polls meanwhile) and subscribes again. A cluster whose slots
do not move (a paused localnet) is silent without being stale, and is left alone.

Reconnects back off exponentially with full jitter (so many keepers behind one
provider do not reconnect in lock-step), and the backoff resets once a connection
has subscribed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from solana.rpc.commitment import Commitment
from solana.rpc.websocket_api import connect as ws_connect
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    AccountNotification,
    SlotNotification,
    SubscriptionError,
    SubscriptionResult,
)

from keeper.cluster.redact import redact_text, redact_url

log = structlog.get_logger("keeper.watch")

#: a feed event, for metrics hooks: connected, disconnected, reconnected, stale
FeedEvent = str
FeedListener = Callable[[FeedEvent, "FeedHealth"], None]


@dataclass
class FeedHealth:
    connected: bool = False
    subscriptions: int = 0
    notifications: int = 0
    #: connection attempts made (the first included)
    attempts: int = 0
    #: sessions that ended or attempts that failed: each one means a reconnect is due
    reconnects: int = 0
    #: subscriptions re-established after such a loss (successful reconnects)
    resubscribed: int = 0
    #: the socket (or a watched account) was found silent while the cluster moved on
    stale: bool = False
    stale_detections: int = 0
    #: notifications since the daemon last looked (it resets this)
    notifications_seen: int = 0
    last_notification_slot: int = 0
    #: the newest slot this feed heard of (slot stream or notification context)
    last_slot: int = 0
    last_error: str = ""
    changed: set[Pubkey] = field(default_factory=set)


def http_slot_source(rpc_url: str, *, timeout_seconds: float = 5.0) -> Callable[[], Awaitable[int]]:
    """`getSlot` over HTTP: the slot clock a silent socket is held against."""

    async def slot() -> int:
        async with httpx.AsyncClient(timeout=timeout_seconds) as client:
            reply = await client.post(
                rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "getSlot", "params": []}
            )
            return int(reply.json()["result"])

    return slot


class _Stale(Exception):
    """The socket is open but silent while the cluster moved on."""


class ChangeFeed:
    """Subscribes to accounts over PubSub and turns notifications into wake-ups."""

    def __init__(
        self,
        ws_url: str,
        addresses: Sequence[Pubkey],
        *,
        commitment: str = "confirmed",
        poll_interval_seconds: float = 5.0,
        idle_refresh_seconds: float = 60.0,
        max_backoff_seconds: float = 30.0,
        initial_backoff_seconds: float = 0.5,
        connect: Callable[[str], Any] = ws_connect,
        rpc_url: str | None = None,
        slot_source: Callable[[], Awaitable[int]] | None = None,
        stale_after_seconds: float = 5.0,
        max_slot_lag: int = 20,
        listeners: Sequence[FeedListener] = (),
        rng: random.Random | None = None,
    ) -> None:
        self.ws_url = ws_url
        self.addresses = tuple(dict.fromkeys(addresses))
        self.commitment = Commitment(commitment)
        self.poll_interval_seconds = poll_interval_seconds
        self.idle_refresh_seconds = idle_refresh_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.initial_backoff_seconds = initial_backoff_seconds
        self.stale_after_seconds = stale_after_seconds
        self.max_slot_lag = max_slot_lag
        if slot_source is None and rpc_url is not None:
            slot_source = http_slot_source(rpc_url)
        self._slot_source = slot_source
        self._connect = connect
        self._listeners = list(listeners)
        self._rng = rng or random.Random()
        self._wakeup = asyncio.Event()
        self._observed_slot = 0
        self._session_subscribed = False
        self.health = FeedHealth()

    def add_listener(self, listener: FeedListener) -> None:
        """Call `listener(event, health)` on connected/disconnected/reconnected/stale."""
        self._listeners.append(listener)

    def observe_slot(self, slot: int) -> None:
        """The daemon read the cluster at `slot`: a slot clock that costs no request."""
        self._observed_slot = max(self._observed_slot, slot)

    def _emit(self, event: FeedEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event, self.health)
            except Exception:  # a metrics hook must never take the feed down
                log.exception("feed listener failed", event_name=event)

    def backoff_delay(self, backoff: float) -> float:
        """Full jitter: uniform in [backoff/2, backoff], never below the initial delay."""
        return max(self.initial_backoff_seconds / 2, backoff * (0.5 + 0.5 * self._rng.random()))

    async def run(self) -> None:
        """Keep the subscriptions alive forever (cancel the task to stop)."""
        backoff = self.initial_backoff_seconds
        while True:
            self.health.attempts += 1
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except _Stale as exc:
                self.health.last_error = str(exc)
                log.warning("pubsub stale, resubscribing", url=redact_url(self.ws_url), why=str(exc))
            except Exception as exc:  # any transport failure: fall back to polling
                self.health.last_error = redact_text(f"{type(exc).__name__}: {exc}")
                log.warning(
                    "pubsub down, polling",
                    url=redact_url(self.ws_url),
                    error=self.health.last_error,
                )
            was_connected = self.health.connected
            if self._session_subscribed:
                backoff = self.initial_backoff_seconds  # it worked: start over
            self.health.connected = False
            self.health.subscriptions = 0
            self.health.reconnects += 1
            if was_connected:
                self._emit("disconnected")
                # we may have missed changes; a failed retry adds nothing the polling misses
                self._wakeup.set()
            await asyncio.sleep(self.backoff_delay(backoff))
            backoff = min(backoff * 2, self.max_backoff_seconds)

    async def _session(self) -> None:
        self._session_subscribed = False
        async with self._connect(self.ws_url) as ws:
            for address in self.addresses:
                await ws.account_subscribe(address, self.commitment, "base64")
            pending = len(self.addresses)
            # A connection without a slot stream (a minimal test double) still works:
            # the daemon's reads are then the only slot clock.
            slot_subscribe = getattr(ws, "slot_subscribe", None)
            if slot_subscribe is not None:
                await slot_subscribe()
                pending += 1
            while pending:
                for msg in await ws.recv():
                    if isinstance(msg, SubscriptionError):
                        raise ConnectionError(f"subscription refused: {msg.error}")
                    if isinstance(msg, SubscriptionResult):
                        pending -= 1
            self._session_subscribed = True
            self.health.connected = True
            self.health.stale = False
            if self.health.reconnects:
                self.health.resubscribed += 1
            self.health.subscriptions = len(self.addresses)
            self.health.last_slot = max(self.health.last_slot, await self._cluster_slot() or 0)
            self._wakeup.set()  # refresh once now that notifications are flowing
            log.info("pubsub subscribed", url=redact_url(self.ws_url), accounts=len(self.addresses))
            self._emit("reconnected" if self.health.resubscribed else "connected")
            await self._listen(ws)

    async def _listen(self, ws: Any) -> None:
        loop = asyncio.get_running_loop()
        heard_at = loop.time()
        while True:
            try:
                messages = await asyncio.wait_for(ws.recv(), self.stale_after_seconds / 2)
            except TimeoutError:
                silent = loop.time() - heard_at
                if silent >= self.stale_after_seconds:
                    await self._check_stale(silent)
                continue
            heard_at = loop.time()
            for msg in messages:
                if isinstance(msg, SlotNotification):
                    self.health.last_slot = max(self.health.last_slot, msg.result.slot)
                elif isinstance(msg, AccountNotification):
                    slot = msg.result.context.slot
                    self.health.notifications += 1
                    self.health.notifications_seen += 1
                    self.health.stale = False
                    self.health.last_notification_slot = slot
                    self.health.last_slot = max(self.health.last_slot, slot)
                    self._wakeup.set()

    async def _cluster_slot(self) -> int | None:
        """The slot clock: the newest of the daemon's reads and `getSlot`, if configured."""
        slot: int | None = self._observed_slot or None
        if self._slot_source is not None:
            try:
                fetched = await asyncio.wait_for(self._slot_source(), self.stale_after_seconds)
            except Exception:  # no clock now: never call a socket stale on no evidence
                fetched = None
            if fetched is not None:
                slot = max(slot or 0, fetched)
        return slot

    async def _check_stale(self, silent_seconds: float) -> None:
        cluster = await self._cluster_slot()
        if cluster is None or cluster <= self.health.last_slot + self.max_slot_lag:
            return
        self.health.stale = True
        self.health.stale_detections += 1
        self._emit("stale")
        raise _Stale(
            f"silent for {silent_seconds:.1f} s while the cluster moved from slot "
            f"{self.health.last_slot} to {cluster}"
        )

    async def wait(self) -> bool:
        """Sleep until a change (True) or the refresh/poll interval elapses (False)."""
        timeout = self.idle_refresh_seconds if self.health.connected else self.poll_interval_seconds
        woke = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)
            woke = True
        self._wakeup.clear()
        return woke
