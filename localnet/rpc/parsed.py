"""jsonParsed instructions: System, SPL Token (both programs), Associated Token, Memo.

An instruction of another program, or one these parsers do not know, is shown
unparsed ({programId, accounts, data}), which is what a validator does too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from solders.pubkey import Pubkey

from localnet.encoding import b58encode, token_amount_json

SYSTEM = "11111111111111111111111111111111"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
ATA = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
MEMOS = (
    "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
    "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo",
)

Parsed = tuple[str, dict[str, Any]] | None


def _u64(data: bytes, at: int) -> int:
    if len(data) < at + 8:
        raise ValueError("short instruction data")
    return int.from_bytes(data[at : at + 8], "little")


def _key(data: bytes, at: int) -> str:
    if len(data) < at + 32:
        raise ValueError("short instruction data")
    return str(Pubkey.from_bytes(data[at : at + 32]))


def _system(accounts: list[str], data: bytes) -> Parsed:
    tag = int.from_bytes(data[:4], "little") if len(data) >= 4 else -1
    if tag == 0:
        info = {"source": accounts[0], "newAccount": accounts[1], "lamports": _u64(data, 4)}
        return "createAccount", {**info, "space": _u64(data, 12), "owner": _key(data, 20)}
    if tag == 1:
        return "assign", {"account": accounts[0], "owner": _key(data, 4)}
    if tag == 2:
        return "transfer", {
            "source": accounts[0],
            "destination": accounts[1],
            "lamports": _u64(data, 4),
        }
    if tag == 8:
        return "allocate", {"account": accounts[0], "space": _u64(data, 4)}
    return None


def _authority_mint(data: bytes, at: int) -> dict[str, Any]:
    info: dict[str, Any] = {"decimals": data[1], "mintAuthority": _key(data, 2)}
    if len(data) >= at + 33 and data[at] == 1:
        info["freezeAuthority"] = _key(data, at + 1)
    return info


def _token(accounts: list[str], data: bytes) -> Parsed:
    tag = data[0] if data else -1
    a = accounts
    if tag == 0:
        return "initializeMint", {"mint": a[0], **_authority_mint(data, 34), "rentSysvar": a[1]}
    if tag == 20:
        return "initializeMint2", {"mint": a[0], **_authority_mint(data, 34)}
    if tag == 1:
        return "initializeAccount", {
            "account": a[0],
            "mint": a[1],
            "owner": a[2],
            "rentSysvar": a[3],
        }
    if tag == 18:
        return "initializeAccount3", {"account": a[0], "mint": a[1], "owner": _key(data, 1)}
    if tag == 3:
        info = {"source": a[0], "destination": a[1], "authority": a[2]}
        return "transfer", {**info, "amount": str(_u64(data, 1))}
    if tag == 4:
        info = {"source": a[0], "delegate": a[1], "owner": a[2]}
        return "approve", {**info, "amount": str(_u64(data, 1))}
    if tag == 5:
        return "revoke", {"source": a[0], "owner": a[1]}
    if tag == 7:
        info = {"mint": a[0], "account": a[1], "mintAuthority": a[2]}
        return "mintTo", {**info, "amount": str(_u64(data, 1))}
    if tag == 8:
        info = {"account": a[0], "mint": a[1], "authority": a[2]}
        return "burn", {**info, "amount": str(_u64(data, 1))}
    if tag == 9:
        return "closeAccount", {"account": a[0], "destination": a[1], "owner": a[2]}
    if tag == 12 and len(data) >= 10:
        amount = token_amount_json(_u64(data, 1), data[9])
        info = {"source": a[0], "mint": a[1], "destination": a[2], "authority": a[3]}
        return "transferChecked", {**info, "tokenAmount": amount}
    if tag == 17:
        return "syncNative", {"account": a[0]}
    return None


def _ata(accounts: list[str], data: bytes) -> Parsed:
    kind = {b"": "create", b"\x00": "create", b"\x01": "createIdempotent"}.get(data)
    if kind is None or len(accounts) < 6:
        return None
    names = ("source", "account", "wallet", "mint", "systemProgram", "tokenProgram")
    return kind, dict(zip(names, accounts, strict=False))


_PARSERS: dict[str, tuple[str, Callable[[list[str], bytes], Parsed]]] = {
    SYSTEM: ("system", _system),
    TOKEN: ("spl-token", _token),
    TOKEN_2022: ("spl-token", _token),
    ATA: ("spl-associated-token-account", _ata),
}


def parsed_instruction(
    program_id: str, accounts: list[str], data: bytes, stack_height: int | None
) -> dict[str, Any]:
    """One instruction as jsonParsed shows it."""
    if program_id in MEMOS:
        try:
            return {
                "program": "spl-memo",
                "programId": program_id,
                "parsed": data.decode(),
                "stackHeight": stack_height,
            }
        except UnicodeDecodeError:
            pass
    entry = _PARSERS.get(program_id)
    if entry is not None:
        name, parse = entry
        try:
            parsed = parse(accounts, data)
        except (ValueError, IndexError):
            parsed = None
        if parsed is not None:
            kind, info = parsed
            return {
                "program": name,
                "programId": program_id,
                "parsed": {"info": info, "type": kind},
                "stackHeight": stack_height,
            }
    return {
        "programId": program_id,
        "accounts": accounts,
        "data": b58encode(data),
        "stackHeight": stack_height,
    }
