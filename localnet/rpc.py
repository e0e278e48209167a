"""JSON-RPC 2.0 over a `Cluster`, answering as an agave validator answers.

`RpcHandler.handle(body)` takes the raw request body (single or batch) and returns the
raw response body, so the same code serves HTTP and tests. Results carry the
validator's `{"context": {"slot", "apiVersion"}, "value"}` wrapper where the validator
uses one; errors carry the validator's codes and messages, because clients branch on
them (solders parses -32002 into a preflight failure with its simulation result).

Cheatcodes live under the `localnet_` prefix; see localnet/README.md.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.hash import Hash
from solders.message import Message, MessageV0, from_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from localnet.cluster import (
    TOKEN_PROGRAMS,
    Cluster,
    ClusterError,
    EpochInfo,
    TokenBalance,
    TxOutcome,
    TxRecord,
)
from localnet.encoding import (
    ACCOUNT_ENCODINGS,
    DataSlice,
    EncodingError,
    account_json,
    b58decode,
    b58encode,
    decode_bytes,
    parse_token_data,
    token_amount_json,
    token_mint_of,
)
from localnet.txerrors import transaction_error_json, transaction_error_text

API_VERSION = "2.2.0"
FEATURE_SET = 3294202862
MAX_MULTIPLE_ACCOUNTS = 100
MAX_TX_BYTES = 1232
MAX_SIGNATURE_STATUSES = 256

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PREFLIGHT_FAILURE = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
BLOCK_NOT_AVAILABLE = -32004
TRANSACTION_VERSION_UNSUPPORTED = -32015
MIN_CONTEXT_SLOT_NOT_REACHED = -32016

_COMMITMENTS = {
    "processed",
    "confirmed",
    "finalized",
    "recent",
    "single",
    "singleGossip",
    "root",
    "max",
}
_CONFIRMED_OR_MORE = {"confirmed", "finalized", "single", "singleGossip", "root", "max"}


class RpcError(Exception):
    """A JSON-RPC error object: code, message and optional data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


# -- parameter readers -------------------------------------------------------------------


def param(params: list[Any], index: int, required: bool = True) -> Any:
    if index < len(params):
        return params[index]
    if required:
        raise invalid_params(f"Invalid params: missing parameter at position {index}.")
    return None


def config_object(params: list[Any], index: int) -> dict[str, Any]:
    value = param(params, index, required=False)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_params(f"Invalid params: expected a config object at position {index}.")
    # serde reads an explicit null as "not given"; clients (solana-py) send them.
    return {k: v for k, v in value.items() if v is not None}


def _parse_base58(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, str):
        raise invalid_params(f"Invalid params: expected a base-58 {what} string.")
    try:
        raw = b58decode(value)
    except EncodingError as exc:
        raise invalid_params("Invalid param: Invalid") from exc
    if len(raw) != size:
        raise invalid_params("Invalid param: WrongSize")
    return raw


def parse_pubkey(value: Any) -> Pubkey:
    return Pubkey.from_bytes(_parse_base58(value, 32, "public key"))


def parse_signature(value: Any) -> Signature:
    return Signature.from_bytes(_parse_base58(value, 64, "signature"))


