"""An account as the RPC shows it (UiAccount), in the encoding a config asks for.

`jsonParsed` token accounts show their mint's decimals, so rendering one reads the mint
from the cluster; every method and notification that shows an account goes through here.
"""

from __future__ import annotations

from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from localnet.cluster import TOKEN_PROGRAMS, Cluster
from localnet.encoding import account_json, parse_token_data, token_mint_of
from localnet.rpc.params import account_encoding, data_slice_of


def account_value(
    cluster: Cluster, address: Pubkey, acc: Account, cfg: dict[str, Any]
) -> dict[str, Any]:
    encoding = account_encoding(cfg)
    parsed = None
    if encoding == "jsonParsed" and acc.owner in TOKEN_PROGRAMS:
        mint = token_mint_of(acc)
        decimals = {mint: mint_decimals(cluster, mint)} if mint is not None else {}
        parsed = parse_token_data(address, acc, decimals)
    return account_json(acc, encoding, data_slice_of(cfg), parsed)


def mint_decimals(cluster: Cluster, mint: Pubkey) -> int | None:
    """The decimals of an initialised token mint; None when `mint` is no such account."""
    acc = cluster.get_account(mint)
    if acc is None or acc.owner not in TOKEN_PROGRAMS or len(acc.data) < 82 or not acc.data[45]:
        return None
    return int(acc.data[44])
