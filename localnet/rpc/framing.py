"""JSON-RPC 2.0 framing: request bodies in, response bodies out, over a method table.

One body may be a single request or a batch; notifications get no answer. A method is a
function of the positional parameters; what it raises becomes an error object here, so
a bug in one method answers -32603 instead of killing the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from localnet.cluster import Cluster, ClusterError
from localnet.encoding import EncodingError
from localnet.rpc.errors import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    invalid_params,
)

#: A JSON-RPC method: the positional parameters in, the result out.
Method = Callable[[list[Any]], Any]
#: A method before it is bound to the cluster it answers for.
ClusterMethod = Callable[[Cluster, list[Any]], Any]


class JsonRpc:
    """Answers JSON-RPC 2.0 bodies with the methods of a table."""

    def __init__(self, methods: Mapping[str, Method]) -> None:
        self.methods = dict(methods)

    def handle(self, body: bytes) -> bytes:
        """A request body in, a response body out (empty for a lone notification)."""
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _dump(_error_response(None, RpcError(PARSE_ERROR, "Parse error")))
        if isinstance(request, list):
            if not request:
                return _dump(_error_response(None, RpcError(INVALID_REQUEST, "Invalid request")))
            responses = [r for r in (self.handle_object(item) for item in request) if r is not None]
            return _dump(responses) if responses else b""
        response = self.handle_object(request)
        return _dump(response) if response is not None else b""

    def handle_object(self, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict):
            return _error_response(None, RpcError(INVALID_REQUEST, "Invalid request"))
        req_id = request.get("id")
        if request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
            return _error_response(req_id, RpcError(INVALID_REQUEST, "Invalid request"))
        if not isinstance(req_id, str | int | None) or isinstance(req_id, bool):
            return _error_response(None, RpcError(INVALID_REQUEST, "Invalid request"))
        try:
            result = self.call(request["method"], request.get("params"))
        except RpcError as err:
            return _error_response(req_id, err)
        if "id" not in request:
            return None  # a notification: JSON-RPC says no answer
        return {"jsonrpc": "2.0", "result": result, "id": req_id}

    def call(self, method: str, params: Any) -> Any:
        fn = self.methods.get(method)
        if fn is None:
            raise RpcError(METHOD_NOT_FOUND, "Method not found")
        if params is None:
            params = []
        if not isinstance(params, list):
            raise invalid_params("Invalid params: expected a positional parameter array.")
        try:
            return fn(params)
        except RpcError:
            raise
        except (ClusterError, EncodingError) as exc:
            raise invalid_params(f"Invalid params: {exc}") from exc
        except Exception as exc:  # a bug here must not kill the server
            raise RpcError(INTERNAL_ERROR, f"Internal error: {type(exc).__name__}: {exc}") from exc


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _error_response(req_id: Any, err: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": req_id}
