"""The keeper's configuration file: every key typed, documented and checked (pydantic v2).

One TOML file describes one keeper process: the cluster, the fee payer, any number
of wallets (each a keypair file with a policy per market), the fees, the limits and
the state directory. Unknown keys are refused (a typo must not silently become a
default), relative paths resolve against the config file's folder (not the CWD),
and secrets may come from the environment instead of the file:

- `DRIFT_IF_RPC_URL`  the RPC URL (providers put API keys in it);
- `DRIFT_IF_WS_URL`   the PubSub URL;
- `DRIFT_IF_FEE_PAYER` the fee payer's keypair file;
- `DRIFT_IF_STATE_DIR` the journal's folder;
- `DRIFT_IF_PROFILE`  the program profile's base (`[profile] base`), as the CLI's `--profile`.

A command-line flag beats the environment, which beats the file, which beats the
Solana CLI config. The PubSub URL follows the RPC URL: when the RPC URL comes from
a flag or the environment, the file's `ws_url` (which belongs to the file's `url`)
is not used; it is derived from the new URL unless `DRIFT_IF_WS_URL` gives one.

The first format (one `[keeper]` wallet: `keypair`, `markets`, `request_policy`,
`max_stake_base_units`, `min_request_base_units`, `withdraw`, `compute_unit_limit`,
`priority_fee_micro_lamports`) is still read: it becomes one wallet with the same
policy on every market. It cannot be mixed with `[[wallets]]`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from keeper.app.solana_config import load_cli_config, resolve_url, websocket_url_for
from keeper.cluster.redact import redact_url
from keeper.core.decide import (
    UTILIZATION_ONE,
    MarketPolicy,
    Policy,
    RequestPolicy,
    markets_of,
)
from keeper.core.errors import ConfigError
from keeper.core.profile import DRIFT_MAINNET, ProgramProfile, profile_from_mapping

ENV_RPC_URL = "DRIFT_IF_RPC_URL"
ENV_WS_URL = "DRIFT_IF_WS_URL"
ENV_FEE_PAYER = "DRIFT_IF_FEE_PAYER"
ENV_STATE_DIR = "DRIFT_IF_STATE_DIR"
ENV_PROFILE = "DRIFT_IF_PROFILE"

MarketIndex = Annotated[int, Field(ge=0, le=0xFFFF)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class ClusterSection(_Section):
    #: URL or moniker (m, d, t, l); default: the Solana CLI config's; env DRIFT_IF_RPC_URL
    url: str | None = None
    #: PubSub URL; default: the RPC URL's port + 1; env DRIFT_IF_WS_URL
    ws_url: str | None = None
    #: the commitment reads and confirmations use
    commitment: Literal["processed", "confirmed", "finalized"] = "confirmed"
    #: RPC requests per second at most (one throttle for reads and sends)
    requests_per_second: Annotated[int, Field(ge=1)] = 10


class KeeperSection(_Section):
    # -- the first format's single wallet (see the module doc) --
    keypair: str | None = None
    markets: list[MarketIndex] | None = None
    request_policy: str | None = None
    max_stake_base_units: Annotated[int, Field(ge=0)] | None = None
    min_request_base_units: Annotated[int, Field(ge=1)] | None = None
    withdraw: bool | None = None
    compute_unit_limit: Annotated[int, Field(ge=1, le=1_400_000)] | None = None
    priority_fee_micro_lamports: Annotated[int, Field(ge=0)] | None = None
    # -- every format --
    #: keypair file paying every transaction's fees; default: the first wallet's keypair
    fee_payer: str | None = None
    #: settle revenue on `settle_markets` as soon as each allows (permissionless)
    settle: bool = True
    #: markets to settle; default: every market a wallet has a policy for
    settle_markets: list[MarketIndex] | None = None
    #: withdraw only while utilization AND its TWAP are at most this (never above the
    #: profile's on-chain limit, which the program enforces anyway)
    max_utilization_percent: Annotated[Decimal, Field(ge=0, le=100)] = Decimal(80)
    #: re-read this often while subscriptions are down
    poll_interval_seconds: Annotated[float, Field(gt=0)] = 5.0
    #: and this often while they are up (also the longest sleep)
    idle_refresh_seconds: Annotated[float, Field(gt=0)] = 60.0
    #: the journal of sent signatures lives here (relative: to the config file)
    state_dir: str = ".drift-if-keeper"
    #: /health fails when the last good snapshot is older than this
    stale_after_seconds: Annotated[float, Field(gt=0)] = 120.0
    #: /health fails after this many failing passes in a row
    max_failed_passes: Annotated[int, Field(ge=1)] = 3
    #: first retry delay after a failed action (doubles per failure, up to the max); an
    #: action that failed on an RPC error (not the program) is first retried after 0.4 s
    retry_initial_seconds: Annotated[float, Field(gt=0)] = 2.0
    retry_max_seconds: Annotated[float, Field(gt=0)] = 300.0

    @field_validator("markets")
    @classmethod
    def _markets(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and not value:
            raise ValueError("markets must be a non-empty list of market indexes")
        return value

    @field_validator("request_policy")
    @classmethod
    def _request_policy(cls, value: str | None) -> str | None:
        if value is not None and value not in {p.value for p in RequestPolicy}:
            raise ValueError(f"request_policy must be one of {[p.value for p in RequestPolicy]}")
        return value


class FeesSection(_Section):
    #: compute-unit limit = units the simulation consumed × (1 + margin)
    compute_unit_margin_percent: Annotated[int, Field(ge=0, le=500)] = 20
    #: the limit for the sizing simulation, and the most any transaction asks for
    max_compute_units: Annotated[int, Field(ge=1_000, le=1_400_000)] = 400_000
    #: priority fee = this percentile of getRecentPrioritizationFees over the
    #: transaction's writable accounts (75: above most recent payers, not the spikes)
    priority_fee_percentile: Annotated[int, Field(ge=0, le=100)] = 75
    #: never pay more than this per compute unit (0: no priority fee at all)
    max_priority_fee_micro_lamports: Annotated[int, Field(ge=0)] = 100_000


class MetricsSection(_Section):
    host: str = "127.0.0.1"
    #: serve /health and /metrics on this port (none: no server; --metrics-port wins)
    port: Annotated[int, Field(ge=0, le=65535)] | None = None


class WalletMarket(_Section):
    market: MarketIndex
    #: hold | exit | cap | take-profit
    policy: Policy = Policy.HOLD
    #: with "cap": keep the stake's value at most this many base units
    cap_base_units: Annotated[int, Field(ge=0)] | None = None
    #: never request less than this (base units)
    min_request_base_units: Annotated[int, Field(ge=1)] = 1
    #: withdraw a matured request
    withdraw: bool = True


class WalletSection(_Section):
    #: a label for logs and metrics (default: the public key)
    name: str | None = None
    #: the wallet's keypair file (the stake's authority signs its requests/withdrawals)
    keypair: str
    markets: list[WalletMarket] = Field(min_length=1)


class ConfigFile(_Section):
    cluster: ClusterSection = ClusterSection()
    keeper: KeeperSection = KeeperSection()
    fees: FeesSection = FeesSection()
    metrics: MetricsSection = MetricsSection()
    wallets: list[WalletSection] = []
    profile: dict[str, Any] | None = None


@dataclass(frozen=True)
class WalletConfig:
    name: str
    keypair_path: Path
    markets: tuple[MarketPolicy, ...]


@dataclass(frozen=True)
class KeeperSettings:
    """The resolved configuration: absolute paths, a URL, typed policies."""

    source: Path
    url: str
    ws_url: str
    commitment: str
    requests_per_second: int
    profile: ProgramProfile
    fee_payer_path: Path
    wallets: tuple[WalletConfig, ...]
    settle_markets: tuple[int, ...]
    max_utilization: int
    poll_interval_seconds: float
    idle_refresh_seconds: float
    state_dir: Path
    stale_after_seconds: float
    max_failed_passes: int
    retry_initial_seconds: float
    retry_max_seconds: float
    fees: FeesSection
    metrics_host: str
    metrics_port: int | None

    @property
    def markets(self) -> tuple[int, ...]:
        return markets_of(self.settle_markets, (m for w in self.wallets for m in w.markets))


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(path: Path, exc: ValidationError) -> ConfigError:
    """The first problem as one line naming the key and the file."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = _where(loc)
    if err["type"] == "extra_forbidden":
        if len(loc) == 1:
            known = ", ".join(ConfigFile.model_fields)
            return ConfigError(f"keeper config {path}: unknown sections [{key}] (known: {known})")
        return ConfigError(f"keeper config {path}: unknown key {key}")
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in ("greater_than", "greater_than_equal") and isinstance(
        err.get("input"), int | float
    ):
        message = f"must be a positive number ({message.lower()})"
    got = err.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f", got {got!r}"
    return ConfigError(f"keeper config {path}: {key}: {message}{shown}")


