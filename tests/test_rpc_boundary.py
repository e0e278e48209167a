"""The one exception boundary: every call of the production transport fails typed and redacted.

Each failure kind a provider can produce (no connection, timeout, HTTP error status,
JSON-RPC error answer, garbage) is played under solana-py by an httpx MockTransport,
for every call the reader and the sender make.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer

from keeper.cluster.sender import build_transaction
from keeper.cluster.solana_rpc import SolanaRpcTransport
from keeper.core.errors import RpcBadAnswer, RpcCallFailed, RpcRejected, RpcUnreachable

SECRET = "S3CRETAPIKEY0123456789"
URL = f"https://rpc.example.com/{SECRET}/?api-key={SECRET}"


def _tx() -> Any:
    payer = Keypair()
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.new_unique(), lamports=1)
    )
    return build_transaction([ix], payer, Hash.default())


TX = _tx()
CALLS: dict[str, Callable[[SolanaRpcTransport], Awaitable[object]]] = {
    "getMultipleAccounts": lambda t: t.get_multiple([Pubkey.new_unique()]),
    "getLatestBlockhash": lambda t: t.latest_blockhash(),
    "simulateTransaction": lambda t: t.simulate(TX),
    "sendTransaction": lambda t: t.send_raw(bytes(TX)),
    "getSignatureStatuses": lambda t: t.signature_status(Signature.default()),
    "getTransaction": lambda t: t.transaction_logs(Signature.default()),
    "getBlockHeight": lambda t: t.block_height(),
}


def _connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)


def _timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def _status(code: int) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, text=f"upstream {request.url} failed")


def _json_rpc_error(request: httpx.Request) -> httpx.Response:
    error = {"code": -32601, "message": f"Method not found at {request.url}"}
    return httpx.Response(200, json={"jsonrpc": "2.0", "id": 0, "error": error})


def _not_json(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="<html>gateway ok</html>")


def _wrong_shape(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"jsonrpc": "2.0", "id": 0, "result": {"value": "nonsense"}})


KINDS: dict[str, tuple[Callable[[httpx.Request], httpx.Response], type[RpcCallFailed], str]] = {
    "connect": (_connect_error, RpcUnreachable, "could not reach the node"),
    "timeout": (_timeout, RpcUnreachable, "did not answer within 3 s"),
    "http-502": (_status(502), RpcUnreachable, "HTTP 502 Bad Gateway"),
    "http-429": (_status(429), RpcUnreachable, "rate limited"),
    "json-rpc-error": (_json_rpc_error, RpcRejected, "the node refused it: Method not found"),
    "not-json": (_not_json, RpcBadAnswer, "unusable answer"),
    "wrong-shape": (_wrong_shape, RpcBadAnswer, "unusable answer"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("method", sorted(CALLS))
async def test_each_failure_is_typed_and_redacted(kind: str, method: str) -> None:
    handler, error_type, cause = KINDS[kind]
    transport = SolanaRpcTransport(
        URL, timeout_seconds=3, http_transport=httpx.MockTransport(handler)
    )
    try:
        with pytest.raises(error_type) as info:
            await CALLS[method](transport)
    finally:
        await transport.close()
    text = str(info.value)
    assert SECRET not in text and SECRET not in info.value.endpoint
    assert text.startswith(f"{method} to https://rpc.example.com/***/?api-key=*** failed: ")
    assert cause in text and "<class" not in text and "raised in" not in text
    assert info.value.method == method and info.value.__cause__ is None


async def test_a_refused_resend_keeps_the_nodes_answer() -> None:
    def already(request: httpx.Request) -> httpx.Response:
        error = {
            "code": -32002,
            "message": "Transaction simulation failed: This transaction has already been processed",
            "data": {"err": "AlreadyProcessed", "logs": [], "accounts": None, "unitsConsumed": 0},
        }
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": 0, "error": error})

    transport = SolanaRpcTransport(URL, http_transport=httpx.MockTransport(already))
    try:
        with pytest.raises(RpcRejected) as info:
            await transport.send_raw(bytes(TX))
    finally:
        await transport.close()
    assert "already been processed" in info.value.answer and SECRET not in info.value.answer


async def test_answers_arrive_in_our_own_types() -> None:
    answers = {
        "getBlockHeight": 1234,
        "getSignatureStatuses": {
            "context": {"slot": 9},
            "value": [
                {
                    "slot": 7,
                    "confirmations": None,
                    "err": {"InstructionError": [0, {"Custom": 6133}]},
                    "status": {"Err": {"InstructionError": [0, {"Custom": 6133}]}},
                    "confirmationStatus": "confirmed",
                }
            ],
        },
    }

    bodies: list[dict[str, Any]] = []

    def node(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        method = bodies[-1]["method"]
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": 0, "result": answers[method]})

    transport = SolanaRpcTransport(URL, http_transport=httpx.MockTransport(node))
    try:
        assert await transport.block_height() == 1234
        status = await transport.signature_status(Signature.default())
        again = await transport.signature_status(Signature.default(), search_history=True)
    finally:
        await transport.close()
    # the status cache only, then the ledger too (a journalled signature from long ago)
    assert bodies[1]["params"][1] == {"searchTransactionHistory": False}
    assert bodies[2]["params"][1] == {"searchTransactionHistory": True}
    assert again == status
    assert status is not None and status.slot == 7
    assert status.err == {"InstructionError": [0, {"Custom": 6133}]}
    assert status.confirmation_status == "confirmed"
    assert transport.endpoint == "https://rpc.example.com/***/?api-key=***"
