"""A tiny program model that exercises every part of the ProgramModel contract.

Instructions (first data byte):
  0 init      [counter PDA (w), payer (s, w), system program] — creates the counter
              through a PDA-signed System CPI, then writes its data.
  1 increment [counter (w)] + u64 — adds; fails with custom error 1 past `LIMIT`.
  2 pay       [vault (w), destination (w), vault authority PDA, token program] + u64 —
              a PDA-signed SPL Token transfer.
  3 fail      [] — always fails with custom error 42.
  4 trespass  [account (w)] — writes data of an account it does not own.
  5 forge     [source (w), destination (w), authority, token program] + u64 — a token
              transfer CPI claiming a signer it has no right to.
"""

from __future__ import annotations

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account

from keeper.core.programs import SPL_TOKEN_PROGRAM_ID
from localnet.model import (
    AccountWrite,
    InstructionContext,
    Invoke,
    ModelFailure,
    ModelResult,
    ModelSuccess,
    program_log,
    token_transfer,
)

COUNTER_PROGRAM_ID = Pubkey.from_string("Counter111111111111111111111111111111111111")
LIMIT = 1_000
SYSTEM = Pubkey.from_string("11111111111111111111111111111111")


def counter_address(payer: Pubkey) -> tuple[Pubkey, int]:
    return Pubkey.find_program_address([b"counter", bytes(payer)], COUNTER_PROGRAM_ID)


def vault_authority() -> tuple[Pubkey, int]:
    return Pubkey.find_program_address([b"vault"], COUNTER_PROGRAM_ID)


class CounterModel:
    @property
    def program_id(self) -> Pubkey:
        return COUNTER_PROGRAM_ID

    def execute(self, ctx: InstructionContext) -> ModelResult:
        ix = ctx.instruction
        op, args = ix.data[:1], ix.data[1:]
        metas = ix.accounts
        if op == b"\x00":
            counter, payer = metas[0].pubkey, metas[1].pubkey
            address, bump = counter_address(payer)
            if address != counter:
                return ModelFailure(2006, (program_log("counter: wrong seeds"),))
            lamports = ctx.rent.minimum_balance(8)
            create = create_account(
                CreateAccountParams(
                    from_pubkey=payer,
                    to_pubkey=counter,
                    lamports=lamports,
                    space=8,
                    owner=COUNTER_PROGRAM_ID,
                )
            )
            return ModelSuccess(
                (
                    Invoke(create, ((b"counter", bytes(payer), bytes([bump])),)),
                    AccountWrite(counter, data=(0).to_bytes(8, "little")),
                ),
                (program_log("Instruction: Init"),),
                1_200,
            )
        if op == b"\x01":
            counter = ctx.accounts[metas[0].pubkey]
            value = int.from_bytes(counter.data[:8], "little") + int.from_bytes(args[:8], "little")
            if value > LIMIT:
                return ModelFailure(1, (program_log(f"counter: {value} exceeds {LIMIT}"),), 800)
            return ModelSuccess(
                (AccountWrite(metas[0].pubkey, data=value.to_bytes(8, "little")),),
                (program_log(f"counter = {value}"),),
                900,
            )
        if op == b"\x02":
            vault, dest, authority = metas[0].pubkey, metas[1].pubkey, metas[2].pubkey
            _, bump = vault_authority()
            amount = int.from_bytes(args[:8], "little")
            transfer = token_transfer(vault, dest, authority, amount, metas[3].pubkey)
            return ModelSuccess((Invoke(transfer, ((b"vault", bytes([bump])),)),), (), 1_000)
        if op == b"\x03":
            return ModelFailure(42, (program_log("counter: asked to fail"),), 300)
        if op == b"\x04":
            return ModelSuccess((AccountWrite(metas[0].pubkey, data=b"\x01" * 8),))
        if op == b"\x05":
            amount = int.from_bytes(args[:8], "little")
            transfer = token_transfer(metas[0].pubkey, metas[1].pubkey, metas[2].pubkey, amount)
            return ModelSuccess((Invoke(transfer),))
        return ModelFailure(100)


def counter_ix(op: int, accounts: list[AccountMeta], amount: int | None = None) -> Instruction:
    data = bytes([op]) + (amount.to_bytes(8, "little") if amount is not None else b"")
    return Instruction(COUNTER_PROGRAM_ID, data, accounts)


def init_ix(payer: Pubkey) -> Instruction:
    counter, _ = counter_address(payer)
    return counter_ix(
        0,
        [
            AccountMeta(counter, False, True),
            AccountMeta(payer, True, True),
            AccountMeta(SYSTEM, False, False),
        ],
    )


def increment_ix(counter: Pubkey, by: int) -> Instruction:
    return counter_ix(1, [AccountMeta(counter, False, True)], by)


def fail_ix() -> Instruction:
    return counter_ix(3, [])


def pay_ix(vault: Pubkey, dest: Pubkey, amount: int) -> Instruction:
    authority, _ = vault_authority()
    return counter_ix(
        2,
        [
            AccountMeta(vault, False, True),
            AccountMeta(dest, False, True),
            AccountMeta(authority, False, False),
            AccountMeta(SPL_TOKEN_PROGRAM_ID, False, False),
        ],
        amount,
    )
