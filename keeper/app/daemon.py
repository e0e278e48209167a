"""The keeper daemon: wake, read, decide, act, verify — forever.

Each pass reads one verified snapshot, asks `decide` what is due, and executes each
plan (simulated first, then sent and confirmed). Between passes it sleeps until the
earliest due time on the cluster's clock, or until a watched account changes, or
until the polling interval elapses when subscriptions are down. A failing action is
retried with exponential backoff; nothing is sent twice for the same state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from solders.pubkey import Pubkey

from keeper.app.session import Outcome, Session
from keeper.app.solana_config import load_cli_config, load_keypair, resolve_url, websocket_url_for
from keeper.cluster.redact import redact_text, redact_url
from keeper.cluster.sender import FeePolicy
from keeper.cluster.watch import ChangeFeed
from keeper.core.addresses import DriftAddresses
from keeper.core.decide import Decision, KeeperPolicy, RequestPolicy, decide
from keeper.core.errors import ConfigError, KeeperError
from keeper.core.profile import DRIFT_MAINNET, ProgramProfile, profile_from_mapping

log = structlog.get_logger("keeper.daemon")


@dataclass(frozen=True)
class KeeperConfig:
    url: str
    ws_url: str
    keypair_path: str
    profile: ProgramProfile
    policy: KeeperPolicy
    commitment: str = "confirmed"
    requests_per_second: int = 10
    poll_interval_seconds: float = 5.0
    idle_refresh_seconds: float = 60.0
    fees: FeePolicy = field(default_factory=FeePolicy)


def _int(table: dict[str, Any], key: str, default: int, *, minimum: int = 0) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"keeper config: {key} must be an integer ≥ {minimum}, got {value!r}")
    return value


def _float(table: dict[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"keeper config: {key} must be a positive number, got {value!r}")
    return float(value)


def load_keeper_config(
    path: Path, *, url_override: str | None = None, keypair_override: str | None = None
) -> KeeperConfig:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read keeper config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"keeper config {path} is not valid TOML: {exc}") from exc
    unknown = set(data) - {"cluster", "keeper", "profile"}
    if unknown:
        raise ConfigError(f"keeper config {path}: unknown sections {sorted(unknown)}")
    cluster, keeper = data.get("cluster", {}), data.get("keeper", {})
    cli = load_cli_config(None)
    url = resolve_url(url_override or cluster.get("url") or cli.json_rpc_url)
    ws_url = cluster.get("ws_url") or cli.websocket_url or websocket_url_for(url)
    profile = (
        profile_from_mapping(data["profile"], base_dir=path.parent)
        if "profile" in data
        else DRIFT_MAINNET
    )
    markets = keeper.get("markets", [0])
    if (
        not isinstance(markets, list)
        or not markets
        or not all(isinstance(m, int) and 0 <= m <= 0xFFFF for m in markets)
    ):
        raise ConfigError("keeper config: markets must be a non-empty list of market indexes")
    try:
        request = RequestPolicy(keeper.get("request_policy", "never"))
    except ValueError:
        raise ConfigError(
            f"keeper config: request_policy must be one of {[p.value for p in RequestPolicy]}"
        ) from None
    for flag in ("settle", "withdraw"):
        if not isinstance(keeper.get(flag, True), bool):
            raise ConfigError(f"keeper config: {flag} must be true or false")
    policy = KeeperPolicy(
        markets=tuple(markets),
        settle=keeper.get("settle", True),
        withdraw=keeper.get("withdraw", True),
        request=request,
        max_stake_amount=_int(keeper, "max_stake_base_units", 0),
        min_request_amount=_int(keeper, "min_request_base_units", 1, minimum=1),
    )
    commitment = cluster.get("commitment", "confirmed")
    if commitment not in ("processed", "confirmed", "finalized"):
        raise ConfigError(
            f"keeper config: commitment {commitment!r} is not processed/confirmed/finalized"
        )
    return KeeperConfig(
        url=url,
        ws_url=ws_url,
        keypair_path=keypair_override or keeper.get("keypair") or cli.keypair_path,
        profile=profile,
        policy=policy,
        commitment=commitment,
        requests_per_second=_int(cluster, "requests_per_second", 10, minimum=1),
        poll_interval_seconds=_float(keeper, "poll_interval_seconds", 5.0),
        idle_refresh_seconds=_float(keeper, "idle_refresh_seconds", 60.0),
        fees=FeePolicy(
            compute_unit_limit=_int(keeper, "compute_unit_limit", 200_000, minimum=1),
            priority_micro_lamports=_int(keeper, "priority_fee_micro_lamports", 0),
        ),
    )


@dataclass
class Metrics:
    passes: int = 0
    #: by ActionKind wire value (the `action` label of the Prometheus counters)
    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    last_pass_slot: int = 0
    last_pass_unix: float = 0.0
    last_error: str = ""


@dataclass(frozen=True)
class PassReport:
    slot: int
    now_ts: int
    decision: Decision
    outcomes: tuple[Outcome, ...]
    errors: tuple[str, ...]
    #: human description of each outcome's plan, in token units
    descriptions: tuple[str, ...] = ()


class InsuranceFundKeeper:
    """One operator's keeper: settles its markets, runs its unstake policy, withdraws."""

    def __init__(self, config: KeeperConfig, session: Session) -> None:
        self.config = config
        self.session = session
        self.operator = session.signer().pubkey()
        self.metrics = Metrics()
        self._backoff: dict[tuple[str, int], tuple[float, float]] = {}
        pdas = DriftAddresses(config.profile.program_id)
        watched: list[Pubkey] = [pdas.state()]
        for index in config.policy.markets:
            watched += [pdas.spot_market(index), pdas.insurance_fund_vault(index)]
            watched.append(pdas.insurance_fund_stake(self.operator, index))
        self.feed = ChangeFeed(
            config.ws_url,
            watched,
            rpc_url=config.url,
            commitment=config.commitment,
            poll_interval_seconds=config.poll_interval_seconds,
            idle_refresh_seconds=config.idle_refresh_seconds,
        )

    @classmethod
    def from_config(cls, config: KeeperConfig) -> InsuranceFundKeeper:
        keypair = load_keypair(config.keypair_path)
        session = Session.connect(
            config.url,
            config.profile,
            keypair=keypair,
            commitment=config.commitment,
            requests_per_second=config.requests_per_second,
            fees=config.fees,
        )
        return cls(config, session)

    def healthy(self, max_age_seconds: float = 300.0) -> bool:
        """A pass succeeded recently (subscriptions may be down: polling covers that)."""
        return time.monotonic() - self.metrics.last_pass_unix < max_age_seconds

    async def run_once(self) -> PassReport:
        """Read → decide → act → verify, once."""
        policy = self.config.policy
        snap = await self.session.snapshot(policy.markets, (self.operator,))
        self.feed.observe_slot(snap.slot)
        decision = decide(snap, self.operator, policy, self.session.planner)
        outcomes: list[Outcome] = []
        errors: list[str] = []
        now = time.monotonic()
        for plan in decision.plans:
            key = (plan.action, plan.market_index)
            retry_at, _delay = self._backoff.get(key, (0.0, 0.0))
            if now < retry_at:
                continue
            try:
                outcome = await self.session.execute(plan)
            except KeeperError as exc:
                _, delay = self._backoff.get(key, (0.0, 1.0))
                delay = min(max(delay * 2, 2.0), 300.0)
                self._backoff[key] = (now + delay, delay)
                label = plan.action.value
                self.metrics.failed[label] = self.metrics.failed.get(label, 0) + 1
                self.metrics.last_error = str(exc)
                errors.append(f"{plan.action} market {plan.market_index}: {exc}")
                log.warning(
                    "action failed",
                    action=plan.action.value,
                    market=plan.market_index,
                    error=str(exc),
                    retry_in_s=delay,
                )
                continue
            self._backoff.pop(key, None)
            label = plan.action.value
            self.metrics.sent[label] = self.metrics.sent.get(label, 0) + 1
            outcomes.append(outcome)
            log.info(
                "action confirmed",
                action=plan.action.value,
                market=plan.market_index,
                figures=plan.figures,
                signature=str(outcome.signature),
                slot=outcome.slot,
                mismatches=list(outcome.mismatches),
            )
        self.metrics.passes += 1
        self.metrics.last_pass_slot = snap.slot
        self.metrics.last_pass_unix = time.monotonic()
        for wait in decision.waits:
            log.debug(
                "waiting",
                action=wait.action.value,
                market=wait.market_index,
                reason=wait.reason,
                until_ts=wait.until_ts,
            )
        described = tuple(
            o.plan.describe(snap.market(o.plan.market_index).market.decimals) for o in outcomes
        )
        return PassReport(
            snap.slot, snap.now_ts, decision, tuple(outcomes), tuple(errors), described
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Passes until `stop` is set; wakes on account changes, due times and polls."""
        log.info(
            "keeper started",
            url=redact_url(self.config.url),
            operator=str(self.operator),
            markets=list(self.config.policy.markets),
            profile=self.config.profile.name,
        )
        feed_task = asyncio.create_task(self.feed.run())
        try:
            while not stop.is_set():
                try:
                    report = await self.run_once()
                    due = report.decision.next_due_ts
                    # The Clock's unix_timestamp is floored: aim a second early, then re-read
                    # every 0.2 s, so the action lands in its first allowed slot.
                    sleep_for = None if due is None else max(0.2, float(due - report.now_ts) - 1.0)
                except KeeperError as exc:
                    self.metrics.last_error = str(exc)
                    log.warning("pass failed", error=str(exc))
                    sleep_for = self.config.poll_interval_seconds
                except Exception as exc:  # a daemon outlives surprises; it reports them
                    self.metrics.last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("pass crashed", error=redact_text(self.metrics.last_error))
                    sleep_for = self.config.poll_interval_seconds
                await self._sleep(stop, sleep_for)
        finally:
            feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed_task
            await self.session.close()
            log.info("keeper stopped", passes=self.metrics.passes, sent=self.metrics.sent)

    async def _sleep(self, stop: asyncio.Event, due_in: float | None) -> None:
        waiters = [asyncio.create_task(self.feed.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=due_in, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiters:
                task.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
