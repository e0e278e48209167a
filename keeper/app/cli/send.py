"""Before anything is signed: fees, compute units, the fee payer's SOL, a summary and
the staker's yes; then send, confirm and report what landed.

Order: price the compute units (`--priority-fee auto|N`), check the fee payer can pay,
simulate once to size the compute-unit limit (or check the given `--compute-units`),
show the summary, ask (or take `-y`), send. Nothing is signed before the yes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from keeper.app.cli.connect import (
    LAMPORTS_PER_SIGNATURE,
    format_sol,
    percentile,
    priority_fee_lamports,
    rent_exempt_lamports,
)
from keeper.app.cli.options import MAX_COMPUTE_UNITS, Options, UsageError
from keeper.app.cli.output import Output, camel_keys
from keeper.core.errors import KeeperError, RpcError
from keeper.core.fmt import format_amount, format_utc
from keeper.core.plan import Plan
from keeper.core.views import SpotMarket

if TYPE_CHECKING:
    from keeper.app.session import Session
    from keeper.cluster.http_reader import HttpAccountSource
    from keeper.cluster.sender import FeePolicy
    from keeper.core.snapshot import Snapshot

#: accounts a plan may create → the program account whose size their rent pays for
#: (the sizes come from the session's IDL: a fork's accounts may differ from Drift's)
CREATED_ACCOUNTS = {"user stats": "UserStats", "stake account": "InsuranceFundStake"}
#: the percentile of recent prioritization fees `--priority-fee auto` pays
AUTO_FEE_PERCENTILE = 75
_BUDGET_EXCEEDED = ("exceeded CUs meter", "ComputationalBudgetExceeded", "compute budget exceeded")


class Refused(KeeperError):
    """The staker said no, or a check before signing failed (exit 1, nothing sent)."""


@dataclass(frozen=True)
class Fees:
    compute_unit_limit: int
    micro_lamports_per_cu: int
    signature_lamports: int
    priority_lamports: int
    rent_lamports: int
    units_simulated: int | None
    price_note: str = ""

    @property
    def total_lamports(self) -> int:
        return self.signature_lamports + self.priority_lamports + self.rent_lamports

    def to_json(self) -> dict[str, Any]:
        return {
            "computeUnitLimit": self.compute_unit_limit,
            "computeUnitPriceMicroLamports": self.micro_lamports_per_cu,
            "signatureFeeLamports": self.signature_lamports,
            "priorityFeeLamports": self.priority_lamports,
            "rentLamports": self.rent_lamports,
            "totalLamports": self.total_lamports,
            "unitsSimulated": self.units_simulated,
        }


async def unit_price(plan: Plan, opts: Options, rpc: HttpAccountSource) -> tuple[int, str]:
    """The compute-unit price: the given one, or a percentile of recent fees, capped."""
    if isinstance(opts.priority_fee, int):
        return opts.priority_fee, ""
    writable = sorted(
        {str(m.pubkey) for ix in plan.instructions for m in ix.accounts if m.is_writable}
    )[:128]
    try:
        answer = await rpc.call("getRecentPrioritizationFees", [writable])
        fees = [int(entry["prioritizationFee"]) for entry in answer]
    except (RpcError, KeyError, TypeError, ValueError):
        return 0, "the node gave no recent fees; paying no priority fee"
    price = percentile(fees, AUTO_FEE_PERCENTILE)
    if price > opts.max_priority_fee:
        return opts.max_priority_fee, f"capped by --max-priority-fee from {price:,}"
    return price, f"p{AUTO_FEE_PERCENTILE} of {len(fees)} recent slots"


def _budget_exceeded(logs: Sequence[str], error: BaseException | None) -> bool:
    text = " ".join(logs) + " " + str(error or "")
    return any(marker in text for marker in _BUDGET_EXCEEDED)


async def price_and_size(
    session: Session, plan: Plan, opts: Options, rpc: HttpAccountSource
) -> tuple[FeePolicy, Fees]:
    """Fee payer check, then one simulation that sizes (or checks) the compute units."""
    from keeper.cluster.sender import FeePolicy, build_transaction

    price, note = await unit_price(plan, opts, rpc)
    payer = session.payer()
    signer = session.signer()
    signatures = 1 if payer.pubkey() == signer.pubkey() else 2
    rent = sum(
        rent_exempt_lamports(
            session.codec.size(CREATED_ACCOUNTS[c]) if c in CREATED_ACCOUNTS else 0
        )
        for c in plan.creates
    )
    limit = opts.compute_units or MAX_COMPUTE_UNITS
    need = signatures * LAMPORTS_PER_SIGNATURE + priority_fee_lamports(price, limit)
    _slot, (account,) = await session.reader.get_multiple([payer.pubkey()])
    lamports = account.lamports if account is not None else 0
    # the signer pays the rent of created accounts; when it is the payer, it pays both
    payer_need = need + (rent if signatures == 1 else 0)
    if lamports < payer_need:
        have = "has no SOL" if lamports == 0 else f"holds only {format_sol(lamports)}"
        raise Refused(
            f"the fee payer {payer.pubkey()} {have}; fund it with at least "
            f"{format_sol(payer_need - lamports)} (e.g. `solana transfer {payer.pubkey()} "
            f"{format_sol(payer_need - lamports).split()[0]}`), or pay with --fee-payer"
        )
    blockhash, _last_valid = await session.sender.latest_blockhash()
    trial = FeePolicy(compute_unit_limit=limit, priority_micro_lamports=price)
    tx = build_transaction(plan.instructions, payer, blockhash, signers=(signer,), fees=trial)
    sim = await session.sender.simulate(tx)
    if sim.error is not None:
        if opts.compute_units and _budget_exceeded(sim.logs, sim.error):
            raise Refused(
                f"the transaction needs more than the {opts.compute_units:,} compute units "
                "given by --compute-units; raise it, or leave it out to size it by simulation"
            )
        raise sim.error
    units = sim.units_consumed
    if opts.compute_units and units is not None and units > opts.compute_units:
        # a validator stops the transaction at the limit; say so before it is sent
        raise Refused(
            f"the transaction needs {units:,} compute units, more than the "
            f"{opts.compute_units:,} given by --compute-units; raise it, or leave it out to "
            "size it by simulation"
        )
    if opts.compute_units is None:
        used = units or 200_000
        limit = min(MAX_COMPUTE_UNITS, used + used // 10 + 1_000)
    policy = FeePolicy(compute_unit_limit=limit, priority_micro_lamports=price)
    fees = Fees(
        compute_unit_limit=limit,
        micro_lamports_per_cu=price,
        signature_lamports=signatures * LAMPORTS_PER_SIGNATURE,
        priority_lamports=priority_fee_lamports(price, limit),
        rent_lamports=rent,
        units_simulated=units,
        price_note=note,
    )
    return policy, fees


def figure_lines(figures: dict[str, int], decimals: int, symbol: str) -> list[tuple[str, str]]:
    out = []
    for key, value in figures.items():
        label = key.replace("_", " ")
        if key.endswith("_at"):
            out.append((label, format_utc(value)))
        elif "shares" in key:
            out.append((label, f"{value:,} shares"))
        else:
            out.append((label, f"{format_amount(value, decimals)} {symbol}"))
    return out


def confirm(opts: Options, out: Output, question: str) -> None:
    """Ask on a terminal; `-y` skips; no terminal and no `-y` is a usage error (2)."""
    if opts.yes:
        return
    if not (sys.stdin.isatty() and out.terminal) or opts.json:
        raise UsageError(
            "refusing to send without confirmation: there is no terminal to ask on; "
            "pass -y/--yes to send, or --dry-run to simulate"
        )
    if not click.confirm(question, default=False):
        raise Refused("nothing sent: not confirmed")


@dataclass(frozen=True)
class TxContext:
    """What a signing command works with: the session, the light RPC, options, output."""

    session: Session
    rpc: HttpAccountSource
    opts: Options
    out: Output

    async def send(
        self,
        plan: Plan,
        market: SpotMarket,
        headline: str,
        details: Sequence[tuple[str, str]] = (),
        extra: dict[str, Any] | None = None,
        *,
        before: Snapshot | None = None,
        parts: Sequence[tuple[Plan, Snapshot]] = (),
    ) -> int:
        """`send` for this command, amounts in `market`'s token; `before` is the snapshot
        the plan was made from (`parts`: of each plan in a batch), for the read-back."""
        return await send(
            self.session,
            plan,
            self.opts,
            self.out,
            self.rpc,
            decimals=market.decimals,
            symbol=market.symbol,
            headline=headline,
            details=details,
            extra=extra,
            before=before,
            parts=parts,
        )


async def send(
    session: Session,
    plan: Plan,
    opts: Options,
    out: Output,
    rpc: HttpAccountSource,
    *,
    decimals: int,
    symbol: str,
    headline: str,
    details: Sequence[tuple[str, str]] = (),
    extra: dict[str, Any] | None = None,
    before: Snapshot | None = None,
    parts: Sequence[tuple[Plan, Snapshot]] = (),
) -> int:
    """Summary → confirmation → send → report, for one plan.

    After landing, every account the mirror predicted to change is read back (as the
    daemon does); each difference is reported with both values.
    """
    policy, fees = await price_and_size(session, plan, opts, rpc)
    fee_text = (
        f"{format_sol(fees.total_lamports)} (signature {format_sol(fees.signature_lamports)}"
        f", priority {format_sol(fees.priority_lamports)} at {fees.micro_lamports_per_cu:,} "
        f"µlamports/CU{'; ' + fees.price_note if fees.price_note else ''}"
        + (f", rent {format_sol(fees.rent_lamports)}" if fees.rent_lamports else "")
        + ")"
    )
    lines = [
        *details,
        *([("creates", " and ".join(plan.creates))] if plan.creates else []),
        ("fee payer", str(session.payer().pubkey())),
        ("fees", fee_text),
        (
            "compute units",
            f"limit {fees.compute_unit_limit:,}"
            + (f" (simulated {fees.units_simulated:,})" if fees.units_simulated else ""),
        ),
    ]
    doc: dict[str, Any] = {
        "action": plan.action.value,
        "market": plan.market_index,
        "figures": camel_keys(plan.figures),
        "fees": fees.to_json(),
        **(extra or {}),
    }
    out.line(headline)
    out.pairs(lines)
    if opts.dry_run:
        outcome = await session.execute(plan, dry_run=True, fees=policy)
        if opts.json:
            out.document(doc | {"dryRun": True, "unitsConsumed": outcome.units_consumed})
        else:
            out.line(f"simulated ({outcome.units_consumed or 0:,} compute units); nothing sent")
        return 0
    confirm(opts, out, "Send this transaction?")
    outcome = await session.execute(plan, fees=policy, before=before, parts=parts)
    if opts.json:
        out.document(
            doc
            | {
                "dryRun": False,
                "signature": str(outcome.signature),
                "slot": outcome.slot,
                "matchesPrediction": not outcome.mismatches,
                "mismatches": list(outcome.mismatches),
            }
        )
        return 0
    out.line(f"confirmed in slot {outcome.slot}: {outcome.signature}")
    if outcome.mismatches:
        out.line(
            "note: the landed state differs from the mirror's prediction (another "
            "transaction in the same slot, or a program version the mirror does not model; "
            "`drift-if status` shows what is on chain now):\n  "
            + "\n  ".join(outcome.mismatches)
        )
    return 0
