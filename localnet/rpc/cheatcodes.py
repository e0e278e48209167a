"""The `localnet_` cheatcodes: move the clock, write accounts, dump state (see README.md).

No validator has these; they let tests and replays put the cluster where they need it.
The clock object they answer with is getEpochInfo's plus the time and the slot rate.
"""

from __future__ import annotations

from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from localnet.cluster import Cluster
from localnet.encoding import account_json, decode_bytes
from localnet.rpc.errors import invalid_params
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import config_object, int_param, param, parse_pubkey
from localnet.rpc.shapes import blockhash_json, epoch_json, with_context


def clock_json(cluster: Cluster) -> dict[str, Any]:
    info = cluster.epoch_info()
    return {
        **epoch_json(info),
        "unixTimestamp": info.unix_timestamp,
        "slotMs": cluster.config.slot_ms,
        "paused": cluster.clock_paused,
    }


def time_travel(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 0)
    keys = {"absoluteSlot", "absoluteTimestamp", "slots", "seconds"}
    given = {k: int_param(v, k) for k, v in cfg.items() if k in keys}
    pair = set(given) == {"absoluteSlot", "absoluteTimestamp"}
    if set(cfg) - keys or (len(given) != 1 and not pair):
        raise invalid_params(
            "Invalid params: give exactly one of absoluteSlot, absoluteTimestamp, "
            "slots, seconds, or absoluteSlot together with absoluteTimestamp."
        )
    cluster.time_travel(
        absolute_slot=given.get("absoluteSlot"),
        absolute_timestamp=given.get("absoluteTimestamp"),
        slots=given.get("slots"),
        seconds=given.get("seconds"),
    )
    return clock_json(cluster)


def warp_clock(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 0)
    if set(cfg) != {"unixTimestamp"}:
        raise invalid_params('Invalid params: give {"unixTimestamp": n}.')
    cluster.warp_clock(int_param(cfg["unixTimestamp"], "unixTimestamp"))
    return clock_json(cluster)


def set_account(cluster: Cluster, params: list[Any]) -> Any:
    address = parse_pubkey(param(params, 0))
    update = config_object(params, 1)
    current = cluster.get_account(address)
    lamports = update.get("lamports", current.lamports if current else 0)
    data = bytes(current.data) if current else b""
    if "data" in update:
        raw = update["data"]
        if isinstance(raw, list) and len(raw) == 2:
            data = decode_bytes(str(raw[0]), str(raw[1]))
        elif isinstance(raw, str):
            data = decode_bytes(raw, "base64")
        else:
            raise invalid_params('Invalid params: data is a base64 string or [data, "encoding"].')
    owner = (
        parse_pubkey(update["owner"])
        if "owner" in update
        else (current.owner if current else Pubkey.default())
    )
    executable = bool(update.get("executable", current.executable if current else False))
    rent_epoch = int_param(
        update.get("rentEpoch", current.rent_epoch if current else 0), "rentEpoch"
    )
    account = Account(int_param(lamports, "lamports"), data, owner, executable, rent_epoch)
    cluster.set_account(address, account)
    return with_context(None, cluster.slot)


def set_token_account_balance(cluster: Cluster, params: list[Any]) -> Any:
    address = parse_pubkey(param(params, 0))
    amount = int_param(param(params, 1), "amount")
    cluster.set_token_amount(address, amount)
    return with_context(None, cluster.slot)


def set_token_account(cluster: Cluster, params: list[Any]) -> Any:
    owner = parse_pubkey(param(params, 0))
    mint = parse_pubkey(param(params, 1))
    update = config_object(params, 2)
    amount = int_param(update.get("amount", 0), "amount")
    raw_program = param(params, 3, required=False)
    program = parse_pubkey(raw_program) if raw_program is not None else None
    address = cluster.set_token_account(owner, mint, amount, program)
    return with_context({"address": str(address)}, cluster.slot)


def dump_state(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 0)
    if "addresses" in cfg:
        if not isinstance(cfg["addresses"], list):
            raise invalid_params("Invalid params: addresses must be a list.")
        addresses = [parse_pubkey(a) for a in cfg["addresses"]]
    else:
        addresses = sorted(cluster.known_addresses(), key=str)
    accounts = {}
    for address in addresses:
        acc = cluster.get_account(address)
        if acc is not None:
            accounts[str(address)] = account_json(acc, "base64")
    return {
        "clock": clock_json(cluster),
        **blockhash_json(*cluster.latest_blockhash()),
        "genesisHash": str(cluster.genesis_hash),
        "models": sorted(str(p) for p in cluster.models),
        "accounts": accounts,
    }


def pause_clock(cluster: Cluster, params: list[Any]) -> Any:
    cluster.pause_clock()
    return clock_json(cluster)


def resume_clock(cluster: Cluster, params: list[Any]) -> Any:
    cluster.resume_clock()
    return clock_json(cluster)


def get_clock(cluster: Cluster, params: list[Any]) -> Any:
    return clock_json(cluster)


METHODS: dict[str, ClusterMethod] = {
    "localnet_timeTravel": time_travel,
    "localnet_warpClock": warp_clock,
    "localnet_setAccount": set_account,
    "localnet_setTokenAccountBalance": set_token_account_balance,
    "localnet_setTokenAccount": set_token_account,
    "localnet_dumpState": dump_state,
    "localnet_pauseClock": pause_clock,
    "localnet_resumeClock": resume_clock,
    "localnet_getClock": get_clock,
}
