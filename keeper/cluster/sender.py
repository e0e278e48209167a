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

from keeper.cluster.hedge import hedged
from keeper.cluster.redact import redact_text
from keeper.cluster.transport import SignatureStatus, TxErrorJson, TxTransport
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
    #: the node's error as it answered it (None: none)
    raw_error: TxErrorJson | None = None

    @property
    def blockhash_not_found(self) -> bool:
        """The node no longer knows the transaction's blockhash: rebuild it on a fresh one."""
        return self.raw_error == "BlockhashNotFound"


@dataclass(frozen=True)
class Confirmed:
    signature: Signature
    slot: int
    logs: tuple[str, ...] = ()


class _Broadcasts:
    """What the broadcasts of one transaction have told so far.

    A copy answered (or answered "already processed", or timed out after maybe being
    forwarded) means the transaction may be on its way: from then on only its status
    says whether it failed. Before that, a broadcast whose every copy failed for sure
    (refused, rejected) fails the send with the first of those errors.
    """

    def __init__(self) -> None:
        self.delivered = False
        self.rounds: list[set[asyncio.Task[None]]] = []
        self._errors: dict[asyncio.Task[None], RpcError] = {}

    def collect(self, inflight: set[asyncio.Task[None]]) -> None:
        for task in [t for t in inflight if t.done()]:
            inflight.discard(task)
            exc = None if task.cancelled() else task.exception()
            if exc is None:
                self.delivered = True
            elif isinstance(exc, RpcRejected) and (
                "AlreadyProcessed" in exc.answer or "already been processed" in exc.answer
            ):
                self.delivered = True  # a re-send of a transaction that already landed
            elif isinstance(exc, RpcUnreachable) and exc.maybe_delivered:
                self.delivered = True  # a timeout or 5xx may hide a forwarded transaction
            elif isinstance(exc, RpcError):
                self._errors[task] = exc
            else:
                raise exc

    def failure(self) -> RpcError | None:
        """The error to fail with: only while nothing may have been delivered and a
        whole broadcast has failed for sure."""
        if self.delivered:
            return None
        for round_ in self.rounds:
            if round_ and all(t in self._errors for t in round_):
                return next(self._errors[t] for t in round_)
        return None


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
        copies_per_broadcast: int = 1,
    ) -> None:
        self.transport = transport
        self.program_id = program_id
        self.errors = errors
        self.resend_interval_seconds = resend_interval_seconds
        self.poll_interval_seconds = poll_interval_seconds
        self.max_poll_failures = max_poll_failures
        self.copies_per_broadcast = copies_per_broadcast

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
            answer.err,
        )

    async def send(
        self,
        tx: VersionedTransaction,
        last_valid_block_height: int,
        *,
        preflight: bool = True,
        hedge_after_seconds: float | None = None,
        fetch_logs: bool = True,
    ) -> Confirmed:
        """Simulate; if that passes, broadcast and re-broadcast until confirmed or expired.

        `preflight=False` skips the simulation: the caller simulated the same
        instructions already (the daemon sizes compute units from one), or resumes a
        transaction sent before (a journalled one), which may have landed already and
        would then fail a simulation for that reason alone.

        Each broadcast sends `copies_per_broadcast` copies at once (the same bytes:
        one signature, landed at most once), so a node or proxy that silently drops
        some of them still gets one in the first slot; a copy that hangs does not hold
        up the next broadcast, due `resend_interval_seconds` later.

        `hedge_after_seconds` hedges the status polls (`keeper.cluster.hedge`): near a
        due time a hung poll would hide the landing from the next step. `fetch_logs=False`
        returns a landed transaction without its logs (one call fewer; a failed one is
        still explained from its logs).
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
        inflight: set[asyncio.Task[None]] = set()
        wait_for_copies = self.resend_interval_seconds or None
        copies = max(1, self.copies_per_broadcast)
        state = _Broadcasts()
        try:
            while True:
                now = loop.time()
                if now - last_sent >= self.resend_interval_seconds:
                    last_sent = now
                    round_ = {
                        asyncio.ensure_future(self.transport.send_raw(raw)) for _ in range(copies)
                    }
                    inflight |= round_
                    state.rounds.append(round_)
                    await asyncio.wait(round_, timeout=wait_for_copies)
                state.collect(inflight)
                failure = state.failure()
                if failure is not None:
                    raise failure
                try:
                    status = await hedged(
                        lambda: self.transport.signature_status(signature), hedge_after_seconds
                    )
                    height = (
                        None
                        if status is not None
                        else await hedged(self.transport.block_height, hedge_after_seconds)
                    )
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
                            f"cannot confirm {signature} at {self.endpoint} after "
                            f"{poll_failures} failed status polls (last: {exc}); it may or may "
                            "not have landed"
                        ) from None
                    await asyncio.sleep(self.poll_interval_seconds)
                    continue
                if status is not None:
                    if status.err is not None:
                        return await self._outcome(signature, status)
                    if status.confirmation_status.lower() in wanted:
                        logs = await self._logs(signature) if fetch_logs else ()
                        return Confirmed(signature, status.slot, logs)
                elif height is not None and height > last_valid_block_height:
                    raise TransactionExpired(
                        f"transaction {signature} was not confirmed before its blockhash "
                        f"expired (block height {height} > {last_valid_block_height}); nothing "
                        "was changed"
                    )
                await asyncio.sleep(self.poll_interval_seconds)
        finally:
            for task in inflight:
                task.cancel()
            if inflight:
                await asyncio.gather(*inflight, return_exceptions=True)

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
