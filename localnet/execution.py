"""Run one transaction against LiteSVM, with Python program models where they own ids.

The cluster checks what a validator checks before a bank sees a transaction
(signatures, blockhash age, the status cache); this module does what the bank does
afterwards: charge the fee, execute the instructions atomically, and report logs,
compute units and pre/post accounts.

A transaction that names no model program runs in LiteSVM as a whole. One that does is
executed instruction by instruction: real-program instructions run in LiteSVM as
one-instruction transactions paid by a hidden sponsor account and with signature checks
off (the outer transaction's signatures were verified already), model instructions run
in Python with the runtime's account rules enforced here. Every account the
transaction can touch is snapshotted first; on failure the snapshot is restored and only
the fee is charged, which is what makes the mix atomic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from solders.account import Account
from solders.clock import Clock
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import (
    FailedTransactionMetadata,
    SimulatedTransactionInfo,
    TransactionMetadata,
)
from solders.transaction_status import (
    InstructionErrorCustom,
    InstructionErrorFieldless,
    InstructionErrorType,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
    TransactionErrorType,
)

from keeper.core import COMPUTE_BUDGET_PROGRAM_ID, MICRO_LAMPORTS_PER_LAMPORT, SYSTEM_PROGRAM_ID
from localnet.model import (
    AccountWrite,
    InstructionContext,
    Invoke,
    ModelFailure,
    ModelInstruction,
    ProgramModel,
)
from localnet.txerrors import instruction_error, instruction_error_text

DEFAULT_INSTRUCTION_CU_LIMIT = 200_000
MAX_CU_LIMIT = 1_400_000
#: A fixed, key-less address; only this module ever funds it, and never for long.
SPONSOR = Pubkey.create_with_seed(SYSTEM_PROGRAM_ID, "localnet-fee-sponsor", SYSTEM_PROGRAM_ID)
_SPONSOR_LAMPORTS = 10**15
_INVOKE_DEPTH = re.compile(r"^(Program \S+ invoke \[)(\d+)(\])$")


@dataclass(frozen=True)
class ComputeBudget:
    """What the ComputeBudget instructions of a transaction ask for."""

    unit_limit: int
    unit_price_micro_lamports: int

    @property
    def priority_fee(self) -> int:
        return -(-self.unit_limit * self.unit_price_micro_lamports // MICRO_LAMPORTS_PER_LAMPORT)


def compute_budget(program_ids: Sequence[Pubkey], datas: Sequence[bytes]) -> ComputeBudget:
    limit: int | None = None
    price = 0
    others = 0
    for pid, data in zip(program_ids, datas, strict=True):
        if pid != COMPUTE_BUDGET_PROGRAM_ID:
            others += 1
        elif data[:1] == b"\x02" and len(data) >= 5:
            limit = int.from_bytes(data[1:5], "little")
        elif data[:1] == b"\x03" and len(data) >= 9:
            price = int.from_bytes(data[1:9], "little")
    if limit is None:
        limit = DEFAULT_INSTRUCTION_CU_LIMIT * others
    return ComputeBudget(min(limit, MAX_CU_LIMIT), price)


@dataclass(frozen=True)
class LoadedMessage:
    """A message with its address lookups resolved: every key and how it may be used."""

    message: Message | MessageV0
    keys: tuple[Pubkey, ...]
    writable: tuple[bool, ...]
    signer: tuple[bool, ...]
    loaded_writable: tuple[Pubkey, ...] = ()
    loaded_readonly: tuple[Pubkey, ...] = ()

    @property
    def fee_payer(self) -> Pubkey:
        return self.keys[0]

    @property
    def num_signatures(self) -> int:
        return self.message.header.num_required_signatures

    def program_ids(self) -> list[Pubkey]:
        return [self.keys[ix.program_id_index] for ix in self.message.instructions]

    def budget(self) -> ComputeBudget:
        return compute_budget(self.program_ids(), [ix.data for ix in self.message.instructions])


@dataclass(frozen=True)
class InnerCall:
    """An instruction a program invoked (CPI), by index into the transaction's keys."""

    program_id_index: int
    accounts: bytes
    data: bytes
    stack_height: int


@dataclass(frozen=True)
class ExecutionResult:
    """What executing (or simulating) a transaction did."""

    err: TransactionErrorType | None
    #: False when the bank refused the transaction before executing it (no fee, no record).
    landed: bool
    logs: tuple[str, ...] = ()
    compute_units: int = 0
    fee: int = 0
    pre: tuple[Account | None, ...] = field(default=(), repr=False)
    post: tuple[Account | None, ...] = field(default=(), repr=False)
    #: (outer instruction index, the calls it made), for outer instructions that made any.
    inner: tuple[tuple[int, tuple[InnerCall, ...]], ...] = field(default=(), repr=False)
    #: (program id, data) of the last return data set, if any.
    return_data: tuple[Pubkey, bytes] | None = field(default=None, repr=False)


