"""SPL token methods: an account's balance, a mint's supply, an owner's token accounts.

Both token programs (Token and Token-2022) are served; amounts carry the mint's decimals.
"""

from __future__ import annotations

from typing import Any

from solders.pubkey import Pubkey

from localnet.cluster import TOKEN_PROGRAMS, Cluster
from localnet.encoding import token_amount_json, token_mint_of
from localnet.rpc.errors import invalid_params
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import check_context, config_object, param, parse_pubkey
from localnet.rpc.shapes import with_context
from localnet.rpc.ui_account import account_value, mint_decimals


def _amount_json(data: bytes, offset: int, decimals: int) -> dict[str, Any]:
    """The u64 amount at `offset` (a token account's balance, a mint's supply)."""
    return token_amount_json(int.from_bytes(data[offset : offset + 8], "little"), decimals)


def get_token_account_balance(cluster: Cluster, params: list[Any]) -> Any:
    address = parse_pubkey(param(params, 0))
    check_context(config_object(params, 1), cluster.slot)
    acc = cluster.get_account(address)
    if acc is None:
        raise invalid_params("Invalid param: could not find account")
    mint = token_mint_of(acc)
    decimals = mint_decimals(cluster, mint) if mint is not None else None
    if mint is None or decimals is None:
        raise invalid_params("Invalid param: not a Token account")
    return with_context(_amount_json(acc.data, 64, decimals), cluster.slot)


def get_token_supply(cluster: Cluster, params: list[Any]) -> Any:
    mint = parse_pubkey(param(params, 0))
    check_context(config_object(params, 1), cluster.slot)
    acc = cluster.get_account(mint)
    decimals = mint_decimals(cluster, mint)
    if acc is None or decimals is None:
        raise invalid_params("Invalid param: not a Token mint")
    return with_context(_amount_json(acc.data, 36, decimals), cluster.slot)


#: Where a token account holds its owner, and its delegate (after a 4-byte COption tag).
_OWNER = slice(32, 64)
_DELEGATE = slice(76, 108)
_DELEGATE_TAG = slice(72, 76)
MAX_LARGEST_TOKEN_ACCOUNTS = 20


def get_token_accounts_by_owner(cluster: Cluster, params: list[Any]) -> Any:
    return _token_accounts_by(cluster, params, _OWNER)


def get_token_accounts_by_delegate(cluster: Cluster, params: list[Any]) -> Any:
    return _token_accounts_by(cluster, params, _DELEGATE)


def _token_accounts_by(cluster: Cluster, params: list[Any], field: slice) -> Any:
    """Token accounts whose owner (or delegate) is the first parameter."""
    key = parse_pubkey(param(params, 0))
    selector = param(params, 1)
    cfg = config_object(params, 2)
    check_context(cfg, cluster.slot)
    if not isinstance(selector, dict) or len(selector) != 1:
        raise invalid_params("Invalid params: expected {mint} or {programId}.")
    mint: Pubkey | None = None
    if "mint" in selector:
        mint = parse_pubkey(selector["mint"])
        mint_acc = cluster.get_account(mint)
        if mint_acc is None or mint_acc.owner not in TOKEN_PROGRAMS:
            raise invalid_params("Invalid param: could not find mint")
        programs: tuple[Pubkey, ...] = (mint_acc.owner,)
    elif "programId" in selector:
        program = parse_pubkey(selector["programId"])
        if program not in TOKEN_PROGRAMS:
            raise invalid_params("Invalid param: unrecognized Token program id")
        programs = (program,)
    else:
        raise invalid_params("Invalid params: expected {mint} or {programId}.")
    key_bytes, mint_bytes = bytes(key), None if mint is None else bytes(mint)

    def where(data: bytes) -> bool:
        if len(data) < 165 or data[field] != key_bytes:
            return False
        if field == _DELEGATE and data[_DELEGATE_TAG] != b"\x01\x00\x00\x00":
            return False
        return mint_bytes is None or data[0:32] == mint_bytes

    found = [
        {"pubkey": str(address), "account": account_value(cluster, address, acc, cfg)}
        for program in programs
        for address, acc in cluster.accounts_owned_by(program, where)
    ]
    return with_context(found, cluster.slot)


def get_token_largest_accounts(cluster: Cluster, params: list[Any]) -> Any:
    mint = parse_pubkey(param(params, 0))
    check_context(config_object(params, 1), cluster.slot)
    mint_acc = cluster.get_account(mint)
    decimals = mint_decimals(cluster, mint)
    if mint_acc is None or decimals is None:
        raise invalid_params("Invalid param: not a Token mint")
    mint_bytes = bytes(mint)
    holders = [
        (int.from_bytes(bytes(acc.data[64:72]), "little"), address)
        for address, acc in cluster.accounts_owned_by(
            mint_acc.owner, lambda data: len(data) >= 165 and data[0:32] == mint_bytes
        )
    ]
    holders.sort(key=lambda h: -h[0])
    value = [
        {"address": str(address), **token_amount_json(amount, decimals)}
        for amount, address in holders[:MAX_LARGEST_TOKEN_ACCOUNTS]
    ]
    return with_context(value, cluster.slot)


METHODS: dict[str, ClusterMethod] = {
    "getTokenAccountsByDelegate": get_token_accounts_by_delegate,
    "getTokenLargestAccounts": get_token_largest_accounts,
    "getTokenAccountBalance": get_token_account_balance,
    "getTokenAccountsByOwner": get_token_accounts_by_owner,
    "getTokenSupply": get_token_supply,
}
