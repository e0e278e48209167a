"""Commitment with a test validator's lag (confirmed 1 slot, finalized 31 slots behind) and
the ledger's lower bound, through the JSON-RPC handler of a cluster of their own."""

from __future__ import annotations

import json
from typing import Any

from solders.keypair import Keypair

from localnet.cluster import Cluster, ClusterConfig
from localnet.rpc import RpcHandler


def _call(handler: RpcHandler, method: str, *params: Any) -> dict[str, Any]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    reply: dict[str, Any] = json.loads(handler.handle(body.encode()))
    return reply


def _lagging(**extra: Any) -> tuple[Cluster, RpcHandler]:
    cluster = Cluster(
        ClusterConfig(manual_slots=True, confirmed_depth=1, finalized_depth=31, **extra)
    )
    return cluster, RpcHandler(cluster)


def test_a_transaction_climbs_processed_confirmed_finalized() -> None:
    cluster, rpc = _lagging()
    cluster.advance_slots(40)
    sig = str(cluster.airdrop(Keypair().pubkey(), 10).signature)
    status = _call(rpc, "getSignatureStatuses", [sig])["result"]["value"][0]
    assert status["confirmationStatus"] == "processed" and status["confirmations"] == 0
    assert _call(rpc, "getTransaction", sig, {"commitment": "confirmed"})["result"] is None
    assert _call(rpc, "getBlock", 40, {"commitment": "confirmed"})["error"]["code"] == -32004
    assert _call(rpc, "getSlot", {"commitment": "processed"})["result"] == 40
    assert _call(rpc, "getSlot", {"commitment": "confirmed"})["result"] == 39
    assert _call(rpc, "getSlot")["result"] == 9  # finalized by default

    cluster.advance_slots(1)
    status = _call(rpc, "getSignatureStatuses", [sig])["result"]["value"][0]
    assert status["confirmationStatus"] == "confirmed" and status["confirmations"] == 1
    got = _call(rpc, "getTransaction", sig, {"commitment": "confirmed"})["result"]
    assert got["slot"] == 40
    assert _call(rpc, "getTransaction", sig)["result"] is None  # not finalized yet
    block = _call(rpc, "getBlock", 40, {"commitment": "confirmed"})["result"]
    assert block["transactions"][0]["transaction"]["signatures"] == [sig]
    assert _call(rpc, "getBlocks", 38, {"commitment": "confirmed"})["result"] == [38, 39, 40]
    assert _call(rpc, "getBlocks", 38)["result"] == []
    commitment = _call(rpc, "getBlockCommitment", 40)["result"]
    assert commitment["commitment"][1] == commitment["totalStake"]

    cluster.advance_slots(30)
    status = _call(rpc, "getSignatureStatuses", [sig])["result"]["value"][0]
    assert status["confirmationStatus"] == "finalized" and status["confirmations"] is None
    assert _call(rpc, "getTransaction", sig)["result"]["slot"] == 40
    assert _call(rpc, "getBlockCommitment", 40)["result"]["commitment"] is None


def test_ticking_clusters_lag_like_a_test_validator() -> None:
    assert ClusterConfig().depths() == (1, 31)
    assert ClusterConfig(manual_slots=True).depths() == (0, 0)


def test_blocks_dropped_with_the_history_are_cleaned_up() -> None:
    cluster, rpc = _lagging(history_capacity=1)
    cluster.airdrop(Keypair().pubkey(), 10)
    cluster.advance_slots(40)
    cluster.airdrop(Keypair().pubkey(), 10)
    cluster.advance_slots(40)
    assert _call(rpc, "getFirstAvailableBlock")["result"] == 1
    assert _call(rpc, "minimumLedgerSlot")["result"] == 1
    assert _call(rpc, "getBlock", 0)["error"] == {
        "code": -32001,
        "message": "Block 0 cleaned up, does not exist on node. First available block: 1",
    }
    assert _call(rpc, "getBlocks", 0, 3)["result"] == [1, 2, 3]
    assert len(_call(rpc, "getBlock", 40)["result"]["transactions"]) == 1