def _path(text: str, base: Path) -> Path:
    p = Path(os.path.expanduser(text))
    return p if p.is_absolute() else (base / p).resolve()


def load_settings(
    path: Path,
    *,
    url_override: str | None = None,
    keypair_override: str | None = None,
    env: Mapping[str, str] | None = None,
) -> KeeperSettings:
    """Read, check and resolve a keeper config; ConfigError (one line) when unusable."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read keeper config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"keeper config {path} is not valid TOML: {exc}") from exc
    try:
        doc = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise _explain(path, exc) from None
    base = path.parent.resolve()
    cli = load_cli_config(None)
    k = doc.keeper

    url_text = url_override or env.get(ENV_RPC_URL) or doc.cluster.url
    url = resolve_url(url_text or cli.json_rpc_url)
    if env.get(ENV_WS_URL):
        ws_url = env[ENV_WS_URL]
    elif doc.cluster.ws_url and not (url_override or env.get(ENV_RPC_URL)):
        ws_url = doc.cluster.ws_url
    elif url_text is None and cli.websocket_url:
        ws_url = cli.websocket_url
    else:
        ws_url = websocket_url_for(url)

    legacy_keys = {
        name
        for name in (
            "keypair",
            "markets",
            "request_policy",
            "max_stake_base_units",
            "min_request_base_units",
            "withdraw",
        )
        if getattr(k, name) is not None
    }
    if doc.wallets and legacy_keys:
        raise ConfigError(
            f"keeper config {path}: [keeper] {', '.join(sorted(legacy_keys))} belong to the "
            "single-wallet format; with [[wallets]] give each wallet its keypair and markets"
        )
    wallets: list[WalletConfig] = []
    for i, w in enumerate(doc.wallets):
        chosen: list[MarketPolicy] = []
        seen: set[int] = set()
        for j, m in enumerate(w.markets):
            where = f"wallets[{i}].markets[{j}]"
            if m.market in seen:
                raise ConfigError(f"keeper config {path}: {where}: market {m.market} twice")
            seen.add(m.market)
            if m.policy is Policy.CAP and m.cap_base_units is None:
                raise ConfigError(f"keeper config {path}: {where}: policy cap needs cap_base_units")
            if m.policy is not Policy.CAP and m.cap_base_units is not None:
                raise ConfigError(
                    f"keeper config {path}: {where}: cap_base_units is only for policy cap"
                )
            chosen.append(
                MarketPolicy(
                    m.market, m.policy, m.cap_base_units or 0, m.min_request_base_units, m.withdraw
                )
            )
        kp = _path(w.keypair, base)
        wallets.append(WalletConfig(w.name or kp.stem, kp, tuple(chosen)))
    if not doc.wallets:
        # The first format: one wallet (the fee payer too) with one policy everywhere.
        legacy = RequestPolicy(k.request_policy or "never")
        kp_text = keypair_override or k.keypair
        kp = (
            Path(os.path.expanduser(keypair_override))
            if keypair_override
            else _path(kp_text, base)
            if kp_text
            else Path(os.path.expanduser(cli.keypair_path))
        )
        policy = {
            RequestPolicy.NEVER: Policy.HOLD,
            RequestPolicy.UNSTAKE_ALL: Policy.EXIT,
            RequestPolicy.CAP: Policy.CAP,
        }[legacy]
        policies = tuple(
            MarketPolicy(
                index,
                policy,
                k.max_stake_base_units or 0,
                k.min_request_base_units or 1,
                True if k.withdraw is None else k.withdraw,
            )
            for index in (k.markets or [0])
        )
        wallets.append(WalletConfig(kp.stem, kp, policies))
    names = [w.name for w in wallets]
    if len(set(names)) != len(names):
        raise ConfigError(f"keeper config {path}: two wallets share a name ({sorted(names)})")

    if keypair_override and doc.wallets:
        fee_payer = Path(os.path.expanduser(keypair_override))
    elif env.get(ENV_FEE_PAYER):
        fee_payer = Path(os.path.expanduser(env[ENV_FEE_PAYER]))
    elif k.fee_payer:
        fee_payer = _path(k.fee_payer, base)
    else:
        fee_payer = wallets[0].keypair_path

    every_market = sorted({m.market_index for w in wallets for m in w.markets})
    settle_markets = tuple(k.settle_markets if k.settle_markets is not None else every_market)
    utilization = k.max_utilization_percent * UTILIZATION_ONE / 100
    if utilization != int(utilization):
        raise ConfigError(
            f"keeper config {path}: keeper.max_utilization_percent: at most 4 decimals"
        )
    profile_table = dict(doc.profile) if doc.profile is not None else None
    if env.get(ENV_PROFILE):
        profile_table = {**(profile_table or {}), "base": env[ENV_PROFILE]}
    profile = (
        profile_from_mapping(profile_table, base_dir=base)
        if profile_table is not None
        else DRIFT_MAINNET
    )
    fees = doc.fees
    if k.compute_unit_limit is not None:
        fees = fees.model_copy(update={"max_compute_units": k.compute_unit_limit})
    if k.priority_fee_micro_lamports is not None:
        fees = fees.model_copy(
            update={"max_priority_fee_micro_lamports": k.priority_fee_micro_lamports}
        )
    return KeeperSettings(
        source=path,
        url=url,
        ws_url=ws_url,
        commitment=doc.cluster.commitment,
        requests_per_second=doc.cluster.requests_per_second,
        profile=profile,
        fee_payer_path=fee_payer,
        wallets=tuple(wallets),
        settle_markets=settle_markets if k.settle else (),
        max_utilization=int(utilization),
        poll_interval_seconds=k.poll_interval_seconds,
        idle_refresh_seconds=k.idle_refresh_seconds,
        state_dir=_path(env.get(ENV_STATE_DIR) or k.state_dir, base),
        stale_after_seconds=k.stale_after_seconds,
        max_failed_passes=k.max_failed_passes,
        retry_initial_seconds=k.retry_initial_seconds,
        retry_max_seconds=max(k.retry_max_seconds, k.retry_initial_seconds),
        fees=fees,
        metrics_host=doc.metrics.host,
        metrics_port=doc.metrics.port,
    )


def describe(settings: KeeperSettings) -> str:
    """One line for the start-up log: where, who, what (URLs redacted)."""
    wallets = ", ".join(
        f"{w.name}: " + " ".join(f"m{m.market_index}={m.policy.value}" for m in w.markets)
        for w in settings.wallets
    )
    return f"{redact_url(settings.url)} settle {list(settings.settle_markets)}; {wallets}"
