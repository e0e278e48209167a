"""The cluster as a network: its one validator, leader schedule, stake, supply, inflation.

A test validator is the only node, leader of every slot and holder of all stake, so
these answers are those of a one-node cluster. The vote account and its stake are
synthetic (no vote transactions are made and no vote/stake account is in the bank);
inflation is a test validator's default governor, and no epoch has paid rewards yet.
"""

from __future__ import annotations

from typing import Any

from localnet.cluster import Cluster
from localnet.rpc.errors import NO_SNAPSHOT, RpcError, invalid_params
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.node import API_VERSION, FEATURE_SET
from localnet.rpc.params import (
    check_context,
    commitment_of,
    config_object,
    int_param,
    list_param,
    param,
    parse_pubkey,
)
from localnet.rpc.shapes import with_context

MAX_SLOT_LEADERS = 5000
MAX_PERFORMANCE_SAMPLES = 720
MAX_LARGEST_ACCOUNTS = 20
MAX_INFLATION_REWARD_ADDRESSES = 1000
SHRED_VERSION = 1
COMMISSION = 0
#: A test validator's inflation governor (agave `Inflation::default`); rates, not money.
INFLATION = {
    "initial": 0.08,
    "terminal": 0.015,
    "taper": 0.15,
    "foundation": 0.05,
    "foundationTerm": 7.0,
}


def _tip(cluster: Cluster, cfg: dict[str, Any]) -> int:
    slot = cluster.ledger.slot_at(commitment_of(cfg))
    check_context(cfg, slot)
    return slot


def get_vote_accounts(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 0)
    tip = _tip(cluster, cfg)
    vote = str(cluster.vote_account.pubkey())
    identity = str(cluster.faucet.pubkey())
    if cfg.get("votePubkey") not in (None, vote):
        return {"current": [], "delinquent": []}
    epoch = cluster.epoch_info(tip).epoch
    account = {
        "votePubkey": vote,
        "nodePubkey": identity,
        "activatedStake": cluster.total_stake,
        "epochVoteAccount": True,
        "commission": COMMISSION,
        "lastVote": cluster.ledger.processed_slot,
        "epochCredits": [[epoch, tip, 0]],
        "rootSlot": cluster.ledger.finalized_slot,
    }
    return {"current": [account], "delinquent": []}


def get_cluster_nodes(cluster: Cluster, params: list[Any]) -> Any:
    rpc = cluster.advertised.get("rpc")
    host = rpc.rsplit(":", 1)[0] if rpc else "127.0.0.1"
    return [
        {
            "pubkey": str(cluster.faucet.pubkey()),
            "gossip": f"{host}:1024",
            "tvu": f"{host}:1025",
            "tpu": f"{host}:1027",
            "tpuQuic": f"{host}:1033",
            "tpuForwards": f"{host}:1028",
            "tpuForwardsQuic": f"{host}:1034",
            "tpuVote": f"{host}:1029",
            "serveRepair": f"{host}:1030",
            "rpc": rpc,
            "pubsub": cluster.advertised.get("pubsub"),
            "version": API_VERSION,
            "featureSet": FEATURE_SET,
            "shredVersion": SHRED_VERSION,
        }
    ]


def get_leader_schedule(cluster: Cluster, params: list[Any]) -> Any:
    raw = param(params, 0, required=False)
    if isinstance(raw, dict):
        slot_arg, cfg = None, config_object(params, 0)
    else:
        slot_arg = None if raw is None else int_param(raw, "slot")
        cfg = config_object(params, 1)
    tip = _tip(cluster, cfg)
    schedule = cluster.svm.get_epoch_schedule()
    epoch = schedule.get_epoch(tip if slot_arg is None else slot_arg)
    if epoch > schedule.get_leader_schedule_epoch(tip):
        return None
    identity = str(cluster.faucet.pubkey())
    if cfg.get("identity") not in (None, identity):
        return {}
    return {identity: list(range(schedule.get_slots_in_epoch(epoch)))}


def get_slot_leader(cluster: Cluster, params: list[Any]) -> Any:
    _tip(cluster, config_object(params, 0))
    return str(cluster.faucet.pubkey())


def get_slot_leaders(cluster: Cluster, params: list[Any]) -> Any:
    start = int_param(param(params, 0), "start slot")
    limit = int_param(param(params, 1), "limit")
    if limit > MAX_SLOT_LEADERS:
        raise invalid_params(f"Invalid limit; max {MAX_SLOT_LEADERS}")
    schedule = cluster.svm.get_epoch_schedule()
    known = schedule.get_leader_schedule_epoch(cluster.slot)
    last_known = schedule.get_last_slot_in_epoch(known)
    if limit and start + limit - 1 > last_known:
        raise invalid_params(
            f"Invalid slot range: leader schedule for epoch {schedule.get_epoch(start + limit - 1)} "
            "is unavailable"
        )
    return [str(cluster.faucet.pubkey())] * limit


