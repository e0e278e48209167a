"""Slots, wall time and blockhashes, kept the way a validator keeps them.

A validator makes one block per slot; each block has a blockhash, and a transaction
is accepted while its blockhash is at most `MAX_PROCESSING_AGE` (150) blocks old
(`Bank::is_hash_valid_for_age`: age ≤ 150). `getLatestBlockhash` therefore answers
`lastValidBlockHeight = height + 150`. Here every slot has a block (no skipped slots),
so block height equals slot and the rule reads: a blockhash made at slot s is valid
through slot s + 150 and rejected from s + 151.

Time is kept in integer milliseconds; the Clock sysvar's `unix_timestamp` is its floor
in seconds. Each slot advances it by the slot duration; time travel may jump it. Block
times of past slots are answered from the list of jumps (piecewise linear), so no
per-slot table is kept even after warping a million slots.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass

from solders.hash import Hash

MAX_PROCESSING_AGE = 150


@dataclass(frozen=True)
class TimePoint:
    """A slot and the cluster time (ms since the Unix epoch) at that slot."""

    slot: int
    unix_ms: int

    @property
    def unix_timestamp(self) -> int:
        return self.unix_ms // 1000


class SlotTimeline:
    """The current slot and time, plus enough history to date any past slot."""

    def __init__(self, start: TimePoint, slot_ms: int) -> None:
        if slot_ms <= 0:
            raise ValueError(f"slot duration must be positive, got {slot_ms} ms")
        self.slot_ms = slot_ms
        self._now = start
        # Each segment starts at a point; later slots in it are `slot_ms` apart.
        self._segments: list[TimePoint] = [start]

    @property
    def now(self) -> TimePoint:
        return self._now

    @property
    def genesis(self) -> TimePoint:
        return self._segments[0]

    def advance(
        self, slots: int, unix_ms: int | None = None, *, allow_backwards: bool = False
    ) -> TimePoint:
        """Move forward `slots` slots; time follows the slot rate unless `unix_ms` is given.

        `allow_backwards` lets the wall clock (never the slot) go back, which only a
        replay of a recording that did so needs.
        """
        if slots < 0:
            raise ValueError("slots only move forward")
        linear_ms = self._now.unix_ms + slots * self.slot_ms
        target_ms = linear_ms if unix_ms is None else unix_ms
        if target_ms < self._now.unix_ms and not allow_backwards:
            raise ValueError("time only moves forward")
        point = TimePoint(self._now.slot + slots, target_ms)
        if target_ms != linear_ms:
            self._segments.append(point)
        self._now = point
        return point

    def unix_ms_at(self, slot: int) -> int | None:
        """Cluster time at a past or current slot; None for a future slot."""
        if slot > self._now.slot or slot < self._segments[0].slot:
            return None
        i = bisect_right([s.slot for s in self._segments], slot) - 1
        seg = self._segments[i]
        return seg.unix_ms + (slot - seg.slot) * self.slot_ms


def blockhash_for_slot(genesis: Hash, slot: int) -> Hash:
    """A deterministic, unpredictable-enough blockhash per slot of one cluster."""
    return Hash(hashlib.sha256(bytes(genesis) + slot.to_bytes(8, "little")).digest())


class BlockhashRegistry:
    """Blockhashes of the last `MAX_PROCESSING_AGE + 1` slots."""

    def __init__(self, genesis: Hash, slot: int, max_age: int = MAX_PROCESSING_AGE) -> None:
        self.genesis = genesis
        self.max_age = max_age
        self._by_hash: dict[Hash, int] = {}
        self._latest_slot = slot
        self._latest = self._register(slot)

    def _register(self, slot: int) -> Hash:
        h = blockhash_for_slot(self.genesis, slot)
        self._by_hash[h] = slot
        return h

    @property
    def latest(self) -> Hash:
        return self._latest

    @property
    def latest_slot(self) -> int:
        return self._latest_slot

    def last_valid_block_height(self, h: Hash) -> int | None:
        slot = self._by_hash.get(h)
        return None if slot is None else slot + self.max_age

    def advance_to(self, slot: int) -> None:
        """Make the blocks of the slots up to `slot`; only the last 151 can matter."""
        if slot <= self._latest_slot:
            return
        first = max(self._latest_slot + 1, slot - self.max_age)
        for s in range(first, slot + 1):
            self._latest = self._register(s)
        self._latest_slot = slot
        horizon = slot - self.max_age
        if len(self._by_hash) > self.max_age + 1:
            self._by_hash = {h: s for h, s in self._by_hash.items() if s >= horizon}

    def slot_of(self, h: Hash) -> int | None:
        """The slot whose block has this hash, if it is still valid."""
        slot = self._by_hash.get(h)
        if slot is None or self._latest_slot - slot > self.max_age:
            return None
        return slot

    def is_valid(self, h: Hash) -> bool:
        return self.slot_of(h) is not None

    def recent(self, limit: int = 512) -> list[tuple[int, Hash]]:
        """(slot, hash) newest first, for the SlotHashes sysvar."""
        pairs = sorted(((s, h) for h, s in self._by_hash.items()), key=lambda p: -p[0])
        return pairs[:limit]
