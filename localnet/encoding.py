"""Accounts and bytes in the JSON shapes a validator's RPC uses.

`UiAccount` ({"data": [..., "base64"], "executable", "lamports", "owner", "rentEpoch",
"space"}), the `jsonParsed` form of SPL token accounts and mints, token amounts with
their trimmed decimal strings, base58, which the standard library lacks, and
`base64+zstd` (zstandard).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import zstandard
from solders.account import Account
from solders.pubkey import Pubkey

from keeper.core import (
    SPL_TOKEN_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    DecodeError,
    RawAccount,
    decode_mint,
    decode_token_account,
)

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}
#: Above this, base58 account data is refused (the validator's limit).
MAX_BASE58_BYTES = 128
ACCOUNT_ENCODINGS = ("base58", "base64", "base64+zstd", "jsonParsed", "binary")
_TOKEN_STATES = {1: "initialized", 2: "frozen"}
#: agave compresses account data with zstd's default level (3).
_ZSTD = zstandard.ZstdCompressor(level=3)


class EncodingError(ValueError):
    """Data cannot be shown or read in the requested encoding."""


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        digit = _B58_INDEX.get(ch)
        if digit is None:
            raise EncodingError(f"invalid base58 character {ch!r}")
        n = n * 58 + digit
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + body


def decode_bytes(text: str, encoding: str) -> bytes:
    try:
        if encoding == "base64":
            return base64.b64decode(text, validate=True)
        if encoding in ("base58", "binary"):
            return b58decode(text)
        if encoding == "hex":
            return bytes.fromhex(text)
    except (ValueError, TypeError) as exc:
        raise EncodingError(f"invalid {encoding}: {exc}") from exc
    raise EncodingError(f"unsupported encoding {encoding!r}")


@dataclass(frozen=True)
class DataSlice:
    offset: int
    length: int

    def apply(self, data: bytes) -> bytes:
        return data[self.offset : self.offset + self.length]


def ui_amount_string(amount: int, decimals: int) -> str:
    """`amount / 10**decimals` written exactly, trailing zeros trimmed (agave's format)."""
    if decimals == 0:
        return str(amount)
    whole, frac = divmod(amount, 10**decimals)
    frac_text = str(frac).rjust(decimals, "0").rstrip("0")
    return f"{whole}.{frac_text}" if frac_text else str(whole)


def token_amount_json(amount: int, decimals: int) -> dict[str, Any]:
    text = ui_amount_string(amount, decimals)
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": float(text),
        "uiAmountString": text,
    }


def _program_name(owner: Pubkey) -> str | None:
    if owner == SPL_TOKEN_PROGRAM_ID:
        return "spl-token"
    if owner == TOKEN_2022_PROGRAM_ID:
        return "spl-token-2022"
    return None


def parse_token_data(
    address: Pubkey, account: Account, mint_decimals: dict[Pubkey, int | None]
) -> dict[str, Any] | None:
    """The `jsonParsed` data of a token account or mint, or None if it is neither.

    `mint_decimals` must hold the decimals of the token account's mint (or None when the
    mint is unknown, in which case the validator falls back to binary too).
    """
    program = _program_name(account.owner)
    if program is None:
        return None
    raw = RawAccount(address, account.owner, account.lamports, bytes(account.data))
    info: dict[str, Any]
    size = len(account.data)
    if size >= 165:
        try:
            tok = decode_token_account(raw)
        except DecodeError:
            return None
        decimals = mint_decimals.get(tok.mint)
        if decimals is None:
            return None
        info = {
            "isNative": tok.is_native is not None,
            "mint": str(tok.mint),
            "owner": str(tok.owner),
            "state": _TOKEN_STATES.get(tok.state, "uninitialized"),
            "tokenAmount": token_amount_json(tok.amount, decimals),
        }
        if tok.delegate is not None:
            info["delegate"] = str(tok.delegate)
            info["delegatedAmount"] = token_amount_json(tok.delegated_amount, decimals)
        if tok.is_native is not None:
            info["rentExemptReserve"] = token_amount_json(tok.is_native, decimals)
        if tok.close_authority is not None:
            info["closeAuthority"] = str(tok.close_authority)
        kind = "account"
    else:
        try:
            mint = decode_mint(raw)
        except DecodeError:
            return None
        info = {
            "decimals": mint.decimals,
            "freezeAuthority": str(mint.freeze_authority) if mint.freeze_authority else None,
            "isInitialized": mint.is_initialized,
            "mintAuthority": str(mint.mint_authority) if mint.mint_authority else None,
            "supply": str(mint.supply),
        }
        kind = "mint"
    return {"program": program, "parsed": {"info": info, "type": kind}, "space": size}


def token_mint_of(account: Account) -> Pubkey | None:
    """The mint of a token account (without validating the rest)."""
    if _program_name(account.owner) is None or len(account.data) < 165:
        return None
    return Pubkey.from_bytes(bytes(account.data[0:32]))


def account_json(
    account: Account,
    encoding: str = "base64",
    data_slice: DataSlice | None = None,
    parsed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `UiAccount`. `parsed` is used for jsonParsed when the caller could parse it."""
    data = bytes(account.data)
    shown: Any
    if encoding == "jsonParsed" and parsed is not None:
        shown = parsed
    else:
        if data_slice is not None:
            data = data_slice.apply(data)
        if encoding in ("base58", "binary"):
            if len(data) > MAX_BASE58_BYTES:
                raise EncodingError(
                    "Encoded binary (base 58) data should be less than 128 bytes, "
                    "please use Base64 encoding."
                )
            shown = b58encode(data) if encoding == "binary" else [b58encode(data), "base58"]
        elif encoding in ("base64", "jsonParsed"):
            shown = [base64.b64encode(data).decode(), "base64"]
        elif encoding == "base64+zstd":
            # Sliced first, then compressed, as a validator does; the frame records its
            # content size so one-shot decompressors need no size hint.
            shown = [base64.b64encode(_ZSTD.compress(data)).decode(), "base64+zstd"]
        else:
            raise EncodingError(f"unsupported account encoding {encoding!r}")
    return {
        "data": shown,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": account.rent_epoch,
        "space": len(account.data),
    }
