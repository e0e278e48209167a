"""`RpcHandler`: the JSON-RPC endpoint of a cluster, its method table made of the groups.

Each group module (accounts, tokens, chain, node, fees, transactions, history,
cheatcodes) lists its methods as functions of the cluster and the parameters; the
handler binds them to one cluster and leaves the framing to `JsonRpc`.
"""

from __future__ import annotations

from functools import partial

from localnet.cluster import Cluster
from localnet.rpc import (
    accounts,
    blocks,
    chain,
    cheatcodes,
    fees,
    history,
    network,
    node,
    tokens,
    transactions,
)
from localnet.rpc.framing import ClusterMethod, JsonRpc, Method

_STANDARD: tuple[dict[str, ClusterMethod], ...] = (
    accounts.METHODS,
    tokens.METHODS,
    chain.METHODS,
    blocks.METHODS,
    node.METHODS,
    network.METHODS,
    fees.METHODS,
    transactions.METHODS,
    history.METHODS,
)
_CHEATCODES: dict[str, ClusterMethod] = cheatcodes.METHODS


class RpcHandler(JsonRpc):
    """Dispatches JSON-RPC requests to a cluster. Stateless apart from the cluster."""

    def __init__(self, cluster: Cluster, *, cheatcodes: bool = True) -> None:
        table: dict[str, ClusterMethod] = {}
        for group in (*_STANDARD, _CHEATCODES) if cheatcodes else _STANDARD:
            table.update(group)
        bound: dict[str, Method] = {name: partial(fn, cluster) for name, fn in table.items()}
        super().__init__(bound)
        self.cluster = cluster
