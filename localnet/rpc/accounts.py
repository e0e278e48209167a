"""Account methods: one, many, by owning program, lamports, and the rent-exempt minimum."""

from __future__ import annotations

from typing import Any

from localnet.cluster import Cluster
from localnet.rpc.filters import data_matcher, parse_filters
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import (
    check_context,
    config_object,
    int_param,
    list_param,
    param,
    parse_pubkey,
)
from localnet.rpc.shapes import with_context
from localnet.rpc.ui_account import account_value

MAX_MULTIPLE_ACCOUNTS = 100


def get_account_info(cluster: Cluster, params: list[Any]) -> Any:
    address = parse_pubkey(param(params, 0))
    cfg = config_object(params, 1)
    check_context(cfg, cluster.slot)
    acc = cluster.get_account(address)
    value = None if acc is None else account_value(cluster, address, acc, cfg)
    return with_context(value, cluster.slot)


def get_multiple_accounts(cluster: Cluster, params: list[Any]) -> Any:
    raw = list_param(param(params, 0), "public keys", MAX_MULTIPLE_ACCOUNTS)
    addresses = [parse_pubkey(a) for a in raw]
    cfg = config_object(params, 1)
    check_context(cfg, cluster.slot)
    values = []
    for address in addresses:
        acc = cluster.get_account(address)
        values.append(None if acc is None else account_value(cluster, address, acc, cfg))
    return with_context(values, cluster.slot)


def get_program_accounts(cluster: Cluster, params: list[Any]) -> Any:
    program = parse_pubkey(param(params, 0))
    cfg = config_object(params, 1)
    check_context(cfg, cluster.slot)
    where = data_matcher(parse_filters(cfg.get("filters")))
    found = [
        {"pubkey": str(address), "account": account_value(cluster, address, acc, cfg)}
        for address, acc in cluster.accounts_owned_by(program, where)
    ]
    return with_context(found, cluster.slot) if cfg.get("withContext") else found


def get_balance(cluster: Cluster, params: list[Any]) -> Any:
    address = parse_pubkey(param(params, 0))
    check_context(config_object(params, 1), cluster.slot)
    acc = cluster.get_account(address)
    return with_context(0 if acc is None else acc.lamports, cluster.slot)


def get_minimum_balance_for_rent_exemption(cluster: Cluster, params: list[Any]) -> Any:
    return cluster.minimum_balance(int_param(param(params, 0), "data length"))


METHODS: dict[str, ClusterMethod] = {
    "getAccountInfo": get_account_info,
    "getMultipleAccounts": get_multiple_accounts,
    "getProgramAccounts": get_program_accounts,
    "getBalance": get_balance,
    "getMinimumBalanceForRentExemption": get_minimum_balance_for_rent_exemption,
}
