"""What the node says about itself: health, version, identity.

The version is the agave release whose RPC this localnet answers like; every context
carries it as `apiVersion`.
"""

from __future__ import annotations

from typing import Any

from localnet.cluster import Cluster
from localnet.rpc.framing import ClusterMethod

API_VERSION = "2.2.0"
FEATURE_SET = 3294202862


def get_health(cluster: Cluster, params: list[Any]) -> Any:
    return "ok"


def get_version(cluster: Cluster, params: list[Any]) -> Any:
    return {"solana-core": API_VERSION, "feature-set": FEATURE_SET}


def get_identity(cluster: Cluster, params: list[Any]) -> Any:
    return {"identity": str(cluster.faucet.pubkey())}


METHODS: dict[str, ClusterMethod] = {
    "getHealth": get_health,
    "getVersion": get_version,
    "getIdentity": get_identity,
}
