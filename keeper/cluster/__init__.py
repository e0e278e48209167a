"""Cluster I/O: the account reader, the transaction sender, PubSub watching, redaction.

The only layer that imports solana-py's RPC client, websockets and httpx. Every
transport is injected, so tests run the same code over in-memory fakes.
"""
