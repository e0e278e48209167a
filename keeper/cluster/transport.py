"""The two seams between this package and a cluster, in the project's own types.

`AccountSource` is what the reader needs (one `getMultipleAccounts` per snapshot),
`TxTransport` what the sender needs (blockhash, simulate, send, statuses, logs,
block height). Both answer with the small frozen types below, never with a client
library's response objects, and fail only with the `RpcError` tree of
`keeper.core.errors` (unreachable / rejected / bad answer), with the endpoint
already redacted. So the reader and the sender run unchanged over solana-py
(`keeper.cluster.solana_rpc`) or over the in-memory fakes of `keeper.testing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from keeper.core.views import RawAccount

#: `getMultipleAccounts` answers at most this many addresses per call.
MAX_ACCOUNTS_PER_CALL = 100


def check_batch(addresses: Sequence[Pubkey]) -> None:
    """Refuse (a programming error, not the node's) a batch larger than one call reads."""
    if len(addresses) > MAX_ACCOUNTS_PER_CALL:
        raise ValueError(f"at most {MAX_ACCOUNTS_PER_CALL} accounts per call")


#: The JSON-RPC method behind each transport call, as error messages name it.
RPC_METHOD = {
    "get_multiple": "getMultipleAccounts",
    "latest_blockhash": "getLatestBlockhash",
    "simulate": "simulateTransaction",
    "send_raw": "sendTransaction",
    "signature_status": "getSignatureStatuses",
    "transaction_logs": "getTransaction",
    "block_height": "getBlockHeight",
    "priority_fees": "getRecentPrioritizationFees",
}

#: A transaction error in its JSON-RPC shape: a string for unit variants
#: ("BlockhashNotFound") or a dict ({"InstructionError": [0, {"Custom": 6133}]}).
TxErrorJson = str | dict[str, object]


@dataclass(frozen=True)
class LatestBlockhash:
    blockhash: Hash
    #: the last block height at which a transaction with this blockhash can land
    last_valid_block_height: int


@dataclass(frozen=True)
class SimulationAnswer:
    """What the node says running the transaction would do."""

    err: TxErrorJson | None
    logs: tuple[str, ...]
    units_consumed: int | None


@dataclass(frozen=True)
class SignatureStatus:
    """A signature the node has seen land (with or without an error)."""

    slot: int
    err: TxErrorJson | None
    #: "processed", "confirmed" or "finalized"
    confirmation_status: str


class AccountSource(Protocol):
    """Where accounts come from: returns the context slot and one entry per address."""

    async def get_multiple(
        self, addresses: Sequence[Pubkey]
    ) -> tuple[int, list[RawAccount | None]]: ...


class TxTransport(Protocol):
    """The calls a transaction sender makes, at the transport's commitment."""

    @property
    def endpoint(self) -> str:
        """The cluster's URL, redacted: safe to print."""
        ...

    @property
    def commitment(self) -> str:
        """The commitment reads are made at ("processed", "confirmed", "finalized")."""
        ...

    async def latest_blockhash(self) -> LatestBlockhash: ...

    async def simulate(self, tx: VersionedTransaction) -> SimulationAnswer:
        """Run the transaction with signature verification, changing nothing."""
        ...

    async def send_raw(self, raw: bytes) -> None:
        """Broadcast once, without preflight and without the node's own retries."""
        ...

    async def signature_status(
        self, signature: Signature, *, search_history: bool = False
    ) -> SignatureStatus | None:
        """None while the node has not seen the signature land.

        A node keeps statuses only for recent slots (its status cache, about 150
        blocks); `search_history` asks it to look through its ledger too
        (`searchTransactionHistory`), for a signature that may have landed long ago.
        """
        ...

    async def transaction_logs(self, signature: Signature) -> tuple[str, ...] | None:
        """The landed transaction's log messages; None when the node has none."""
        ...

    async def block_height(self) -> int: ...

    async def priority_fees(self, writable: Sequence[Pubkey]) -> tuple[int, ...]:
        """Recent slots' lowest landed compute-unit prices (micro-lamports) for
        transactions that wrote any of these accounts (at most 128)."""
        ...
