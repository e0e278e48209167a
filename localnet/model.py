"""The plug-in point for programs the localnet runs in Python instead of in the SVM.

Without a program binary, the cluster still has to answer Drift instructions. A
`ProgramModel` owns one program id and executes that program's instructions natively,
the way solana-program-test's native processors do: the cluster hands it the
instruction, the accounts the instruction names and the clock, and the model answers
with what the real program would have done. The model stays pure (no I/O, no cluster
handle): it describes its effects, and the cluster applies them with the runtime's own
rules, so a model cannot do what a program could not (write an account it does not
own, spend lamports it does not own, forge a signer, unbalance lamports).

Effects are applied in order. `AccountWrite` changes an account the instruction marks
writable; `Invoke` is a cross-program invocation of a real program (SPL Token, System,
…) that the cluster runs in LiteSVM, with the caller's signer privileges plus any PDAs
of the model's program id named by `signer_seeds`, exactly as `invoke_signed` allows.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from solders.account import Account
from solders.clock import Clock
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.rent import Rent

from keeper.core import SPL_TOKEN_PROGRAM_ID

#: Compute units a model instruction reports when it does not say.
DEFAULT_MODEL_COMPUTE_UNITS = 5_000


@dataclass(frozen=True)
class ModelInstruction:
    """One instruction addressed to a model, as the runtime presents it to a program."""

    program_id: Pubkey
    data: bytes
    accounts: tuple[AccountMeta, ...]
    #: Position of the instruction in its transaction (for error reporting).
    index: int = 0

    def is_signer(self, address: Pubkey) -> bool:
        return any(m.pubkey == address and m.is_signer for m in self.accounts)

    def is_writable(self, address: Pubkey) -> bool:
        return any(m.pubkey == address and m.is_writable for m in self.accounts)


@dataclass(frozen=True)
class InstructionContext:
    """Everything a model may read: the instruction, its accounts and the sysvars.

    `accounts` holds every account the instruction names; an address with no account on
    chain appears as the runtime shows it, zero lamports, no data, owned by System.
    """

    instruction: ModelInstruction
    accounts: Mapping[Pubkey, Account]
    clock: Clock
    rent: Rent


@dataclass(frozen=True)
class AccountWrite:
    """Replace parts of an account. `None` keeps what the account holds when applied."""

    address: Pubkey
    data: bytes | None = field(default=None, repr=False)
    lamports: int | None = None
    owner: Pubkey | None = None


@dataclass(frozen=True)
class Invoke:
    """A cross-program invocation of a real program, run in the SVM.

    Every account the callee marks as signer must be a signer of the calling
    instruction, or the PDA `create_program_address(seeds, model program id)` of one
    entry of `signer_seeds`; every writable one must be writable in the caller.
    """

    instruction: Instruction
    signer_seeds: tuple[tuple[bytes, ...], ...] = ()


Effect = AccountWrite | Invoke


@dataclass(frozen=True)
class ModelSuccess:
    """The instruction succeeded: apply `effects` in order."""

    effects: tuple[Effect, ...] = ()
    #: Full log lines, e.g. from `program_log` / `program_data`.
    logs: tuple[str, ...] = ()
    compute_units: int = DEFAULT_MODEL_COMPUTE_UNITS


@dataclass(frozen=True)
class ModelFailure:
    """The instruction failed with a custom program error; nothing it did persists."""

    code: int
    logs: tuple[str, ...] = ()
    compute_units: int = DEFAULT_MODEL_COMPUTE_UNITS


ModelResult = ModelSuccess | ModelFailure


@runtime_checkable
class ProgramModel(Protocol):
    """A program executed in Python. See the module docstring for the contract."""

    @property
    def program_id(self) -> Pubkey:
        """The program id whose instructions this model executes."""
        ...

    def execute(self, ctx: InstructionContext) -> ModelResult:
        """Execute one instruction. Must not mutate anything it is given."""
        ...


# -- helpers for model authors ---------------------------------------------------------


def program_log(message: str) -> str:
    """A `msg!` line as the validator logs it."""
    return f"Program log: {message}"


def program_data(*chunks: bytes) -> str:
    """A `sol_log_data` line (Anchor `emit!` events) as the validator logs it."""
    return "Program data: " + " ".join(base64.b64encode(c).decode() for c in chunks)


def token_transfer(
    source: Pubkey,
    destination: Pubkey,
    authority: Pubkey,
    amount: int,
    token_program: Pubkey = SPL_TOKEN_PROGRAM_ID,
) -> Instruction:
    """SPL Token `Transfer` (instruction 3), for an `Invoke`."""
    if not 0 <= amount < 1 << 64:
        raise ValueError(f"token amount {amount} is not a u64")
    return Instruction(
        token_program,
        bytes([3]) + amount.to_bytes(8, "little"),
        [
            AccountMeta(source, is_signer=False, is_writable=True),
            AccountMeta(destination, is_signer=False, is_writable=True),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def token_transfer_checked(
    source: Pubkey,
    mint: Pubkey,
    destination: Pubkey,
    authority: Pubkey,
    amount: int,
    decimals: int,
    token_program: Pubkey = SPL_TOKEN_PROGRAM_ID,
) -> Instruction:
    """SPL Token `TransferChecked` (instruction 12), which Token-2022 mints require."""
    if not 0 <= amount < 1 << 64:
        raise ValueError(f"token amount {amount} is not a u64")
    return Instruction(
        token_program,
        bytes([12]) + amount.to_bytes(8, "little") + bytes([decimals]),
        [
            AccountMeta(source, is_signer=False, is_writable=True),
            AccountMeta(mint, is_signer=False, is_writable=False),
            AccountMeta(destination, is_signer=False, is_writable=True),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def token_amount(account: Account) -> int:
    """The `amount` of an SPL token account (u64 at offset 64)."""
    if len(account.data) < 72:
        raise ValueError("not a token account: data shorter than 72 bytes")
    return int.from_bytes(account.data[64:72], "little")
