"""JSON-RPC error objects with the validator's codes and messages.

Clients branch on the codes (solders parses -32002 into a preflight failure carrying its
simulation result), so every code here is the one agave answers with.
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PREFLIGHT_FAILURE = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
BLOCK_CLEANED_UP = -32001
BLOCK_NOT_AVAILABLE = -32004
SLOT_SKIPPED = -32007
NO_SNAPSHOT = -32008
LONG_TERM_STORAGE_SLOT_SKIPPED = -32009
TRANSACTION_HISTORY_NOT_AVAILABLE = -32011
TRANSACTION_VERSION_UNSUPPORTED = -32015
MIN_CONTEXT_SLOT_NOT_REACHED = -32016


class RpcError(Exception):
    """A JSON-RPC error object: code, message and optional data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


def block_not_available(slot: int) -> RpcError:
    return RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")


def block_cleaned_up(slot: int, first_available: int) -> RpcError:
    return RpcError(
        BLOCK_CLEANED_UP,
        f"Block {slot} cleaned up, does not exist on node. First available block: "
        f"{first_available}",
    )


def slot_skipped(slot: int) -> RpcError:
    return RpcError(
        SLOT_SKIPPED,
        f"Slot {slot} was skipped, or missing due to ledger jump to recent snapshot",
    )


def version_unsupported(version: int = 0) -> RpcError:
    return RpcError(
        TRANSACTION_VERSION_UNSUPPORTED,
        f"Transaction version ({version}) is not supported by the requesting client. Please "
        "try the request again with the following configuration parameter: "
        f'"maxSupportedTransactionVersion": {version}',
    )
