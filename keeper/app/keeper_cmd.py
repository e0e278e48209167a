"""`drift-if keeper`: run the daemon, one pass, a dry run, or check a config — as plain
functions over a frozen options value, so any CLI front end (argparse today, Click
tomorrow) wires them without owning their logic.

Exit codes: 0 done (or stopped by SIGINT/SIGTERM), 1 the config, a keypair or the
cluster is unusable (one line on stderr says why), 2 a usage error (the front end's).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import structlog

from keeper.app.config import KeeperSettings, describe, load_settings
from keeper.app.daemon import MIN_FEE_PAYER_LAMPORTS, InsuranceFundKeeper, PassReport
from keeper.app.logs import configure_logging
from keeper.core.errors import ConfigError, KeeperError
from keeper.core.fmt import format_ts

log = structlog.get_logger("keeper.cmd")


@dataclass(frozen=True)
class KeeperOptions:
    config_file: Path
    #: override the config's RPC URL (its ws_url is then derived from this one)
    url: str | None = None
    #: override the fee payer's keypair (the wallet's, in the single-wallet format)
    keypair: str | None = None
    once: bool = False
    #: plan and simulate; never send
    dry_run: bool = False
    as_json: bool = False
    log_json: bool = False
    log_level: str = "info"
    metrics_port: int | None = None
    metrics_host: str | None = None


def _error(exc: BaseException) -> int:
    print(f"drift-if: error: {exc}", file=sys.stderr)
    return 1


def _load(options: KeeperOptions) -> KeeperSettings:
    return load_settings(
        options.config_file, url_override=options.url, keypair_override=options.keypair
    )


def run(options: KeeperOptions) -> int:
    """The daemon (until SIGINT/SIGTERM), or one pass with `once`."""
    try:
        settings = _load(options)
        configure_logging(json_lines=options.log_json, level=options.log_level)
        keeper = InsuranceFundKeeper.from_config(settings, dry_run=options.dry_run)
    except KeeperError as exc:
        return _error(exc)
    try:
        if options.once:
            return asyncio.run(_once(keeper, options.as_json))
        return asyncio.run(_daemon(keeper, options))
    except ConfigError as exc:  # a wrong cluster, found at start
        return _error(exc)
    except KeyboardInterrupt:
        return 130


async def _daemon(keeper: InsuranceFundKeeper, options: KeeperOptions) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    server = None
    port = options.metrics_port if options.metrics_port is not None else keeper.config.metrics_port
    if port is not None:
        from keeper.app.metrics import serve_metrics

        host = options.metrics_host or keeper.config.metrics_host
        try:
            server = await serve_metrics(keeper, host, port)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}; "
                "choose another --metrics-port"
            ) from None
    try:
        await keeper.run(stop)
    finally:
        if server is not None:
            server.close()
            await server.wait_closed()
    return 0


async def _once(keeper: InsuranceFundKeeper, as_json: bool) -> int:
    try:
        await keeper.preflight()
        report = await keeper.run_once()
    finally:
        await keeper.session.close()
    print(render_report(report, keeper, as_json=as_json))
    return 1 if report.errors else 0


def render_report(report: PassReport, keeper: InsuranceFundKeeper, *, as_json: bool) -> str:
    """One pass as a JSON document (base units) or as lines for people."""
    if as_json:
        doc = {
            "slot": report.slot,
            "unixTimestamp": report.now_ts,
            "dryRun": keeper.dry_run,
            "sent": [
                {
                    "action": o.plan.action.value,
                    "market": o.plan.market_index,
                    "wallet": keeper.wallet_name(o.plan.authority),
                    "figures": o.plan.figures,
                    "signature": None if o.signature is None else str(o.signature),
                    "mismatches": list(o.mismatches),
                }
                for o in report.outcomes
            ],
            "waiting": [
                {
                    "action": w.action.value,
                    "market": w.market_index,
                    "wallet": keeper.wallet_name(w.authority),
                    "reason": w.reason,
                    "untilTs": w.until_ts,
                }
                for w in report.decision.waits
            ],
            "noops": list(report.noops),
            "errors": list(report.errors),
        }
        return json.dumps(doc, indent=2)
    lines = [f"at {format_ts(report.now_ts)} (slot {report.slot}):"]
    verb = "simulated" if keeper.dry_run else "sent"
    for text, why, outcome in zip(
        report.descriptions, report.reasons, report.outcomes, strict=True
    ):
        wallet = keeper.wallet_name(outcome.plan.authority)
        who = f" for {wallet}" if outcome.plan.action.value != "settle" and wallet else ""
        sig = f" ({outcome.signature})" if outcome.signature is not None else ""
        lines.append(f"{verb} {text}{who}{sig}")
        lines.append(f"  why: {why}")
        lines += [f"  mismatch: {m}" for m in outcome.mismatches]
    for w in report.decision.waits:
        when = f"until {format_ts(w.until_ts)}" if w.until_ts else "acts on the next change"
        wallet = keeper.wallet_name(w.authority)
        who = f" for {wallet}" if wallet else ""
        lines.append(
            f"waiting: {w.action.text} on market {w.market_index}{who} ({w.reason}), {when}"
        )
    lines += [f"no-op: {n}" for n in report.noops]
    if len(lines) == 1:
        lines.append("nothing due")
    lines += [f"error: {e}" for e in report.errors]
    return "\n".join(lines)


def check(options: KeeperOptions) -> int:
    """Validate the config, load every keypair, and connect: the right program, its
    State, the markets, the fee payer's balance. One line per check; the first
    failure is one line on stderr and exit code 1."""
    try:
        settings = _load(options)
        configure_logging(json_lines=options.log_json, level="warning")
        keeper = InsuranceFundKeeper.from_config(settings, dry_run=True)
    except KeeperError as exc:
        return _error(exc)
    print(f"config {options.config_file}: ok ({describe(settings)})")

    async def probe() -> list[str]:
        try:
            return await keeper.preflight()
        finally:
            await keeper.session.close()

    try:
        lines = asyncio.run(probe())
    except KeeperError as exc:
        return _error(exc)
    for line in lines:
        print(f"ok: {line}")
    try:
        keeper.journal.check_writable()
    except KeeperError as exc:
        return _error(exc)
    print(f"ok: journal {keeper.journal.path} is writable")
    lamports = keeper.fee_payer_lamports or 0
    if lamports < MIN_FEE_PAYER_LAMPORTS:
        return _error(
            ConfigError(
                f"the fee payer {keeper.operator} holds {lamports} lamports, less than "
                f"{MIN_FEE_PAYER_LAMPORTS} (0.01 SOL): fund it before starting the keeper"
            )
        )
    return 0
