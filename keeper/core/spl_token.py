"""SPL Token and Token-2022 account and mint layouts (the fixed 165- and 82-byte bases).

Pure byte handling: the localnet, the snapshot reader and the mirror all read token
balances through these functions, so none of them needs AnchorPy to see a balance.
"""

from __future__ import annotations

import struct

from solders.pubkey import Pubkey

from keeper.core.errors import DecodeError
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID
from keeper.core.views import MINT_SIZE, TOKEN_ACCOUNT_SIZE, Mint, RawAccount, TokenAccount

_TOKEN_PROGRAMS = (SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)


def _coption_pubkey(data: bytes, offset: int) -> Pubkey | None:
    tag = int.from_bytes(data[offset : offset + 4], "little")
    if tag not in (0, 1):
        raise DecodeError(f"invalid COption tag {tag}")
    return Pubkey.from_bytes(data[offset + 4 : offset + 36]) if tag else None


def _put_coption_pubkey(value: Pubkey | None) -> bytes:
    return (b"\x01\x00\x00\x00" + bytes(value)) if value is not None else bytes(36)


def decode_token_account(acc: RawAccount) -> TokenAccount:
    if acc.owner not in _TOKEN_PROGRAMS:
        raise DecodeError(f"{acc.address}: not a token account (owner {acc.owner})")
    data = acc.data
    if len(data) < TOKEN_ACCOUNT_SIZE or (
        acc.owner == SPL_TOKEN_PROGRAM_ID and len(data) != TOKEN_ACCOUNT_SIZE
    ):
        raise DecodeError(f"{acc.address}: {len(data)} bytes is not a token account")
    if len(data) > TOKEN_ACCOUNT_SIZE and data[TOKEN_ACCOUNT_SIZE] != 2:
        raise DecodeError(f"{acc.address}: Token-2022 data is not an account")
    state = data[108]
    if state == 0:
        raise DecodeError(f"{acc.address}: token account is not initialized")
    native_tag = int.from_bytes(data[109:113], "little")
    return TokenAccount(
        address=acc.address,
        token_program=acc.owner,
        mint=Pubkey.from_bytes(data[0:32]),
        owner=Pubkey.from_bytes(data[32:64]),
        amount=int.from_bytes(data[64:72], "little"),
        delegate=_coption_pubkey(data, 72),
        state=state,
        is_native=int.from_bytes(data[113:121], "little") if native_tag else None,
        delegated_amount=int.from_bytes(data[121:129], "little"),
        close_authority=_coption_pubkey(data, 129),
        raw=data,
    )


def encode_token_account(view: TokenAccount) -> bytes:
    body = (
        bytes(view.mint)
        + bytes(view.owner)
        + struct.pack("<Q", view.amount)
        + _put_coption_pubkey(view.delegate)
        + bytes([view.state])
        + (
            b"\x01\x00\x00\x00" + struct.pack("<Q", view.is_native)
            if view.is_native is not None
            else bytes(12)
        )
        + struct.pack("<Q", view.delegated_amount)
        + _put_coption_pubkey(view.close_authority)
    )
    return body + view.raw[TOKEN_ACCOUNT_SIZE:]


def decode_mint(acc: RawAccount) -> Mint:
    if acc.owner not in _TOKEN_PROGRAMS:
        raise DecodeError(f"{acc.address}: not a mint (owner {acc.owner})")
    data = acc.data
    if len(data) < MINT_SIZE or (acc.owner == SPL_TOKEN_PROGRAM_ID and len(data) != MINT_SIZE):
        raise DecodeError(f"{acc.address}: {len(data)} bytes is not a mint")
    if not data[45]:
        raise DecodeError(f"{acc.address}: mint is not initialized")
    return Mint(
        address=acc.address,
        token_program=acc.owner,
        mint_authority=_coption_pubkey(data, 0),
        supply=int.from_bytes(data[36:44], "little"),
        decimals=data[44],
        is_initialized=bool(data[45]),
        freeze_authority=_coption_pubkey(data, 46),
        raw=data,
    )


def encode_mint(view: Mint) -> bytes:
    body = (
        _put_coption_pubkey(view.mint_authority)
        + struct.pack("<Q", view.supply)
        + bytes([view.decimals, int(view.is_initialized)])
        + _put_coption_pubkey(view.freeze_authority)
    )
    return body + view.raw[MINT_SIZE:]
