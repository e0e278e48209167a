"""WebSocket PubSub: subscriptions and the notifications a validator sends for them.

`PubSub` listens to the cluster (slots, account writes, landed transactions) and turns
each event into `…Notification` messages for the connections subscribed to it. A
connection is anything with a `send(text)` that must not block: the server gives each
websocket an outbound queue drained by its own task, so a slow client never stalls
the bank.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature

from keeper.core import SYSTEM_PROGRAM_ID
from localnet.cluster import Cluster, TxRecord
from localnet.rpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    AccountFilter,
    RpcError,
    account_encoding,
    account_value,
    commitment_of,
    config_object,
    data_slice_of,
    param,
    parse_filters,
    parse_pubkey,
    parse_signature,
)
from localnet.txerrors import transaction_error_json

Send = Callable[[str], None]


@dataclass
class Subscription:
    id: int
    kind: str
    send: Send = field(repr=False)
    config: dict[str, Any] = field(default_factory=dict)
    address: Pubkey | None = None
    signature: Signature | None = None
    filters: list[AccountFilter] = field(default_factory=list)
    mentions: Pubkey | None = None


_UNSUBSCRIBE = {
    "accountUnsubscribe": "account",
    "programUnsubscribe": "program",
    "signatureUnsubscribe": "signature",
    "slotUnsubscribe": "slot",
    "rootUnsubscribe": "root",
    "logsUnsubscribe": "logs",
}


class PubSub:
    """Subscription registry and notifier; register it with `cluster.add_listener`."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._ids = itertools.count(0)
        self._subs: dict[int, Subscription] = {}

    # -- requests ------------------------------------------------------------------

    def handle(self, text: str | bytes, send: Send) -> None:
        """Process one websocket message from a client; answers go through `send`."""
        try:
            request = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            send(_error(None, RpcError(PARSE_ERROR, "Parse error")))
            return
        for item in request if isinstance(request, list) else [request]:
            reply = self._handle_one(item, send)
            if reply:
                send(reply)

    def _handle_one(self, request: Any, send: Send) -> str:
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return _error(None, RpcError(INVALID_REQUEST, "Invalid request"))
        req_id = request.get("id")
        method = request.get("method")
        params = request.get("params") or []
        try:
            if not isinstance(params, list):
                raise RpcError(INVALID_PARAMS, "Invalid params: expected an array.")
            if method in _UNSUBSCRIBE:
                result: Any = self._unsubscribe(_UNSUBSCRIBE[method], params, send)
            else:
                sub = self._subscribe(str(method), params, send)
                result = sub.id
                self._subs[sub.id] = sub
                send(json.dumps({"jsonrpc": "2.0", "result": result, "id": req_id}))
                self._after_subscribe(sub)
                return ""
        except RpcError as err:
            return _error(req_id, err)
        return json.dumps({"jsonrpc": "2.0", "result": result, "id": req_id})

    def _subscribe(self, method: str, params: list[Any], send: Send) -> Subscription:
        new_id = next(self._ids)
        if method == "accountSubscribe":
            address = parse_pubkey(param(params, 0))
            cfg = config_object(params, 1)
            commitment_of(cfg), account_encoding(cfg), data_slice_of(cfg)
            return Subscription(new_id, "account", send, cfg, address=address)
        if method == "programSubscribe":
            program = parse_pubkey(param(params, 0))
            cfg = config_object(params, 1)
            commitment_of(cfg), account_encoding(cfg), data_slice_of(cfg)
            filters = parse_filters(cfg.get("filters"))
            return Subscription(new_id, "program", send, cfg, address=program, filters=filters)
        if method == "signatureSubscribe":
            sig = parse_signature(param(params, 0))
            cfg = config_object(params, 1)
            commitment_of(cfg)
            return Subscription(new_id, "signature", send, cfg, signature=sig)
        if method == "slotSubscribe":
            return Subscription(new_id, "slot", send)
        if method == "rootSubscribe":
            return Subscription(new_id, "root", send)
        if method == "logsSubscribe":
            selector = param(params, 0)
            cfg = config_object(params, 1)
            commitment_of(cfg)
            mentions: Pubkey | None = None
            if isinstance(selector, dict) and isinstance(selector.get("mentions"), list):
                if len(selector["mentions"]) != 1:
                    raise RpcError(
                        INVALID_PARAMS,
                        "Invalid Request: Only 1 address supported",
                    )
                mentions = parse_pubkey(selector["mentions"][0])
            elif selector not in ("all", "allWithVotes"):
                raise RpcError(
                    INVALID_PARAMS, 'Invalid params: expected "all" or {"mentions": [...]}.'
                )
            return Subscription(new_id, "logs", send, cfg, mentions=mentions)
        raise RpcError(METHOD_NOT_FOUND, "Method not found")

    def _unsubscribe(self, kind: str, params: list[Any], send: Send) -> bool:
        sub_id = param(params, 0)
        sub = self._subs.get(sub_id) if isinstance(sub_id, int) else None
        if sub is None or sub.kind != kind or sub.send is not send:
            raise RpcError(INVALID_PARAMS, "Invalid subscription id.")
        del self._subs[sub.id]
        return True

    def _after_subscribe(self, sub: Subscription) -> None:
        # A signature that already landed is reported at once, so a client that
        # subscribes after sending never waits forever.
        if sub.kind == "signature" and sub.signature is not None:
            record = self.cluster.transaction(sub.signature)
            if record is not None:
                self._notify_signature(sub, record)

    def drop_connection(self, send: Send) -> None:
        for sub_id in [s.id for s in self._subs.values() if s.send is send]:
            del self._subs[sub_id]

    @property
    def subscription_count(self) -> int:
        return len(self._subs)

    # -- cluster events -----------------------------------------------------------------

    def on_slot(self, slot: int, parent: int) -> None:
        for sub in list(self._subs.values()):
            if sub.kind == "slot":
                _notify(sub, "slotNotification", {"parent": parent, "root": slot, "slot": slot})
            elif sub.kind == "root":
                _notify(sub, "rootNotification", slot)

    def on_accounts(self, slot: int, changed: list[tuple[Pubkey, Account | None]]) -> None:
        if not self._subs:
            return
        context = {"slot": slot}
        for address, acc in changed:
            shown = acc if acc is not None else Account(0, b"", SYSTEM_PROGRAM_ID)
            for sub in list(self._subs.values()):
                if sub.kind == "account" and sub.address == address:
                    value = account_value(self.cluster, address, shown, sub.config)
                    _notify(sub, "accountNotification", {"context": context, "value": value})
                elif (
                    sub.kind == "program"
                    and acc is not None
                    and acc.owner == sub.address
                    and all(f.matches(bytes(acc.data)) for f in sub.filters)
                ):
                    value = {
                        "pubkey": str(address),
                        "account": account_value(self.cluster, address, acc, sub.config),
                    }
                    _notify(sub, "programNotification", {"context": context, "value": value})

    def on_transaction(self, record: TxRecord) -> None:
        for sub in list(self._subs.values()):
            if sub.kind == "signature" and sub.signature == record.signature:
                self._notify_signature(sub, record)
            elif sub.kind == "logs" and (
                sub.mentions is None or sub.mentions in record.loaded.keys
            ):
                value = {
                    "signature": str(record.signature),
                    "err": transaction_error_json(record.err),
                    "logs": list(record.result.logs),
                }
                _notify(sub, "logsNotification", {"context": {"slot": record.slot}, "value": value})

    def _notify_signature(self, sub: Subscription, record: TxRecord) -> None:
        value = {"err": transaction_error_json(record.err)}
        _notify(sub, "signatureNotification", {"context": {"slot": record.slot}, "value": value})
        self._subs.pop(sub.id, None)  # signature subscriptions are one-shot


def _notify(sub: Subscription, method: str, result: Any) -> None:
    message = {
        "jsonrpc": "2.0",
        "method": method,
        "params": {"result": result, "subscription": sub.id},
    }
    sub.send(json.dumps(message, separators=(",", ":")))


def _error(req_id: Any, err: RpcError) -> str:
    return json.dumps({"jsonrpc": "2.0", "error": err.to_json(), "id": req_id})
