"""Transactions in: sendTransaction (with preflight), simulateTransaction, requestAirdrop.

A body is decoded and sanitised with the validator's messages before the bank sees it;
preflight verifies signatures (-32003) and simulates (-32002 with the simulation result
as data), unless the client skips it.
"""

from __future__ import annotations

from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster, TxOutcome
from localnet.encoding import EncodingError, decode_bytes
from localnet.rpc.errors import (
    INTERNAL_ERROR,
    PREFLIGHT_FAILURE,
    SIGNATURE_VERIFICATION_FAILURE,
    RpcError,
    invalid_params,
)
from localnet.rpc.framing import ClusterMethod
from localnet.rpc.params import (
    check_context,
    commitment_of,
    config_object,
    int_param,
    param,
    parse_pubkey,
)
from localnet.rpc.shapes import blockhash_json, simulation_json, with_context
from localnet.rpc.ui_account import account_value
from localnet.txerrors import transaction_error_text

MAX_TX_BYTES = 1232


def decode_transaction(data: Any, cfg: dict[str, Any]) -> VersionedTransaction:
    encoding = cfg.get("encoding", "base58")
    if not isinstance(data, str) or encoding not in ("base58", "base64"):
        raise invalid_params("Invalid params: expected a base58 or base64 encoded transaction.")
    try:
        raw = decode_bytes(data, encoding)
    except EncodingError as exc:
        raise invalid_params(f"invalid {encoding} encoding: {exc}") from exc
    if len(raw) > MAX_TX_BYTES:
        limit = 1644 if encoding == "base64" else 1683
        raise invalid_params(
            f"{encoding} encoded solana_sdk::transaction::versioned::VersionedTransaction too "
            f"large: {len(raw)} bytes (max: encoded/raw {limit}/{MAX_TX_BYTES})"
        )
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except Exception as exc:
        raise invalid_params(
            "failed to deserialize solana_sdk::transaction::versioned::VersionedTransaction: "
            f"{exc}"
        ) from exc
    try:
        tx.sanitize()
        if len(tx.signatures) != tx.message.header.num_required_signatures:
            raise ValueError("signature count")
    except Exception as exc:
        raise invalid_params(
            "invalid transaction: Transaction failed to sanitize accounts offsets correctly"
        ) from exc
    return tx


def _check_signatures(tx: VersionedTransaction) -> None:
    if not all(tx.verify_with_results()):
        raise RpcError(SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")


def _accounts_after(
    cluster: Cluster, outcome: TxOutcome, addresses: list[Pubkey], cfg: dict[str, Any]
) -> list[Any]:
    """The accounts a simulation asked for, as the transaction left them."""
    post = (
        dict(zip(outcome.loaded.keys, outcome.result.post, strict=True)) if outcome.loaded else {}
    )
    shown: list[Any] = []
    for address in addresses:
        acc = post[address] if address in post else cluster.get_account(address)
        shown.append(None if acc is None else account_value(cluster, address, acc, cfg))
    return shown


def send_transaction(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 1)
    tx = decode_transaction(param(params, 0), cfg)
    if cfg.get("preflightCommitment") is not None:
        commitment_of({"commitment": cfg["preflightCommitment"]})
    check_context(cfg, cluster.slot)
    if not cfg.get("skipPreflight", False):
        _check_signatures(tx)
        simulated = cluster.simulate_transaction(tx, sig_verify=False)
        if simulated.err is not None:
            raise RpcError(
                PREFLIGHT_FAILURE,
                f"Transaction simulation failed: {transaction_error_text(simulated.err)}",
                simulation_json(simulated.result, None, None),
            )
    cluster.submit_transaction(tx)
    return str(tx.signatures[0])


def simulate_transaction(cluster: Cluster, params: list[Any]) -> Any:
    cfg = config_object(params, 1)
    tx = decode_transaction(param(params, 0), cfg)
    check_context(cfg, cluster.slot)
    sig_verify = bool(cfg.get("sigVerify", False))
    replace = bool(cfg.get("replaceRecentBlockhash", False))
    if sig_verify and replace:
        raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
    if sig_verify:
        _check_signatures(tx)
    accounts_cfg = cfg.get("accounts")
    addresses: list[Pubkey] | None = None
    account_cfg: dict[str, Any] = {}
    if accounts_cfg is not None:
        if not isinstance(accounts_cfg, dict) or not isinstance(
            accounts_cfg.get("addresses"), list
        ):
            raise invalid_params("Invalid params: accounts must be {addresses, encoding}.")
        addresses = [parse_pubkey(a) for a in accounts_cfg["addresses"]]
        account_cfg = {"encoding": accounts_cfg.get("encoding", "base64")}
    outcome = cluster.simulate_transaction(tx, sig_verify=False, replace_blockhash=replace)
    replacement = None
    if replace:
        replacement = blockhash_json(*cluster.latest_blockhash())
    shown = None if addresses is None else _accounts_after(cluster, outcome, addresses, account_cfg)
    return with_context(simulation_json(outcome.result, shown, replacement), cluster.slot)


def request_airdrop(cluster: Cluster, params: list[Any]) -> Any:
    """The faucet's transfer goes the way a sent transaction goes (it lands at the
    slot's end while slots tick); a failure shows in its status, as on a validator."""
    address = parse_pubkey(param(params, 0))
    lamports = int_param(param(params, 1), "lamports", 1)
    check_context(config_object(params, 2), cluster.slot)
    tx = cluster.airdrop_transaction(address, lamports)
    outcome = cluster.simulate_transaction(tx)
    if outcome.err is not None:
        raise RpcError(INTERNAL_ERROR, f"airdrop failed: {transaction_error_text(outcome.err)}")
    cluster.submit_transaction(tx)
    return str(tx.signatures[0])


METHODS: dict[str, ClusterMethod] = {
    "requestAirdrop": request_airdrop,
    "sendTransaction": send_transaction,
    "simulateTransaction": simulate_transaction,
}
