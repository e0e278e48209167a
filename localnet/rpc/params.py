"""Readers of positional parameters and config objects, with the validator's messages.

Each reader checks one parameter and raises `invalid_params` (-32602) with the text
agave uses, so a method reads its parameters in a line each.
"""

from __future__ import annotations

from typing import Any

from solders.pubkey import Pubkey
from solders.signature import Signature

from localnet.encoding import ACCOUNT_ENCODINGS, DataSlice, EncodingError, b58decode
from localnet.rpc.errors import MIN_CONTEXT_SLOT_NOT_REACHED, RpcError, invalid_params

COMMITMENTS = {
    "processed",
    "confirmed",
    "finalized",
    "recent",
    "single",
    "singleGossip",
    "root",
    "max",
}
CONFIRMED_OR_MORE = {"confirmed", "finalized", "single", "singleGossip", "root", "max"}


def param(params: list[Any], index: int, required: bool = True) -> Any:
    if index < len(params):
        return params[index]
    if required:
        raise invalid_params(f"Invalid params: missing parameter at position {index}.")
    return None


def config_object(params: list[Any], index: int) -> dict[str, Any]:
    value = param(params, index, required=False)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_params(f"Invalid params: expected a config object at position {index}.")
    # serde reads an explicit null as "not given"; clients (solana-py) send them.
    return {k: v for k, v in value.items() if v is not None}


def _parse_base58(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, str):
        raise invalid_params(f"Invalid params: expected a base-58 {what} string.")
    try:
        raw = b58decode(value)
    except EncodingError as exc:
        raise invalid_params("Invalid param: Invalid") from exc
    if len(raw) != size:
        raise invalid_params("Invalid param: WrongSize")
    return raw


def parse_pubkey(value: Any) -> Pubkey:
    return Pubkey.from_bytes(_parse_base58(value, 32, "public key"))


def parse_signature(value: Any) -> Signature:
    return Signature.from_bytes(_parse_base58(value, 64, "signature"))


def list_param(value: Any, what: str, maximum: int) -> list[Any]:
    """A list of at most `maximum` inputs; `what` names them in the message."""
    if not isinstance(value, list):
        raise invalid_params(f"Invalid params: expected a list of {what}.")
    if len(value) > maximum:
        raise invalid_params(f"Too many inputs provided; max {maximum}")
    return value


def int_param(value: Any, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid_params(f"Invalid params: {what} must be an integer ≥ {minimum}.")
    return value


def commitment_of(cfg: dict[str, Any]) -> str:
    commitment = cfg.get("commitment", "finalized")
    if commitment not in COMMITMENTS:
        raise invalid_params(f"Invalid params: unknown commitment {commitment!r}.")
    return str(commitment)


def check_context(cfg: dict[str, Any], slot: int) -> None:
    """The commitment is known and `minContextSlot`, if given, is not above `slot`."""
    commitment_of(cfg)
    min_slot = cfg.get("minContextSlot")
    if min_slot is not None and int_param(min_slot, "minContextSlot") > slot:
        raise RpcError(
            MIN_CONTEXT_SLOT_NOT_REACHED,
            "Minimum context slot has not been reached",
            {"contextSlot": slot},
        )


def account_encoding(cfg: dict[str, Any], default: str = "base64") -> str:
    encoding = cfg.get("encoding", default)
    if encoding not in ACCOUNT_ENCODINGS:
        raise invalid_params(f"Invalid params: unknown encoding {encoding!r}.")
    return str(encoding)


def data_slice_of(cfg: dict[str, Any]) -> DataSlice | None:
    raw = cfg.get("dataSlice")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_params("Invalid params: dataSlice must be {offset, length}.")
    return DataSlice(
        int_param(raw.get("offset"), "dataSlice.offset"),
        int_param(raw.get("length"), "dataSlice.length"),
    )
