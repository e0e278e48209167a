"""The keeper daemon: wake, read, decide, act, verify — until told to stop.

Each pass reads one verified snapshot covering every wallet and market, asks
`decide_pass` what is due (one chain of plans per market, each planned on the state
the previous one leaves) and executes the chains: due settles together in as few
transactions as fit, then each chain's later steps in order. Every transaction is
sized from a simulation (compute units + margin), priced from recent prioritization
fees (a percentile, capped), journalled before its first broadcast, re-sent until
confirmed or expired, and verified after landing by reading back every account the
mirror predicted to change.

Between passes it sleeps until the earliest due time on the cluster's clock, the
earliest retry, an account change, or the polling interval. Faults of the
environment (an unreachable node, a bad answer) never end it: they are logged as
typed, redacted errors and /health turns 503. A wrong cluster (no Drift program, no
State) does end it at start, with exit code 1: retrying cannot fix that.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import structlog
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.sysvar import CLOCK
from solders.transaction import VersionedTransaction

from keeper.app.config import KeeperSettings, load_settings
from keeper.app.journal import Journal, JournalEntry
from keeper.app.metrics import CountingTransport, KeeperMetrics
from keeper.app.session import (
    LabelledMismatch,
    Outcome,
    Session,
    effect_mismatches,
    labelled,
)
from keeper.app.solana_config import load_keypair
from keeper.cluster.hedge import hedged
from keeper.cluster.reader import decode_clock
from keeper.cluster.redact import redact_text, redact_url
from keeper.cluster.sender import (
    ConfirmationUnknown,
    FeePolicy,
    TransactionExpired,
    TxSender,
    build_transaction,
    sized_compute_units,
)
from keeper.cluster.solana_rpc import SolanaRpcTransport
from keeper.cluster.transport import MAX_ACCOUNTS_PER_CALL
from keeper.cluster.watch import ChangeFeed
from keeper.core.actions import ActionKind
from keeper.core.decide import Decision, PassPolicy, Policy, Wait, WalletPolicy, decide_pass
from keeper.core.error_codes import DriftError
from keeper.core.errors import ConfigError, KeeperError, ProgramError, RpcError
from keeper.core.fmt import format_amount, format_duration, format_ratio_ppm
from keeper.core.plan import Plan
from keeper.core.snapshot import Snapshot
from keeper.program.idl import load_idl

log = structlog.get_logger("keeper.daemon")
T = TypeVar("T")

#: settle answers that mean "someone else already did it": caught in simulation, no fee
NOOP_ERRORS = frozenset(
    {DriftError.RevenueSettingsCannotSettleToIF, DriftError.NoRevenueToSettleToIF}
)
#: a transaction's size limit (bytes on the wire)
PACKET_DATA_SIZE = 1232
#: `drift-if keeper check` refuses a fee payer with less than this (0.01 SOL)
MIN_FEE_PAYER_LAMPORTS = 10_000_000
#: asyncio timers may fire this early; a retry due that soon counts as due
TIMER_SLACK_SECONDS = 0.01
#: copies sent at once per broadcast of a transaction (the same bytes): a provider that
#: silently drops half of all sends still gets one in the first slot 7 times in 8
SEND_COPIES = 3
#: this long before a due time (and until it is done) the keeper is "urgent": its
#: snapshot reads and simulations are hedged, a blockhash is fetched ahead
URGENT_LEAD_SECONDS = 3.0
URGENT_WINDOW_SECONDS = 30.0
#: an idle check whose cluster clock is this far from the one extrapolated from the last
#: snapshot (a node catching up, a time-travelling localnet) makes a full pass
CLOCK_DRIFT_SECONDS = 5.0
#: while urgent, a read or simulation not answered within this gets a second copy in
#: parallel (the first answer wins): a 429 with Retry-After or a hung request then
#: costs this, not the wait
HEDGE_AFTER_SECONDS = 0.15
#: while urgent, the first retry of a failed pass, or of an action that failed on an
#: RPC error (not a program error), comes after this, not the poll interval or
#: `retry_initial_seconds`; up to FAST_RETRIES passes in a row
FAST_RETRY_SECONDS = 0.4
FAST_RETRIES = 10
#: while urgent, the priority fee is waited for this long (then the last one is paid)
PRICE_WAIT_SECONDS = 0.3
#: a blockhash fetched ahead is used while the cluster is at most this many slots (and
#: seconds) past the read it was fetched at: ~10 s of its ~60 s (150 blocks) of validity
BLOCKHASH_MAX_AGE_SLOTS = 25
BLOCKHASH_MAX_AGE_SECONDS = 10.0


def load_keeper_config(
    path: Path, *, url_override: str | None = None, keypair_override: str | None = None
) -> KeeperSettings:
    return load_settings(path, url_override=url_override, keypair_override=keypair_override)


def action_key(action: ActionKind, market_index: int, wallet: str | None) -> str:
    """The unit of "at most one in flight" and of backoff: (action, market, wallet)."""
    return f"{action.value}|{market_index}|{wallet or '-'}"


@dataclass
class Metrics:
    """The daemon's own counters (Prometheus has the labelled ones)."""

    passes: int = 0
    #: by ActionKind wire value
    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    noops: int = 0
    mismatches: int = 0
    last_pass_slot: int = 0
    #: monotonic time of the last good snapshot (0: none yet)
    last_pass_unix: float = 0.0
    last_error: str = ""
    failed_passes_in_row: int = 0