def _inner_calls(meta: TransactionMetadata) -> tuple[tuple[int, tuple[InnerCall, ...]], ...]:
    """LiteSVM's inner instructions, keyed by the outer instruction that made them."""
    found = []
    for index, calls in enumerate(meta.inner_instructions()):
        if calls:
            found.append(
                (
                    index,
                    tuple(
                        InnerCall(
                            ix.program_id_index,
                            bytes(ix.accounts),
                            bytes(ix.data),
                            c.stack_height(),  # type: ignore[attr-defined]  # not in the stubs
                        )
                        for c in calls
                        for ix in (c.instruction(),)
                    ),
                )
            )
    return tuple(found)


def _return_data(meta: TransactionMetadata) -> tuple[Pubkey, bytes] | None:
    data = meta.return_data()  # type: ignore[attr-defined]  # missing from solders' stubs
    if not bytes(data.data):
        return None
    return data.program_id, bytes(data.data)


class _InstructionFailed(Exception):
    """An instruction failed with `err`, or the whole transaction with `tx_err`."""

    def __init__(
        self, err: InstructionErrorType | None = None, tx_err: TransactionErrorType | None = None
    ) -> None:
        super().__init__(str(err or tx_err))
        self.err = err
        self.tx_err = tx_err


def _alive(account: Account | None) -> Account | None:
    """The runtime treats a zero-lamport account as no account."""
    return account if account is not None and account.lamports > 0 else None


def _empty() -> Account:
    return Account(0, b"", SYSTEM_PROGRAM_ID)


def _landed(err: TransactionErrorType | None) -> bool:
    return err is None or isinstance(
        err, TransactionErrorInstructionError | TransactionErrorInsufficientFundsForRent
    )


def _shift_depth(line: str, by: int) -> str:
    m = _INVOKE_DEPTH.match(line)
    if m is None or by == 0:
        return line
    return f"{m.group(1)}{int(m.group(2)) + by}{m.group(3)}"


