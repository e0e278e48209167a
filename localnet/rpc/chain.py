"""Chain methods: slots, block height and times, epochs, blockhashes, ledger bounds.

A single node without forks: block height equals the slot and every block is kept from
genesis on, so the first available block and the minimum ledger slot are 0.
"""

from __future__ import annotations

from typing import Any

from solders.hash import Hash

from localnet.cluster import Cluster
from localnet.rpc.errors import BLOCK_NOT_AVAILABLE, RpcError, invalid_params
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import check_context, config_object, int_param, param
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


def get_block_height(cluster: Cluster, params: list[Any]) -> Any:
    check_context(config_object(params, 0), cluster.slot)
    return cluster.block_height


def get_slot(cluster: Cluster, params: list[Any]) -> Any:
    check_context(config_object(params, 0), cluster.slot)
    return cluster.slot


def get_block_time(cluster: Cluster, params: list[Any]) -> Any:
    slot = int_param(param(params, 0), "slot")
    block_time = cluster.block_time(slot)
    if block_time is None:
        raise RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
    return block_time


def get_epoch_info(cluster: Cluster, params: list[Any]) -> Any:
    check_context(config_object(params, 0), cluster.slot)
    return epoch_json(cluster.epoch_info())


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
    return 0


def minimum_ledger_slot(cluster: Cluster, params: list[Any]) -> Any:
    return 0


def get_transaction_count(cluster: Cluster, params: list[Any]) -> Any:
    return cluster.transaction_count


METHODS: dict[str, ClusterMethod] = {
    "getLatestBlockhash": get_latest_blockhash,
    "isBlockhashValid": is_blockhash_valid,
    "getBlockHeight": get_block_height,
    "getSlot": get_slot,
    "getBlockTime": get_block_time,
    "getEpochInfo": get_epoch_info,
    "getEpochSchedule": get_epoch_schedule,
    "getGenesisHash": get_genesis_hash,
    "getFirstAvailableBlock": get_first_available_block,
    "minimumLedgerSlot": minimum_ledger_slot,
    "getTransactionCount": get_transaction_count,
}
