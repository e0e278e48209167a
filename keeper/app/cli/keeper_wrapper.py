"""`drift-if keeper`: the daemon's existing behaviour behind a Click command.

A thin wrapper around keeper.app.daemon (its config loader, `InsuranceFundKeeper`
and the metrics server), ported as-is from the argparse CLI; the daemon's command
logic is being moved to keeper/app/keeper_cmd.py and this wrapper will be re-wired to
it. Only the errors changed: a metrics port in use is a sentence, not a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keeper.app.cli.options import URL, profile_options
from keeper.app.cli.output import Output, camel_keys
from keeper.core.errors import ConfigError
from keeper.core.fmt import format_ts

if TYPE_CHECKING:
    from keeper.app.daemon import InsuranceFundKeeper


@click.command("keeper", help="Run the keeper daemon (or one pass with --once).")
@click.option("--config", "config_file", required=True, metavar="PATH", help="Keeper TOML config.")
@click.option("-u", "--url", type=URL, help="Override the config's cluster URL or moniker.")
@click.option("-k", "--keypair", metavar="PATH", help="Override the config's keypair file.")
@click.option("--once", is_flag=True, help="One read-decide-act pass, then exit.")
@click.option("--log-json", is_flag=True, help="Log JSON lines (default: console).")
@click.option(
    "--metrics-port", type=click.IntRange(0, 65535), help="Serve /health and /metrics on this port."
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@profile_options
def keeper_cmd(
    config_file: str,
    url: str | None,
    keypair: str | None,
    once: bool,
    log_json: bool,
    metrics_port: int | None,
    metrics_host: str,
    log_level: str,
    json: bool,
    **_profile: Any,
) -> int:
    from keeper.app.daemon import InsuranceFundKeeper, load_keeper_config
    from keeper.app.logs import configure_logging

    config = load_keeper_config(Path(config_file), url_override=url, keypair_override=keypair)
    configure_logging(json_lines=log_json, level=log_level)
    keeper = InsuranceFundKeeper.from_config(config)
    if once:
        return asyncio.run(_keeper_once(keeper, Output(json=json)))
    stop = asyncio.Event()

    async def main_loop() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        server = None
        try:
            if metrics_port is not None:
                from keeper.app.metrics import serve_metrics

                try:
                    server = await serve_metrics(keeper, metrics_host, metrics_port)
                except OSError as exc:
                    raise ConfigError(
                        f"cannot serve metrics on {metrics_host}:{metrics_port}: "
                        f"{exc.strerror or exc}; choose another --metrics-port"
                    ) from None
            await keeper.run(stop)
        finally:
            if server is not None:
                server.close()
                await server.wait_closed()

    asyncio.run(main_loop())
    return 0


async def _keeper_once(keeper: InsuranceFundKeeper, out: Output) -> int:
    try:
        report = await keeper.run_once()
    finally:
        await keeper.session.close()
    if out.json:
        out.document(
            {
                "slot": report.slot,
                "unixTimestamp": report.now_ts,
                "sent": [
                    {
                        "action": o.plan.action.value,
                        "market": o.plan.market_index,
                        "figures": camel_keys(o.plan.figures),
                        "signature": str(o.signature),
                        "slot": o.slot,
                    }
                    for o in report.outcomes
                ],
                "waiting": [
                    {
                        "action": w.action.value,
                        "market": w.market_index,
                        "reason": w.reason,
                        "untilTs": w.until_ts,
                    }
                    for w in report.decision.waits
                ],
                "errors": list(report.errors),
            }
        )
    else:
        for text, outcome in zip(report.descriptions, report.outcomes, strict=True):
            out.line(f"sent {text} ({outcome.signature})")
        for w in report.decision.waits:
            when = format_ts(w.until_ts) if w.until_ts else "on a change"
            out.line(
                f"waiting: {w.action.text} on market {w.market_index} ({w.reason}) until {when}"
            )
        for e in report.errors:
            out.line(f"error: {e}")
    return 1 if report.errors else 0
