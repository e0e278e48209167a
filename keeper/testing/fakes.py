"""In-memory clusters behind the two transport seams, for tests and library users.

`FakeAccountSource` serves a dict of accounts and a Clock; `FakeTxTransport` plays
a node that lands, drops, refuses or loses transactions as scripted. Both fail the
way a real transport does: with the typed `RpcError`s of `keeper.core.errors`, so
code under test sees exactly what it would see from `SolanaRpcTransport`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.sysvar import CLOCK
from solders.transaction import VersionedTransaction

from keeper.cluster.reader import ClusterClock, clock_account
from keeper.cluster.transport import (
    RPC_METHOD,
    LatestBlockhash,
    SignatureStatus,
    SimulationAnswer,
    TxErrorJson,
    check_batch,
)
from keeper.core.errors import RpcRejected, RpcUnreachable
from keeper.core.views import RawAccount

FAKE_ENDPOINT = "fake://cluster"
SIMULATION_OK = SimulationAnswer(None, ("Program log: simulated",), 1_234)


@dataclass
class _Failures:
    """Errors scripted per method name, each raised once, in order, before answering."""

    endpoint: str = FAKE_ENDPOINT
    #: how many times each method was called
    calls: dict[str, int] = field(default_factory=dict)
    _queued: dict[str, deque[Exception]] = field(default_factory=dict)

    def fail(self, method: str, error: Exception, times: int = 1) -> None:
        """The next `times` calls of `method` (a transport method name) raise `error`."""
        if method not in RPC_METHOD:
            raise ValueError(f"no transport method {method!r}; one of {sorted(RPC_METHOD)}")
        self._queued.setdefault(method, deque()).extend([error] * times)

    def unreachable(self, method: str, times: int = 1, cause: str = "connection refused") -> None:
        """The next `times` calls of `method` fail as if the node were down."""
        self.fail(method, RpcUnreachable(RPC_METHOD[method], self.endpoint, cause), times)

    def rejected(self, method: str, answer: str, times: int = 1) -> None:
        """The next `times` calls of `method` get this JSON-RPC error answer."""
        error = RpcRejected(RPC_METHOD[method], self.endpoint, f"the node refused it: {answer}")
        self.fail(method, error, times)

    def enter(self, method: str) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1
        queued = self._queued.get(method)
        if queued:
            raise queued.popleft()


class FakeAccountSource(_Failures):
    """An `AccountSource` over a dict; the Clock sysvar is one of its accounts.

    Mutate `accounts` (tamper with one, drop one) or call `set_clock` between reads.
    """

    def __init__(
        self,
        accounts: dict[Pubkey, RawAccount],
        *,
        slot: int,
        unix_timestamp: int | None = None,
        epoch: int = 0,
    ) -> None:
        super().__init__()
        self.accounts = dict(accounts)
        self.slot = slot
        if unix_timestamp is not None:
            self.set_clock(slot, unix_timestamp, epoch)

    @property
    def reads(self) -> int:
        return self.calls.get("get_multiple", 0)

    def set_clock(self, slot: int, unix_timestamp: int, epoch: int = 0) -> None:
        """Move the cluster to this slot and time (context slot and Clock sysvar)."""
        self.slot = slot
        self.accounts[CLOCK] = clock_account(ClusterClock(slot, epoch, unix_timestamp))

    async def get_multiple(
        self, addresses: Sequence[Pubkey]
    ) -> tuple[int, list[RawAccount | None]]:
        check_batch(addresses)
        self.enter("get_multiple")
        return self.slot, [self.accounts.get(a) for a in addresses]


@dataclass
class _Pending:
    last_valid_block_height: int
    polls_left: int


@dataclass
class FakeTxTransport(_Failures):
    """A `TxTransport` playing one node. Script it through the fields:

    - `height`: the block height (`expire_blockhashes` moves it past every blockhash);
    - `simulation`: what every simulate answers (default: success);
    - `drop_sends`: the first N broadcasts are accepted and silently lost;
    - `polls_to_land`: status polls between an accepted broadcast and its landing;
    - `polls_to_confirm`: polls it then stays "processed" before "confirmed";
    - `landed_err` / `landed_logs`: what a landed transaction failed with / logged;
    - `expire_after_polls`: after this many status polls every blockhash handed
      out expires (the block height passes it) and unlanded transactions never land;
    - `status_cache_polls`: a landed signature drops out of the node's status cache
      this many polls after landing (then only `search_history` finds it), as a real
      node forgets statuses older than about 150 blocks; None: never;
    - `fail`, `unreachable`, `rejected`: errors for the next calls of a method.
    """

    commitment: str = "confirmed"
    height: int = 1_000
    valid_for_blocks: int = 150
    slot: int = 42
    simulation: SimulationAnswer = SIMULATION_OK
    drop_sends: int = 0
    polls_to_land: int = 0
    polls_to_confirm: int = 0
    landed_err: TxErrorJson | None = None
    landed_logs: tuple[str, ...] = ("Program log: landed",)
    expire_after_polls: int | None = None
    status_cache_polls: int | None = None
    #: status polls that asked for the ledger's history (searchTransactionHistory)
    history_searches: int = 0
    #: what getRecentPrioritizationFees answers (per recent slot, micro-lamports per CU)
    recent_priority_fees: tuple[int, ...] = (0,)
    #: the next N broadcasts are forwarded (and land as usual) but answer a timeout
    lose_send_answers: int = 0
    #: every broadcast, dropped ones included
    sent: list[bytes] = field(default_factory=list)
    polls: int = 0
    _pending: dict[Signature, _Pending] = field(default_factory=dict)
    _landed: dict[Signature, tuple[int, int]] = field(default_factory=dict)  # sig → (slot, poll)
    _issued: dict[Hash, int] = field(default_factory=dict)  # blockhash → last valid height
    _errs: dict[Signature, TxErrorJson | None] = field(default_factory=dict)  # by land_now

    def land_now(self, raw: bytes, err: TxErrorJson | None = None) -> Signature:
        """The node takes this transaction and lands it at once (another process sent
        it), with `err` as its outcome."""
        signature = VersionedTransaction.from_bytes(raw).signatures[0]
        self._pending.pop(signature, None)
        self._landed[signature] = (self.slot, self.polls)
        self._errs[signature] = err
        return signature

    def expire_blockhashes(self) -> None:
        """The chain moves past every blockhash handed out so far."""
        self.height = max([self.height, *self._issued.values()]) + 1

    async def latest_blockhash(self) -> LatestBlockhash:
        self.enter("latest_blockhash")
        blockhash = Hash.new_unique()
        last_valid = self.height + self.valid_for_blocks
        self._issued[blockhash] = last_valid
        return LatestBlockhash(blockhash, last_valid)

    async def simulate(self, tx: VersionedTransaction) -> SimulationAnswer:
        self.enter("simulate")
        return self.simulation

    async def send_raw(self, raw: bytes) -> None:
        self.enter("send_raw")
        self.sent.append(raw)
        if len(self.sent) <= self.drop_sends:
            return
        tx = VersionedTransaction.from_bytes(raw)
        signature = tx.signatures[0]
        last_valid = self._issued.get(tx.message.recent_blockhash)
        if last_valid is None or self.height > last_valid:
            return  # an unknown or expired blockhash never lands
        if signature not in self._pending and signature not in self._landed:
            self._pending[signature] = _Pending(last_valid, self.polls_to_land)
        if self.lose_send_answers > 0:
            self.lose_send_answers -= 1
            raise RpcUnreachable(
                RPC_METHOD["send_raw"],
                self.endpoint,
                "the node did not answer within 10 s",
                maybe_delivered=True,
            )

    async def signature_status(
        self, signature: Signature, *, search_history: bool = False
    ) -> SignatureStatus | None:
        self.enter("signature_status")
        if search_history:  # a look-up in the ledger, not a poll: nothing moves on
            self.history_searches += 1
            if signature not in self._landed:
                return None
            return SignatureStatus(
                self._landed[signature][0],
                self._errs.get(signature, self.landed_err),
                "finalized" if self.commitment == "finalized" else "confirmed",
            )
        self.polls += 1
        if self.expire_after_polls is not None and self.polls > self.expire_after_polls:
            self.expire_blockhashes()
        pending = self._pending.get(signature)
        if pending is not None:
            if self.height > pending.last_valid_block_height:
                del self._pending[signature]
            elif pending.polls_left > 0:
                pending.polls_left -= 1
            else:
                del self._pending[signature]
                self._landed[signature] = (self.slot, self.polls)
        if signature not in self._landed:
            return None
        slot, landed_at = self._landed[signature]
        if self.status_cache_polls is not None and self.polls - landed_at > self.status_cache_polls:
            return None  # out of the recent status cache
        confirmed = self.polls - landed_at >= self.polls_to_confirm
        level = "processed"
        if confirmed:
            level = "finalized" if self.commitment == "finalized" else "confirmed"
        return SignatureStatus(slot, self._errs.get(signature, self.landed_err), level)

    async def transaction_logs(self, signature: Signature) -> tuple[str, ...] | None:
        self.enter("transaction_logs")
        return self.landed_logs if signature in self._landed else None

    async def block_height(self) -> int:
        self.enter("block_height")
        return self.height

    async def priority_fees(self, writable: Sequence[Pubkey]) -> tuple[int, ...]:
        self.enter("priority_fees")
        return self.recent_priority_fees
