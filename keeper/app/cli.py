"""`drift-if`: the staker and operator command line.

Conventions follow the Solana CLI: `-u/--url` takes a URL or a moniker, `-k/--keypair`
a keypair file, and both default to the Solana CLI config file. Every command prints a
human table, or with `--json` one JSON document with integers in base units.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from keeper import __version__
from keeper.app.session import Session
from keeper.app.solana_config import load_cli_config, load_keypair, resolve_url
from keeper.cluster.redact import redact_url
from keeper.cluster.sender import FeePolicy
from keeper.core.addresses import DriftAddresses
from keeper.core.errors import KeeperError
from keeper.core.fmt import (
    format_amount,
    format_duration,
    format_ratio_ppm,
    format_ts,
    parse_amount,
    table,
)
from keeper.core.plan import Plan
from keeper.core.profile import (
    PROFILES,
    ProgramProfile,
    get_profile,
    load_profile_file,
    parse_pubkey,
)
from keeper.core.snapshot import Snapshot, build_snapshot
from keeper.core.status import MarketStatus, StakeStatus, snapshot_status
from keeper.core.verify import check_snapshot
from keeper.program.codec import AccountCodec
from keeper.program.goldentrace import (
    BUNDLED_TRACE_DIR,
    InstructionStep,
    Trace,
    TraceFormatError,
    load_trace,
    replay_world,
    trace_paths,
)
from keeper.program.idl import load_idl


class UsageError(KeeperError):
    """The command line itself is wrong (exit code 2)."""


def _profile(args: argparse.Namespace, default: str) -> ProgramProfile:
    if args.profile_file:
        prof = load_profile_file(Path(args.profile_file))
    else:
        prof = get_profile(args.profile or default)
    if args.program_id:
        prof = prof.with_program_id(args.program_id)
    return prof


# -- inspect: read-only view of a recorded trace --------------------------------------


def _resolve_trace(name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    bundled = trace_paths(BUNDLED_TRACE_DIR)
    matches = [p for p in bundled if p.name.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.stem for p in bundled)
    raise UsageError(f"no trace file or bundled trace named {name!r} (bundled: {known})")


def _snapshot_at(trace: Trace, codec: AccountCodec, step_index: int | None) -> tuple[Snapshot, str]:
    if step_index is None:
        step_index = len(trace.steps) - 1
    if not 0 <= step_index < len(trace.steps):
        raise UsageError(f"{trace.name} has steps 0..{len(trace.steps) - 1}, not {step_index}")
    now_ts, slot, label = trace.setup_clock.unix_timestamp, trace.setup_clock.slot, "setup"
    for step, world in replay_world(trace):
        if isinstance(step, InstructionStep):
            now_ts, slot = step.clock.unix_timestamp, step.clock.slot
            outcome = "ok" if step.result.ok else f"failed {step.result.name}"
            label = f"step {step.index}: {step.instruction} ({outcome})"
        elif step.kind == "setClock":
            now_ts, slot = step.after.unix_timestamp, step.after.slot  # type: ignore[union-attr]
            label = f"step {step.index}: clock set"
        else:
            label = f"step {step.index}: account overwritten"
        if step.index == step_index:
            accounts = (a.raw() for a in world.values() if a.has_data)
            return build_snapshot(accounts, codec, slot=slot, now_ts=now_ts), label
    raise UsageError(f"{trace.name}: step {step_index} not found")


def _market_rows(markets: Sequence[MarketStatus], now_ts: int) -> str:
    rows = []
    for m in markets:
        d = m.decimals
        rows.append(
            [
                str(m.market_index),
                format_amount(m.if_vault_amount, d),
                f"{m.total_shares:,}",
                f"{m.user_shares:,}",
                format_amount(m.revenue_pool_amount, d),
                format_ratio_ppm(m.utilization),
                format_ratio_ppm(m.utilization_twap),
                ("due now" if m.next_settle_ts <= now_ts else format_ts(m.next_settle_ts))
                if m.settle_enabled
                else "disabled",
                format_duration(m.unstaking_period_seconds),
            ]
        )
    return table(
        [
            "market",
            "IF vault",
            "total shares",
            "user shares",
            "revenue pool",
            "util",
            "util twap",
            "next settle",
            "cooldown",
        ],
        rows,
        right=[1, 2, 3, 4, 5, 6],
    )


def _stake_rows(
    stakes: Sequence[StakeStatus], labels: dict[str, str], decimals: dict[int, int]
) -> str:
    rows = []
    for s in stakes:
        d = decimals[s.market_index]
        who = labels.get(str(s.authority), str(s.authority)[:8] + "…")
        if s.request_shares:
            pending = f"{format_amount(s.request_value, d)} ({s.request_shares:,} sh)"
            # when the program will accept the withdraw (rules.withdraw_opens_at), and
            # any reason besides the cooldown it would still refuse (rules.withdraw_blockers)
            matures = format_ts(s.matures_ts)
            others = [r for r in s.withdraw_blockers if r != "cooldown"]
            if others:
                matures += f" ({'; '.join(others)})"
        else:
            pending, matures = "-", "-"
        rows.append(
            [
                who,
                str(s.market_index),
                f"{s.shares:,}",
                format_amount(s.value_amount, d),
                format_amount(s.cost_basis, d),
                pending,
                matures,
            ]
        )
    return table(
        ["staker", "market", "shares", "value", "cost basis", "pending request", "withdrawable at"],
        rows,
        right=[2, 3, 4],
    )


def _inspect(args: argparse.Namespace) -> int:
    try:
        trace = load_trace(_resolve_trace(args.trace))
    except TraceFormatError as exc:
        raise UsageError(str(exc)) from exc
    profile = _profile(args, "drift-v2.84").with_program_id(trace.program_id)
    codec = AccountCodec(load_idl(profile.idl_path), profile.program_id)
    snap, label = _snapshot_at(trace, codec, args.step)
    markets, stakes = snapshot_status(snap, profile)
    findings = check_snapshot(snap, DriftAddresses(profile.program_id))
    if args.json:
        doc = {
            "trace": trace.name,
            "at": label,
            "slot": snap.slot,
            "unixTimestamp": snap.now_ts,
            "profile": profile.name,
            "markets": [m.to_json() for m in markets],
            "stakes": [s.to_json() for s in stakes],
            "findings": [str(f) for f in findings],
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{trace.name}: {trace.title}")
    print(f"at {label}, slot {snap.slot}, {format_ts(snap.now_ts)} (profile {profile.name})\n")
    print(_market_rows(markets, snap.now_ts))
    print()
    decimals = {m.market_index: m.decimals for m in markets}
    print(_stake_rows(stakes, dict(trace.labels), decimals) if stakes else "no stakes")
    print()
    print("invariants: all hold" if not findings else "\n".join(str(f) for f in findings))
    return 0


def _profiles(args: argparse.Namespace) -> int:
    rows = []
    for p in PROFILES.values():
        idl = load_idl(p.idl_path)
        rows.append(
            [
                p.name,
                str(p.program_id),
                f"v{idl.version}",
                format_ratio_ppm(p.withdraw_utilization_limit),
                p.borrow_rate_curve.value,
            ]
        )
    if args.json:
        print(
            json.dumps(
                [
                    dict(
                        zip(
                            [
                                "name",
                                "programId",
                                "idl",
                                "withdrawUtilizationLimit",
                                "borrowRateCurve",
                            ],
                            r,
                            strict=True,
                        )
                    )
                    for r in rows
                ],
                indent=2,
            )
        )
    else:
        print(table(["profile", "program id", "IDL", "withdraw limit", "borrow curve"], rows))
    return 0


# -- commands that talk to a cluster ---------------------------------------------------


def _open_session(args: argparse.Namespace, *, needs_keypair: bool) -> Session:
    config = load_cli_config(Path(args.config) if args.config else None)
    url = resolve_url(args.url or config.json_rpc_url)
    profile = _profile(args, "drift-mainnet")
    key_path = args.keypair or (config.keypair_path if needs_keypair else None)
    keypair = load_keypair(key_path) if key_path else None
    fees = FeePolicy(
        compute_unit_limit=getattr(args, "compute_units", 200_000),
        priority_micro_lamports=getattr(args, "priority_fee", 0),
    )
    return Session.connect(
        url,
        profile,
        keypair=keypair,
        commitment=args.commitment or config.commitment,
        requests_per_second=args.rps,
        fees=fees,
    )


def _authority(args: argparse.Namespace, session: Session) -> Pubkey | None:
    if getattr(args, "authority", None):
        return parse_pubkey(args.authority, "--authority")
    return session.keypair.pubkey() if session.keypair else None


async def _status(args: argparse.Namespace, session: Session) -> int:
    who = _authority(args, session)
    markets = tuple(args.market) if args.market else (0,)
    snap = await session.snapshot(markets, (who,) if who else ())
    statuses, stakes = snapshot_status(snap, session.profile)
    wallets = {str(w.address): w.amount for w in snap.wallets}
    if args.json:
        doc = {
            "cluster": redact_url(session.url),
            "slot": snap.slot,
            "unixTimestamp": snap.now_ts,
            "profile": session.profile.name,
            "markets": [m.to_json() for m in statuses],
            "stakes": [s.to_json() for s in stakes],
            "walletTokenAccounts": wallets,
        }
        print(json.dumps(doc, indent=2))
        return 0
    print(
        f"{redact_url(session.url)}  slot {snap.slot}  {format_ts(snap.now_ts)}  (profile {session.profile.name})\n"
    )
    print(_market_rows(statuses, snap.now_ts))
    if who is not None:
        print()
        labels = {
            str(who): "you"
            if session.keypair and session.keypair.pubkey() == who
            else str(who)[:8] + "…"
        }
        print(
            _stake_rows(stakes, labels, {m.market_index: m.decimals for m in statuses})
            if stakes
            else f"{who} has no stake in these markets"
        )
    return 0


async def _execute(args: argparse.Namespace, session: Session, plan: Plan, snap: Snapshot) -> int:
    """Simulate, send, confirm, then read back and compare with the prediction."""
    decimals = snap.market(plan.market_index).market.decimals
    preview = plan.describe(decimals)
    outcome = await session.execute(plan, dry_run=args.dry_run)
    if args.json:
        doc: dict[str, Any] = {"action": plan.action.value, "figures": plan.figures}
        if outcome.dry_run:
            doc |= {"dryRun": True, "unitsConsumed": outcome.units_consumed}
        else:
            doc |= {
                "signature": str(outcome.signature),
                "slot": outcome.slot,
                "matchesPrediction": not outcome.mismatches,
                "mismatches": list(outcome.mismatches),
            }
        print(json.dumps(doc, indent=2))
    elif outcome.dry_run:
        print(f"simulated: {preview} ({outcome.units_consumed} compute units); nothing sent")
    else:
        print(f"{preview}\nconfirmed in slot {outcome.slot}: {outcome.signature}")
        if outcome.mismatches:
            print(
                "note: the landed state differs from the prediction:\n  "
                + "\n  ".join(outcome.mismatches)
            )
    return 0


def _amount(text: str, snap: Snapshot, market_index: int) -> int:
    decimals = snap.market(market_index).market.decimals
    try:
        return parse_amount(text, decimals)
    except ValueError as exc:
        raise UsageError(f"amount {text!r}: {exc}") from None


async def _stake(args: argparse.Namespace, session: Session) -> int:
    who = session.signer().pubkey()
    snap = await session.snapshot((args.market,), (who,))
    plan = session.planner.stake(snap, who, args.market, _amount(args.amount, snap, args.market))
    return await _execute(args, session, plan, snap)


async def _unstake(args: argparse.Namespace, session: Session) -> int:
    who = session.signer().pubkey()
    snap = await session.snapshot((args.market,), (who,))
    if (args.amount is None) == (not args.all):
        raise UsageError("give an AMOUNT to unstake, or --all")
    amount = None if args.all else _amount(args.amount, snap, args.market)
    return await _execute(
        args, session, session.planner.unstake(snap, who, args.market, amount), snap
    )


async def _cancel(args: argparse.Namespace, session: Session) -> int:
    who = session.signer().pubkey()
    snap = await session.snapshot((args.market,), (who,))
    return await _execute(args, session, session.planner.cancel(snap, who, args.market), snap)


async def _withdraw(args: argparse.Namespace, session: Session) -> int:
    who = session.signer().pubkey()
    snap = await session.snapshot((args.market,), (who,))
    return await _execute(args, session, session.planner.withdraw(snap, who, args.market), snap)


async def _deposit_revenue(args: argparse.Namespace, session: Session) -> int:
    who = session.signer().pubkey()
    snap = await session.snapshot((args.market,), (who,))
    plan = session.planner.deposit_revenue(
        snap, who, args.market, _amount(args.amount, snap, args.market)
    )
    return await _execute(args, session, plan, snap)


async def _settle(args: argparse.Namespace, session: Session) -> int:
    who = session.signer().pubkey()
    snap = await session.snapshot((args.market,), ())
    return await _execute(args, session, session.planner.settle(snap, who, args.market), snap)


ClusterCommand = Callable[[argparse.Namespace, Session], Awaitable[int]]


def _cluster(
    command: ClusterCommand, *, needs_keypair: bool
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return asyncio.run(run_cluster_command(command, args, needs_keypair=needs_keypair))

    return run


async def run_cluster_command(
    command: ClusterCommand, args: argparse.Namespace, *, needs_keypair: bool
) -> int:
    session = _open_session(args, needs_keypair=needs_keypair)
    try:
        return await command(args, session)
    finally:
        await session.close()


def _keeper(args: argparse.Namespace) -> int:
    """Thin wiring: the logic lives in keeper.app.keeper_cmd."""
    from keeper.app import keeper_cmd

    options = keeper_cmd.KeeperOptions(
        config_file=Path(args.config_file),
        url=args.url,
        keypair=args.keypair,
        once=args.once,
        dry_run=args.dry_run,
        as_json=args.json,
        log_json=args.log_json,
        log_level=args.log_level,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
    )
    if args.mode == "check":
        return keeper_cmd.check(options)
    return keeper_cmd.run(options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drift-if", description="Drift Insurance Fund keeper and staker CLI"
    )
    parser.add_argument("--version", action="version", version=f"drift-if {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document (base units)")
    common.add_argument("--profile", help=f"program profile ({', '.join(PROFILES)})")
    common.add_argument("--profile-file", metavar="PATH", help="program profile TOML/JSON file")
    common.add_argument("--program-id", metavar="PUBKEY", help="override the profile's program id")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "inspect", parents=[common], help="show IF state recorded in a golden trace (read-only)"
    )
    p.add_argument("trace", help="trace file, or the name prefix of a bundled trace (e.g. b_two)")
    p.add_argument("--step", type=int, help="show the state after this step (default: the last)")
    p.set_defaults(func=_inspect)

    p = sub.add_parser("profiles", parents=[common], help="list the known program profiles")
    p.set_defaults(func=_profiles)

    cluster = argparse.ArgumentParser(add_help=False, parents=[common])
    cluster.add_argument(
        "-u", "--url", help="RPC URL or moniker (m, d, t, l); default from the Solana CLI config"
    )
    cluster.add_argument("-k", "--keypair", help="keypair file; default from the Solana CLI config")
    cluster.add_argument(
        "-C", "--config", help="Solana CLI config file (default ~/.config/solana/cli/config.yml)"
    )
    cluster.add_argument("--commitment", choices=("processed", "confirmed", "finalized"))
    cluster.add_argument("--rps", type=int, default=10, help="RPC requests per second at most")
    tx = argparse.ArgumentParser(add_help=False, parents=[cluster])
    tx.add_argument("--market", type=int, default=0, help="spot market index (default 0, USDC)")
    tx.add_argument("--dry-run", action="store_true", help="simulate only; send nothing")
    tx.add_argument(
        "--priority-fee", type=int, default=0, metavar="MICRO_LAMPORTS", help="compute unit price"
    )
    tx.add_argument("--compute-units", type=int, default=200_000, help="compute unit limit")

    p = sub.add_parser("status", parents=[cluster], help="IF markets and a staker's stakes")
    p.add_argument(
        "--market", type=int, action="append", help="market index (repeatable; default 0)"
    )
    p.add_argument(
        "--authority", metavar="PUBKEY", help="whose stakes to show (default: the keypair's)"
    )
    p.set_defaults(func=_cluster(_status, needs_keypair=False))

    p = sub.add_parser("stake", parents=[tx], help="stake tokens into a market's insurance fund")
    p.add_argument("amount", help="token amount, e.g. 1000 or 12.5")
    p.set_defaults(func=_cluster(_stake, needs_keypair=True))

    p = sub.add_parser("unstake", parents=[tx], help="request an unstake (starts the cooldown)")
    p.add_argument("amount", nargs="?", help="token amount to unstake")
    p.add_argument("--all", action="store_true", help="request every share")
    p.set_defaults(func=_cluster(_unstake, needs_keypair=True))

    p = sub.add_parser("cancel", parents=[tx], help="cancel the pending unstake request")
    p.set_defaults(func=_cluster(_cancel, needs_keypair=True))

    p = sub.add_parser("withdraw", parents=[tx], help="withdraw a matured unstake request")
    p.set_defaults(func=_cluster(_withdraw, needs_keypair=True))

    p = sub.add_parser("keeper", parents=[common], help="run the keeper daemon (or one pass)")
    p.add_argument(
        "mode", nargs="?", choices=("check",), help="check: validate the config and connect"
    )
    p.add_argument("--config", dest="config_file", required=True, help="keeper TOML config")
    p.add_argument("-u", "--url", help="override the config's cluster URL or moniker")
    p.add_argument("-k", "--keypair", help="override the config's keypair file")
    p.add_argument("--once", action="store_true", help="one read-decide-act pass, then exit")
    p.add_argument("--dry-run", action="store_true", help="plan and simulate; never send")
    p.add_argument("--log-json", action="store_true", help="log JSON lines (default: console)")
    p.add_argument("--metrics-port", type=int, help="serve /health and /metrics on this port")
    p.add_argument("--metrics-host", help="interface for the metrics server (default: loopback)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=_keeper)

    p = sub.add_parser(
        "deposit-revenue", parents=[tx], help="donate tokens to a market's revenue pool"
    )
    p.add_argument("amount", help="token amount")
    p.set_defaults(func=_cluster(_deposit_revenue, needs_keypair=True))

    p = sub.add_parser(
        "settle", parents=[tx], help="settle the revenue pool into the insurance fund"
    )
    p.set_defaults(func=_cluster(_settle, needs_keypair=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: Any = args.func(args)
        return int(result)
    except UsageError as exc:
        print(f"drift-if: error: {exc}", file=sys.stderr)
        return 2
    except KeeperError as exc:
        print(f"drift-if: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
