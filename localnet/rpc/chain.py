"""Chain methods: slots, block height and times, epochs, blockhashes, ledger bounds.

A single node without forks: block height equals the slot; slot reads follow the asked
commitment (localnet.ledger); the ledger starts at slot 0 and loses blocks only when the
transaction history drops them. Block methods are in `blocks`.
"""

from __future__ import annotations

from typing import Any

from solders.hash import Hash

from localnet.cluster import Cluster
from localnet.rpc.errors import invalid_params
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import check_context, commitment_of, config_object, param
from localnet.rpc.shapes import blockhash_json, epoch_json, with_context


def get_latest_blockhash(cluster: Cluster, params: list[Any]) -> Any:
    check_context(config_object(params, 0), cluster.slot)
    return with_context(blockhash_json(*cluster.latest_blockhash()), cluster.slot)


def is_blockhash_valid(cluster: Cluster, params: list[Any]) -> Any:
    raw = param(params, 0)
    check_context(config_object(params, 1), cluster.slot)
    try:
        blockhash = Hash.from_string(raw) if isinstance(raw, str) else None
    except Exception:  # solders raises ParseHashError, which is no ValueError
        blockhash = None
    if blockhash is None:
        raise invalid_params("Invalid param: Invalid")
    return with_context(cluster.is_blockhash_valid(blockhash), cluster.slot)


def committed_slot(cluster: Cluster, cfg: dict[str, Any]) -> int:
    """The newest slot at the config's commitment (minContextSlot checked against it)."""
    slot = cluster.ledger.slot_at(commitment_of(cfg))
    check_context(cfg, slot)
    return slot


def get_block_height(cluster: Cluster, params: list[Any]) -> Any:
    return committed_slot(cluster, config_object(params, 0))  # no skipped slots


def get_slot(cluster: Cluster, params: list[Any]) -> Any:
    return committed_slot(cluster, config_object(params, 0))


def get_epoch_info(cluster: Cluster, params: list[Any]) -> Any:
    return epoch_json(cluster.epoch_info(committed_slot(cluster, config_object(params, 0))))


def get_epoch_schedule(cluster: Cluster, params: list[Any]) -> Any:
    s = cluster.svm.get_epoch_schedule()
    return {
        "slotsPerEpoch": s.slots_per_epoch,
        "leaderScheduleSlotOffset": s.leader_schedule_slot_offset,
        "warmup": s.warmup,
        "firstNormalEpoch": s.first_normal_epoch,
        "firstNormalSlot": s.first_normal_slot,
    }


def get_genesis_hash(cluster: Cluster, params: list[Any]) -> Any:
    return str(cluster.genesis_hash)


def get_first_available_block(cluster: Cluster, params: list[Any]) -> Any:
    return cluster.ledger.first_available


def minimum_ledger_slot(cluster: Cluster, params: list[Any]) -> Any:
    return cluster.ledger.first_available


def get_transaction_count(cluster: Cluster, params: list[Any]) -> Any:
    return cluster.transaction_count


METHODS: dict[str, ClusterMethod] = {
    "getLatestBlockhash": get_latest_blockhash,
    "isBlockhashValid": is_blockhash_valid,
    "getBlockHeight": get_block_height,
    "getSlot": get_slot,
    "getEpochInfo": get_epoch_info,
    "getEpochSchedule": get_epoch_schedule,
    "getGenesisHash": get_genesis_hash,
    "getFirstAvailableBlock": get_first_available_block,
    "minimumLedgerSlot": minimum_ledger_slot,
    "getTransactionCount": get_transaction_count,
}