def _int(value: Any, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid_params(f"Invalid params: {what} must be an integer ≥ {minimum}.")
    return value


def commitment_of(cfg: dict[str, Any]) -> str:
    commitment = cfg.get("commitment", "finalized")
    if commitment not in _COMMITMENTS:
        raise invalid_params(f"Invalid params: unknown commitment {commitment!r}.")
    return str(commitment)


def account_encoding(cfg: dict[str, Any], default: str = "base64") -> str:
    encoding = cfg.get("encoding", default)
    if encoding == "base64+zstd":
        raise invalid_params(
            "Invalid params: base64+zstd encoding is not supported by this localnet."
        )
    if encoding not in ACCOUNT_ENCODINGS:
        raise invalid_params(f"Invalid params: unknown encoding {encoding!r}.")
    return str(encoding)


def data_slice_of(cfg: dict[str, Any]) -> DataSlice | None:
    raw = cfg.get("dataSlice")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_params("Invalid params: dataSlice must be {offset, length}.")
    return DataSlice(
        _int(raw.get("offset"), "dataSlice.offset"), _int(raw.get("length"), "dataSlice.length")
    )


@dataclass(frozen=True)
class AccountFilter:
    """One getProgramAccounts / programSubscribe filter."""

    data_size: int | None = None
    memcmp_offset: int = 0
    memcmp_bytes: bytes | None = None

    def matches(self, data: bytes) -> bool:
        if self.data_size is not None:
            return len(data) == self.data_size
        assert self.memcmp_bytes is not None
        end = self.memcmp_offset + len(self.memcmp_bytes)
        return data[self.memcmp_offset : end] == self.memcmp_bytes


def parse_filters(raw: Any) -> list[AccountFilter]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > 4:
        raise invalid_params("Invalid params: filters must be a list of at most 4 filters.")
    filters = []
    for f in raw:
        if not isinstance(f, dict):
            raise invalid_params("Invalid params: a filter must be an object.")
        if "dataSize" in f:
            filters.append(AccountFilter(data_size=_int(f["dataSize"], "dataSize")))
        elif "memcmp" in f and isinstance(f["memcmp"], dict):
            m = f["memcmp"]
            text = m.get("bytes")
            encoding = m.get("encoding", "base58")
            if not isinstance(text, str) or encoding not in ("base58", "base64"):
                raise invalid_params(
                    "Invalid params: memcmp needs bytes as a base58/base64 string."
                )
            if encoding == "base58" and len(text) > 128:
                raise invalid_params(
                    "Invalid param: encoded binary data should be less than 129 bytes"
                )
            try:
                data = decode_bytes(text, encoding)
            except EncodingError as exc:
                raise invalid_params(f"Invalid param: {exc}") from exc
            filters.append(
                AccountFilter(
                    memcmp_offset=_int(m.get("offset"), "memcmp.offset"), memcmp_bytes=data
                )
            )
        else:
            raise invalid_params("Invalid params: unknown filter; use dataSize or memcmp.")
    return filters


# -- the handler ---------------------------------------------------------------------------

Method = Callable[[list[Any]], Any]


class RpcHandler:
    """Dispatches JSON-RPC requests to a cluster. Stateless apart from the cluster."""

    def __init__(self, cluster: Cluster, *, cheatcodes: bool = True) -> None:
        self.cluster = cluster
        self.methods: dict[str, Method] = {
            "getAccountInfo": self.get_account_info,
            "getMultipleAccounts": self.get_multiple_accounts,
            "getProgramAccounts": self.get_program_accounts,
            "getBalance": self.get_balance,
            "getTokenAccountBalance": self.get_token_account_balance,
            "getTokenAccountsByOwner": self.get_token_accounts_by_owner,
            "getTokenSupply": self.get_token_supply,
            "getLatestBlockhash": self.get_latest_blockhash,
            "isBlockhashValid": self.is_blockhash_valid,
            "getBlockHeight": self.get_block_height,
            "getSlot": self.get_slot,
            "getBlockTime": self.get_block_time,
            "getEpochInfo": self.get_epoch_info,
            "getEpochSchedule": self.get_epoch_schedule,
            "getGenesisHash": lambda _p: str(self.cluster.genesis_hash),
            "getHealth": lambda _p: "ok",
            "getVersion": lambda _p: {"solana-core": API_VERSION, "feature-set": FEATURE_SET},
            "getIdentity": lambda _p: {"identity": str(self.cluster.faucet.pubkey())},
            "getFirstAvailableBlock": lambda _p: 0,
            "minimumLedgerSlot": lambda _p: 0,
            "getTransactionCount": lambda _p: self.cluster.transaction_count,
            "getMinimumBalanceForRentExemption": self.get_minimum_balance_for_rent_exemption,
            "getFeeForMessage": self.get_fee_for_message,
            "getRecentPrioritizationFees": self.get_recent_prioritization_fees,
            "requestAirdrop": self.request_airdrop,
            "sendTransaction": self.send_transaction,
            "simulateTransaction": self.simulate_transaction,
            "getSignatureStatuses": self.get_signature_statuses,
            "getSignaturesForAddress": self.get_signatures_for_address,
            "getTransaction": self.get_transaction,
        }
        if cheatcodes:
            self.methods.update(
                {
                    "localnet_timeTravel": self.cheat_time_travel,
                    "localnet_warpClock": self.cheat_warp_clock,
                    "localnet_setAccount": self.cheat_set_account,
                    "localnet_setTokenAccountBalance": self.cheat_set_token_account_balance,
                    "localnet_setTokenAccount": self.cheat_set_token_account,
                    "localnet_dumpState": self.cheat_dump_state,
                    "localnet_pauseClock": self.cheat_pause_clock,
                    "localnet_resumeClock": self.cheat_resume_clock,
                    "localnet_getClock": lambda _p: self._clock_json(),
                }
            )

    # -- framing ---------------------------------------------------------------------

    def handle(self, body: bytes) -> bytes:
        """A request body in, a response body out (empty for a lone notification)."""
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _dump(_error_response(None, RpcError(PARSE_ERROR, "Parse error")))
        if isinstance(request, list):
            if not request:
                return _dump(_error_response(None, RpcError(INVALID_REQUEST, "Invalid request")))
            responses = [r for r in (self.handle_object(item) for item in request) if r is not None]
            return _dump(responses) if responses else b""
        response = self.handle_object(request)
        return _dump(response) if response is not None else b""

    def handle_object(self, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict):
            return _error_response(None, RpcError(INVALID_REQUEST, "Invalid request"))
        req_id = request.get("id")
        if request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
            return _error_response(req_id, RpcError(INVALID_REQUEST, "Invalid request"))
        if not isinstance(req_id, str | int | None) or isinstance(req_id, bool):
            return _error_response(None, RpcError(INVALID_REQUEST, "Invalid request"))
        try:
            result = self.call(request["method"], request.get("params"))
        except RpcError as err:
            return _error_response(req_id, err)
        if "id" not in request:
            return None  # a notification: JSON-RPC says no answer
        return {"jsonrpc": "2.0", "result": result, "id": req_id}

    def call(self, method: str, params: Any) -> Any:
        fn = self.methods.get(method)
        if fn is None:
            raise RpcError(METHOD_NOT_FOUND, "Method not found")
        if params is None:
            params = []
        if not isinstance(params, list):
            raise invalid_params("Invalid params: expected a positional parameter array.")
        try:
            return fn(params)
        except RpcError:
            raise
        except (ClusterError, EncodingError) as exc:
            raise invalid_params(f"Invalid params: {exc}") from exc
        except Exception as exc:  # a bug here must not kill the server
            raise RpcError(INTERNAL_ERROR, f"Internal error: {type(exc).__name__}: {exc}") from exc

    def _context(self, value: Any) -> dict[str, Any]:
        return {"context": {"slot": self.cluster.slot, "apiVersion": API_VERSION}, "value": value}

    def _check_context(self, cfg: dict[str, Any]) -> None:
        commitment_of(cfg)
        min_slot = cfg.get("minContextSlot")
        if min_slot is not None and _int(min_slot, "minContextSlot") > self.cluster.slot:
            raise RpcError(
                MIN_CONTEXT_SLOT_NOT_REACHED,
                "Minimum context slot has not been reached",
                {"contextSlot": self.cluster.slot},
            )

    # -- accounts --------------------------------------------------------------------

    def account_value(self, address: Pubkey, acc: Account, cfg: dict[str, Any]) -> dict[str, Any]:
        encoding = account_encoding(cfg)
        parsed = None
        if encoding == "jsonParsed" and acc.owner in TOKEN_PROGRAMS:
            mint = token_mint_of(acc)
            decimals = {mint: self._decimals(mint)} if mint is not None else {}
            parsed = parse_token_data(address, acc, decimals)
        return account_json(acc, encoding, data_slice_of(cfg), parsed)

    def _decimals(self, mint: Pubkey) -> int | None:
        acc = self.cluster.get_account(mint)
        if acc is None or acc.owner not in TOKEN_PROGRAMS or len(acc.data) < 82 or not acc.data[45]:
            return None
        return int(acc.data[44])

    def get_account_info(self, params: list[Any]) -> Any:
        address = parse_pubkey(param(params, 0))
        cfg = config_object(params, 1)
        self._check_context(cfg)
        acc = self.cluster.get_account(address)
        return self._context(None if acc is None else self.account_value(address, acc, cfg))

    def get_multiple_accounts(self, params: list[Any]) -> Any:
        raw = param(params, 0)
        if not isinstance(raw, list):
            raise invalid_params("Invalid params: expected a list of public keys.")
        if len(raw) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        addresses = [parse_pubkey(a) for a in raw]
        cfg = config_object(params, 1)
        self._check_context(cfg)
        values = []
        for address in addresses:
            acc = self.cluster.get_account(address)
            values.append(None if acc is None else self.account_value(address, acc, cfg))
        return self._context(values)

    def get_program_accounts(self, params: list[Any]) -> Any:
        program = parse_pubkey(param(params, 0))
        cfg = config_object(params, 1)
        self._check_context(cfg)
        filters = parse_filters(cfg.get("filters"))
        found = []
        for address, acc in self.cluster.accounts_owned_by(program):
            data = bytes(acc.data)
            if all(f.matches(data) for f in filters):
                found.append(
                    {"pubkey": str(address), "account": self.account_value(address, acc, cfg)}
                )
        return self._context(found) if cfg.get("withContext") else found

    def get_balance(self, params: list[Any]) -> Any:
        address = parse_pubkey(param(params, 0))
        self._check_context(config_object(params, 1))
        acc = self.cluster.get_account(address)
        return self._context(0 if acc is None else acc.lamports)

    def get_token_account_balance(self, params: list[Any]) -> Any:
        address = parse_pubkey(param(params, 0))
        self._check_context(config_object(params, 1))
        acc = self.cluster.get_account(address)
        if acc is None:
            raise invalid_params("Invalid param: could not find account")
        mint = token_mint_of(acc)
        decimals = self._decimals(mint) if mint is not None else None
        if mint is None or decimals is None:
            raise invalid_params("Invalid param: not a Token account")
        return self._context(token_amount_json(int.from_bytes(acc.data[64:72], "little"), decimals))

    def get_token_supply(self, params: list[Any]) -> Any:
        mint = parse_pubkey(param(params, 0))
        self._check_context(config_object(params, 1))
        acc = self.cluster.get_account(mint)
        decimals = self._decimals(mint)
        if acc is None or decimals is None:
            raise invalid_params("Invalid param: not a Token mint")
        return self._context(token_amount_json(int.from_bytes(acc.data[36:44], "little"), decimals))

    def get_token_accounts_by_owner(self, params: list[Any]) -> Any:
        owner = parse_pubkey(param(params, 0))
        selector = param(params, 1)
        cfg = config_object(params, 2)
        self._check_context(cfg)
        if not isinstance(selector, dict) or len(selector) != 1:
            raise invalid_params("Invalid params: expected {mint} or {programId}.")
        mint: Pubkey | None = None
        if "mint" in selector:
            mint = parse_pubkey(selector["mint"])
            mint_acc = self.cluster.get_account(mint)
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
        found = []
        for program in programs:
            for address, acc in self.cluster.accounts_owned_by(program):
                data = bytes(acc.data)
                if len(data) < 165 or data[32:64] != bytes(owner):
                    continue
                if mint is not None and data[0:32] != bytes(mint):
                    continue
                found.append(
                    {"pubkey": str(address), "account": self.account_value(address, acc, cfg)}
                )
        return self._context(found)

    def get_minimum_balance_for_rent_exemption(self, params: list[Any]) -> Any:
        return self.cluster.minimum_balance(_int(param(params, 0), "data length"))

    # -- slots, blocks, time ------------------------------------------------------------

    def get_latest_blockhash(self, params: list[Any]) -> Any:
        self._check_context(config_object(params, 0))
        blockhash, last_valid = self.cluster.latest_blockhash()
        return self._context({"blockhash": str(blockhash), "lastValidBlockHeight": last_valid})

    def is_blockhash_valid(self, params: list[Any]) -> Any:
        raw = param(params, 0)
        self._check_context(config_object(params, 1))
        try:
            blockhash = Hash.from_string(raw) if isinstance(raw, str) else None
        except Exception:  # solders raises ParseHashError, which is no ValueError
            blockhash = None
        if blockhash is None:
            raise invalid_params("Invalid param: Invalid")
        return self._context(self.cluster.is_blockhash_valid(blockhash))

    def get_block_height(self, params: list[Any]) -> Any:
        self._check_context(config_object(params, 0))
        return self.cluster.block_height

    def get_slot(self, params: list[Any]) -> Any:
        self._check_context(config_object(params, 0))
        return self.cluster.slot

    def get_block_time(self, params: list[Any]) -> Any:
        slot = _int(param(params, 0), "slot")
        block_time = self.cluster.block_time(slot)
        if block_time is None:
            raise RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
        return block_time

    def get_epoch_info(self, params: list[Any]) -> Any:
        self._check_context(config_object(params, 0))
        return _epoch_json(self.cluster.epoch_info())

    def get_epoch_schedule(self, params: list[Any]) -> Any:
        s = self.cluster.svm.get_epoch_schedule()
        return {
            "slotsPerEpoch": s.slots_per_epoch,
            "leaderScheduleSlotOffset": s.leader_schedule_slot_offset,
            "warmup": s.warmup,
            "firstNormalEpoch": s.first_normal_epoch,
            "firstNormalSlot": s.first_normal_slot,
        }

    # -- transactions -------------------------------------------------------------------

    def _decode_transaction(self, data: Any, cfg: dict[str, Any]) -> VersionedTransaction:
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

    def _simulation_json(
        self,
        outcome: TxOutcome,
        accounts: list[Pubkey] | None = None,
        account_cfg: dict[str, Any] | None = None,
        replacement: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        result = outcome.result
        shown: list[Any] | None = None
        if accounts is not None:
            post = (
                dict(zip(outcome.loaded.keys, result.post, strict=True)) if outcome.loaded else {}
            )
            shown = []
            for address in accounts:
                acc = post[address] if address in post else self.cluster.get_account(address)
                shown.append(
                    None if acc is None else self.account_value(address, acc, account_cfg or {})
                )
        return {
            "err": transaction_error_json(result.err),
            "logs": list(result.logs),
            "accounts": shown,
            "unitsConsumed": result.compute_units,
            "returnData": None,
            "innerInstructions": None,
            "replacementBlockhash": replacement,
        }

    def send_transaction(self, params: list[Any]) -> Any:
        cfg = config_object(params, 1)
        tx = self._decode_transaction(param(params, 0), cfg)
        if cfg.get("preflightCommitment") is not None:
            commitment_of({"commitment": cfg["preflightCommitment"]})
        self._check_context(cfg)
        if not cfg.get("skipPreflight", False):
            if not all(tx.verify_with_results()):
                raise RpcError(
                    SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure"
                )
            simulated = self.cluster.simulate_transaction(tx, sig_verify=False)
            if simulated.err is not None:
                raise RpcError(
                    PREFLIGHT_FAILURE,
                    f"Transaction simulation failed: {transaction_error_text(simulated.err)}",
                    self._simulation_json(simulated),
                )
        self.cluster.send_transaction(tx)
        return str(tx.signatures[0])

    def simulate_transaction(self, params: list[Any]) -> Any:
        cfg = config_object(params, 1)
        tx = self._decode_transaction(param(params, 0), cfg)
        self._check_context(cfg)
        sig_verify = bool(cfg.get("sigVerify", False))
        replace = bool(cfg.get("replaceRecentBlockhash", False))
        if sig_verify and replace:
            raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
        if sig_verify and not all(tx.verify_with_results()):
            raise RpcError(
                SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure"
            )
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
        outcome = self.cluster.simulate_transaction(tx, sig_verify=False, replace_blockhash=replace)
        replacement = None
        if replace:
            blockhash, last_valid = self.cluster.latest_blockhash()
            replacement = {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid}
        return self._context(self._simulation_json(outcome, addresses, account_cfg, replacement))

    def request_airdrop(self, params: list[Any]) -> Any:
        address = parse_pubkey(param(params, 0))
        lamports = _int(param(params, 1), "lamports", 1)
        self._check_context(config_object(params, 2))
        outcome = self.cluster.airdrop(address, lamports)
        if outcome.err is not None:
            raise RpcError(INTERNAL_ERROR, f"airdrop failed: {transaction_error_text(outcome.err)}")
        return str(outcome.signature)

    def get_fee_for_message(self, params: list[Any]) -> Any:
        raw = param(params, 0)
        self._check_context(config_object(params, 1))
        try:
            message: Message | MessageV0 = from_bytes_versioned(decode_bytes(raw, "base64"))
        except Exception as exc:
            raise invalid_params(f"Invalid params: invalid message: {exc}") from exc
        return self._context(self.cluster.fee_for_message(message))

    def get_recent_prioritization_fees(self, params: list[Any]) -> Any:
        raw = param(params, 0, required=False) or []
        if not isinstance(raw, list) or len(raw) > 128:
            raise invalid_params("Invalid params: expected at most 128 account addresses.")
        wanted = {parse_pubkey(a) for a in raw}
        horizon = self.cluster.slot - 150
        by_slot: dict[int, int] = {}
        for record in self.cluster.recent_transactions():
            if record.slot < horizon:
                break
            loaded = record.loaded
            if wanted and not any(
                k in wanted for k, w in zip(loaded.keys, loaded.writable, strict=True) if w
            ):
                continue
            price = loaded.budget().unit_price_micro_lamports
            by_slot[record.slot] = min(price, by_slot.get(record.slot, price))
        if not by_slot:
            by_slot[self.cluster.slot] = 0
        return [{"slot": s, "prioritizationFee": f} for s, f in sorted(by_slot.items())]

    def get_signature_statuses(self, params: list[Any]) -> Any:
        raw = param(params, 0)
        if not isinstance(raw, list):
            raise invalid_params("Invalid params: expected a list of signatures.")
        if len(raw) > MAX_SIGNATURE_STATUSES:
            raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
        config_object(params, 1)
        values = []
        for sig in (parse_signature(s) for s in raw):
            record = self.cluster.transaction(sig)
            values.append(None if record is None else _status_json(record))
        return self._context(values)

    def get_signatures_for_address(self, params: list[Any]) -> Any:
        address = parse_pubkey(param(params, 0))
        cfg = config_object(params, 1)
        self._check_context(cfg)
        limit = _int(cfg.get("limit", 1000), "limit", 1)
        if limit > 1000:
            raise invalid_params("Invalid limit; max 1000")
        before = parse_signature(cfg["before"]) if cfg.get("before") else None
        until = parse_signature(cfg["until"]) if cfg.get("until") else None
        found: list[dict[str, Any]] = []
        started = before is None
        for record in self.cluster.recent_transactions():
            if not started:
                started = record.signature == before
                continue
            if record.signature == until or len(found) >= limit:
                break
            if address in record.loaded.keys:
                found.append(
                    {
                        "signature": str(record.signature),
                        "slot": record.slot,
                        "err": transaction_error_json(record.err),
                        "memo": None,
                        "blockTime": record.block_time,
                        "confirmationStatus": "finalized",
                    }
                )
        return found

    def get_transaction(self, params: list[Any]) -> Any:
        sig = parse_signature(param(params, 0))
        cfg = config_object(params, 1)
        commitment = commitment_of(cfg)
        if commitment not in _CONFIRMED_OR_MORE:
            raise invalid_params("Method does not support commitment below `confirmed`")
        encoding = cfg.get("encoding", "json")
        if encoding not in ("json", "jsonParsed", "base64", "base58"):
            raise invalid_params(f"Invalid params: unknown encoding {encoding!r}.")
        max_version = cfg.get("maxSupportedTransactionVersion")
        record = self.cluster.transaction(sig)
        if record is None:
            return None
        is_v0 = isinstance(record.transaction.message, MessageV0)
        if is_v0 and max_version is None:
            raise RpcError(
                TRANSACTION_VERSION_UNSUPPORTED,
                "Transaction version (0) is not supported by the requesting client. Please try "
                "the request again with the following configuration parameter: "
                '"maxSupportedTransactionVersion": 0',
            )
        result: dict[str, Any] = {
            "slot": record.slot,
            "blockTime": record.block_time,
            "transaction": _transaction_json(record, str(encoding)),
            "meta": _meta_json(record),
        }
        if max_version is not None:
            result["version"] = 0 if is_v0 else "legacy"
        return result

    # -- cheatcodes ----------------------------------------------------------------------

    def _clock_json(self) -> dict[str, Any]:
        info = self.cluster.epoch_info()
        return {
            **_epoch_json(info),
            "unixTimestamp": info.unix_timestamp,
            "slotMs": self.cluster.config.slot_ms,
            "paused": self.cluster.clock_paused,
        }

    def cheat_time_travel(self, params: list[Any]) -> Any:
        cfg = config_object(params, 0)
        keys = {"absoluteSlot", "absoluteTimestamp", "slots", "seconds"}
        given = {k: _int(v, k) for k, v in cfg.items() if k in keys}
        pair = set(given) == {"absoluteSlot", "absoluteTimestamp"}
        if set(cfg) - keys or (len(given) != 1 and not pair):
            raise invalid_params(
                "Invalid params: give exactly one of absoluteSlot, absoluteTimestamp, "
                "slots, seconds, or absoluteSlot together with absoluteTimestamp."
            )
        self.cluster.time_travel(
            absolute_slot=given.get("absoluteSlot"),
            absolute_timestamp=given.get("absoluteTimestamp"),
            slots=given.get("slots"),
            seconds=given.get("seconds"),
        )
        return self._clock_json()

    def cheat_warp_clock(self, params: list[Any]) -> Any:
        cfg = config_object(params, 0)
        if set(cfg) != {"unixTimestamp"}:
            raise invalid_params('Invalid params: give {"unixTimestamp": n}.')
        self.cluster.warp_clock(_int(cfg["unixTimestamp"], "unixTimestamp"))
        return self._clock_json()

    def cheat_set_account(self, params: list[Any]) -> Any:
        address = parse_pubkey(param(params, 0))
        update = config_object(params, 1)
        current = self.cluster.get_account(address)
        lamports = update.get("lamports", current.lamports if current else 0)
        data = bytes(current.data) if current else b""
        if "data" in update:
            raw = update["data"]
            if isinstance(raw, list) and len(raw) == 2:
                data = decode_bytes(str(raw[0]), str(raw[1]))
            elif isinstance(raw, str):
                data = decode_bytes(raw, "base64")
            else:
                raise invalid_params(
                    'Invalid params: data is a base64 string or [data, "encoding"].'
                )
        owner = (
            parse_pubkey(update["owner"])
            if "owner" in update
            else (current.owner if current else Pubkey.default())
        )
        executable = bool(update.get("executable", current.executable if current else False))
        rent_epoch = _int(
            update.get("rentEpoch", current.rent_epoch if current else 0), "rentEpoch"
        )
        account = Account(_int(lamports, "lamports"), data, owner, executable, rent_epoch)
        self.cluster.set_account(address, account)
        return self._context(None)

    def cheat_set_token_account_balance(self, params: list[Any]) -> Any:
        address = parse_pubkey(param(params, 0))
        amount = _int(param(params, 1), "amount")
        self.cluster.set_token_amount(address, amount)
        return self._context(None)

    def cheat_set_token_account(self, params: list[Any]) -> Any:
        owner = parse_pubkey(param(params, 0))
        mint = parse_pubkey(param(params, 1))
        update = config_object(params, 2)
        amount = _int(update.get("amount", 0), "amount")
        raw_program = param(params, 3, required=False)
        program = parse_pubkey(raw_program) if raw_program is not None else None
        address = self.cluster.set_token_account(owner, mint, amount, program)
        return self._context({"address": str(address)})

    def cheat_dump_state(self, params: list[Any]) -> Any:
        cfg = config_object(params, 0)
        if "addresses" in cfg:
            if not isinstance(cfg["addresses"], list):
                raise invalid_params("Invalid params: addresses must be a list.")
            addresses = [parse_pubkey(a) for a in cfg["addresses"]]
        else:
            addresses = sorted(self.cluster.known_addresses(), key=str)
        accounts = {}
        for address in addresses:
            acc = self.cluster.get_account(address)
            if acc is not None:
                accounts[str(address)] = account_json(acc, "base64")
        blockhash, last_valid = self.cluster.latest_blockhash()
        return {
            "clock": self._clock_json(),
            "blockhash": str(blockhash),
            "lastValidBlockHeight": last_valid,
            "genesisHash": str(self.cluster.genesis_hash),
            "models": sorted(str(p) for p in self.cluster.models),
            "accounts": accounts,
        }

    def cheat_pause_clock(self, params: list[Any]) -> Any:
        self.cluster.pause_clock()
        return self._clock_json()

    def cheat_resume_clock(self, params: list[Any]) -> Any:
        self.cluster.resume_clock()
        return self._clock_json()


# -- JSON shapes ------------------------------------------------------------------------------


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _error_response(req_id: Any, err: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": req_id}


def _epoch_json(info: EpochInfo) -> dict[str, Any]:
    return {
        "absoluteSlot": info.absolute_slot,
        "blockHeight": info.block_height,
        "epoch": info.epoch,
        "slotIndex": info.slot_index,
        "slotsInEpoch": info.slots_in_epoch,
        "transactionCount": info.transaction_count,
    }


def _status_json(record: TxRecord) -> dict[str, Any]:
    err = transaction_error_json(record.err)
    return {
        "slot": record.slot,
        "confirmations": None,
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "confirmationStatus": "finalized",
    }


def _token_balance_json(b: TokenBalance) -> dict[str, Any]:
    return {
        "accountIndex": b.account_index,
        "mint": str(b.mint),
        "uiTokenAmount": token_amount_json(b.amount, b.decimals),
        "owner": str(b.owner),
        "programId": str(b.program_id),
    }


def _meta_json(record: TxRecord) -> dict[str, Any]:
    result = record.result
    err = transaction_error_json(result.err)
    return {
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "fee": result.fee,
        "preBalances": [a.lamports if a else 0 for a in result.pre],
        "postBalances": [a.lamports if a else 0 for a in result.post],
        "innerInstructions": [],
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


def _transaction_json(record: TxRecord, encoding: str) -> Any:
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
            "accountKeys": [
                {
                    "pubkey": str(k),
                    "writable": loaded.writable[i],
                    "signer": loaded.signer[i],
                    "source": "transaction" if i < len(static) else "lookupTable",
                }
                for i, k in enumerate(loaded.keys)
            ],
            "recentBlockhash": str(msg.recent_blockhash),
            "instructions": [
                {
                    "programId": str(loaded.keys[ix.program_id_index]),
                    "accounts": [str(loaded.keys[a]) for a in bytes(ix.accounts)],
                    "data": b58encode(bytes(ix.data)),
                    "stackHeight": None,
                }
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
