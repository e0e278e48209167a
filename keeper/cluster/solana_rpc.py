"""The production transport: both seams over one solana-py AsyncClient.

This is the only module that touches solana-py's client and httpx objects. Every
call goes through `rpc_boundary`, which turns whatever the client library raises
into one of the typed errors of `keeper.core.errors` with a redacted endpoint, so
the reader, the sender and their callers catch `RpcError` and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx
from asyncio_throttle.throttler import Throttler
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment
from solana.rpc.core import RPCException, RPCNoResultException
from solana.rpc.types import TxOpts
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from keeper.cluster.boundary import exception_text, http_failure
from keeper.cluster.redact import redact_text, redact_url
from keeper.cluster.transport import (
    RPC_METHOD,
    LatestBlockhash,
    SignatureStatus,
    SimulationAnswer,
    TxErrorJson,
    check_batch,
)
from keeper.core.errors import RpcBadAnswer, RpcError, RpcRejected, RpcUnreachable
from keeper.core.views import RawAccount

R = TypeVar("R")
T = TypeVar("T")


_text = exception_text


def rpc_failure(method: str, endpoint: str, exc: Exception, timeout_seconds: float) -> RpcError:
    """The typed error for one failed call; `endpoint` is already redacted.

    solana-py wraps transport errors in a SolanaRpcException whose text names only
    the exception class, so the cause it was raised from is classified instead.
    """
    if isinstance(exc, SolanaRpcException) and isinstance(exc.__cause__, Exception):
        exc = exc.__cause__
    transport = http_failure(method, endpoint, exc, timeout_seconds)
    if transport is not None:
        return transport
    if isinstance(exc, RPCException):
        answer = exc.args[0] if exc.args else exc
        message = getattr(answer, "message", None) or str(answer)
        return RpcRejected(
            method, endpoint, f"the node refused it: {redact_text(message)}", _text(exc)
        )
    if isinstance(exc, RPCNoResultException):
        return RpcRejected(method, endpoint, f"the node answered without a result: {_text(exc)}")
    return RpcBadAnswer(
        method,
        endpoint,
        f"the node returned an unusable answer ({type(exc).__name__}: {_text(exc)})",
    )


@contextlib.contextmanager
def rpc_boundary(method: str, endpoint: str, timeout_seconds: float) -> Iterator[None]:
    """Every RPC call runs inside this: failures leave it as typed, redacted errors."""
    try:
        yield
    except Exception as exc:
        raise rpc_failure(method, endpoint, exc, timeout_seconds) from None


#: the longest Retry-After honoured inline; a longer one fails the call to the caller's backoff
MAX_INLINE_RETRY_AFTER = 2.0


def _transient_pause(exc: BaseException, attempt: int) -> float | None:
    """How long to wait before trying a failed call again; None if it is not transient."""
    if isinstance(exc, SolanaRpcException) and isinstance(exc.__cause__, Exception):
        exc = exc.__cause__
    base = 0.2 * (1 << attempt)
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status == 429:
            try:
                after = float(str(exc.response.headers.get("retry-after", base)))
            except ValueError:
                after = base
            return None if after > MAX_INLINE_RETRY_AFTER else max(float(after), base)
        return base if status >= 500 else None
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return None
    if isinstance(exc, httpx.TransportError | OSError):
        return base
    return None


def _err_json(answer: Any) -> TxErrorJson | None:
    """The `err` field of a solders answer, in its JSON-RPC shape."""
    err: TxErrorJson | None = json.loads(answer.to_json()).get("err")
    return err


class _RawBody:
    """A JSON-RPC request body the way solana-py's provider posts one."""

    def __init__(self, method: str, params: list[Any]) -> None:
        self._doc = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}

    def to_json(self) -> str:
        return json.dumps(self._doc)


