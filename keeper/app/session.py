"""One connection to a cluster for one program profile, and sending validated plans.

Shared by the CLI (one pass per command) and the daemon (a pass per wake-up): read a
verified snapshot, execute a plan (simulate → send → confirm → read back → compare
with the prediction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from keeper.cluster.reader import SnapshotCodec, SnapshotRequest, fetch_snapshot
from keeper.cluster.sender import FeePolicy, TxSender, build_transaction
from keeper.cluster.transport import AccountSource
from keeper.core.actions import ActionKind
from keeper.core.addresses import associated_token_address
from keeper.core.errors import ConfigError, RpcError
from keeper.core.plan import Plan
from keeper.core.profile import ProgramProfile
from keeper.core.snapshot import Snapshot
from keeper.core.verify import FieldMismatch, check_snapshot, diff_views, require_consistent

if TYPE_CHECKING:  # AnchorPy and solana-py load when a session is built, not on import
    from keeper.program.codec import AccountCodec
    from keeper.program.idl import DriftIdl
    from keeper.program.planner import Planner

#: a market's (mint, token program): what its wallets' addresses are derived from
MintKeys = tuple[Pubkey, Pubkey]


async def read_snapshot(
    reader: AccountSource,
    codec: SnapshotCodec,
    program_id: Pubkey,
    mints: dict[int, MintKeys],
    markets: tuple[int, ...],
    authorities: tuple[Pubkey, ...],
    balances: tuple[Pubkey, ...] = (),
) -> Snapshot:
    """A verified snapshot with the authorities' stakes and token accounts.

    Wallet addresses depend on each market's mint, which is learnt from the first
    snapshot and remembered in `mints`, so later snapshots take one RPC call, not two.
    `balances` are accounts whose lamports the caller wants too (the fee payer).
    """

    def remember(snap: Snapshot) -> None:
        for m in snap.markets:
            mints[m.market_index] = (m.market.mint, m.market.token_program)

    if authorities and not all(i in mints for i in markets):
        remember(await fetch_snapshot(reader, codec, SnapshotRequest(markets)))
    for _attempt in range(2):
        wallets = tuple(
            associated_token_address(who, *mints[i]) for who in authorities for i in markets
        )
        snap = await fetch_snapshot(
            reader, codec, SnapshotRequest(markets, authorities, wallets, balances)
        )
        stale = any(
            mints.get(m.market_index) != (m.market.mint, m.market.token_program)
            for m in snap.markets
        )
        if not (stale and authorities):
            require_consistent(check_snapshot(snap, codec.addresses))
            return snap
        remember(snap)  # wallets were derived from another mint: read again
    raise RpcError("market mints changed between two reads; refusing to act on them")


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    signature: Signature | None
    slot: int | None
    units_consumed: int | None = None
    #: fields of the landed stake that differ from the prediction (clock drift, races)
    mismatches: tuple[str, ...] = ()

    @property
    def dry_run(self) -> bool:
        return self.signature is None


@dataclass
class Session:
    """Profile, codecs, builders, reader, sender and signer for one cluster.

    The reader and the sender are given, not built: `Session.connect` wires the
    production ones over one RPC client; tests and library users pass
    `keeper.testing` fakes to `Session.create`.
    """

    profile: ProgramProfile
    codec: AccountCodec
    planner: Planner
    reader: AccountSource
    sender: TxSender
    keypair: Keypair | None
    fees: FeePolicy
    #: releases what the session holds (the RPC client); None when it holds nothing
    closer: Callable[[], Awaitable[None]] | None = None
    _mints: dict[int, MintKeys] = field(default_factory=dict)
    #: pays the transaction fee when set (`--fee-payer`); the signer pays otherwise
    fee_payer: Keypair | None = None

    @classmethod
    def create(
        cls,
        profile: ProgramProfile,
        reader: AccountSource,
        sender: TxSender,
        *,
        keypair: Keypair | None,
        fees: FeePolicy | None = None,
        closer: Callable[[], Awaitable[None]] | None = None,
        idl: DriftIdl | None = None,
    ) -> Session:
        """A session over this reader and sender, with the profile's codec and planner."""
        from keeper.program.codec import AccountCodec
        from keeper.program.idl import load_idl
        from keeper.program.instructions import DriftInstructions
        from keeper.program.planner import Planner

        idl = idl or load_idl(profile.idl_path)
        codec = AccountCodec(idl, profile.program_id, profile.addresses)
        planner = Planner(profile, DriftInstructions(profile, idl), codec)
        return cls(profile, codec, planner, reader, sender, keypair, fees or FeePolicy(), closer)

    @classmethod
    def connect(
        cls,
        url: str,
        profile: ProgramProfile,
        *,
        keypair: Keypair | None,
        commitment: str = "confirmed",
        requests_per_second: int = 10,
        fees: FeePolicy | None = None,
        timeout_seconds: float = 10,
        fee_payer: Keypair | None = None,
    ) -> Session:
        """The production session: reader and sender share one throttled RPC client."""
        from keeper.cluster.solana_rpc import SolanaRpcTransport
        from keeper.program.idl import load_idl

        idl = load_idl(profile.idl_path)
        rpc = SolanaRpcTransport(
            url,
            commitment=commitment,
            requests_per_second=requests_per_second,
            timeout_seconds=timeout_seconds,
        )
        sender = TxSender(rpc, profile.program_id, idl.errors)
        session = cls.create(
            profile, rpc, sender, keypair=keypair, fees=fees, closer=rpc.close, idl=idl
        )
        session.fee_payer = fee_payer
        return session

    @property
    def url(self) -> str:
        """The cluster's endpoint, redacted: safe to print."""
        return self.sender.endpoint

    async def close(self) -> None:
        if self.closer is not None:
            await self.closer()

    def signer(self) -> Keypair:
        if self.keypair is None:
            raise ConfigError("this command signs a transaction: pass -k/--keypair")
        return self.keypair

    async def snapshot(
        self,
        markets: tuple[int, ...],
        authorities: tuple[Pubkey, ...],
        *,
        balances: tuple[Pubkey, ...] = (),
    ) -> Snapshot:
        """A verified snapshot with the authorities' stakes and token accounts."""
        return await read_snapshot(
            self.reader,
            self.codec,
            self.profile.program_id,
            self._mints,
            markets,
            authorities,
            balances,
        )

    def payer(self) -> Keypair:
        """Who pays the fee: the `--fee-payer`, else the signer."""
        return self.fee_payer or self.signer()

    async def execute(
        self,
        plan: Plan,
        *,
        dry_run: bool = False,
        fees: FeePolicy | None = None,
        before: Snapshot | None = None,
        parts: Sequence[tuple[Plan, Snapshot]] = (),
    ) -> Outcome:
        """Simulate, send, confirm, read back. `fees` overrides the session's policy
        for this one transaction (the CLI sizes compute units per plan).

        After landing, every account the mirror predicted to change is read back and
        compared with the prediction, as the daemon does: `before` is the snapshot the
        plan was made from (read now when not given), `parts` the (plan, snapshot)
        pairs of a transaction that carries several plans' instructions (batched
        settles), each compared on its own.
        """
        signer = self.signer()
        sender = self.sender
        checks = list(parts)
        if not checks and not dry_run:
            if before is None:
                before = await self.snapshot((plan.market_index,), _authorities([plan]))
            checks = [(plan, before)]
        blockhash, last_valid = await sender.latest_blockhash()
        tx = build_transaction(
            plan.instructions,
            self.payer(),
            blockhash,
            signers=(signer,),
            fees=fees or self.fees,
        )
        if dry_run:
            sim = await sender.simulate(tx)
            if sim.error is not None:
                raise sim.error
            return Outcome(plan, None, None, sim.units_consumed)
        confirmed = await sender.send(tx, last_valid)
        mismatches = await self.verify_landed(checks)
        return Outcome(
            plan, confirmed.signature, confirmed.slot, None, tuple(str(m) for m in mismatches)
        )

    async def verify_landed(
        self, checks: Sequence[tuple[Plan, Snapshot]]
    ) -> list[LabelledMismatch]:
        """Read back the markets, vaults, stakes, user stats and wallets the plans'
        effects change (one snapshot) and list every field that differs from the
        prediction, with both values."""
        if not checks:
            return []
        plans = [p for p, _snap in checks]
        markets = tuple(sorted({p.market_index for p in plans}))
        after = await self.snapshot(markets, _authorities(plans))
        out: list[LabelledMismatch] = []
        for plan, snap in checks:
            out += labelled(effect_mismatches(plan, snap, after), snap)
        return out


