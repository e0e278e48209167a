"""Commands that need no cluster: `profiles` and `inspect` (a recorded golden trace)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keeper.app.cli.connect import load_profile
from keeper.app.cli.options import Options, UsageError, profile_options
from keeper.app.cli.output import Output
from keeper.core.fmt import format_ratio_ppm, format_utc

if TYPE_CHECKING:
    from keeper.core.snapshot import Snapshot
    from keeper.program.codec import AccountCodec
    from keeper.program.goldentrace import Trace


@click.command("profiles", help="The known program profiles.")
@profile_options
def profiles_cmd(**kwargs: Any) -> int:
    from keeper.core.profile import PROFILES
    from keeper.program.idl import load_idl

    opts = Options.from_kwargs(kwargs)
    out = Output(json=opts.json)
    docs: list[dict[str, Any]] = []
    for p in PROFILES.values():
        docs.append(
            {
                "name": p.name,
                "programId": str(p.program_id),
                "idlVersion": load_idl(p.idl_path).version,
                # ppm, as `status` reports withdrawUtilizationLimit
                "withdrawUtilizationLimit": p.withdraw_utilization_limit,
                "borrowRateCurve": p.borrow_rate_curve.value,
            }
        )
    if opts.json:
        out.document(docs)
        return 0
    out.table(
        ["profile", "program id", "IDL", "withdraw limit", "borrow curve"],
        [
            [
                d["name"],
                d["programId"],
                f"v{d['idlVersion']}",
                format_ratio_ppm(d["withdrawUtilizationLimit"]),
                d["borrowRateCurve"],
            ]
            for d in docs
        ],
    )
    return 0


def _resolve_trace(name: str) -> Path:
    from keeper.program.goldentrace import BUNDLED_TRACE_DIR, trace_paths

    path = Path(name)
    if path.is_file():
        return path
    if path.exists():
        raise UsageError(f"{name} is not a trace file (a directory?)")
    bundled = trace_paths(BUNDLED_TRACE_DIR)
    matches = [p for p in bundled if p.name.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.stem for p in bundled)
    raise UsageError(f"no trace file or bundled trace named {name!r} (bundled: {known})")


def _snapshot_at(trace: Trace, codec: AccountCodec, step_index: int | None) -> tuple[Snapshot, str]:
    from keeper.core.snapshot import build_snapshot
    from keeper.program.goldentrace import InstructionStep, replay_world

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


@click.command("inspect", help="Show the IF state recorded in a golden trace (read-only).")
@click.argument("trace")
@click.option("--step", type=click.IntRange(0), help="The state after this step (default: last).")
@profile_options
def inspect_cmd(trace: str, step: int | None, **kwargs: Any) -> int:
    from keeper.app.cli.read_commands import STAKE_HEADERS, markets_table, stake_rows
    from keeper.core.status import snapshot_status
    from keeper.core.verify import check_snapshot
    from keeper.program.codec import AccountCodec
    from keeper.program.goldentrace import TraceFormatError, load_trace
    from keeper.program.idl import load_idl

    opts = Options.from_kwargs(kwargs)
    out = Output(json=opts.json)
    path = _resolve_trace(trace)
    try:
        recorded = load_trace(path)
    except TraceFormatError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a JSON trace"
        raise UsageError(f"cannot read trace {path}: {reason}") from None
    profile = load_profile(opts, "drift-v2.84").with_program_id(recorded.program_id)
    codec = AccountCodec(load_idl(profile.idl_path), profile.program_id, profile.addresses)
    snap, label = _snapshot_at(recorded, codec, step)
    markets, stakes = snapshot_status(snap, profile)
    findings = check_snapshot(snap, profile.addresses)
    if opts.json:
        out.document(
            {
                "trace": recorded.name,
                "at": label,
                "slot": snap.slot,
                "unixTimestamp": snap.now_ts,
                "profile": profile.name,
                "markets": [m.to_json() for m in markets],
                "stakes": [s.to_json() for s in stakes],
                "findings": [str(f) for f in findings],
            }
        )
        return 0
    out.line(f"{recorded.name}: {recorded.title}")
    out.line(f"at {label}, slot {snap.slot}, {format_utc(snap.now_ts)} (profile {profile.name})\n")
    markets_table(out, markets, snap.now_ts)
    out.line()
    by_index = {m.market_index: m for m in markets}
    if stakes:
        out.table(
            STAKE_HEADERS, stake_rows(stakes, dict(recorded.labels), by_index, {}), [2, 3, 4, 5]
        )
    else:
        out.line("no stakes")
    out.line()
    out.line("invariants: all hold" if not findings else "\n".join(str(f) for f in findings))
    return 0


COMMANDS = (profiles_cmd, inspect_cmd)