class SolanaRpcTransport:
    """`AccountSource` and `TxTransport` over one throttled solana-py AsyncClient.

    `http_transport` replaces the HTTP layer under the client (an
    `httpx.MockTransport` in tests), the way httpx clients take a transport.
    """

    def __init__(
        self,
        url: str,
        *,
        commitment: str = "confirmed",
        requests_per_second: int = 10,
        timeout_seconds: float = 10,
        http_transport: httpx.AsyncBaseTransport | None = None,
        transient_retries: int = 2,
    ) -> None:
        self._commitment = Commitment(commitment)
        self._endpoint = redact_url(url)
        self.timeout_seconds = timeout_seconds
        self._client = AsyncClient(url, commitment=self._commitment, timeout=timeout_seconds)
        if http_transport is not None:
            # solana-py takes no transport: swap the provider's httpx session, here only.
            self._client._provider.session = httpx.AsyncClient(
                transport=http_transport, timeout=timeout_seconds
            )
        self._throttle = Throttler(rate_limit=max(1, requests_per_second), period=1.0)
        self.transient_retries = transient_retries

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def commitment(self) -> str:
        return str(self._commitment)

    async def _call(
        self, call: str, request: Callable[[], Awaitable[R]], answer: Callable[[R], T]
    ) -> T:
        """One throttled request, its answer converted to our types, inside the boundary.

        A transient failure (429, 5xx, a reset or refused connection; not a timeout,
        which already waited) is tried again up to `transient_retries` times after a
        short pause, or the provider's Retry-After (capped), so one flaky answer does not
        fail a whole pass or action. Every call here is idempotent: a re-sent
        transaction is the same signed bytes.
        """
        for attempt in range(self.transient_retries + 1):
            pause: float | None = None
            try:
                async with self._throttle:
                    with rpc_boundary(RPC_METHOD[call], self._endpoint, self.timeout_seconds):
                        try:
                            return answer(await request())
                        except Exception as exc:
                            pause = _transient_pause(exc, attempt)
                            raise
            except RpcUnreachable:
                if pause is None or attempt == self.transient_retries:
                    raise
            await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_multiple(
        self, addresses: Sequence[Pubkey]
    ) -> tuple[int, list[RawAccount | None]]:
        check_batch(addresses)
        wanted = list(addresses)

        def answer(resp: Any) -> tuple[int, list[RawAccount | None]]:
            values = resp.value
            if len(values) != len(wanted):
                raise RpcBadAnswer(
                    RPC_METHOD["get_multiple"],
                    self._endpoint,
                    f"asked for {len(wanted)} accounts, got {len(values)}",
                )
            out: list[RawAccount | None] = [
                None
                if acc is None
                else RawAccount(
                    address=address,
                    owner=acc.owner,
                    lamports=acc.lamports,
                    data=bytes(acc.data),
                    executable=acc.executable,
                    rent_epoch=acc.rent_epoch,
                )
                for address, acc in zip(wanted, values, strict=True)
            ]
            return resp.context.slot, out

        return await self._call(
            "get_multiple",
            lambda: self._client.get_multiple_accounts(wanted, commitment=self._commitment),
            answer,
        )

    async def latest_blockhash(self) -> LatestBlockhash:
        return await self._call(
            "latest_blockhash",
            lambda: self._client.get_latest_blockhash(self._commitment),
            lambda resp: LatestBlockhash(resp.value.blockhash, resp.value.last_valid_block_height),
        )

    async def simulate(self, tx: VersionedTransaction) -> SimulationAnswer:
        return await self._call(
            "simulate",
            lambda: self._client.simulate_transaction(
                tx, sig_verify=True, commitment=self._commitment
            ),
            lambda resp: SimulationAnswer(
                _err_json(resp.value), tuple(resp.value.logs or ()), resp.value.units_consumed
            ),
        )

    async def send_raw(self, raw: bytes) -> None:
        opts = TxOpts(skip_preflight=True, preflight_commitment=self._commitment, max_retries=0)
        await self._call(
            "send_raw",
            lambda: self._client.send_raw_transaction(raw, opts),
            lambda _resp: None,
        )

    async def signature_status(
        self, signature: Signature, *, search_history: bool = False
    ) -> SignatureStatus | None:
        def answer(resp: Any) -> SignatureStatus | None:
            (status,) = resp.value
            if status is None:
                return None
            doc = json.loads(status.to_json())
            return SignatureStatus(status.slot, doc.get("err"), doc.get("confirmationStatus") or "")

        return await self._call(
            "signature_status",
            lambda: self._client.get_signature_statuses(
                [signature], search_transaction_history=search_history
            ),
            answer,
        )

    async def transaction_logs(self, signature: Signature) -> tuple[str, ...] | None:
        def answer(resp: Any) -> tuple[str, ...] | None:
            if resp.value is None or resp.value.transaction.meta is None:
                return None
            return tuple(resp.value.transaction.meta.log_messages or ())

        return await self._call(
            "transaction_logs",
            lambda: self._client.get_transaction(
                signature, commitment=self._commitment, max_supported_transaction_version=0
            ),
            answer,
        )

    async def block_height(self) -> int:
        return await self._call(
            "block_height",
            lambda: self._client.get_block_height(self._commitment),
            lambda resp: int(resp.value),
        )

    async def priority_fees(self, writable: Sequence[Pubkey]) -> tuple[int, ...]:
        # solana-py has no method for it: the same provider, a hand-made request body.
        body = _RawBody("getRecentPrioritizationFees", [[str(a) for a in writable[:128]]])

        def answer(text: str) -> tuple[int, ...]:
            doc = json.loads(text)
            if "error" in doc:
                raise RPCException(doc["error"])
            return tuple(int(entry["prioritizationFee"]) for entry in doc["result"])

        return await self._call(
            "priority_fees",
            lambda: self._client._provider.make_request_unparsed(body),  # type: ignore[arg-type]
            answer,
        )

    async def close(self) -> None:
        await self._client.close()
