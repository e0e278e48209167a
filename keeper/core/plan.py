"""A plan: the instructions for one IF action and the mirror's prediction of their effect.

Plans are values the pure core can reason about (`decide` orders them, the CLI
previews them) without knowing how their instructions were built; `Planner` is the
seam to the program binding that builds them (`keeper.program.planner`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from keeper.core.actions import ActionKind
from keeper.core.effects import Effect
from keeper.core.errors import ErrorTable, KeeperError, ProgramError
from keeper.core.fmt import format_amount, format_ts
from keeper.core.ifmath import Rejected, TokenRejected
from keeper.core.profile import ProgramProfile
from keeper.core.snapshot import Snapshot


class PlanError(KeeperError):
    """The request cannot be turned into a transaction; nothing was sent."""


@dataclass(frozen=True)
class Plan:
    action: ActionKind
    market_index: int
    authority: Pubkey
    instructions: tuple[Instruction, ...]
    #: the mirror's prediction for the IF instruction, at the snapshot's clock
    effect: Effect
    #: base-unit figures for the preview (amount, shares, value ...)
    figures: dict[str, int]
    creates: tuple[str, ...] = ()

    def describe(self, decimals: int) -> str:
        parts = [f"{self.action.text} on market {self.market_index}"]
        for key, value in self.figures.items():
            if key.endswith("_at"):
                shown = format_ts(value)
            elif "shares" in key:
                shown = f"{value:,}"
            else:
                shown = format_amount(value, decimals)
            parts.append(f"{key.replace('_', ' ')} {shown}")
        if self.creates:
            parts.append("creates " + " and ".join(self.creates))
        return ", ".join(parts)


def rejection_error(rej: Rejected, errors: ErrorTable) -> ProgramError:
    """The one place a predicted rejection becomes a staker-facing error."""
    info = errors.spl_token(rej.code) if isinstance(rej, TokenRejected) else errors.lookup(rej.code)
    return ProgramError(info, "; ".join(rej.logs) if rej.logs else "predicted before sending")


class Planner(Protocol):
    """What the core asks of the program binding: a validated plan per IF action."""

    @property
    def profile(self) -> ProgramProfile: ...

    @property
    def errors(self) -> ErrorTable: ...

    def settle(self, snap: Snapshot, payer: Pubkey, market_index: int) -> Plan: ...

    def withdraw(self, snap: Snapshot, authority: Pubkey, market_index: int) -> Plan: ...

    def unstake(
        self, snap: Snapshot, authority: Pubkey, market_index: int, amount: int | None
    ) -> Plan: ...
