"""A plan: the instructions for one IF action and the mirror's prediction of their effect.

Plans are values the pure core can reason about (`decide` orders them, the CLI
previews them) without knowing how their instructions were built; `Planner` is the
seam to the program binding that builds them (`keeper.program.planner`).
"""

from __future__ import annotations

import dataclasses
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
from keeper.core.snapshot import MarketSnapshot, Snapshot


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

    def snapshot_after(self, snap: Snapshot) -> Snapshot:
        """`snap` as predicted once this plan has landed (see `snapshot_after`)."""
        return snapshot_after(snap, self.effect)

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


def snapshot_after(snap: Snapshot, effect: Effect) -> Snapshot:
    """The snapshot as the mirror predicts it once `effect` has landed (same clock).

    The keeper plans a later action on a market from this, never from the snapshot the
    earlier action was planned on: amounts then come from the predicted post-state
    (a settle moves the share price; a request planned at the old price leaves dust).
    Token accounts change only through the effect's transfers; every other account
    the effect names replaces its snapshot copy.
    """
    tokens = {m.insurance_fund_vault.address: m.insurance_fund_vault for m in snap.markets}
    tokens |= {m.spot_market_vault.address: m.spot_market_vault for m in snap.markets}
    tokens |= {w.address: w for w in snap.wallets}
    moved = effect.token_accounts_after(
        {
            a: t
            for a, t in tokens.items()
            if any(a in (x.source, x.destination) for x in effect.transfers)
        }
    )
    markets = []
    for m in snap.markets:
        market = m.market
        if effect.market is not None and effect.market.address == market.address:
            market = effect.market
        markets.append(
            MarketSnapshot(
                market,
                moved.get(m.insurance_fund_vault.address, m.insurance_fund_vault),
                moved.get(m.spot_market_vault.address, m.spot_market_vault),
            )
        )
    stakes = tuple(
        s for s in snap.stakes if effect.stake is None or s.address != effect.stake.address
    )
    stats = tuple(
        u
        for u in snap.user_stats
        if effect.user_stats is None or u.address != effect.user_stats.address
    )
    return dataclasses.replace(
        snap,
        state=effect.state or snap.state,
        markets=tuple(markets),
        stakes=stakes + ((effect.stake,) if effect.stake is not None else ()),
        user_stats=stats + ((effect.user_stats,) if effect.user_stats is not None else ()),
        wallets=tuple(moved.get(w.address, w) for w in snap.wallets),
    )


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
