"""The commands that sign: stake, unstake, cancel, withdraw, settle, deposit-revenue.

Each reads one verified snapshot, checks the staker's input against it (amounts
against the wallet and the stake, the gates of keeper.core.rules with their opening
times), lets the planner predict the outcome, then hands the plan to `send` (summary,
confirmation, send). Every refusal happens before anything is signed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from keeper.app.cli.connect import (
    open_reader,
    open_session,
    read_state,
    resolve_cluster,
    resolve_markets,
)
from keeper.app.cli.options import (
    Options,
    UsageError,
    market_option,
    markets_option,
    tx_options,
)
from keeper.app.cli.output import Output
from keeper.app.cli.send import Refused, TxContext, figure_lines
from keeper.core import ifmath, rules
from keeper.core.errors import ErrorTable, ProgramError
from keeper.core.fmt import format_amount, opens_in, parse_amount
from keeper.core.rules import Blocker
from keeper.core.snapshot import MarketSnapshot, Snapshot

if TYPE_CHECKING:
    from keeper.app.session import Session

Body = Callable[[TxContext], Awaitable[int]]


def run_tx(opts: Options, body: Body) -> int:
    """Resolve the cluster, open a session, run `body`, close everything."""
    cluster = resolve_cluster(opts, needs_signer=True, default_profile="drift-mainnet")
    out = Output(json=opts.json)

    async def main() -> int:
        session = open_session(cluster, opts)
        rpc = open_reader(cluster, opts)
        try:
            return await body(TxContext(session, rpc, opts, out))
        finally:
            await rpc.close()
            await session.close()

    return asyncio.run(main())


def parse_token_amount(text: str, decimals: int, symbol: str) -> int:
    """The strict grammar of fmt.parse_amount; zero is refused here (exit 2)."""
    try:
        amount = parse_amount(text, decimals)
    except ValueError as exc:
        raise UsageError(f"amount {exc}") from None
    if amount == 0:
        raise UsageError(f"amount {text!r} is zero: give a positive amount of {symbol}")
    return amount


def explain_blockers(
    blockers: Sequence[Blocker], errors: ErrorTable, now_ts: int, what: str
) -> ProgramError:
    """The first blocker as the program's error, with every reason and when it lifts."""
    first = blockers[0]
    reasons = []
    for b in blockers:
        when = f": the {what} opens at {opens_in(b.opens_at, now_ts)}" if b.opens_at else ""
        reasons.append(f"{b.reason}{when}")
    logs = [line for b in blockers for line in b.logs]
    detail = "; ".join(reasons) + (f" (program log: {'; '.join(logs)})" if logs else "")
    return ProgramError(errors.lookup(first.code), detail)


async def _one_market(
    session: Session, ref: int | str, with_signer: bool = True
) -> tuple[int, Snapshot, MarketSnapshot]:
    (index,) = await resolve_markets(session.reader, session.codec, [ref])
    who = (session.signer().pubkey(),) if with_signer else ()
    snap = await session.snapshot((index,), who)
    return index, snap, snap.market(index)


def _wallet_amount(session: Session, snap: Snapshot, m: MarketSnapshot) -> int | None:
    address = session.planner.wallet_address(m, session.signer().pubkey())
    return next((w.amount for w in snap.wallets if w.address == address), None)


# -- stake / deposit-revenue -------------------------------------------------------------


MakePlan = Callable[["Session", Snapshot, int, int], Awaitable[Any]]


def _amount_command(name: str, help_text: str, verb: str) -> Callable[[MakePlan], click.Command]:
    """stake and deposit-revenue share their shape: AMOUNT of the market's token."""

    def wrap(make: MakePlan) -> click.Command:
        @click.command(name, help=help_text, context_settings={"ignore_unknown_options": True})
        @click.argument("amount")
        @market_option
        @tx_options
        def command(amount: str, market: int | str, **kwargs: Any) -> int:
            opts = Options.from_kwargs(kwargs)

            async def body(ctx: TxContext) -> int:
                session = ctx.session
                index, snap, m = await _one_market(session, market)
                symbol, decimals = m.market.symbol, m.market.decimals
                base = parse_token_amount(amount, decimals, symbol)
                wallet = _wallet_amount(session, snap, m)
                plan = await make(session, snap, index, base)
                details = figure_lines(plan.figures, decimals, symbol)
                # what leaves the wallet: an add of whole shares only takes their price
                spent = plan.figures.get("cost_amount", base)
                if spent != base:
                    details.append(
                        (
                            "whole shares",
                            f"the program takes {format_amount(spent, decimals)} {symbol} for "
                            f"{plan.figures['shares_minted']:,} shares; the other "
                            f"{format_amount(base - spent, decimals)} {symbol} stays in the wallet",
                        )
                    )
                if wallet is not None:
                    details.append(
                        ("wallet after", f"{format_amount(wallet - spent, decimals)} {symbol}")
                    )
                headline = (
                    f"{verb} {format_amount(base, decimals)} {symbol} (market {index}, {symbol})"
                )
                return await ctx.send(plan, m.market, headline, details, before=snap)

            return run_tx(opts, body)

        return command

    return wrap


