"""`drift-if`: the staker and operator command line.

Conventions follow the Solana CLI: `-u/--url` takes a URL or a moniker, `-k/--keypair`
a keypair file, and both default to the Solana CLI config file. Every command prints a
human table, or with `--json` one JSON document with integers in base units.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keeper import __version__
from keeper.addresses import DriftAddresses
from keeper.codec import AccountCodec
from keeper.errors import KeeperError
from keeper.fmt import format_amount, format_duration, format_ratio_ppm, format_ts, table
from keeper.goldentrace import (
    BUNDLED_TRACE_DIR,
    InstructionStep,
    Trace,
    TraceFormatError,
    load_trace,
    replay_world,
)
from keeper.idl import load_idl
from keeper.profile import PROFILES, ProgramProfile, get_profile, load_profile_file
from keeper.snapshot import Snapshot, build_snapshot
from keeper.status import MarketStatus, StakeStatus, market_status, stake_status
from keeper.verify import check_snapshot


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
    matches = sorted(BUNDLED_TRACE_DIR.glob(f"{name}*.json"))
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.stem for p in sorted(BUNDLED_TRACE_DIR.glob("*.json")))
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


def _labels(trace: Trace) -> dict[str, str]:
    return dict(trace.labels)


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
            matures = format_ts(s.matures_ts)
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
    markets = [market_status(m, snap.now_ts, profile) for m in snap.markets]
    by_index = {m.market_index: m for m in snap.markets}
    stakes = [
        stake_status(s, by_index[s.market_index], snap.now_ts, profile)
        for s in snap.stakes
        if s.market_index in by_index
    ]
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
    print(_stake_rows(stakes, _labels(trace), decimals) if stakes else "no stakes")
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
