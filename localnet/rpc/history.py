"""Transactions that landed: signature statuses, signatures by address, getTransaction.

Every landed transaction is final on this single node, so statuses say `finalized` and
getTransaction serves any commitment from `confirmed` up.
"""

from __future__ import annotations

from typing import Any

from solders.message import MessageV0

from localnet.cluster import Cluster
from localnet.rpc.errors import TRANSACTION_VERSION_UNSUPPORTED, RpcError, invalid_params
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import (
    CONFIRMED_OR_MORE,
    check_context,
    commitment_of,
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
        values.append(None if record is None else status_json(record))
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
    found: list[dict[str, Any]] = []
    started = before is None
    for record in cluster.recent_transactions():
        if not started:
            started = record.signature == before
            continue
        if record.signature == until or len(found) >= limit:
            break
        if address in record.loaded.keys:
            found.append(signature_info_json(record))
    return found


def get_transaction(cluster: Cluster, params: list[Any]) -> Any:
    sig = parse_signature(param(params, 0))
    cfg = config_object(params, 1)
    commitment = commitment_of(cfg)
    if commitment not in CONFIRMED_OR_MORE:
        raise invalid_params("Method does not support commitment below `confirmed`")
    encoding = cfg.get("encoding", "json")
    if encoding not in ("json", "jsonParsed", "base64", "base58"):
        raise invalid_params(f"Invalid params: unknown encoding {encoding!r}.")
    max_version = cfg.get("maxSupportedTransactionVersion")
    record = cluster.transaction(sig)
    if record is None:
        return None
    is_v0 = isinstance(record.transaction.message, MessageV0)
    if is_v0 and max_version is None:
        raise RpcError(
            TRANSACTION_VERSION_UNSUPPORTED,
            "Transaction version (0) is not supported by the requesting client. Please try "
            "the request again with the following configuration parameter: "
            '"maxSupportedTransactionVersion": 0',
        )
    result: dict[str, Any] = {
        "slot": record.slot,
        "blockTime": record.block_time,
        "transaction": transaction_json(record, str(encoding)),
        "meta": meta_json(record),
    }
    if max_version is not None:
        result["version"] = 0 if is_v0 else "legacy"
    return result


METHODS: dict[str, ClusterMethod] = {
    "getSignatureStatuses": get_signature_statuses,
    "getSignaturesForAddress": get_signatures_for_address,
    "getTransaction": get_transaction,
}