@_amount_command("stake", "Stake AMOUNT tokens into a market's insurance fund.", "stake")
async def stake_cmd(session: Session, snap: Snapshot, index: int, amount: int) -> Any:
    return session.planner.stake(snap, session.signer().pubkey(), index, amount)


@_amount_command(
    "deposit-revenue",
    "Donate AMOUNT tokens to a market's revenue pool (they reach the fund through settles).",
    "donate",
)
async def deposit_revenue_cmd(session: Session, snap: Snapshot, index: int, amount: int) -> Any:
    return session.planner.deposit_revenue(snap, session.signer().pubkey(), index, amount)


# -- unstake ---------------------------------------------------------------------------------


@click.command(
    "unstake",
    help="Request an unstake of AMOUNT tokens, or of every share with --all "
    "(starts the cooldown; withdraw when it matures).",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("amount", required=False)
@click.option("--all", "everything", is_flag=True, help="Request every share (no dust).")
@market_option
@tx_options
def unstake_cmd(amount: str | None, everything: bool, market: int | str, **kwargs: Any) -> int:
    opts = Options.from_kwargs(kwargs)
    if (amount is None) == (not everything):
        raise UsageError("give an AMOUNT to unstake, or --all (not both)")

    async def body(ctx: TxContext) -> int:
        session = ctx.session
        index, snap, m = await _one_market(session, market)
        who = session.signer().pubkey()
        symbol, decimals = m.market.symbol, m.market.decimals
        stake = snap.stake(who, index)
        wanted: int | None = None
        if amount is not None:
            wanted = parse_token_amount(amount, decimals, symbol)
            if stake is not None:
                nav = rules.fund_nav(m.market, m.if_vault_amount, session.profile)
                value = ifmath.stake_value(stake, m.market, nav)
                if wanted > value:
                    raise Refused(
                        f"{format_amount(wanted, decimals)} {symbol} is more than the stake is "
                        f"worth ({format_amount(value, decimals)} {symbol}); use --all to "
                        "unstake everything"
                    )
                if wanted == value:
                    wanted = None  # the value status shows is the whole stake: no dust
        plan = session.planner.unstake(snap, who, index, wanted)
        f = plan.figures
        frozen = f["value_frozen"]
        details = [
            ("shares requested", f"{f['shares_requested']:,}"),
            ("value frozen", f"{format_amount(frozen, decimals)} {symbol} (paid at most)"),
            ("withdrawable at", opens_in(f["withdrawable_at"], snap.now_ts)),
        ]
        if "rebase_add_amount" in f:
            details.append(
                (
                    "rebase first",
                    f"adds {format_amount(f['rebase_add_amount'], decimals)} {symbol} to "
                    "rebase the stake (the program's next touch)",
                )
            )
        headline = (
            f"request an unstake of {format_amount(frozen, decimals)} {symbol} "
            f"({f['shares_requested']:,} shares) from market {index}"
        )
        return await ctx.send(plan, m.market, headline, details, before=snap)

    return run_tx(opts, body)


# -- cancel / withdraw --------------------------------------------------------------------------


MarketBody = Callable[[TxContext, int, Snapshot, MarketSnapshot], Awaitable[int]]


def _market_command(name: str, help_text: str) -> Callable[[MarketBody], click.Command]:
    """A signing command on one market (`--market`), given the snapshot it reads."""

    def wrap(act: MarketBody) -> click.Command:
        @click.command(name, help=help_text)
        @market_option
        @tx_options
        def command(market: int | str, **kwargs: Any) -> int:
            async def body(ctx: TxContext) -> int:
                index, snap, m = await _one_market(ctx.session, market)
                return await act(ctx, index, snap, m)

            return run_tx(Options.from_kwargs(kwargs), body)

        return command

    return wrap


@_market_command("cancel", "Cancel the pending unstake request (forfeits gains since it).")
async def cancel_cmd(ctx: TxContext, index: int, snap: Snapshot, m: MarketSnapshot) -> int:
    symbol, decimals = m.market.symbol, m.market.decimals
    plan = ctx.session.planner.cancel(snap, ctx.session.signer().pubkey(), index)
    f = plan.figures
    forfeits = (
        f"{format_amount(f['value_forfeited'], decimals)} {symbol} "
        f"({f['shares_forfeited']:,} shares)"
    )
    headline = f"cancel the unstake request on market {index} ({symbol})"
    return await ctx.send(plan, m.market, headline, [("forfeits", forfeits)], before=snap)


@_market_command("withdraw", "Withdraw a matured unstake request to the wallet.")
async def withdraw_cmd(ctx: TxContext, index: int, snap: Snapshot, m: MarketSnapshot) -> int:
    session = ctx.session
    who = session.signer().pubkey()
    symbol, decimals = m.market.symbol, m.market.decimals
    stake = snap.stake(who, index)
    if stake is not None and not stake.has_pending_request:
        raise Refused(
            f"there is no pending unstake request to withdraw on market {index}; "
            "request one with `drift-if unstake AMOUNT` (or --all), then withdraw "
            "when it matures"
        )
    if stake is not None:
        blockers = rules.withdraw_blockers(
            snap.state, m.market, stake, m.if_vault_amount, snap.now_ts, session.profile, index
        )
        if blockers:
            raise explain_blockers(blockers, session.planner.errors, snap.now_ts, "withdraw")
    plan = session.planner.withdraw(snap, who, index)
    details = [("paid out", f"{format_amount(plan.figures['amount'], decimals)} {symbol}")]
    headline = f"withdraw the matured request on market {index} ({symbol})"
    return await ctx.send(plan, m.market, headline, details, before=snap)


# -- settle ------------------------------------------------------------------------------------

#: settle instructions per transaction (each is small: one market, its two vaults)
SETTLES_PER_TRANSACTION = 4


@click.command(
    "settle", help="Settle revenue pools into the insurance funds (--all: every due market)."
)
@markets_option
@click.option("--all", "everything", is_flag=True, help="Every market whose settle is due.")
@tx_options
def settle_cmd(markets: tuple[int | str, ...], everything: bool, **kwargs: Any) -> int:
    opts = Options.from_kwargs(kwargs)
    if markets and everything:
        raise UsageError("give --market or --all, not both")
    refs = list(markets) or [0]

    async def body(ctx: TxContext) -> int:
        session = ctx.session

        if everything:
            state = await read_state(session.reader, session.codec)
            indexes: tuple[int, ...] = tuple(range(state.number_of_spot_markets))
        else:
            indexes = await resolve_markets(session.reader, session.codec, refs)
        payer = session.signer().pubkey()
        plans, skipped = [], []
        for start in range(0, len(indexes), 30):
            snap = await session.snapshot(indexes[start : start + 30], ())
            for m in snap.markets:
                blockers = rules.settle_blockers(
                    snap.state, m.market, snap.now_ts, m.market_index, profile=session.profile
                )
                try:
                    if blockers:
                        raise explain_blockers(
                            blockers, session.planner.errors, snap.now_ts, "settle"
                        )
                    plans.append((session.planner.settle(snap, payer, m.market_index), m, snap))
                except ProgramError as exc:
                    if not everything:
                        raise
                    skipped.append({"market": m.market_index, "reason": str(exc)})
        if not plans and everything:
            ctx.out.line("no market is due for a settle")
            for s in skipped:
                ctx.out.line(f"  market {s['market']}: {s['reason']}")
            if ctx.opts.json:
                ctx.out.document({"action": "settle", "markets": [], "skipped": skipped})
            return 0
        code = 0
        for start in range(0, len(plans), SETTLES_PER_TRANSACTION):
            batch = plans[start : start + SETTLES_PER_TRANSACTION]
            plan = _batched([(p, m) for p, m, _snap in batch])
            details = [
                (
                    f"market {m.market_index} ({m.market.symbol})",
                    f"moves {format_amount(p.figures['amount'], m.market.decimals)} "
                    f"{m.market.symbol} into the fund",
                )
                for p, m, _snap in batch
            ]
            code |= await ctx.send(
                plan,
                batch[0][1].market,
                f"settle {len(batch)} market(s)",
                details,
                extra={
                    "markets": [
                        {"market": m.market_index, "amount": p.figures["amount"]}
                        for p, m, _snap in batch
                    ],
                    "skipped": skipped,
                },
                parts=[(p, snap) for p, _m, snap in batch],
            )
        return code

    return run_tx(opts, body)


def _batched(batch: Sequence[tuple[Any, MarketSnapshot]]) -> Any:
    """One plan holding several settles' instructions (one transaction)."""
    import dataclasses

    plans = [p for p, _m in batch]
    if len(plans) == 1:
        return plans[0]
    return dataclasses.replace(
        plans[0],
        instructions=tuple(ix for p in plans for ix in p.instructions),
        figures={"amount": sum(p.figures["amount"] for p in plans)},
    )


COMMANDS = (stake_cmd, unstake_cmd, cancel_cmd, withdraw_cmd, settle_cmd, deposit_revenue_cmd)
