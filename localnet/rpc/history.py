"""Transactions that landed: signature statuses, signatures by address, getTransaction.

A status says how final the transaction's slot is (localnet.ledger); getTransaction and
getSignaturesForAddress serve `confirmed` and `finalized` and see only transactions of
slots at that commitment.
"""

from __future__ import annotations

from typing import Any

from localnet.cluster import Cluster
from localnet.rpc.blocks import confirmed_commitment, transaction_encoding, version_json
from localnet.rpc.errors import invalid_params
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import (
    check_context,
    config_object,
    int_param,
    list_param,
    param,
    parse_pubkey,
    parse_signature,
)
from localnet.rpc.shapes import (
    meta_json,
    signature_info_json,
    status_json,
    transaction_json,
    with_context,
)

MAX_SIGNATURE_STATUSES = 256


def get_signature_statuses(cluster: Cluster, params: list[Any]) -> Any:
    raw = list_param(param(params, 0), "signatures", MAX_SIGNATURE_STATUSES)
    config_object(params, 1)
    values = []
    for sig in (parse_signature(s) for s in raw):
        record = cluster.transaction(sig)
        values.append(None if record is None else status_json(record, cluster.ledger))
    return with_context(values, cluster.slot)


def get_signatures_for_address(cluster: Cluster, params: list[Any]) -> Any:
    address = parse_pubkey(param(params, 0))
    cfg = config_object(params, 1)
    check_context(cfg, cluster.slot)
    limit = int_param(cfg.get("limit", 1000), "limit", 1)
    if limit > 1000:
        raise invalid_params("Invalid limit; max 1000")
    before = parse_signature(cfg["before"]) if cfg.get("before") else None
    until = parse_signature(cfg["until"]) if cfg.get("until") else None
    tip = cluster.ledger.slot_at(confirmed_commitment(cfg))
    found: list[dict[str, Any]] = []
    started = before is None
    for record in cluster.recent_transactions():
        if record.slot > tip:
            continue
        if not started:
            started = record.signature == before
            continue
        if record.signature == until or len(found) >= limit:
            break
        if address in record.loaded.keys:
            found.append(signature_info_json(record, cluster.ledger))
    return found


def get_transaction(cluster: Cluster, params: list[Any]) -> Any:
    sig = parse_signature(param(params, 0))
    raw = param(params, 1, required=False)
    cfg = {"encoding": raw} if isinstance(raw, str) else config_object(params, 1)
    commitment = confirmed_commitment(cfg)
    encoding = transaction_encoding(cfg)
    record = cluster.transaction(sig)
    if record is None or record.slot > cluster.ledger.slot_at(commitment):
        return None
    max_version = cfg.get("maxSupportedTransactionVersion")
    version = version_json(record, max_version)
    result: dict[str, Any] = {
        "slot": record.slot,
        "blockTime": record.block_time,
        "transaction": transaction_json(record, encoding),
        "meta": meta_json(record, parsed=encoding == "jsonParsed"),
    }
    if max_version is not None:
        result["version"] = version
    return result


METHODS: dict[str, ClusterMethod] = {
    "getSignatureStatuses": get_signature_statuses,
    "getSignaturesForAddress": get_signatures_for_address,
    "getTransaction": get_transaction,
}