@dataclass(frozen=True)
class PassReport:
    slot: int
    now_ts: int
    decision: Decision
    outcomes: tuple[Outcome, ...]
    errors: tuple[str, ...]
    #: human description of each outcome's plan, in token units
    descriptions: tuple[str, ...] = ()
    #: expected no-ops (another keeper settled first), described
    noops: tuple[str, ...] = ()
    #: why each outcome's plan was made (the rule or the wallet's policy)
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Wallet:
    name: str
    keypair: Keypair
    policy: WalletPolicy


@dataclass
class _Backoff:
    delay: float
    retry_at: float


class ActionFailed(KeeperError):
    """One transaction of a pass failed; the others go ahead."""


class InsuranceFundKeeper:
    """One process keeping any number of wallets over any number of markets."""

    def __init__(
        self,
        config: KeeperSettings,
        session: Session,
        *,
        wallets: Sequence[Wallet] | None = None,
        dry_run: bool = False,
        prom: KeeperMetrics | None = None,
        feed: ChangeFeed | None = None,
    ) -> None:
        self.config = config
        self.session = session
        self.fee_payer = session.signer()
        self.operator = self.fee_payer.pubkey()
        if wallets is None:  # one wallet: the session's signer
            w = config.wallets[0]
            wallets = [
                Wallet(w.name, self.fee_payer, WalletPolicy(self.operator, w.markets, w.name))
            ]
        self.wallets = tuple(wallets)
        self._keypairs = {w.keypair.pubkey(): w.keypair for w in self.wallets}
        self._names = {w.keypair.pubkey(): w.name for w in self.wallets}
        self.policy = PassPolicy(
            tuple(w.policy for w in self.wallets), config.settle_markets, config.max_utilization
        )
        self.dry_run = dry_run
        self.metrics = Metrics()
        self.journal = Journal(config.state_dir)
        self._backoff: dict[str, _Backoff] = {}
        #: key → (slot, now_ts, until_ts) of the last pass that saw the action wait
        self._waiting: dict[str, tuple[int, int, int | None]] = {}
        #: key → the slot the action was first allowed in
        self._first_allowed: dict[str, int] = {}
        self._announced: dict[str, str] = {}
        self._next_line = ""
        self._watched_view: object = None
        #: the raw data of each watched account at the last full snapshot (None: absent)
        self._reference: dict[Pubkey, bytes | None] = {}
        self._sample_at = 0
        #: the last snapshot's clock: (cluster unix time, loop time), and the next due time
        self._clock_ref: tuple[int, float] = (0, 0.0)
        self._next_due_ts: int | None = None
        self._again = False
        #: loop time of the next due action (now, while one is due); None: nothing due
        self._due_at: float | None = None
        #: fast retries of failed passes in a row (see FAST_RETRIES)
        self._fast_retries = 0
        #: (blockhash, last valid block height, loop time fetched), fetched ahead
        self._blockhash: tuple[Hash, int, int, float] | None = None
        #: the last priority fee read, by the writable accounts it was read for
        self._prices: dict[tuple[Pubkey, ...], int] = {}
        #: the fee payer's SOL balance (lamports) at the last read
        self.fee_payer_lamports: int | None = None
        pdas = config.profile.addresses
        watched: list[Pubkey] = [pdas.state()]
        for index in self.policy.markets:
            watched += [pdas.spot_market(index), pdas.insurance_fund_vault(index)]
            watched += [pdas.insurance_fund_stake(w.keypair.pubkey(), index) for w in self.wallets]
        self.feed = feed or ChangeFeed(
            config.ws_url,
            watched,
            rpc_url=config.url,
            commitment=config.commitment,
            poll_interval_seconds=config.poll_interval_seconds,
            idle_refresh_seconds=config.idle_refresh_seconds,
        )
        self.prom = prom or KeeperMetrics()
        self.prom.watch_feed(lambda: self.feed.health)

    @classmethod
    def from_config(cls, config: KeeperSettings, *, dry_run: bool = False) -> InsuranceFundKeeper:
        """The production keeper: keypairs loaded (fail fast), one counted RPC client."""
        fee_payer = load_keypair(str(config.fee_payer_path))
        wallets = []
        for w in config.wallets:
            kp = load_keypair(str(w.keypair_path))
            wallets.append(Wallet(w.name, kp, WalletPolicy(kp.pubkey(), w.markets, w.name)))
        prom = KeeperMetrics()
        idl = load_idl(config.profile.idl_path)
        rpc = SolanaRpcTransport(
            config.url, commitment=config.commitment, requests_per_second=config.requests_per_second
        )
        counted = CountingTransport(rpc, prom)
        sender = TxSender(
            counted, config.profile.program_id, idl.errors, copies_per_broadcast=SEND_COPIES
        )
        session = Session.create(
            config.profile, counted, sender, keypair=fee_payer, closer=rpc.close, idl=idl
        )
        return cls(config, session, wallets=wallets, dry_run=dry_run, prom=prom)

    # -- health ------------------------------------------------------------------

    def health_problem(self) -> str | None:
        """Why /health fails now (None: healthy): a stale view or failing passes."""
        m = self.metrics
        if m.last_pass_unix == 0.0:
            return "no snapshot read yet" + (
                f" (last error: {m.last_error})" if m.last_error else ""
            )
        age = time.monotonic() - m.last_pass_unix
        if age > self.config.stale_after_seconds:
            return f"stale: the last good snapshot is {age:.0f} s old (last error: {m.last_error})"
        if m.failed_passes_in_row >= self.config.max_failed_passes:
            return (
                f"failing: {m.failed_passes_in_row} passes in a row failed (last: {m.last_error})"
            )
        return None

    def healthy(self) -> bool:
        return self.health_problem() is None

    # -- start-up ----------------------------------------------------------------

    async def preflight(self) -> list[str]:
        """Is this the right cluster? Raises ConfigError when it is reachable but wrong
        (retrying cannot help), RpcError when it is unreachable (retrying may)."""
        profile = self.config.profile
        pdas = profile.addresses
        wanted = [profile.program_id, pdas.state(), self.operator]
        wanted += [pdas.spot_market(i) for i in self.policy.markets]
        _slot, accounts = await self.session.reader.get_multiple(wanted)
        program, state, payer, *markets = accounts
        where = redact_url(self.config.url)
        if program is None or not program.executable:
            raise ConfigError(
                f"{where} has no executable program at {profile.program_id}: wrong cluster or "
                f"profile ({profile.name})?"
            )
        if state is None or state.owner != profile.program_id:
            raise ConfigError(f"{where} has no Drift State at {pdas.state()}: wrong cluster?")
        for index, acc in zip(self.policy.markets, markets, strict=True):
            if acc is None:
                raise ConfigError(f"{where} has no spot market {index} on {profile.program_id}")
        lamports = payer.lamports if payer is not None else 0
        self.fee_payer_lamports = lamports
        self.prom.fee_payer_lamports.set(lamports)
        return [
            f"program {profile.program_id} is executable",
            f"Drift State at {pdas.state()}",
            f"spot markets {list(self.policy.markets)} exist",
            f"fee payer {self.operator} holds {lamports / 1e9:.9f} SOL",
            *(f"wallet {w.name}: {w.keypair.pubkey()}" for w in self.wallets),
        ]

    # -- one pass ----------------------------------------------------------------

    async def run_once(self) -> PassReport:
        """Resume the journal, read → decide → act → verify, once."""
        self.metrics.passes += 1
        self.prom.passes.inc()
        try:
            unresolved = await self._resume_journal()
            snap = await self._hedged(self._snapshot)
        except KeeperError as exc:
            self._pass_failed(str(exc))
            raise
        self._observe(snap)
        decision = decide_pass(snap, self.policy, self.session.planner, settle_payer=self.operator)
        self._note_waits(decision, snap)
        self._note_due(decision, snap)
        if self.urgent() and not decision.plans:
            await self._blockhash_ahead(snap.slot)
        outcomes, errors, noops = await self._act(decision, snap)
        errors = unresolved + errors
        if errors:
            self._pass_failed(errors[-1])
        else:
            self.metrics.failed_passes_in_row = 0
        decimals = [snap.market(o.plan.market_index).market.decimals for o in outcomes]
        described = tuple(o.plan.describe(d) for o, d in zip(outcomes, decimals, strict=True))
        reasons = tuple(self.why(o.plan, d) for o, d in zip(outcomes, decimals, strict=True))
        return PassReport(
            snap.slot,
            snap.now_ts,
            decision,
            tuple(outcomes),
            tuple(errors),
            described,
            noops,
            reasons,
        )

    # -- urgency: near a due time, every slot counts --------------------------------------

    def _note_due(self, decision: Decision, snap: Snapshot) -> None:
        """When the next action is due, on the loop's clock (now while one is due)."""
        now = asyncio.get_running_loop().time()
        due = decision.next_due_ts
        self._next_due_ts = due
        self._clock_ref = (snap.now_ts, now)
        if decision.plans:  # due now: since the first pass that saw it due
            self._due_at = now if self._due_at is None else min(self._due_at, now)
        elif due is not None:
            self._due_at = now + max(0, due - snap.now_ts)
        else:
            self._due_at = None

    def urgent(self) -> bool:
        """From URGENT_LEAD_SECONDS before a due time to URGENT_WINDOW_SECONDS after it
        (an action that keeps failing longer is retried at the normal pace)."""
        if self._due_at is None:
            return False
        now = asyncio.get_running_loop().time()
        return self._due_at - URGENT_LEAD_SECONDS <= now <= self._due_at + URGENT_WINDOW_SECONDS

    async def _hedged(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call()`, hedged while urgent (`keeper.cluster.hedge`): reads and
        simulations only, a copy changes nothing."""
        return await hedged(call, self._hedge_after())

    def _hedge_after(self) -> float | None:
        return HEDGE_AFTER_SECONDS if self.urgent() else None

    async def _price(self, writable: list[Pubkey]) -> int:
        """The priority fee for these accounts; while urgent, one that has not come
        within PRICE_WAIT_SECONDS is not waited for: the last price paid for the same
        accounts (0 if none) goes instead, and the transaction goes out."""
        fees = self.config.fees
        key = tuple(writable)
        call = self.session.sender.priority_fee(
            writable, fees.priority_fee_percentile, fees.max_priority_fee_micro_lamports
        )
        if not self.urgent():
            price = await call
        else:
            try:
                price = await asyncio.wait_for(call, PRICE_WAIT_SECONDS)
            except TimeoutError:
                price = self._prices.get(key, 0)
                log.debug("priority fee slow: the last one instead", micro_lamports_per_cu=price)
                return price
        self._prices[key] = price
        return price

    def _cached_blockhash(self, slot: int, max_age_seconds: float) -> tuple[Hash, int] | None:
        """The blockhash fetched ahead, if the cluster has not moved far since (a node
        catching up or a time jump expires it sooner than the clock says)."""
        if self._blockhash is None:
            return None
        blockhash, last_valid, at_slot, at = self._blockhash
        age = asyncio.get_running_loop().time() - at
        if 0 <= slot - at_slot <= BLOCKHASH_MAX_AGE_SLOTS and age < max_age_seconds:
            return blockhash, last_valid
        return None

    async def _fetch_blockhash(self, slot: int) -> tuple[Hash, int]:
        blockhash, last_valid = await self._hedged(self.session.sender.latest_blockhash)
        self._blockhash = (blockhash, last_valid, slot, asyncio.get_running_loop().time())
        return blockhash, last_valid

    async def _blockhash_ahead(self, slot: int) -> None:
        """Fetch the blockhash the due action will use before it is due (at most one
        request per BLOCKHASH_MAX_AGE_SECONDS / 2): one call fewer in the due slot."""
        if self._cached_blockhash(slot, BLOCKHASH_MAX_AGE_SECONDS / 2) is not None:
            return
        with contextlib.suppress(RpcError):  # the send fetches one itself then
            await self._fetch_blockhash(slot)

    def _pass_failed(self, error: str) -> None:
        self.metrics.failed_passes_in_row += 1
        self.metrics.last_error = error
        self.prom.pass_failures.inc()

    async def _snapshot(self, markets: tuple[int, ...] | None = None) -> Snapshot:
        return await self.session.snapshot(
            markets or self.policy.markets,
            tuple(self._keypairs),
            balances=(self.operator,),
        )

    def _observe(self, snap: Snapshot) -> None:
        """Health, gauges, and whether the subscriptions missed a change."""
        self.metrics.last_pass_slot = snap.slot
        self.metrics.last_pass_unix = time.monotonic()
        self.feed.observe_slot(snap.slot)  # the watch's slot clock: a silent socket shows
        self.prom.last_pass_slot.set(snap.slot)
        lamports = snap.lamports(self.operator)
        if lamports is not None:
            low = lamports < MIN_FEE_PAYER_LAMPORTS
            was_low = (self.fee_payer_lamports or MIN_FEE_PAYER_LAMPORTS) < MIN_FEE_PAYER_LAMPORTS
            if low and not was_low:
                log.warning(
                    "the fee payer is running out of SOL: fund it",
                    fee_payer=str(self.operator),
                    lamports=lamports,
                )
            self.fee_payer_lamports = lamports
            self.prom.fee_payer_lamports.set(lamports)
        view = (
            snap.state,
            snap.markets,
            tuple(sorted(snap.stakes, key=lambda s: bytes(s.address))),
        )
        health = self.feed.health
        if (
            self._watched_view is not None
            and view != self._watched_view
            and health.connected
            and not health.stale  # found already (the idle check): counted once
            and health.notifications_seen == 0
        ):
            health.stale = True
            health.stale_detections += 1
            log.warning("pubsub missed a change: polling covers it", slot=snap.slot)
        health.notifications_seen = 0
        self._watched_view = view
        raw: dict[Pubkey, bytes | None] = {snap.state.address: snap.state.raw}
        for m in snap.markets:
            raw[m.market.address] = m.market.raw
            raw[m.insurance_fund_vault.address] = m.insurance_fund_vault.raw
        raw.update({s.address: s.raw for s in snap.stakes})
        self._reference = {a: raw.get(a) for a in self.feed.addresses}

    def wallet_name(self, authority: Pubkey | None) -> str | None:
        return None if authority is None else self._names.get(authority, str(authority))

    def _plan_key(self, plan: Plan) -> str:
        wallet = None if plan.action is ActionKind.SETTLE else self.wallet_name(plan.authority)
        return action_key(plan.action, plan.market_index, wallet)

    def _note_waits(self, decision: Decision, snap: Snapshot) -> None:
        """Remember when each action waits until (for lateness), export next-due times,
        and say at info level what changed: the next due action, new wait reasons."""
        self.prom.next_due.clear()
        waiting_now: dict[str, tuple[int, int, int | None]] = {}
        for w in decision.waits:
            wallet = self.wallet_name(w.authority)
            key = action_key(w.action, w.market_index, wallet)
            waiting_now[key] = (snap.slot, snap.now_ts, w.until_ts)
            if w.until_ts is not None:
                self.prom.next_due.labels(w.action.value, str(w.market_index), wallet or "").set(
                    w.until_ts
                )
            said = f"{w.reason} until {w.until_ts}"
            if self._announced.get(key) != said:
                self._announced[key] = said
                if w.until_ts is None:
                    log.info("waiting: " + _wait_text(w, wallet))
                else:
                    log.debug("waiting: " + _wait_text(w, wallet), until_ts=w.until_ts)
        for plan in decision.plans:
            key = self._plan_key(plan)
            self._announced.pop(key, None)
            if key not in self._first_allowed:
                self._first_allowed[key] = _first_allowed_slot(self._waiting.get(key), snap)
        self._waiting = waiting_now
        if decision.plans:
            return  # acting now: the landed lines say what, the next pass what follows
        upcoming = [w for w in decision.waits if w.until_ts is not None]
        line = "next: nothing scheduled; acting on changes"
        if upcoming:
            w = min(upcoming, key=lambda w: w.until_ts or 0)
            assert w.until_ts is not None
            wallet = self.wallet_name(w.authority)
            who = f" for {wallet}" if wallet else ""
            when = _clock(w.until_ts)
            line = (
                f"next: {w.action.text} market {w.market_index}{who} at {when} "
                f"(in {format_duration(w.until_ts - snap.now_ts)})"
            )
        if line.split(" (in ")[0] != self._next_line.split(" (in ")[0]:
            log.info(line)
        self._next_line = line

    def why(self, plan: Plan, decimals: int) -> str:
        """The rule or policy that made this plan, in a sentence."""
        if plan.action is ActionKind.SETTLE:
            return "the revenue pool may settle to the IF (on the hour; anyone may send it)"
        if plan.action is ActionKind.WITHDRAW:
            limit = min(self.policy.max_utilization, self.config.profile.withdraw_utilization_limit)
            return (
                "the request matured and utilization and its TWAP are within the keeper's "
                f"{format_ratio_ppm(limit)} limit"
            )
        policy = next(
            (
                mp
                for w in self.policy.wallets
                if w.authority == plan.authority
                for mp in w.markets
                if mp.market_index == plan.market_index
            ),
            None,
        )
        if policy is None:
            return plan.action.text
        return {
            Policy.EXIT: "policy exit: request every share, withdraw at maturity",
            Policy.CAP: (
                f"policy cap: the stake is worth more than {format_amount(policy.cap_amount, decimals)}"
            ),
            Policy.TAKE_PROFIT: "policy take-profit: the stake is worth more than its cost basis",
            Policy.HOLD: "policy hold",
        }[policy.policy]

    # -- acting ------------------------------------------------------------------

    def _ready(self, plan: Plan, now: float, busy: set[str]) -> bool:
        key = self._plan_key(plan)
        if key in busy:
            log.debug("in flight from an earlier pass", key=key)
            return False
        backoff = self._backoff.get(key)
        return backoff is None or now + TIMER_SLACK_SECONDS >= backoff.retry_at

    async def _act(
        self, decision: Decision, snap: Snapshot
    ) -> tuple[list[Outcome], list[str], tuple[str, ...]]:
        loop = asyncio.get_running_loop()
        now = loop.time()
        busy = self.journal.busy_keys()
        chains: list[list[Plan]] = []
        for planned in decision.chains:
            ready: list[Plan] = []
            for plan in planned:  # a later step depends on the earlier: stop at the first held
                if not self._ready(plan, now, busy):
                    break
                ready.append(plan)
            if ready:
                chains.append(ready)
        outcomes: list[Outcome] = []
        errors: list[str] = []
        noops: list[str] = []
        heads = [c[0] for c in chains if c[0].action is ActionKind.SETTLE]
        head_ok = await self._settle_together(heads, snap, outcomes, errors, noops)
        for chain in chains:
            state = snap
            steps = list(chain)
            if chain[0].action is ActionKind.SETTLE:
                if not head_ok.get(chain[0].market_index):
                    continue
                state = chain[0].snapshot_after(state)
                steps = chain[1:]
            for plan in steps:
                if self.dry_run:
                    log.info(
                        "dry run: not simulated, it needs the step before it to land",
                        action=plan.action.value,
                        market=plan.market_index,
                    )
                    break
                ok = await self._step([plan], state, outcomes, errors, noops)
                if not ok:
                    break
                state = plan.snapshot_after(state)
        return outcomes, errors, tuple(noops)

    async def _settle_together(
        self,
        plans: list[Plan],
        snap: Snapshot,
        outcomes: list[Outcome],
        errors: list[str],
        noops: list[str],
    ) -> dict[int, bool]:
        """Due settles in as few transactions as fit; one alone when a batch fails."""
        done: dict[int, bool] = {}
        groups = self._pack(plans)
        for group in groups:
            if len(group) > 1:
                ok = await self._step(group, snap, outcomes, errors, noops, quiet_failure=True)
                if ok is not None:
                    done.update({p.market_index: ok for p in group})
                    continue
            for plan in group:
                done[plan.market_index] = bool(
                    await self._step([plan], snap, outcomes, errors, noops)
                )
        return done

    def _pack(self, plans: list[Plan]) -> list[list[Plan]]:
        """Greedy: add settles to a transaction while it stays within the size limit."""
        groups: list[list[Plan]] = []
        blockhash = _SIZE_PROBE_BLOCKHASH
        for plan in plans:
            if groups:
                trial = [*groups[-1], plan]
                ixs = [ix for p in trial for ix in p.instructions]
                tx = build_transaction(ixs, self.fee_payer, blockhash, fees=FeePolicy(1_400_000, 1))
                if len(bytes(tx)) <= PACKET_DATA_SIZE:
                    groups[-1] = trial
                    continue
            groups.append([plan])
        return groups

    async def _step(
        self,
        plans: list[Plan],
        before: Snapshot,
        outcomes: list[Outcome],
        errors: list[str],
        noops: list[str],
        *,
        quiet_failure: bool = False,
    ) -> bool | None:
        """Send one transaction for these plans; True when it landed as predicted.

        With `quiet_failure` a failed simulation returns None (the caller retries the
        plans one by one) instead of counting a failure.
        """
        loop = asyncio.get_running_loop()
        keys = [self._plan_key(p) for p in plans]
        try:
            landed = await self._send(plans, keys, before.slot, quiet_failure=quiet_failure)
        except _SimulationFailed:
            return None
        except _Noop as noop:
            for plan in plans:
                self._count(plan, "noop")
                self._first_allowed.pop(self._plan_key(plan), None)
                self.metrics.noops += 1
                noops.append(f"{plan.action.text} market {plan.market_index}: {noop}")
                log.info(
                    "no-op: another keeper got there first (caught in simulation, no fee)",
                    action=plan.action.value,
                    market=plan.market_index,
                    reason=str(noop),
                )
            return False
        except TransactionExpired as exc:
            for plan in plans:
                self._count(plan, "expired")
            log.warning("expired: rebuilding from a fresh snapshot", error=str(exc))
            self._again = True
            return False
        except KeeperError as exc:
            outcome = "unknown" if isinstance(exc, ConfirmationUnknown) else "failed"
            for plan, key in zip(plans, keys, strict=True):
                self._count(plan, outcome)
                label = plan.action.value
                self.metrics.failed[label] = self.metrics.failed.get(label, 0) + 1
                self.prom.failed.labels(label).inc()
                prev = self._backoff.get(key)
                if prev is None and isinstance(exc, RpcError):
                    # the node, not the program: a second try soon may well land in time
                    delay = min(FAST_RETRY_SECONDS, self.config.retry_initial_seconds)
                elif prev is None or prev.delay < self.config.retry_initial_seconds:
                    delay = self.config.retry_initial_seconds
                else:
                    delay = min(prev.delay * 2, self.config.retry_max_seconds)
                # From the end of the failed attempt: the delay stated is the delay kept.
                self._backoff[key] = _Backoff(delay, loop.time() + delay)
                self.metrics.last_error = str(exc)
                errors.append(f"{plan.action} market {plan.market_index}: {exc}")
                log.warning(
                    "action failed",
                    action=label,
                    market=plan.market_index,
                    wallet=None
                    if plan.action is ActionKind.SETTLE
                    else self.wallet_name(plan.authority),
                    outcome=outcome,
                    error=str(exc),
                    retry_in_s=delay,
                )
            return False
        if landed is None:  # dry run
            for plan in plans:
                self._count(plan, "dry_run")
                outcomes.append(Outcome(plan, None, None))
            return True
        signature, slot = landed
        mismatches = await self._verify(plans, before)
        for plan, key in zip(plans, keys, strict=True):
            self._backoff.pop(key, None)
            label = plan.action.value
            self.metrics.sent[label] = self.metrics.sent.get(label, 0) + 1
            self.prom.sent.labels(label).inc()
            self._count(plan, "landed")
            first = self._first_allowed.pop(key, slot)
            self.prom.slots_late.labels(label).observe(max(slot - first, 0))
            mine = tuple(str(m) for m in mismatches.get(plan.market_index, ()))
            outcomes.append(Outcome(plan, signature, slot, None, mine))
            log.info(
                "landed: " + plan.describe(before.market(plan.market_index).market.decimals),
                wallet=self.wallet_name(plan.authority) if label != "settle" else None,
                signature=str(signature),
                slot=slot,
                slots_late=max(slot - first, 0),
            )
        return not any(mismatches.values())

    def _count(self, plan: Plan, outcome: str) -> None:
        wallet = "" if plan.action is ActionKind.SETTLE else self.wallet_name(plan.authority) or ""
        self.prom.actions.labels(plan.action.value, str(plan.market_index), wallet, outcome).inc()

    async def _send(
        self, plans: list[Plan], keys: list[str], slot: int, *, quiet_failure: bool
    ) -> tuple[Signature, int] | None:
        """Size, price, journal, send, confirm. Returns (signature, slot); None in a dry run.

        `slot` is the snapshot's, the one the plans were made on."""
        sender = self.session.sender
        fees = self.config.fees
        payer = self.fee_payer
        signers = [
            self._keypairs[p.authority]
            for p in plans
            if p.authority != payer.pubkey() and p.authority in self._keypairs
        ]
        ixs = [ix for p in plans for ix in p.instructions]
        cached = self._cached_blockhash(slot, BLOCKHASH_MAX_AGE_SECONDS)
        blockhash, last_valid = cached or await self._fetch_blockhash(slot)
        probe = build_transaction(
            ixs, payer, blockhash, signers=signers, fees=FeePolicy(fees.max_compute_units, 0)
        )
        writable = sorted({m.pubkey for ix in ixs for m in ix.accounts if m.is_writable}, key=bytes)
        # the fee does not depend on the simulation: both at once, one round trip
        sim, price = await asyncio.gather(
            self._hedged(lambda: sender.simulate(probe)),
            self._price(writable),
        )
        if cached is not None and sim.blockhash_not_found:
            # the blockhash fetched ahead is gone (the node moved on faster): a fresh one
            blockhash, last_valid = await self._fetch_blockhash(slot)
            probe = build_transaction(
                ixs, payer, blockhash, signers=signers, fees=FeePolicy(fees.max_compute_units, 0)
            )
            sim = await self._hedged(lambda: sender.simulate(probe))
        if sim.error is not None:
            self._blockhash = None
            noop = isinstance(sim.error, ProgramError) and sim.error.info.code in NOOP_ERRORS
            if noop and len(plans) == 1:
                raise _Noop(str(sim.error))
            if quiet_failure:
                raise _SimulationFailed()
            raise sim.error
        units = sized_compute_units(
            sim.units_consumed, fees.compute_unit_margin_percent, fees.max_compute_units
        )
        tx = build_transaction(ixs, payer, blockhash, signers=signers, fees=FeePolicy(units, price))
        log.debug("sized", units=units, simulated=sim.units_consumed, micro_lamports_per_cu=price)
        if self.dry_run:
            final = await sender.simulate(tx)
            if final.error is not None:
                raise final.error
            return None
        signature = tx.signatures[0]
        first = min(self._first_allowed.get(k, 0) for k in keys)
        self.journal.record(
            JournalEntry(
                tuple(keys),
                str(signature),
                base64.b64encode(bytes(tx)).decode(),
                last_valid,
                first,
            )
        )
        try:
            # simulated above (the probe: the same instructions, a larger budget)
            confirmed = await sender.send(
                tx,
                last_valid,
                preflight=False,
                hedge_after_seconds=self._hedge_after(),
                fetch_logs=False,  # the next step of the chain waits for this: no extra call
            )
        except ConfirmationUnknown:
            raise  # it may still land: the journal keeps it, the next pass resumes it
        except KeeperError:
            self._blockhash = None
            self.journal.clear(str(signature))
            raise
        self.journal.clear(str(signature))
        return signature, confirmed.slot

    async def _resume_journal(self) -> list[str]:
        """Finish what a previous pass or process sent: re-send until landed or expired.

        First the node's whole ledger is asked for each signature
        (`searchTransactionHistory`): one that landed long ago, out of the recent status
        cache, would otherwise look expired and go uncounted. An entry whose outcome is
        still unknown stays (its actions are not planned again) and is returned as an
        error of the pass; the other actions go ahead.
        """
        errors: list[str] = []
        sender = self.session.sender
        for entry in self.journal.entries:
            tx = VersionedTransaction.from_bytes(base64.b64decode(entry.raw))
            log.info(
                "resuming a journalled transaction", signature=entry.signature, keys=entry.keys
            )
            found = None
            with contextlib.suppress(RpcError):  # unknown: resuming it polls again
                found = await sender.find_landed(tx.signatures[0])
            try:
                if found is not None:
                    confirmed = await sender.outcome(tx.signatures[0], found)
                else:
                    confirmed = await sender.send(
                        tx, entry.last_valid_block_height, preflight=False
                    )
            except TransactionExpired:
                log.info("journalled transaction expired unlanded", signature=entry.signature)
                self.journal.clear(entry.signature)
                continue
            except RpcError as exc:  # still unknown: keep the entry, try again next pass
                log.warning(
                    "journalled transaction still unresolved",
                    signature=entry.signature,
                    error=str(exc),
                    error_type=type(exc).__name__,
                )
                errors.append(f"journalled {entry.signature}: {exc}")
                continue
            except KeeperError as exc:  # landed with an error
                slot = None if found is None else found.slot
                log.warning(
                    "journalled transaction landed and failed",
                    signature=entry.signature,
                    slot=slot,
                    error=str(exc),
                )
                for kind, market, wallet in _entry_keys(entry):
                    self.prom.actions.labels(kind, market, wallet, "failed").inc()
                    self.prom.failed.labels(kind).inc()
                    self.metrics.failed[kind] = self.metrics.failed.get(kind, 0) + 1
                self.journal.clear(entry.signature)
                continue
            log.info(
                "journalled transaction landed",
                signature=entry.signature,
                slot=confirmed.slot,
                slots_late=max(confirmed.slot - entry.first_allowed_slot, 0),
            )
            for kind, market, wallet in _entry_keys(entry):
                self.prom.actions.labels(kind, market, wallet, "landed").inc()
                self.prom.sent.labels(kind).inc()
                self.metrics.sent[kind] = self.metrics.sent.get(kind, 0) + 1
                self.prom.slots_late.labels(kind).observe(
                    max(confirmed.slot - entry.first_allowed_slot, 0)
                )
            self.journal.clear(entry.signature)
        return errors

    async def _verify(
        self, plans: list[Plan], before: Snapshot
    ) -> dict[int, list[LabelledMismatch]]:
        """Read back every account the mirror predicted to change; log each difference."""
        markets = tuple(sorted({p.market_index for p in plans}))
        try:
            after = await self._hedged(lambda: self._snapshot(markets))
        except KeeperError as exc:
            log.warning("could not read back the landed transaction", error=str(exc))
            return {}
        out: dict[int, list[LabelledMismatch]] = {}
        for plan in plans:
            found = labelled(effect_mismatches(plan, before, after), before)
            out[plan.market_index] = found
            for lm in found:
                m = lm.mismatch
                self.metrics.mismatches += 1
                self.prom.mismatches.labels(plan.action.value, str(plan.market_index)).inc()
                log.warning(
                    "verification mismatch",
                    action=plan.action.value,
                    market=plan.market_index,
                    account=str(m.account),
                    what=lm.what,
                    field=m.field,
                    predicted=str(m.expected),
                    actual=str(m.actual),
                )
        return out

    # -- the loop ----------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Passes until `stop` is set; wakes on account changes, due times and polls."""
        log.info(
            "keeper started",
            url=redact_url(self.config.url),
            fee_payer=str(self.operator),
            wallets=[w.name for w in self.wallets],
            markets=list(self.policy.markets),
            profile=self.config.profile.name,
            dry_run=self.dry_run,
        )
        feed_task = asyncio.create_task(self.feed.run())
        try:
            await self._preflight_until_reachable(stop)
            woke = "start"
            while not stop.is_set():
                sleep_for: float | None
                self._again = False
                if woke == "refresh" and await self._nothing_missed():
                    # the subscriptions are healthy and a sample agrees with them: no pass
                    woke = await self._sleep(stop, self._until_next_retry(self._until_due()))
                    continue
                try:
                    report = await self.run_once()
                    due = report.decision.next_due_ts
                    # The Clock's unix_timestamp is floored: aim a second early, then re-read
                    # every 0.2 s, so the action lands in its first allowed slot.
                    sleep_for = None if due is None else max(0.2, float(due - report.now_ts) - 1.0)
                    self._fast_retries = 0
                except KeeperError as exc:
                    sleep_for = self._pass_retry_delay()
                    log.warning(
                        "pass failed",
                        error=str(exc),
                        error_type=type(exc).__name__,
                        retry_in_s=sleep_for,
                    )
                except Exception as exc:  # a daemon outlives surprises; it reports them
                    self._pass_failed(redact_text(f"{type(exc).__name__}: {exc}"))
                    log.exception("pass crashed", error=self.metrics.last_error)
                    sleep_for = self.config.poll_interval_seconds
                if self._again:
                    sleep_for = 0.0
                sleep_for = self._until_next_retry(sleep_for)
                woke = await self._sleep(stop, sleep_for)
        finally:
            feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed_task
            await self.session.close()
            log.info("keeper stopped", passes=self.metrics.passes, sent=self.metrics.sent)

    async def _preflight_until_reachable(self, stop: asyncio.Event) -> None:
        """A wrong cluster ends the keeper (ConfigError); an unreachable one is retried."""
        while not stop.is_set():
            try:
                for line in await self.preflight():
                    log.debug("preflight: " + line)
                return
            except RpcError as exc:
                self._pass_failed(str(exc))
                delay = self.config.poll_interval_seconds
                log.warning(
                    "cluster unreachable; retrying",
                    error=str(exc),
                    error_type=type(exc).__name__,
                    retry_in_s=delay,
                )
                # Only a stop cuts this short: the stated delay is the delay kept.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)

    def _pass_retry_delay(self) -> float:
        """After a failed pass: soon while an action is (nearly) due, for a few tries;
        otherwise the poll interval (a dead endpoint is asked every poll interval)."""
        if self.urgent() and self._fast_retries < FAST_RETRIES:
            self._fast_retries += 1
            return min(FAST_RETRY_SECONDS, self.config.poll_interval_seconds)
        return self.config.poll_interval_seconds

    def _until_next_retry(self, sleep_for: float | None) -> float | None:
        if not self._backoff:
            return sleep_for
        now = asyncio.get_running_loop().time()
        retry_in = max(0.0, min(b.retry_at for b in self._backoff.values()) - now)
        return retry_in if sleep_for is None else min(sleep_for, retry_in)

    def _until_due(self) -> float | None:
        """Seconds to sleep until a second before the next due time (None: none)."""
        if self._due_at is None:
            return None
        return max(0.2, self._due_at - asyncio.get_running_loop().time() - 1.0)

    async def _sleep(self, stop: asyncio.Event, due_in: float | None) -> str:
        """Sleep; why it ended: "change", "refresh" (the feed's idle refresh or poll
        interval), "timer" (a due time or retry) or "stop"."""
        feed = asyncio.create_task(self.feed.wait())
        stopped = asyncio.create_task(stop.wait())
        waiters = [feed, stopped]
        try:
            await asyncio.wait(waiters, timeout=due_in, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiters:
                task.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        if stopped.done() and not stopped.cancelled():
            return "stop"
        if feed.done() and not feed.cancelled() and feed.exception() is None:
            return "change" if feed.result() else "refresh"
        return "timer"

    async def _nothing_missed(self) -> bool:
        """The idle refresh, in one request whatever the number of markets and wallets.

        With the subscriptions up and nothing due, a full snapshot every refresh would
        cost one `getMultipleAccounts` per 100 accounts (18 for 8 markets x 100
        wallets). Instead one call reads the next slice of up to 100 watched accounts,
        in turn, and compares them with the last snapshot: all alike (True) means the
        notifications missed nothing there and no pass is needed; a difference, an
        unhealthy feed, a pending journal entry or retry, or an error (False) means a
        full pass, as before.
        """
        health = self.feed.health
        if (
            not health.connected
            or health.stale
            or self.journal.entries
            or self._backoff
            or self.urgent()
            or not self._reference
        ):
            return False
        watched = self.feed.addresses
        start = self._sample_at % len(watched)
        sample = (watched[start:] + watched[:start])[: MAX_ACCOUNTS_PER_CALL - 1]
        self._sample_at = (start + len(sample)) % len(watched)
        try:
            slot, (clock_acc, *accounts) = await self.session.reader.get_multiple(
                [CLOCK, *sample]
            )
            clock = decode_clock(clock_acc) if clock_acc is not None else None
        except RpcError as exc:
            log.debug("idle check failed: a full pass instead", error=str(exc))
            return False
        self.feed.observe_slot(slot)
        # the cluster's clock moves no watched account: a due time is found on it
        ts0, at0 = self._clock_ref
        expected = ts0 + (asyncio.get_running_loop().time() - at0)
        if (
            clock is None
            or abs(clock.unix_timestamp - expected) > CLOCK_DRIFT_SECONDS
            or (
                self._next_due_ts is not None
                and clock.unix_timestamp >= self._next_due_ts - URGENT_LEAD_SECONDS
            )
        ):
            return False
        for address, acc in zip(sample, accounts, strict=True):
            if (None if acc is None else acc.data) != self._reference.get(address):
                health.stale = True
                health.stale_detections += 1
                log.warning("pubsub missed a change: a full pass", account=str(address))
                return False
        self.metrics.last_pass_unix = time.monotonic()  # the view is confirmed current
        self.metrics.last_pass_slot = slot
        self.prom.last_pass_slot.set(slot)
        self.prom.idle_checks.inc()
        self.metrics.passes += 1  # a pass, in one request
        self.prom.passes.inc()
        log.debug("idle check: nothing missed", accounts=len(sample), slot=slot)
        return True


class _Noop(KeeperError):
    """The simulation says another keeper already did it."""


class _SimulationFailed(KeeperError):
    """A batch's simulation failed: try its plans one by one."""


#: any blockhash gives the size of a transaction
_SIZE_PROBE_BLOCKHASH = Hash.default()


def _first_allowed_slot(seen: tuple[int, int, int | None] | None, snap: Snapshot) -> int:
    """The slot an action became allowed in, interpolated between the last snapshot that
    saw it wait (slot, time, until) and this one; this snapshot's slot when unknown."""
    if seen is None:
        return snap.slot
    slot0, ts0, until = seen
    if until is None or snap.now_ts <= ts0 or snap.slot <= slot0:
        return snap.slot
    offset = -(-(until - ts0) * (snap.slot - slot0) // (snap.now_ts - ts0))
    return min(max(slot0 + offset, slot0), snap.slot)


def _entry_keys(entry: JournalEntry) -> list[tuple[str, str, str]]:
    """A journal entry's (kind, market, wallet label) per action key."""
    out = []
    for key in entry.keys:
        kind, market, wallet = key.split("|")
        out.append((kind, market, "" if wallet == "-" else wallet))
    return out


def _clock(ts: int) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(ts))


def _wait_text(w: Wait, wallet: str | None) -> str:
    who = f" for {wallet}" if wallet else ""
    return f"{w.action.text} market {w.market_index}{who}: {w.reason}"
