"""Test doubles for the cluster seams, shipped for this package's tests and its users.

Build a `Session` (or a `TxSender`, or call `fetch_snapshot`) over these instead of
a network: no sockets, deterministic, and failing with the same typed errors as the
production transport.
"""

from __future__ import annotations

from keeper.testing.fakes import FAKE_ENDPOINT, FakeAccountSource, FakeTxTransport

__all__ = ["FAKE_ENDPOINT", "FakeAccountSource", "FakeTxTransport"]
