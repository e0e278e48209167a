"""`drift-if`: the staker and operator command line (Click).

Conventions follow the Solana CLI: `-u/--url` takes a URL or a moniker, `-k/--keypair`
a keypair file, `-C/--config` the Solana CLI config file, and the first two default to
that file. Every command prints Rich tables on a terminal, plain stable text when
piped, or with `--json` one JSON document (camelCase keys, integers in base units).

Exit codes: 0 done; 1 refused or failed (nothing sent, or the cluster failed); 2 the
command line is wrong (including a send without a terminal to confirm on and no
`-y`); 130 interrupted. One module per command group: `read_commands` (markets,
status), `tx_commands` (stake … settle), `local_commands` (profiles, inspect),
`keeper_wrapper` (the daemon); `app` holds the group and the error boundary.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `drift-if` with these arguments (default: sys.argv) and return its exit code."""
    from keeper.app.cli.app import run

    return run(argv)