@dataclass(frozen=True)
class LabelledMismatch:
    """A field that landed differently from the prediction, and whose account it is."""

    what: str
    mismatch: FieldMismatch

    def __str__(self) -> str:
        m = self.mismatch
        return f"{self.what} ({m.account}) {m.field}: predicted {m.expected}, read {m.actual}"


def _authorities(plans: Sequence[Plan]) -> tuple[Pubkey, ...]:
    """Whose stakes, user stats and wallets a verification reads: not a settle's payer."""
    return tuple(
        sorted({p.authority for p in plans if p.action is not ActionKind.SETTLE}, key=bytes)
    )


def effect_mismatches(plan: Plan, before: Snapshot, actual: Snapshot) -> list[FieldMismatch]:
    """Predicted (`before` with the plan's effect applied) vs read back, for every
    account the effect changes: the market, the State, the token accounts its transfers
    move (vaults, wallets), the stake and the user stats.

    Shared by the daemon and the CLI's one-shot commands, so both check the same
    accounts the same way.
    """
    predicted = plan.snapshot_after(before)
    out: list[FieldMismatch] = []
    effect = plan.effect
    index = plan.market_index
    p_m, a_m = predicted.market(index), actual.market(index)
    if effect.market is not None:
        out += diff_views(p_m.market, a_m.market)
    if effect.state is not None:
        out += diff_views(predicted.state, actual.state)
    moved = {t.source for t in effect.transfers} | {t.destination for t in effect.transfers}
    tokens_p = {
        t.address: t for t in (p_m.insurance_fund_vault, p_m.spot_market_vault, *predicted.wallets)
    }
    tokens_a = {
        t.address: t for t in (a_m.insurance_fund_vault, a_m.spot_market_vault, *actual.wallets)
    }
    for address in sorted(moved, key=bytes):
        if address in tokens_p:
            out += diff_views(tokens_p[address], tokens_a.get(address))
    if effect.stake is not None:
        out += diff_views(
            predicted.stake(plan.authority, index), actual.stake(plan.authority, index)
        )
    if effect.user_stats is not None:
        address = effect.user_stats.address
        p_u = next((u for u in predicted.user_stats if u.address == address), None)
        a_u = next((u for u in actual.user_stats if u.address == address), None)
        out += diff_views(p_u, a_u)
    return out


def labelled(found: Sequence[FieldMismatch], snap: Snapshot) -> list[LabelledMismatch]:
    """Name each mismatch's account the way a staker knows it."""
    names: dict[Pubkey, str] = {snap.state.address: "State"}
    for m in snap.markets:
        i = m.market_index
        names[m.market.address] = f"spot market {i}"
        names[m.insurance_fund_vault.address] = f"IF vault of market {i}"
        names[m.spot_market_vault.address] = f"spot vault of market {i}"
    for s in snap.stakes:
        names[s.address] = f"stake of {s.authority} on market {s.market_index}"
    for u in snap.user_stats:
        names[u.address] = f"user stats of {u.authority}"
    for w in snap.wallets:
        names[w.address] = f"token account of {w.owner}"
    return [
        LabelledMismatch(names.get(m.account, "account") if m.account else "account", m)
        for m in found
    ]
