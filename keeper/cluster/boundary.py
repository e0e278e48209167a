"""HTTP failures → the typed `RpcError`s, shared by both transports.

The httpx part of the RPC boundary: `solana_rpc.rpc_failure` adds solana-py's own
exceptions on top. Kept apart so the light reader (`http_reader`) classifies the same
failures with the same sentences without importing solana-py.
"""

from __future__ import annotations

import httpx

from keeper.cluster.redact import redact_text
from keeper.core.errors import RpcError, RpcUnreachable


def exception_text(exc: BaseException) -> str:
    """An exception's text, redacted (it may quote the URL and so an API key)."""
    return redact_text(str(exc) or type(exc).__name__)


def http_failure(
    method: str, endpoint: str, exc: BaseException, timeout_seconds: float
) -> RpcError | None:
    """The typed error for a transport-level failure, or None if `exc` is not one."""
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return RpcUnreachable(
            method,
            endpoint,
            f"the node did not answer within {timeout_seconds:g} s (raise it with --timeout)",
            maybe_delivered=True,
        )
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        cause = f"the provider answered HTTP {status} {exc.response.reason_phrase}".rstrip()
        if status == 429:
            cause += " (rate limited: lower the requests per second)"
        # a 5xx may come after the node forwarded the request: a send may have landed
        return RpcUnreachable(method, endpoint, cause, maybe_delivered=status >= 500)
    if isinstance(exc, httpx.InvalidURL):
        return RpcUnreachable(method, endpoint, "the URL is not valid")
    if isinstance(exc, httpx.TransportError | OSError):
        return RpcUnreachable(method, endpoint, f"could not reach the node ({exception_text(exc)})")
    if isinstance(exc, httpx.HTTPError):
        return RpcUnreachable(method, endpoint, f"the request failed ({exception_text(exc)})")
    return None
