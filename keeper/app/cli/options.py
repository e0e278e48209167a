"""The command line's vocabulary: parameter types, shared options and their values.

Solana CLI conventions: `-u/--url` takes a URL or a moniker, `-k/--keypair` a keypair
file, `-C/--config` the Solana CLI config file; all three default to that file. Every
value is checked here, at parse time, so a bad argument is a usage error (exit 2)
before any file is read or any RPC call is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from keeper.core.errors import ConfigError, KeeperError

F = TypeVar("F", bound=Callable[..., Any])

MAX_MARKET_INDEX = 0xFFFF
#: the largest compute-unit limit a transaction may ask for
MAX_COMPUTE_UNITS = 1_400_000


class UsageError(KeeperError):
    """The command line itself is wrong (exit code 2)."""


class UrlType(click.ParamType):  # type: ignore[type-arg]
    """A moniker (m, d, t, l, mainnet-beta, devnet, testnet, localhost) or an http(s) URL."""

    name = "URL_OR_MONIKER"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from keeper.app.solana_config import resolve_url

        try:
            return resolve_url(str(value))
        except ConfigError as exc:
            self.fail(str(exc).removeprefix("--url "), param, ctx)


class PubkeyType(click.ParamType):  # type: ignore[type-arg]
    """A base58 public key (its text is checked, not fetched)."""

    name = "PUBKEY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from solders.pubkey import Pubkey

        text = str(value).strip()
        try:
            Pubkey.from_string(text)
        except ValueError:
            self.fail(f"{text[:60]!r} is not a base58 public key", param, ctx)
        return text


class MarketType(click.ParamType):  # type: ignore[type-arg]
    """A spot market index (0..65535) or symbol (USDC, SOL…, read from the markets)."""

    name = "INDEX_OR_SYMBOL"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | str:
        text = str(value).strip()
        if text.lstrip("-").isascii() and text.lstrip("-").isdigit():
            index = int(text)
            if not 0 <= index <= MAX_MARKET_INDEX:
                self.fail(f"market index {text} is not in 0..{MAX_MARKET_INDEX}", param, ctx)
            return index
        if not text or not text.isprintable() or len(text) > 32:
            self.fail(f"{text[:40]!r} is neither a market index nor a symbol", param, ctx)
        return text.upper()


class PriorityFeeType(click.ParamType):  # type: ignore[type-arg]
    """`auto` (a percentile of recent fees) or micro-lamports per compute unit."""

    name = "auto|MICRO_LAMPORTS"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> int | str:
        text = str(value).strip().lower()
        if text == "auto":
            return "auto"
        if not (text.isascii() and text.isdigit()):
            self.fail(f"{value!r} is neither 'auto' nor a whole number ≥ 0", param, ctx)
        return int(text)


URL = UrlType()
PUBKEY = PubkeyType()
MARKET = MarketType()
PRIORITY_FEE = PriorityFeeType()


@dataclass
class Options:
    """Every option a command may take; commands read the ones they declare."""

    json: bool = False
    profile: str | None = None
    profile_file: str | None = None
    program_id: str | None = None
    url: str | None = None
    keypair: str | None = None
    config: str | None = None
    commitment: str | None = None
    rps: int = 10
    timeout: float = 10.0
    yes: bool = False
    dry_run: bool = False
    fee_payer: str | None = None
    priority_fee: int | str = "auto"
    max_priority_fee: int = 1_000_000
    compute_units: int | None = None

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> Options:
        known = {k: kwargs.pop(k) for k in list(kwargs) if k in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in known.items() if v is not None or k == "compute_units"})


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(f: F) -> F:
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


json_option = click.option(
    "--json", "json", is_flag=True, help="Print one JSON document (camelCase keys, base units)."
)

profile_options = _stack(
    json_option,
    click.option(
        "--profile",
        metavar="NAME",
        envvar="DRIFT_IF_PROFILE",
        show_envvar=True,
        help="Program profile (see `drift-if profiles`).",
    ),
    click.option(
        "--profile-file",
        metavar="PATH",
        type=click.Path(dir_okay=False),
        help="Program profile TOML/JSON file.",
    ),
    click.option("--program-id", type=PUBKEY, help="Override the profile's program id."),
)

cluster_options = _stack(
    profile_options,
    click.option(
        "-u",
        "--url",
        type=URL,
        help="RPC URL or moniker (m, d, t, l); default: the Solana CLI config's json_rpc_url.",
    ),
    click.option(
        "-k",
        "--keypair",
        metavar="PATH",
        help="Keypair file; default: the Solana CLI config's keypair_path.",
    ),
    click.option(
        "-C",
        "--config",
        metavar="PATH",
        help="Solana CLI config file (default ~/.config/solana/cli/config.yml).",
    ),
    click.option(
        "--commitment", type=click.Choice(["processed", "confirmed", "finalized"]), default=None
    ),
    click.option(
        "--rps",
        type=click.IntRange(1, 1000),
        default=10,
        show_default=True,
        help="RPC requests per second at most.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(0.1, 600, min_open=False),
        default=10.0,
        show_default=True,
        help="Seconds to wait for each RPC answer.",
    ),
)

tx_options = _stack(
    cluster_options,
    click.option("-y", "--yes", is_flag=True, help="Send without asking for confirmation."),
    click.option("--dry-run", is_flag=True, help="Simulate only; send nothing."),
    click.option(
        "--fee-payer",
        metavar="PATH",
        help="Keypair file that pays the transaction fee (default: the signer).",
    ),
    click.option(
        "--priority-fee",
        type=PRIORITY_FEE,
        default="auto",
        show_default=True,
        help="Compute-unit price in micro-lamports, or auto (75th percentile of recent fees).",
    ),
    click.option(
        "--max-priority-fee",
        type=click.IntRange(0),
        default=1_000_000,
        show_default=True,
        help="Cap for --priority-fee auto, micro-lamports per compute unit.",
    ),
    click.option(
        "--compute-units",
        type=click.IntRange(1, MAX_COMPUTE_UNITS),
        default=None,
        help="Compute-unit limit (default: sized by simulation).",
    ),
)

market_option = click.option(
    "--market",
    type=MARKET,
    default="0",
    show_default=True,
    help="Spot market index or symbol (e.g. 0 or USDC).",
)

markets_option = click.option(
    "--market",
    "markets",
    type=MARKET,
    multiple=True,
    help="Spot market index or symbol (repeatable; default 0).",
)
