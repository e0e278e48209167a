"""Block methods: getBlock, getBlocks(WithLimit), getBlockTime, getBlockCommitment,
getBlockProduction.

Every slot has a block made by this node (block height = slot); a block is served once
its slot is confirmed (or finalized, as asked) and until the history has dropped its
transactions (-32001 below the first available block). A slot not yet at the asked
commitment answers -32004, as on a validator.
"""

from __future__ import annotations

from typing import Any

from solders.message import MessageV0

from localnet.cluster import Cluster, TxRecord
from localnet.rpc.errors import (
    block_cleaned_up,
    block_not_available,
    invalid_params,
    version_unsupported,
)
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import (
    CONFIRMED_OR_MORE,
    check_context,
    commitment_of,
    config_object,
    int_param,
    param,
    parse_pubkey,
)
from localnet.rpc.shapes import (
    account_keys_json,
    meta_json,
    transaction_json,
    with_context,
)
from localnet.timekeeping import blockhash_for_slot

MAX_GET_CONFIRMED_BLOCKS_RANGE = 500_000
TRANSACTION_ENCODINGS = ("json", "jsonParsed", "base64", "base58")
TRANSACTION_DETAILS = ("full", "signatures", "none", "accounts")


def confirmed_commitment(cfg: dict[str, Any]) -> str:
    """The commitment of a ledger read, which must be `confirmed` or more."""
    commitment = commitment_of(cfg)
    if commitment not in CONFIRMED_OR_MORE:
        raise invalid_params("Method does not support commitment below `confirmed`")
    return commitment


def transaction_encoding(cfg: dict[str, Any]) -> str:
    encoding = cfg.get("encoding", "json")
    if encoding not in TRANSACTION_ENCODINGS:
        raise invalid_params(
            f"Invalid params: unknown variant `{encoding}`, expected one of `binary`, "
            "`base64`, `base58`, `json`, `jsonParsed`."
        )
    return str(encoding)


def check_block(cluster: Cluster, slot: int, commitment: str) -> None:
    """Raise the validator's error unless the block of `slot` can be served."""
    ledger = cluster.ledger
    if slot < ledger.first_available:
        raise block_cleaned_up(slot, ledger.first_available)
    if slot > ledger.slot_at(commitment):
        raise block_not_available(slot)


def version_json(record: TxRecord, max_version: Any) -> Any:
    """The `version` of an encoded transaction; refuses v0 to a client that did not opt in."""
    is_v0 = isinstance(record.transaction.message, MessageV0)
    if max_version is None:
        if is_v0:
            raise version_unsupported(0)
        return None
    if int_param(max_version, "maxSupportedTransactionVersion") < 0:
        raise invalid_params("Invalid params: maxSupportedTransactionVersion must be ≥ 0.")
    return 0 if is_v0 else "legacy"


def _encoded_transaction(
    record: TxRecord, details: str, encoding: str, max_version: Any
) -> dict[str, Any]:
    version = version_json(record, max_version)
    entry: dict[str, Any]
    if details == "accounts":
        meta = meta_json(record)
        entry = {
            "transaction": {
                "signatures": [str(s) for s in record.transaction.signatures],
                "accountKeys": account_keys_json(record),
            },
            "meta": {
                k: meta[k]
                for k in (
                    "err",
                    "status",
                    "fee",
                    "preBalances",
                    "postBalances",
                    "preTokenBalances",
                    "postTokenBalances",
                )
            },
        }
    else:
        entry = {
            "transaction": transaction_json(record, encoding),
            "meta": meta_json(record, parsed=encoding == "jsonParsed"),
        }
    if max_version is not None:
        entry["version"] = version
    return entry


def block_json(
    cluster: Cluster, slot: int, cfg: dict[str, Any], records: list[TxRecord]
) -> dict[str, Any]:
    """A block (UiConfirmedBlock) as getBlock and blockSubscribe show it."""
    details = cfg.get("transactionDetails", "full")
    if details not in TRANSACTION_DETAILS:
        raise invalid_params(
            f"Invalid params: unknown variant `{details}`, expected one of `full`, "
            "`signatures`, `none`, `accounts`."
        )
    encoding = transaction_encoding(cfg)
    max_version = cfg.get("maxSupportedTransactionVersion")
    parent = max(0, slot - 1)
    previous = (
        cluster.genesis_hash if slot == 0 else blockhash_for_slot(cluster.genesis_hash, parent)
    )
    block: dict[str, Any] = {
        "blockHeight": slot,
        "blockTime": cluster.block_time(slot),
        "blockhash": str(blockhash_for_slot(cluster.genesis_hash, slot)),
        "parentSlot": parent,
        "previousBlockhash": str(previous),
    }
    if details in ("full", "accounts"):
        block["transactions"] = [
            _encoded_transaction(r, details, encoding, max_version) for r in records
        ]
    elif details == "signatures":
        block["signatures"] = [str(r.signature) for r in records]
    if cfg.get("rewards", True):
        block["rewards"] = []
    return block


