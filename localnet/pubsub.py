"""WebSocket PubSub: subscriptions and the notifications a validator sends for them.

`PubSub` listens to the cluster (slots, account writes, landed transactions) and turns
each event into `…Notification` messages for the connections subscribed to it. A
connection is anything with a `send(text)` that must not block: the server gives each
websocket an outbound queue drained by its own task, so a slow client never stalls
the bank.
"""

from __future__ import annotations

import hashlib
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
from localnet.rpc.blocks import block_json, block_records, transaction_encoding
from localnet.timekeeping import blockhash_for_slot
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
    #: Slot of the newest block a block subscription was told about.
    last_block: int = -1


_UNSUBSCRIBE = {
    "accountUnsubscribe": "account",
    "programUnsubscribe": "program",
    "signatureUnsubscribe": "signature",
    "slotUnsubscribe": "slot",
    "rootUnsubscribe": "root",
    "logsUnsubscribe": "logs",
    "blockUnsubscribe": "block",
    "voteUnsubscribe": "vote",
    "slotsUpdatesUnsubscribe": "slotsUpdates",
}
#: A jump of many slots notifies only the blocks with transactions and the newest one.


class PubSub:
    """Subscription registry and notifier; register it with `cluster.add_listener`."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._ids = itertools.count(0)
        self._subs: dict[int, Subscription] = {}
        self._root = cluster.ledger.finalized_slot

    # -- requests ------------------------------------------------------------------

    def handle(self, text: str | bytes, send: Send) -> None:
        """Process one websocket message from a client; answers go through `send`.

        A batch (a JSON array) is answered with one array of replies, as jsonrpc-core
        does for a validator; notifications a new subscription triggers at once (a
        signature that already landed) follow the reply that carries its id.
        """
        try:
            request = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            send(_error(None, RpcError(PARSE_ERROR, "Parse error")))
            return
        if isinstance(request, list) and not request:
            send(_error(None, RpcError(INVALID_REQUEST, "Invalid request")))
            return
        items = request if isinstance(request, list) else [request]
        answers = [self._handle_one(item, send) for item in items]
        replies = [reply for reply, _ in answers]
        if isinstance(request, list):
            send(json.dumps(replies))
        else:
            send(json.dumps(replies[0]))
        for _, sub in answers:
            if sub is not None:
                self._after_subscribe(sub)

    def _handle_one(self, request: Any, send: Send) -> tuple[dict[str, Any], Subscription | None]:
        """The reply to one request, and the subscription it made (if any)."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return _error_json(None, RpcError(INVALID_REQUEST, "Invalid request")), None
        req_id = request.get("id")
        method = request.get("method")
        params = request.get("params") or []
        try:
            if not isinstance(params, list):
                raise RpcError(INVALID_PARAMS, "Invalid params: expected an array.")
            if method in _UNSUBSCRIBE:
                done = self._unsubscribe(_UNSUBSCRIBE[method], params, send)
                return {"jsonrpc": "2.0", "result": done, "id": req_id}, None
            sub = self._subscribe(str(method), params, send)
        except RpcError as err:
            return _error_json(req_id, err), None
        self._subs[sub.id] = sub
        return {"jsonrpc": "2.0", "result": sub.id, "id": req_id}, sub

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
        if method == "voteSubscribe":
            return Subscription(new_id, "vote", send)
        if method == "slotsUpdatesSubscribe":
            return Subscription(new_id, "slotsUpdates", send)
        if method == "blockSubscribe":
            selector = param(params, 0)
            cfg = config_object(params, 1)
            if commitment_of(cfg) in ("processed", "recent"):
                raise RpcError(
                    INVALID_PARAMS, "Invalid params: commitment processed is not supported"
                )
            transaction_encoding(cfg)
            block_mentions: Pubkey | None = None
            if isinstance(selector, dict) and "mentionsAccountOrProgram" in selector:
                block_mentions = parse_pubkey(selector["mentionsAccountOrProgram"])
            elif selector != "all":
                raise RpcError(
                    INVALID_PARAMS,
                    'Invalid params: expected "all" or {"mentionsAccountOrProgram": pubkey}.',
                )
            tip = self._block_tip(cfg)
            return Subscription(new_id, "block", send, cfg, mentions=block_mentions, last_block=tip)
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
            if record is not None and self._reached(sub, record):
                self._notify_signature(sub, record)

    def drop_connection(self, send: Send) -> None:
        for sub_id in [s.id for s in self._subs.values() if s.send is send]:
            del self._subs[sub_id]

    @property
    def subscription_count(self) -> int:
        return len(self._subs)

    # -- cluster events -----------------------------------------------------------------

    def on_slot(self, slot: int, parent: int) -> None:
        ledger = self.cluster.ledger
        root = ledger.finalized_slot
        new_root = root != self._root
        self._root = root
        for sub in list(self._subs.values()):
            if sub.kind == "slot":
                _notify(sub, "slotNotification", {"parent": parent, "root": root, "slot": slot})
            elif sub.kind == "root" and new_root:
                _notify(sub, "rootNotification", root)
            elif sub.kind == "vote":
                _notify(sub, "voteNotification", self._vote_json(slot))
            elif sub.kind == "slotsUpdates":
                for update in self._slot_updates(slot, parent, new_root):
                    _notify(sub, "slotsUpdatesNotification", update)
            elif sub.kind == "block":
                self._notify_blocks(sub)
            elif sub.kind == "signature" and sub.signature is not None:
                record = self.cluster.transaction(sub.signature)
                if record is not None and self._reached(sub, record):
                    self._notify_signature(sub, record)

    def _vote_json(self, slot: int) -> dict[str, Any]:
        """The node's own vote for `slot` (synthetic: no vote transactions are made)."""
        cluster = self.cluster
        seed = bytes(cluster.genesis_hash) + b"vote" + slot.to_bytes(8, "little")
        signature = Signature(hashlib.sha512(seed).digest())
        return {
            "votePubkey": str(cluster.vote_account.pubkey()),
            "slots": [slot],
            "hash": str(blockhash_for_slot(cluster.genesis_hash, slot)),
            "timestamp": cluster.block_time(slot),
            "signature": str(signature),
        }

    def _slot_updates(self, slot: int, parent: int, new_root: bool) -> list[dict[str, Any]]:
        ledger = self.cluster.ledger
        ms = self.cluster.timeline.now.unix_ms
        count = len(ledger.signatures(parent))
        failed = sum(1 for r in block_records(self.cluster, parent) if r.err is not None)
        updates: list[dict[str, Any]] = [
            {
                "type": "frozen",
                "slot": parent,
                "timestamp": ms,
                "stats": {
                    "numTransactionEntries": count,
                    "numSuccessfulTransactions": count - failed,
                    "numFailedTransactions": failed,
                    "maxTransactionsPerEntry": min(count, 1) if count else 0,
                },
            },
            {"type": "firstShredReceived", "slot": slot, "timestamp": ms},
            {"type": "createdBank", "slot": slot, "parent": parent, "timestamp": ms},
            {"type": "completed", "slot": slot, "timestamp": ms},
            {"type": "optimisticConfirmation", "slot": ledger.confirmed_slot, "timestamp": ms},
        ]
        if new_root:
            updates.append({"type": "root", "slot": ledger.finalized_slot, "timestamp": ms})
        return updates

    def _block_tip(self, cfg: dict[str, Any]) -> int:
        """The newest block to notify: complete (its slot is past) and at the commitment."""
        ledger = self.cluster.ledger
        return min(ledger.slot_at(commitment_of(cfg)), ledger.processed_slot - 1)

    def _notify_blocks(self, sub: Subscription) -> None:
        ledger = self.cluster.ledger
        tip = self._block_tip(sub.config)
        if tip <= sub.last_block:
            return
        slots = ledger.slots_with_transactions(sub.last_block + 1, tip)
        if not slots or slots[-1] != tip:
            slots.append(tip)
        sub.last_block = tip
        for slot in slots:
            records = block_records(self.cluster, slot)
            if sub.mentions is not None:
                records = [r for r in records if sub.mentions in r.loaded.keys]
                if not records:
                    continue
            try:
                block: Any = block_json(self.cluster, slot, sub.config, records)
                err: Any = None
            except RpcError as exc:
                block, err = None, exc.message
            value = {"slot": slot, "block": block, "err": err}
            _notify(sub, "blockNotification", {"context": {"slot": slot}, "value": value})

    def _reached(self, sub: Subscription, record: TxRecord) -> bool:
        """Whether a landed transaction is at the subscription's commitment yet."""
        return record.slot <= self.cluster.ledger.slot_at(commitment_of(sub.config))

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
                if self._reached(sub, record):
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


def _error_json(req_id: Any, err: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": req_id}


def _error(req_id: Any, err: RpcError) -> str:
    return json.dumps(_error_json(req_id, err))
