"""Transactions: build, simulate, send, re-send, confirm, and explain failures.

Nothing is sent that was not simulated first: a simulation that fails is turned into
the program's error (name and sentence) and the transaction is dropped. Sending then
re-broadcasts the same signed bytes until the signature is confirmed or the blockhash
expires, like the Drift keeper bots do, and reports a typed outcome.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from keeper.cluster.redact import redact_text
from keeper.cluster.transport import SignatureStatus, TxTransport
from keeper.core.errors import (
    ErrorTable,
    KeeperError,
    ProgramError,
    ProgramErrorInfo,
    RpcError,
    RpcRejected,
    RpcUnreachable,
)
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID

_CUSTOM_CODE = re.compile(r"Custom\((?:InstructionErrorCustom\()?(\d+)\)")
_FAILED_LINE = re.compile(r"^Program (\w+) failed: (.*)$")


class TransactionFailed(KeeperError):
    """A transaction failed for a reason that is not a known program error."""

    def __init__(self, message: str, logs: Sequence[str] = ()) -> None:
        self.logs = tuple(logs)
        super().__init__(message)


class ConfirmationUnknown(RpcError):
    """A sent transaction's status could not be read: it may or may not have landed."""


class TransactionExpired(KeeperError):
    """The blockhash expired before the transaction was confirmed; it never landed."""


def custom_error_code(err: Any) -> int | None:
    """The custom program error code inside a transaction error, in any of its shapes."""
    if err is None:
        return None
    if isinstance(err, dict):
        ie = err.get("InstructionError")
        if isinstance(ie, list | tuple) and len(ie) == 2 and isinstance(ie[1], dict):
            custom = ie[1].get("Custom")
            return int(custom) if isinstance(custom, int) else None
        return None
    match = _CUSTOM_CODE.search(str(err))
    return int(match.group(1)) if match else None


def failing_program(logs: Sequence[str]) -> Pubkey | None:
    """The innermost program that failed: the first `Program X failed` line."""
    for line in logs:
        m = _FAILED_LINE.match(line)
        if m:
            try:
                return Pubkey.from_string(m.group(1))
            except ValueError:
                return None
    return None


