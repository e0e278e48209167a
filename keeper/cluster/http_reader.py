"""A light `AccountSource`: `getMultipleAccounts` over plain httpx, no solana-py.

Read-only commands (`drift-if status`, `markets`) need one call, and importing
solana-py costs more than the whole cold-start budget; this reader makes the same
call with the same typed, redacted failures (`boundary.http_failure`) and the same
answer checks as `SolanaRpcTransport.get_multiple`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import httpx
from asyncio_throttle.throttler import Throttler
from solders.pubkey import Pubkey

from keeper.cluster.boundary import http_failure
from keeper.cluster.redact import redact_text, redact_url
from keeper.cluster.transport import RPC_METHOD, check_batch
from keeper.core.errors import RpcBadAnswer, RpcRejected
from keeper.core.views import RawAccount


def _raw_account(address: Pubkey, doc: Any) -> RawAccount:
    data, encoding = doc["data"]
    if encoding != "base64":
        raise ValueError(f"data encoded as {encoding!r}")
    return RawAccount(
        address=address,
        owner=Pubkey.from_string(doc["owner"]),
        lamports=int(doc["lamports"]),
        data=base64.b64decode(data, validate=True),
        executable=bool(doc["executable"]),
        rent_epoch=int(doc.get("rentEpoch") or 0) % 2**64,
    )


class HttpAccountSource:
    """`get_multiple` at one commitment over one httpx client."""

    def __init__(
        self,
        url: str,
        *,
        commitment: str = "confirmed",
        timeout_seconds: float = 10,
        requests_per_second: int = 10,
    ) -> None:
        self._throttle = Throttler(rate_limit=max(1, requests_per_second), period=1.0)
        self._url = url
        self._endpoint = redact_url(url)
        self._commitment = commitment
        self.timeout_seconds = timeout_seconds
        self._client = httpx.AsyncClient(timeout=timeout_seconds)

    @property
    def endpoint(self) -> str:
        return self._endpoint

    async def call(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call; its `result`, or a typed, redacted `RpcError`."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        try:
            async with self._throttle:
                response = await self._client.post(self._url, json=body)
            response.raise_for_status()
            doc = response.json()
        except Exception as exc:
            typed = http_failure(method, self._endpoint, exc, self.timeout_seconds)
            if typed is not None:
                raise typed from None
            raise RpcBadAnswer(method, self._endpoint, "the answer is not JSON") from None
        if not isinstance(doc, dict):
            raise RpcBadAnswer(method, self._endpoint, "the answer is not a JSON-RPC object")
        if "error" in doc:
            err = doc["error"]
            message = err.get("message", str(err)) if isinstance(err, dict) else str(err)
            raise RpcRejected(
                method,
                self._endpoint,
                f"the node refused it: {redact_text(str(message))}",
                redact_text(str(err)),
            )
        if "result" not in doc:
            raise RpcBadAnswer(method, self._endpoint, "the answer has no result")
        return doc["result"]

    async def get_multiple(
        self, addresses: Sequence[Pubkey]
    ) -> tuple[int, list[RawAccount | None]]:
        check_batch(addresses)
        wanted = list(addresses)
        method = RPC_METHOD["get_multiple"]
        result = await self.call(
            method,
            [[str(a) for a in wanted], {"encoding": "base64", "commitment": self._commitment}],
        )
        try:
            slot = int(result["context"]["slot"])
            values = result["value"]
            if len(values) != len(wanted):
                raise RpcBadAnswer(
                    method, self._endpoint, f"asked for {len(wanted)} accounts, got {len(values)}"
                )
            out = [
                None if doc is None else _raw_account(address, doc)
                for address, doc in zip(wanted, values, strict=True)
            ]
        except RpcBadAnswer:
            raise
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise RpcBadAnswer(
                method,
                self._endpoint,
                f"the node returned an unusable answer ({type(exc).__name__})",
            ) from None
        return slot, out

    async def close(self) -> None:
        await self._client.aclose()
