"""Cluster I/O: the account reader, the transaction sender, PubSub watching, redaction.

The only layer that imports solana-py's RPC client, websockets and httpx. Every
transport is injected, so tests run the same code over in-memory fakes.
"""

import sys

# httpx imports its own command line (`httpx._main`, which loads Rich, Pygments and
# Click) whenever Click is installed; the keeper never runs it, and it costs ~25 ms of
# every CLI cold start. A None entry makes that optional import fail, as httpx allows.
# Set here, before any module of this layer imports httpx.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