def block_records(cluster: Cluster, slot: int) -> list[TxRecord]:
    records = []
    for signature in cluster.ledger.signatures(slot):
        record = cluster.transaction(signature)
        if record is not None:
            records.append(record)
    return records


def get_block(cluster: Cluster, params: list[Any]) -> Any:
    slot = int_param(param(params, 0), "slot")
    raw = param(params, 1, required=False)
    # The old form: a bare encoding string instead of a config object.
    cfg = {"encoding": raw} if isinstance(raw, str) else config_object(params, 1)
    commitment = confirmed_commitment(cfg)
    check_block(cluster, slot, commitment)
    return block_json(cluster, slot, cfg, block_records(cluster, slot))


def _available_range(cluster: Cluster, first: int, last: int, commitment: str) -> list[int]:
    first = max(first, cluster.ledger.first_available)
    last = min(last, cluster.ledger.slot_at(commitment))
    return list(range(first, last + 1)) if last >= first else []


def get_blocks(cluster: Cluster, params: list[Any]) -> Any:
    start = int_param(param(params, 0), "start slot")
    raw_end = param(params, 1, required=False)
    if isinstance(raw_end, dict):  # [start, config]: the end slot is optional
        end, cfg = None, config_object(params, 1)
    else:
        end = None if raw_end is None else int_param(raw_end, "end slot")
        cfg = config_object(params, 2)
    commitment = confirmed_commitment(cfg)
    tip = cluster.ledger.slot_at(commitment)
    last = min(start + MAX_GET_CONFIRMED_BLOCKS_RANGE if end is None else end, tip)
    if last < start:
        return []
    if last - start > MAX_GET_CONFIRMED_BLOCKS_RANGE:
        raise invalid_params(f"Slot range too large; max {MAX_GET_CONFIRMED_BLOCKS_RANGE}")
    return _available_range(cluster, start, last, commitment)


def get_blocks_with_limit(cluster: Cluster, params: list[Any]) -> Any:
    start = int_param(param(params, 0), "start slot")
    limit = int_param(param(params, 1), "limit")
    commitment = confirmed_commitment(config_object(params, 2))
    if limit > MAX_GET_CONFIRMED_BLOCKS_RANGE:
        raise invalid_params(f"Limit too large; max {MAX_GET_CONFIRMED_BLOCKS_RANGE}")
    if limit == 0:
        return []
    first = max(start, cluster.ledger.first_available)
    return _available_range(cluster, first, first + limit - 1, commitment)


def get_block_time(cluster: Cluster, params: list[Any]) -> Any:
    slot = int_param(param(params, 0), "slot")
    check_block(cluster, slot, "confirmed")
    block_time = cluster.block_time(slot)
    if block_time is None:
        raise block_not_available(slot)
    return block_time


def get_block_commitment(cluster: Cluster, params: list[Any]) -> Any:
    """Stake that voted on the block, by lockout depth; null once the block is rooted."""
    slot = int_param(param(params, 0), "slot")
    ledger = cluster.ledger
    stake = cluster.total_stake
    commitment: list[int] | None = None
    if ledger.finalized_slot < slot <= ledger.processed_slot:
        commitment = [0] * 32
        commitment[min(31, ledger.processed_slot - slot)] = stake
    return {"commitment": commitment, "totalStake": stake}


def get_block_production(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 0)
    check_context(cfg, cluster.slot)
    tip = cluster.ledger.slot_at(commitment_of(cfg))
    identity = str(cluster.faucet.pubkey())
    raw_range = cfg.get("range")
    if raw_range is None:
        schedule = cluster.svm.get_epoch_schedule()
        first = schedule.get_first_slot_in_epoch(schedule.get_epoch(tip))
        last = tip
    else:
        if not isinstance(raw_range, dict):
            raise invalid_params("Invalid params: range must be {firstSlot, lastSlot}.")
        first = int_param(raw_range.get("firstSlot"), "range.firstSlot")
        raw_last = raw_range.get("lastSlot")
        last = tip if raw_last is None else int_param(raw_last, "range.lastSlot")
        if last < first:
            raise invalid_params(f"lastSlot, {last}, cannot be less than firstSlot, {first}")
        if last > tip:
            raise invalid_params(f"lastSlot, {last}, is too large; max {tip}")
    wanted = cfg.get("identity")
    if wanted is not None:
        wanted = str(parse_pubkey(wanted))
    produced = last - first + 1
    by_identity = {identity: [produced, produced]} if wanted in (None, identity) else {}
    return with_context(
        {"byIdentity": by_identity, "range": {"firstSlot": first, "lastSlot": last}}, tip
    )


METHODS: dict[str, ClusterMethod] = {
    "getBlock": get_block,
    "getBlocks": get_blocks,
    "getBlocksWithLimit": get_blocks_with_limit,
    "getBlockTime": get_block_time,
    "getBlockCommitment": get_block_commitment,
    "getBlockProduction": get_block_production,
}
