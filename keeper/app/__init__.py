"""The application: configuration, session, keeper daemon, metrics, logging and the CLI.

`main` is the surface other packages may call (the localnet demo runs the CLI with
it); it imports the CLI only when called, so importing this package stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `drift-if` with these arguments and return its exit code."""
    from keeper.app.cli import main as cli_main

    return cli_main(argv)