class Executor:
    """Executes transactions in one LiteSVM, dispatching model-owned instructions to Python."""

    def __init__(self, svm: LiteSVM, lamports_per_signature: int = 5000) -> None:
        self.svm = svm
        self.lamports_per_signature = lamports_per_signature
        self.models: dict[Pubkey, ProgramModel] = {}

    # -- accounts -------------------------------------------------------------------

    def get(self, address: Pubkey) -> Account | None:
        return _alive(self.svm.get_account(address))

    def put(self, address: Pubkey, account: Account | None) -> None:
        self.svm.set_account(address, account if account is not None else _empty())

    def fee(self, loaded: LoadedMessage) -> int:
        return self.lamports_per_signature * loaded.num_signatures + loaded.budget().priority_fee

    # -- entry point ----------------------------------------------------------------

    def execute(
        self, tx: VersionedTransaction, loaded: LoadedMessage, clock: Clock, *, commit: bool
    ) -> ExecutionResult:
        pre = tuple(self.get(k) for k in loaded.keys)
        fee = self.fee(loaded)
        payer = pre[0]
        if payer is None:
            return ExecutionResult(
                TransactionErrorFieldless.AccountNotFound, False, pre=pre, post=pre
            )
        if payer.lamports < fee:
            return ExecutionResult(
                TransactionErrorFieldless.InsufficientFundsForFee, False, pre=pre, post=pre
            )
        if any(pid in self.models for pid in loaded.program_ids()):
            return self._execute_mixed(loaded, clock, pre, fee, commit=commit)
        return self._execute_svm(tx, loaded, pre, fee, commit=commit)

    # -- whole transaction in LiteSVM -------------------------------------------------

    def _execute_svm(
        self,
        tx: VersionedTransaction,
        loaded: LoadedMessage,
        pre: tuple[Account | None, ...],
        fee: int,
        *,
        commit: bool,
    ) -> ExecutionResult:
        # LiteSVM charges the base fee only; the priority part is charged here.
        priority = fee - self.lamports_per_signature * loaded.num_signatures
        if not commit:
            sim = self.svm.simulate_transaction(tx)
            if isinstance(sim, FailedTransactionMetadata):
                sim_err = sim.err()
                landed = _landed(sim_err)
                sim_meta = sim.meta()
                logs, units = tuple(sim_meta.logs()), sim_meta.compute_units_consumed()
                return ExecutionResult(sim_err, landed, logs, units, fee if landed else 0, pre, pre)
            assert isinstance(sim, SimulatedTransactionInfo)
            changed = dict(sim.post_accounts())
            simulated = [
                _alive(changed[k]) if k in changed else p
                for k, p in zip(loaded.keys, pre, strict=True)
            ]
            if priority and simulated[0] is not None:
                simulated[0] = _with_lamports(simulated[0], simulated[0].lamports - priority)
            sim_meta = sim.meta()
            logs, units = tuple(sim_meta.logs()), sim_meta.compute_units_consumed()
            return ExecutionResult(None, True, logs, units, fee, pre, tuple(simulated))
        res = self.svm.send_transaction(tx)
        err: TransactionErrorType | None
        if isinstance(res, FailedTransactionMetadata):
            err, meta = res.err(), res.meta()
        else:
            assert isinstance(res, TransactionMetadata)
            err, meta = None, res
        if not _landed(err):
            for k, p in zip(loaded.keys, pre, strict=True):
                self.put(k, p)
            return ExecutionResult(
                err, False, tuple(meta.logs()), meta.compute_units_consumed(), 0, pre, pre
            )
        if priority:
            charged = self.get(loaded.fee_payer)
            if charged is not None:
                self.put(loaded.fee_payer, _with_lamports(charged, charged.lamports - priority))
        post = tuple(self.get(k) for k in loaded.keys)
        return ExecutionResult(
            err,
            True,
            tuple(meta.logs()),
            meta.compute_units_consumed(),
            fee,
            pre,
            post,
            _inner_calls(meta),
            _return_data(meta),
        )

    # -- instruction by instruction, with models ------------------------------------

    def _execute_mixed(
        self,
        loaded: LoadedMessage,
        clock: Clock,
        pre: tuple[Account | None, ...],
        fee: int,
        *,
        commit: bool,
    ) -> ExecutionResult:
        payer = pre[0]
        assert payer is not None
        self.put(loaded.fee_payer, _with_lamports(payer, payer.lamports - fee))
        logs: list[str] = []
        units = 0
        remaining = loaded.budget().unit_limit
        err: TransactionErrorType | None = None
        msg = loaded.message
        try:
            for index, cix in enumerate(msg.instructions):
                program_id = loaded.keys[cix.program_id_index]
                metas = tuple(
                    AccountMeta(loaded.keys[a], loaded.signer[a], loaded.writable[a])
                    for a in bytes(cix.accounts)
                )
                try:
                    model = self.models.get(program_id)
                    if model is not None:
                        ix = ModelInstruction(program_id, bytes(cix.data), metas, index)
                        used = self._run_model(model, ix, clock, logs, remaining)
                    else:
                        ix_native = Instruction(program_id, bytes(cix.data), list(metas))
                        used = self._run_native(ix_native, 0, logs)
                except _InstructionFailed as failed:
                    if failed.err is not None:
                        err = instruction_error(index, failed.err)
                    else:
                        err = failed.tx_err
                    break
                units += used
                remaining = max(0, remaining - used)
            post = tuple(self.get(k) for k in loaded.keys)
        finally:
            if err is not None or not commit:
                for k, p in zip(loaded.keys, pre, strict=True):
                    self.put(k, p)
            self.put(SPONSOR, None)
        if err is not None:
            post = pre
            if _landed(err):
                post = (_with_lamports(payer, payer.lamports - fee), *pre[1:])
                if commit:
                    self.put(loaded.fee_payer, post[0])
        landed = _landed(err)
        return ExecutionResult(err, landed, tuple(logs), units, fee if landed else 0, pre, post)

    def _run_native(self, ix: Instruction, depth_shift: int, logs: list[str]) -> int:
        """Run one real-program instruction in LiteSVM; returns compute units used."""
        self.put(SPONSOR, Account(_SPONSOR_LAMPORTS, b"", SYSTEM_PROGRAM_ID))
        message = Message.new_with_blockhash([ix], SPONSOR, Hash.default())
        tx = Transaction.populate(
            message, [Signature.default()] * message.header.num_required_signatures
        )
        res = self.svm.send_transaction(tx)
        meta = res.meta() if isinstance(res, FailedTransactionMetadata) else res
        logs.extend(_shift_depth(line, depth_shift) for line in meta.logs())
        if isinstance(res, FailedTransactionMetadata):
            err = res.err()
            if isinstance(err, TransactionErrorInstructionError):
                raise _InstructionFailed(err.err)
            raise _InstructionFailed(tx_err=err)
        return meta.compute_units_consumed()

    def _run_model(
        self, model: ProgramModel, ix: ModelInstruction, clock: Clock, logs: list[str], budget: int
    ) -> int:
        pid = ix.program_id
        addresses = list(dict.fromkeys(m.pubkey for m in ix.accounts))
        accounts = {a: self.get(a) or _empty() for a in addresses}
        before = sum(acc.lamports for acc in accounts.values())
        ctx = InstructionContext(ix, accounts, clock, self.svm.get_rent())
        logs.append(f"Program {pid} invoke [1]")
        try:
            result = model.execute(ctx)
        except Exception as exc:  # a model bug must fail the instruction, loudly
            logs.append(f"Program log: model {type(model).__name__} raised {exc!r}")
            self._fail(pid, InstructionErrorFieldless.ProgramFailedToComplete, 0, budget, logs)
        logs.extend(result.logs)
        units = result.compute_units
        if isinstance(result, ModelFailure):
            logs.append(f"Program {pid} consumed {units} of {budget} compute units")
            logs.append(f"Program {pid} failed: custom program error: {result.code:#x}")
            raise _InstructionFailed(InstructionErrorCustom(result.code))
        for effect in result.effects:
            try:
                if isinstance(effect, AccountWrite):
                    self._apply_write(ix, effect)
                else:
                    units += self._apply_invoke(ix, effect, logs)
            except _InstructionFailed as failed:
                if failed.err is None:
                    raise
                self._fail(pid, failed.err, units, budget, logs)
        after = sum((self.get(a) or _empty()).lamports for a in addresses)
        if after != before:
            self._fail(pid, InstructionErrorFieldless.UnbalancedInstruction, units, budget, logs)
        logs.append(f"Program {pid} consumed {units} of {budget} compute units")
        logs.append(f"Program {pid} success")
        return units

    @staticmethod
    def _fail(
        pid: Pubkey, err: InstructionErrorType, units: int, budget: int, logs: list[str]
    ) -> NoReturn:
        logs.append(f"Program {pid} consumed {units} of {budget} compute units")
        logs.append(f"Program {pid} failed: {instruction_error_text(err)}")
        raise _InstructionFailed(err)

    def _apply_write(self, ix: ModelInstruction, write: AccountWrite) -> None:
        pid = ix.program_id
        if not any(m.pubkey == write.address for m in ix.accounts):
            raise _InstructionFailed(InstructionErrorFieldless.MissingAccount)
        current = self.get(write.address) or _empty()
        data = current.data if write.data is None else write.data
        lamports = current.lamports if write.lamports is None else write.lamports
        owner = current.owner if write.owner is None else write.owner
        data_changed = bytes(data) != bytes(current.data)
        if not ix.is_writable(write.address):
            if lamports != current.lamports:
                raise _InstructionFailed(InstructionErrorFieldless.ReadonlyLamportChange)
            if data_changed or owner != current.owner:
                raise _InstructionFailed(InstructionErrorFieldless.ReadonlyDataModified)
        owned = current.owner == pid
        if current.executable and (data_changed or lamports != current.lamports):
            raise _InstructionFailed(InstructionErrorFieldless.ExecutableDataModified)
        if owner != current.owner and not owned:
            raise _InstructionFailed(InstructionErrorFieldless.ModifiedProgramId)
        if data_changed and not owned:
            raise _InstructionFailed(InstructionErrorFieldless.ExternalAccountDataModified)
        if lamports < current.lamports and not owned:
            raise _InstructionFailed(InstructionErrorFieldless.ExternalAccountLamportSpend)
        if not 0 <= lamports < 1 << 64:
            raise _InstructionFailed(InstructionErrorFieldless.ArithmeticOverflow)
        self.put(
            write.address,
            Account(lamports, bytes(data), owner, current.executable, current.rent_epoch),
        )

    def _apply_invoke(self, ix: ModelInstruction, invoke: Invoke, logs: list[str]) -> int:
        allowed_signers = {m.pubkey for m in ix.accounts if m.is_signer}
        for seeds in invoke.signer_seeds:
            try:
                allowed_signers.add(Pubkey.create_program_address(list(seeds), ix.program_id))
            except Exception as exc:
                raise _InstructionFailed(InstructionErrorFieldless.InvalidSeeds) from exc
        callee = invoke.instruction
        for meta in callee.accounts:
            if not any(m.pubkey == meta.pubkey for m in ix.accounts):
                raise _InstructionFailed(InstructionErrorFieldless.MissingAccount)
            if meta.is_signer and meta.pubkey not in allowed_signers:
                logs.append(f"{meta.pubkey}'s signer privilege escalated")
                raise _InstructionFailed(InstructionErrorFieldless.PrivilegeEscalation)
            if meta.is_writable and not ix.is_writable(meta.pubkey):
                logs.append(f"{meta.pubkey}'s writable privilege escalated")
                raise _InstructionFailed(InstructionErrorFieldless.PrivilegeEscalation)
        return self._run_native(callee, 1, logs)


def _with_lamports(account: Account, lamports: int) -> Account:
    return Account(lamports, account.data, account.owner, account.executable, account.rent_epoch)
