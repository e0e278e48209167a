"""Wake-ups for the daemon: account subscriptions, with polling when they fail.

The daemon never trusts a notification's payload: any change to a watched account
only wakes it, and it then re-reads every account in one call so its snapshot is
consistent. While the websocket is down the daemon still wakes every
`poll_interval_seconds`, so a dead subscription degrades to polling, not blindness.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from solana.rpc.commitment import Commitment
from solana.rpc.websocket_api import connect as ws_connect
from solders.pubkey import Pubkey
from solders.rpc.responses import AccountNotification, SubscriptionError, SubscriptionResult

from keeper.cluster.redact import redact_text, redact_url

log = structlog.get_logger("keeper.watch")


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
    #: subscribed, but the daemon saw a watched account change with no notification
    stale: bool = False
    stale_detections: int = 0
    #: notifications since the daemon last looked (it resets this)
    notifications_seen: int = 0
    last_notification_slot: int = 0
    last_error: str = ""
    changed: set[Pubkey] = field(default_factory=set)


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
        connect: Callable[[str], Any] = ws_connect,
    ) -> None:
        self.ws_url = ws_url
        self.addresses = tuple(dict.fromkeys(addresses))
        self.commitment = Commitment(commitment)
        self.poll_interval_seconds = poll_interval_seconds
        self.idle_refresh_seconds = idle_refresh_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._connect = connect
        self._wakeup = asyncio.Event()
        self.health = FeedHealth()

    async def run(self) -> None:
        """Keep the subscriptions alive forever (cancel the task to stop)."""
        backoff = 0.5
        while True:
            self.health.attempts += 1
            try:
                await self._session()
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any transport failure: fall back to polling
                self.health.last_error = redact_text(f"{type(exc).__name__}: {exc}")
                log.warning(
                    "pubsub down, polling",
                    url=redact_url(self.ws_url),
                    error=self.health.last_error,
                )
            self.health.connected = False
            self.health.subscriptions = 0
            self.health.reconnects += 1
            self._wakeup.set()  # we may have missed changes while disconnected
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_seconds)

    async def _session(self) -> None:
        async with self._connect(self.ws_url) as ws:
            for address in self.addresses:
                await ws.account_subscribe(address, self.commitment, "base64")
            pending = len(self.addresses)
            while pending:
                for msg in await ws.recv():
                    if isinstance(msg, SubscriptionError):
                        raise ConnectionError(f"subscription refused: {msg.error}")
                    if isinstance(msg, SubscriptionResult):
                        pending -= 1
            self.health.connected = True
            if self.health.reconnects:
                self.health.resubscribed += 1
            self.health.subscriptions = len(self.addresses)
            self._wakeup.set()  # refresh once now that notifications are flowing
            log.info("pubsub subscribed", url=redact_url(self.ws_url), accounts=len(self.addresses))
            while True:
                for msg in await ws.recv():
                    if isinstance(msg, AccountNotification):
                        self.health.notifications += 1
                        self.health.notifications_seen += 1
                        self.health.stale = False
                        self.health.last_notification_slot = msg.result.context.slot
                        self._wakeup.set()

    async def wait(self) -> bool:
        """Sleep until a change (True) or the refresh/poll interval elapses (False)."""
        timeout = self.idle_refresh_seconds if self.health.connected else self.poll_interval_seconds
        woke = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)
            woke = True
        self._wakeup.clear()
        return woke
