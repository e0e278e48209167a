"""The `drift-if` group and the one error boundary every command runs inside.

Nothing leaves as a traceback: usage errors exit 2, refusals and failures exit 1,
each as a `drift-if: error: …` line on stderr, or with `--json` as a JSON error
document on stderr (stdout stays empty, so a pipe reading JSON sees no half output).
A closed stdout (`drift-if … | head`) ends the command quietly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from keeper import __version__
from keeper.app.cli.options import UsageError
from keeper.app.cli.output import error_document
from keeper.core.errors import KeeperError, ProgramError


class LazyGroup(click.Group):
    """Commands are registered by module; their heavy imports stay inside them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_command_table())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return _command_table().get(cmd_name)


def _command_table() -> dict[str, click.Command]:
    from keeper.app.cli import keeper_wrapper, local_commands, read_commands, tx_commands

    commands = [
        *read_commands.COMMANDS,
        *tx_commands.COMMANDS,
        *local_commands.COMMANDS,
        keeper_wrapper.keeper_cmd,
    ]
    return {c.name: c for c in commands if c.name}


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="Drift Insurance Fund staker CLI and keeper.\n\n"
    "Exit codes: 0 done, 1 refused or failed (nothing sent), 2 usage error.",
)
@click.version_option(__version__, prog_name="drift-if", message="%(prog)s %(version)s")
def cli() -> None:
    pass


def _wants_json(argv: Sequence[str]) -> bool:
    return "--json" in argv


def _report(message: str, code: int, as_json: bool, **extra: Any) -> int:
    if as_json:
        print(error_document(message, code, **extra), file=sys.stderr)
    else:
        print(f"drift-if: error: {message}", file=sys.stderr)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(args)
    try:
        result = cli.main(args=args, prog_name="drift-if", standalone_mode=False)
        return int(result or 0)
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `drift-if` alone: the help, exit 2
            print(exc.format_message(), file=sys.stderr)
            return 2
        hint = ""
        if exc.ctx is not None:
            hint = f" (see `{exc.ctx.command_path} --help`)"
        return _report(exc.format_message() + hint, 2, as_json)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        return _report("aborted; nothing sent", 1, as_json, refused=True)
    except UsageError as exc:
        return _report(str(exc), 2, as_json)
    except ProgramError as exc:
        return _report(
            str(exc), 1, as_json, refused=True, program={"code": exc.code, "name": exc.name}
        )
    except KeeperError as exc:
        from keeper.app.cli.send import Refused

        return _report(str(exc), 1, as_json, refused=isinstance(exc, Refused))
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
