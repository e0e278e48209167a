"""Fee methods: the fee of a message and the recent prioritisation fees.

Prioritisation fees are the lowest compute-unit price paid per slot over the last 150
slots, by transactions that write any of the given accounts (or by all, when none given).
"""

from __future__ import annotations

from typing import Any

from solders.message import Message, MessageV0, from_bytes_versioned

from localnet.cluster import Cluster
from localnet.encoding import decode_bytes
from localnet.rpc.errors import invalid_params
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import check_context, config_object, param, parse_pubkey
from localnet.rpc.shapes import with_context


def get_fee_for_message(cluster: Cluster, params: list[Any]) -> Any:
    raw = param(params, 0)
    check_context(config_object(params, 1), cluster.slot)
    try:
        message: Message | MessageV0 = from_bytes_versioned(decode_bytes(raw, "base64"))
    except Exception as exc:
        raise invalid_params(f"Invalid params: invalid message: {exc}") from exc
    return with_context(cluster.fee_for_message(message), cluster.slot)


def get_recent_prioritization_fees(cluster: Cluster, params: list[Any]) -> Any:
    raw = param(params, 0, required=False) or []
    if not isinstance(raw, list) or len(raw) > 128:
        raise invalid_params("Invalid params: expected at most 128 account addresses.")
    wanted = {parse_pubkey(a) for a in raw}
    horizon = cluster.slot - 150
    by_slot: dict[int, int] = {}
    for record in cluster.recent_transactions():
        if record.slot < horizon:
            break
        loaded = record.loaded
        if wanted and not any(
            k in wanted for k, w in zip(loaded.keys, loaded.writable, strict=True) if w
        ):
            continue
        price = loaded.budget().unit_price_micro_lamports
        by_slot[record.slot] = min(price, by_slot.get(record.slot, price))
    if not by_slot:
        by_slot[cluster.slot] = 0
    return [{"slot": s, "prioritizationFee": f} for s, f in sorted(by_slot.items())]


METHODS: dict[str, ClusterMethod] = {
    "getFeeForMessage": get_fee_for_message,
    "getRecentPrioritizationFees": get_recent_prioritization_fees,
}