def get_max_retransmit_slot(cluster: Cluster, params: list[Any]) -> Any:
    return cluster.ledger.processed_slot


def get_max_shred_insert_slot(cluster: Cluster, params: list[Any]) -> Any:
    return cluster.ledger.processed_slot


def get_highest_snapshot_slot(cluster: Cluster, params: list[Any]) -> Any:
    raise RpcError(NO_SNAPSHOT, "No snapshot")


def get_supply(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 0)
    check_context(cfg, cluster.slot)
    total = sum(acc.lamports for _, acc in cluster.all_accounts())
    value: dict[str, Any] = {"total": total, "circulating": total, "nonCirculating": 0}
    value["nonCirculatingAccounts"] = []  # no account is non-circulating here
    return with_context(value, cluster.slot)


def get_largest_accounts(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 0)
    check_context(cfg, cluster.slot)
    kind = cfg.get("filter")
    if kind not in (None, "circulating", "nonCirculating"):
        raise invalid_params(f"Invalid params: unknown filter {kind!r}.")
    found = [] if kind == "nonCirculating" else list(cluster.all_accounts())
    found.sort(key=lambda pair: -pair[1].lamports)
    value = [
        {"lamports": acc.lamports, "address": str(address)}
        for address, acc in found[:MAX_LARGEST_ACCOUNTS]
    ]
    return with_context(value, cluster.slot)


def get_inflation_governor(cluster: Cluster, params: list[Any]) -> Any:
    _tip(cluster, config_object(params, 0))
    return dict(INFLATION)


def get_inflation_rate(cluster: Cluster, params: list[Any]) -> Any:
    """Agave's rates at the current epoch: the governor tapered by the years elapsed."""
    info = cluster.epoch_info()
    slots_per_year = 365.242_199 * 24 * 60 * 60 * 1000 / 400
    year = info.absolute_slot / slots_per_year
    total = max(INFLATION["terminal"], INFLATION["initial"] * (1 - INFLATION["taper"]) ** year)
    foundation = total * INFLATION["foundation"] if year < INFLATION["foundationTerm"] else 0.0
    return {
        "total": total,
        "validator": total - foundation,
        "foundation": foundation,
        "epoch": info.epoch,
    }


def get_inflation_reward(cluster: Cluster, params: list[Any]) -> Any:
    raw = list_param(param(params, 0), "addresses", MAX_INFLATION_REWARD_ADDRESSES)
    addresses = [parse_pubkey(a) for a in raw]
    cfg = config_object(params, 1)
    tip = _tip(cluster, cfg)
    current = cluster.epoch_info(tip).epoch
    epoch = int_param(cfg.get("epoch", max(current - 1, 0)), "epoch")
    if epoch >= current:
        raise invalid_params(f"Invalid params: epoch {epoch} has not ended (current {current}).")
    return [None for _ in addresses]  # no epoch pays rewards on this cluster


def get_recent_performance_samples(cluster: Cluster, params: list[Any]) -> Any:
    raw = param(params, 0, required=False)
    limit = MAX_PERFORMANCE_SAMPLES if raw is None else int_param(raw, "limit")
    if limit > MAX_PERFORMANCE_SAMPLES:
        raise invalid_params(f"Invalid limit; max {MAX_PERFORMANCE_SAMPLES}")
    return [
        {
            "slot": s.slot,
            "numTransactions": s.num_transactions,
            "numNonVoteTransactions": s.num_non_vote_transactions,
            "numSlots": s.num_slots,
            "samplePeriodSecs": s.sample_period_secs,
        }
        for s in cluster.ledger.samples(limit)
    ]


def get_stake_minimum_delegation(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 0)
    check_context(cfg, cluster.slot)
    return with_context(1, cluster.slot)


METHODS: dict[str, ClusterMethod] = {
    "getVoteAccounts": get_vote_accounts,
    "getClusterNodes": get_cluster_nodes,
    "getLeaderSchedule": get_leader_schedule,
    "getSlotLeader": get_slot_leader,
    "getSlotLeaders": get_slot_leaders,
    "getMaxRetransmitSlot": get_max_retransmit_slot,
    "getMaxShredInsertSlot": get_max_shred_insert_slot,
    "getHighestSnapshotSlot": get_highest_snapshot_slot,
    "getSupply": get_supply,
    "getLargestAccounts": get_largest_accounts,
    "getInflationGovernor": get_inflation_governor,
    "getInflationRate": get_inflation_rate,
    "getInflationReward": get_inflation_reward,
    "getRecentPerformanceSamples": get_recent_performance_samples,
    "getStakeMinimumDelegation": get_stake_minimum_delegation,
}
