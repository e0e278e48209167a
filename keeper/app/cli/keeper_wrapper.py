"""`drift-if keeper [check]`: the daemon's command line, wired to keeper.app.keeper_cmd.

Only option parsing lives here (Click turns bad values into usage errors, exit 2);
what the command does — load and validate the config, run the daemon or one pass,
check the cluster — is `keeper_cmd.run` and `keeper_cmd.check`.
"""

from __future__ import annotations

import click

from keeper.app.cli.options import URL, json_option


@click.command("keeper", help="Run the keeper daemon (or one pass with --once); `check` validates.")
@click.argument("mode", required=False, type=click.Choice(["check"]))
@click.option("--config", "config_file", required=True, metavar="PATH", help="Keeper TOML config.")
@click.option("-u", "--url", type=URL, help="Override the config's RPC URL (and so its WS URL).")
@click.option("-k", "--keypair", metavar="PATH", help="Override the fee payer's keypair file.")
@click.option("--once", is_flag=True, help="One read-decide-act pass, then exit.")
@click.option("--dry-run", is_flag=True, help="Plan and simulate; never send.")
@click.option("--log-json", is_flag=True, help="Log JSON lines (default: console).")
@click.option(
    "--metrics-port", type=click.IntRange(0, 65535), help="Serve /health and /metrics on this port."
)
@click.option("--metrics-host", help="Interface for the metrics server (default: the config's).")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@json_option
def keeper_cmd(
    mode: str | None,
    config_file: str,
    url: str | None,
    keypair: str | None,
    once: bool,
    dry_run: bool,
    log_json: bool,
    metrics_port: int | None,
    metrics_host: str | None,
    log_level: str,
    json: bool,
) -> int:
    from pathlib import Path

    from keeper.app import keeper_cmd as command

    options = command.KeeperOptions(
        config_file=Path(config_file),
        url=url,
        keypair=keypair,
        once=once,
        dry_run=dry_run,
        as_json=json,
        log_json=log_json,
        log_level=log_level,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )
    return command.check(options) if mode == "check" else command.run(options)