def explain_failure(
    err: Any, logs: Sequence[str], program_id: Pubkey, errors: ErrorTable
) -> KeeperError:
    """Turn a failed transaction into a ProgramError with a name, or a TransactionFailed."""
    code = custom_error_code(err)
    culprit = failing_program(logs)
    if code is not None:
        if culprit in (SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            return ProgramError(errors.spl_token(code), "in the token transfer")
        if culprit is None or culprit == program_id:
            return ProgramError(errors.lookup(code))
        return ProgramError(ProgramErrorInfo(code, f"Custom({code})", f"program {culprit} failed"))
    text = redact_text(str(err))
    if "AccountNotFound" in text:
        # the runtime's name for "the fee payer's account does not exist": it has no SOL
        return TransactionFailed(
            "the fee payer has no SOL (the cluster does not know its account); fund it "
            f"with SOL for the fee, then retry [{text}]",
            logs,
        )
    if "ComputationalBudgetExceeded" in text or any("exceeded CUs meter" in ln for ln in logs):
        return TransactionFailed(
            "the transaction ran out of compute units; raise the compute-unit limit "
            f"[{text}]",
            logs,
        )
    return TransactionFailed(f"transaction failed: {text}", logs)


def percentile_of(values: Sequence[int], percentile: int) -> int:
    """The nearest-rank percentile of integer values (0 for none)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, -(-percentile * len(ordered) // 100))  # ceil, at least the first
    return ordered[min(rank, len(ordered)) - 1]


def sized_compute_units(consumed: int | None, margin_percent: int, maximum: int) -> int:
    """The compute-unit limit for a transaction whose simulation consumed `consumed`."""
    if consumed is None or consumed <= 0:
        return maximum
    return min(maximum, consumed + -(-consumed * margin_percent // 100) + 1_000)


@dataclass(frozen=True)
class FeePolicy:
    compute_unit_limit: int | None = 200_000
    priority_micro_lamports: int = 0

    def instructions(self) -> list[Instruction]:
        out = []
        if self.compute_unit_limit is not None:
            out.append(set_compute_unit_limit(self.compute_unit_limit))
        if self.priority_micro_lamports:
            out.append(set_compute_unit_price(self.priority_micro_lamports))
        return out


def build_transaction(
    instructions: Sequence[Instruction],
    payer: Keypair,
    blockhash: Hash,
    *,
    signers: Sequence[Keypair] = (),
    fees: FeePolicy | None = None,
) -> VersionedTransaction:
    budget = (fees or FeePolicy()).instructions()
    message = MessageV0.try_compile(payer.pubkey(), [*budget, *instructions], [], blockhash)
    unique: dict[Pubkey, Keypair] = {payer.pubkey(): payer}
    for kp in signers:
        unique.setdefault(kp.pubkey(), kp)
    needed = set(message.account_keys[: message.header.num_required_signatures])
    missing = needed - set(unique)
    if missing:
        raise KeeperError(f"transaction needs signatures from {sorted(map(str, missing))}")
    return VersionedTransaction(
        message, [unique[k] for k in message.account_keys if k in needed and k in unique]
    )


@dataclass(frozen=True)
class Simulation:
    ok: bool
    logs: tuple[str, ...]
    units_consumed: int | None
    error: KeeperError | None


@dataclass(frozen=True)
class Confirmed:
    signature: Signature
    slot: int
    logs: tuple[str, ...] = ()


class TxSender:
    """Simulate, then send and re-send one signed transaction until it is confirmed.

    Every call goes through the injected `TxTransport` (`SolanaRpcTransport` in
    production, `keeper.testing.FakeTxTransport` in tests), which fails only with
    `RpcError`s; confirmation means the transport's commitment level.
    """

    def __init__(
        self,
        transport: TxTransport,
        program_id: Pubkey,
        errors: ErrorTable,
        *,
        resend_interval_seconds: float = 0.4,
        poll_interval_seconds: float = 0.4,
        max_poll_failures: int = 20,
    ) -> None:
        self.transport = transport
        self.program_id = program_id
        self.errors = errors
        self.resend_interval_seconds = resend_interval_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.max_poll_failures = max_poll_failures

    @property
    def endpoint(self) -> str:
        """The cluster this sender talks to, redacted."""
        return self.transport.endpoint

    async def latest_blockhash(self) -> tuple[Hash, int]:
        latest = await self.transport.latest_blockhash()
        return latest.blockhash, latest.last_valid_block_height

    async def simulate(self, tx: VersionedTransaction) -> Simulation:
        answer = await self.transport.simulate(tx)
        if answer.err is None:
            return Simulation(True, answer.logs, answer.units_consumed, None)
        return Simulation(
            False,
            answer.logs,
            answer.units_consumed,
            explain_failure(answer.err, answer.logs, self.program_id, self.errors),
        )

    async def send(
        self, tx: VersionedTransaction, last_valid_block_height: int, *, preflight: bool = True
    ) -> Confirmed:
        """Simulate; if that passes, broadcast and re-broadcast until confirmed or expired.

        `preflight=False` resumes a transaction sent before (a journalled one): it may
        have landed already, and a simulation would then fail for that reason alone.
        """
        if preflight:
            sim = await self.simulate(tx)
            if sim.error is not None:
                raise sim.error
        raw = bytes(tx)
        signature = tx.signatures[0]
        wanted = {"confirmed": ("confirmed", "finalized"), "finalized": ("finalized",)}.get(
            self.transport.commitment, ("processed", "confirmed", "finalized")
        )
        loop = asyncio.get_running_loop()
        last_sent = -1e9
        poll_failures = 0
        delivered = False  # some broadcast may have reached the node
        while True:
            now = loop.time()
            if now - last_sent >= self.resend_interval_seconds:
                last_sent = now
                try:
                    await self.transport.send_raw(raw)
                    delivered = True
                except RpcRejected as exc:
                    # A re-send of a transaction that already landed is not an error.
                    if (
                        "AlreadyProcessed" not in exc.answer
                        and "already been processed" not in exc.answer
                    ) and not delivered:
                        raise
                except RpcUnreachable as exc:
                    # A timeout or 5xx may hide a forwarded transaction: its status, not
                    # the answer, says whether it failed. A refused connection sent nothing.
                    if exc.maybe_delivered:
                        delivered = True
                    elif not delivered:
                        raise
                except RpcError:
                    if not delivered:
                        raise
            try:
                status = await self.transport.signature_status(signature)
                height = None if status is not None else await self.transport.block_height()
                if height is not None and height > last_valid_block_height:
                    # Past its expiry it can no longer land, but it may have landed long
                    # ago, out of the node's recent status cache (a journalled one).
                    status = await self.find_landed(signature)
                poll_failures = 0
            except RpcError as exc:
                # A flaky provider must not lose track of a sent transaction: keep polling.
                poll_failures += 1
                if poll_failures > self.max_poll_failures:
                    raise ConfirmationUnknown(
                        f"cannot confirm {signature} at {self.endpoint} after {poll_failures} "
                        f"failed status polls (last: {exc}); it may or may not have landed"
                    ) from None
                await asyncio.sleep(self.poll_interval_seconds)
                continue
            if status is not None:
                if status.err is not None:
                    return await self._outcome(signature, status)
                if status.confirmation_status.lower() in wanted:
                    return Confirmed(signature, status.slot, await self._logs(signature))
            elif height is not None and height > last_valid_block_height:
                raise TransactionExpired(
                    f"transaction {signature} was not confirmed before its blockhash expired "
                    f"(block height {height} > {last_valid_block_height}); nothing was changed"
                )
            await asyncio.sleep(self.poll_interval_seconds)

    async def find_landed(self, signature: Signature) -> SignatureStatus | None:
        """The signature's status from the node's whole ledger, not only its recent
        status cache: how a transaction journalled long ago is known to have landed."""
        return await self.transport.signature_status(signature, search_history=True)

    async def outcome(self, signature: Signature, status: SignatureStatus) -> Confirmed:
        """A landed status as the sender reports it: `Confirmed`, or the program's
        error (raised) when it landed and failed."""
        return await self._outcome(signature, status)

    async def _outcome(self, signature: Signature, status: SignatureStatus) -> Confirmed:
        logs = await self._logs(signature)
        if status.err is not None:
            raise explain_failure(status.err, logs, self.program_id, self.errors)
        return Confirmed(signature, status.slot, logs)

    async def priority_fee(
        self, writable: Sequence[Pubkey], percentile: int, cap_micro_lamports: int
    ) -> int:
        """The compute-unit price to offer: a percentile of recent fees, at most the cap.

        A node that cannot tell (error, no data) gets no priority fee rather than a
        failed pass: the transaction still lands, perhaps a slot later.
        """
        if cap_micro_lamports <= 0:
            return 0
        try:
            fees = await self.transport.priority_fees(writable)
        except RpcError:
            return 0
        return min(percentile_of(fees, percentile), cap_micro_lamports)

    async def _logs(self, signature: Signature) -> tuple[str, ...]:
        """Logs are a courtesy for the error message: a node that has none gives none."""
        try:
            return await self.transport.transaction_logs(signature) or ()
        except RpcError:
            return ()
