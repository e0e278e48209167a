"""Result shapes: the JSON a validator answers with, built from the cluster's records.

Pure functions of records and values; the methods decide what to show, these decide how
it looks, down to the key names clients parse.
"""

from __future__ import annotations

import base64
from typing import Any

from solders.hash import Hash
from solders.message import MessageV0

from localnet.cluster import EpochInfo, TokenBalance, TxRecord
from localnet.encoding import b58encode, token_amount_json
from localnet.execution import ExecutionResult
from localnet.ledger import Ledger
from localnet.rpc.node import API_VERSION
from localnet.rpc.parsed import parsed_instruction
from localnet.txerrors import transaction_error_json


def with_context(value: Any, slot: int) -> dict[str, Any]:
    """The validator's `{"context": {"slot", "apiVersion"}, "value"}` wrapper."""
    return {"context": {"slot": slot, "apiVersion": API_VERSION}, "value": value}


def blockhash_json(blockhash: Hash, last_valid: int) -> dict[str, Any]:
    return {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid}


def epoch_json(info: EpochInfo) -> dict[str, Any]:
    return {
        "absoluteSlot": info.absolute_slot,
        "blockHeight": info.block_height,
        "epoch": info.epoch,
        "slotIndex": info.slot_index,
        "slotsInEpoch": info.slots_in_epoch,
        "transactionCount": info.transaction_count,
    }


def status_json(record: TxRecord, ledger: Ledger) -> dict[str, Any]:
    err = transaction_error_json(record.err)
    return {
        "slot": record.slot,
        "confirmations": ledger.confirmations(record.slot),
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "confirmationStatus": ledger.status_of(record.slot),
    }


def signature_info_json(record: TxRecord, ledger: Ledger) -> dict[str, Any]:
    """One entry of getSignaturesForAddress."""
    return {
        "signature": str(record.signature),
        "slot": record.slot,
        "err": transaction_error_json(record.err),
        "memo": None,
        "blockTime": record.block_time,
        "confirmationStatus": ledger.status_of(record.slot),
    }


def simulation_json(
    result: ExecutionResult, accounts: list[Any] | None, replacement: dict[str, Any] | None
) -> dict[str, Any]:
    """A simulation result; also the data of a -32002 preflight failure."""
    return {
        "err": transaction_error_json(result.err),
        "logs": list(result.logs),
        "accounts": accounts,
        "unitsConsumed": result.compute_units,
        "returnData": None,
        "innerInstructions": None,
        "replacementBlockhash": replacement,
    }


def _token_balance_json(b: TokenBalance) -> dict[str, Any]:
    return {
        "accountIndex": b.account_index,
        "mint": str(b.mint),
        "uiTokenAmount": token_amount_json(b.amount, b.decimals),
        "owner": str(b.owner),
        "programId": str(b.program_id),
    }


def meta_json(record: TxRecord, *, parsed: bool = False) -> dict[str, Any]:
    """A transaction's status meta; `parsed` (jsonParsed) leaves out loadedAddresses,
    which the account keys then show with their source."""
    result = record.result
    err = transaction_error_json(result.err)
    meta = {
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "fee": result.fee,
        "preBalances": [a.lamports if a else 0 for a in result.pre],
        "postBalances": [a.lamports if a else 0 for a in result.post],
        "innerInstructions": inner_instructions_json(record, parsed=parsed),
        "logMessages": list(result.logs),
        "preTokenBalances": [_token_balance_json(b) for b in record.pre_token_balances],
        "postTokenBalances": [_token_balance_json(b) for b in record.post_token_balances],
        "rewards": [],
        "loadedAddresses": {
            "writable": [str(k) for k in record.loaded.loaded_writable],
            "readonly": [str(k) for k in record.loaded.loaded_readonly],
        },
        "computeUnitsConsumed": result.compute_units,
    }
    if result.return_data is not None:
        program, data = result.return_data
        meta["returnData"] = {
            "programId": str(program),
            "data": [base64.b64encode(data).decode(), "base64"],
        }
    if parsed:
        del meta["loadedAddresses"]
    return meta


def inner_instructions_json(record: TxRecord, *, parsed: bool) -> list[dict[str, Any]]:
    """The CPIs each outer instruction made, compiled (json) or parsed (jsonParsed)."""
    keys = record.loaded.keys
    shown = []
    for index, calls in record.result.inner:
        if parsed:
            instructions = [
                parsed_instruction(
                    str(keys[c.program_id_index]),
                    [str(keys[a]) for a in c.accounts],
                    c.data,
                    c.stack_height,
                )
                for c in calls
            ]
        else:
            instructions = [
                {
                    "programIdIndex": c.program_id_index,
                    "accounts": list(c.accounts),
                    "data": b58encode(c.data),
                    "stackHeight": c.stack_height,
                }
                for c in calls
            ]
        shown.append({"index": index, "instructions": instructions})
    return shown


def account_keys_json(record: TxRecord) -> list[dict[str, Any]]:
    """The jsonParsed account keys: static ones, then those a lookup table loaded."""
    loaded = record.loaded
    n_static = len(record.transaction.message.account_keys)
    return [
        {
            "pubkey": str(k),
            "writable": loaded.writable[i],
            "signer": loaded.signer[i],
            "source": "transaction" if i < n_static else "lookupTable",
        }
        for i, k in enumerate(loaded.keys)
    ]


def transaction_json(record: TxRecord, encoding: str) -> Any:
    tx = record.transaction
    if encoding == "base64":
        return [base64.b64encode(bytes(tx)).decode(), "base64"]
    if encoding == "base58":
        return [b58encode(bytes(tx)), "base58"]
    msg = tx.message
    header = msg.header
    static = list(msg.account_keys)
    message: dict[str, Any]
    if encoding == "jsonParsed":
        loaded = record.loaded
        message = {
            "accountKeys": account_keys_json(record),
            "recentBlockhash": str(msg.recent_blockhash),
            "instructions": [
                parsed_instruction(
                    str(loaded.keys[ix.program_id_index]),
                    [str(loaded.keys[a]) for a in bytes(ix.accounts)],
                    bytes(ix.data),
                    None,
                )
                for ix in msg.instructions
            ],
        }
    else:
        message = {
            "accountKeys": [str(k) for k in static],
            "header": {
                "numRequiredSignatures": header.num_required_signatures,
                "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
            },
            "recentBlockhash": str(msg.recent_blockhash),
            "instructions": [
                {
                    "programIdIndex": ix.program_id_index,
                    "accounts": list(bytes(ix.accounts)),
                    "data": b58encode(bytes(ix.data)),
                    "stackHeight": None,
                }
                for ix in msg.instructions
            ],
        }
    if isinstance(msg, MessageV0):
        message["addressTableLookups"] = [
            {
                "accountKey": str(lookup.account_key),
                "writableIndexes": list(bytes(lookup.writable_indexes)),
                "readonlyIndexes": list(bytes(lookup.readonly_indexes)),
            }
            for lookup in msg.address_table_lookups
        ]
    return {"signatures": [str(s) for s in tx.signatures], "message": message}
