"""The ledger of a single node: which slots hold which transactions, and how final each is.

Every slot makes a block (block height = slot). Only blocks with transactions are
stored (as the signatures, in landing order); an empty block is derived from its slot.
When the transaction history drops its oldest records, the blocks they were in are
dropped too and the first available block moves past them, as a validator's ledger
cleanup moves its lowest slot.

Commitment follows a test validator's single vote: a block is *processed* as soon as it
is the bank's slot, *confirmed* once `confirmed_depth` newer slots exist, and
*finalized* (rooted) once `finalized_depth` newer slots exist. A test validator
confirms a slot about one slot later and roots it about 31 slots later; with manual
slots both depths are 0, so a test that does not move the clock sees every landed
transaction finalized at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.signature import Signature

#: A test validator's vote-to-root distance (`MAX_LOCKOUT_HISTORY` - 1).
TEST_VALIDATOR_FINALIZED_DEPTH = 31
#: A test validator confirms (supermajority of its one vote) the slot after.
TEST_VALIDATOR_CONFIRMED_DEPTH = 1
#: The period of getRecentPerformanceSamples, as on a validator.
SAMPLE_PERIOD_SECS = 60
MAX_SAMPLES = 720


@dataclass(frozen=True)
class PerformanceSample:
    """One getRecentPerformanceSamples entry: what happened in one sample period."""

    slot: int
    num_transactions: int
    num_non_vote_transactions: int
    num_slots: int
    sample_period_secs: int


class Ledger:
    """Blocks by slot and the commitment frontier; fed by the cluster, read by the RPC."""

    def __init__(self, confirmed_depth: int, finalized_depth: int) -> None:
        if not 0 <= confirmed_depth <= finalized_depth:
            raise ValueError(
                f"commitment depths must satisfy 0 ≤ confirmed ({confirmed_depth}) ≤ "
                f"finalized ({finalized_depth})"
            )
        self.confirmed_depth = confirmed_depth
        self.finalized_depth = finalized_depth
        self.processed_slot = 0
        self.first_available = 0
        self._blocks: dict[int, list[Signature]] = {}
        self._samples: list[PerformanceSample] = []
        self._sample_start: tuple[int, int, int] | None = None  # slot, unix ms, tx count

    # -- commitment ---------------------------------------------------------------------

    @property
    def confirmed_slot(self) -> int:
        return max(0, self.processed_slot - self.confirmed_depth)

    @property
    def finalized_slot(self) -> int:
        return max(0, self.processed_slot - self.finalized_depth)

    def slot_at(self, commitment: str) -> int:
        """The newest slot at a commitment level (the RPC's names, old aliases included)."""
        if commitment in ("processed", "recent"):
            return self.processed_slot
        if commitment in ("confirmed", "single", "singleGossip"):
            return self.confirmed_slot
        return self.finalized_slot

    def status_of(self, slot: int) -> str:
        """The confirmationStatus of a transaction that landed in `slot`."""
        if slot <= self.finalized_slot:
            return "finalized"
        if slot <= self.confirmed_slot:
            return "confirmed"
        return "processed"

    def confirmations(self, slot: int) -> int | None:
        """Blocks built on top of `slot` (None once rooted), as getSignatureStatuses says."""
        if slot <= self.finalized_slot:
            return None
        return self.processed_slot - slot

    # -- blocks -------------------------------------------------------------------------

    def record(self, slot: int, signature: Signature) -> None:
        self._blocks.setdefault(slot, []).append(signature)

    def forget_through(self, slot: int) -> None:
        """The history dropped a transaction of `slot`: blocks up to it are gone."""
        if slot < self.first_available:
            return
        for s in [s for s in self._blocks if s <= slot]:
            del self._blocks[s]
        self.first_available = slot + 1

    def signatures(self, slot: int) -> list[Signature]:
        return list(self._blocks.get(slot, ()))

    def slots_with_transactions(self, first: int, last: int) -> list[int]:
        return sorted(s for s in self._blocks if first <= s <= last)

    def has_block(self, slot: int, commitment: str) -> bool:
        return self.first_available <= slot <= self.slot_at(commitment)

    # -- performance samples --------------------------------------------------------------

    def on_slot(self, slot: int, unix_ms: int, transaction_count: int) -> None:
        """The bank moved to `slot` at `unix_ms`; closes a sample every 60 s of cluster time."""
        self.processed_slot = slot
        if self._sample_start is None:
            self._sample_start = (slot, unix_ms, transaction_count)
            return
        start_slot, start_ms, start_count = self._sample_start
        if unix_ms - start_ms < SAMPLE_PERIOD_SECS * 1000:
            return
        count = transaction_count - start_count
        self._samples.append(
            PerformanceSample(slot, count, count, slot - start_slot, SAMPLE_PERIOD_SECS)
        )
        del self._samples[:-MAX_SAMPLES]
        self._sample_start = (slot, unix_ms, transaction_count)

    def samples(self, limit: int) -> list[PerformanceSample]:
        """Newest first."""
        return list(reversed(self._samples))[:limit]
