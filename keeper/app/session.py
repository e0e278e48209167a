"""One connection to a cluster for one program profile, and sending validated plans.

Shared by the CLI (one pass per command) and the daemon (a pass per wake-up): read a
verified snapshot, execute a plan (simulate → send → confirm → read back → compare
with the prediction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from keeper.cluster.reader import SnapshotCodec, SnapshotRequest, fetch_snapshot
from keeper.cluster.sender import FeePolicy, TxSender, build_transaction
from keeper.cluster.transport import AccountSource
from keeper.core.addresses import associated_token_address
from keeper.core.errors import ConfigError, RpcError
from keeper.core.plan import Plan
from keeper.core.profile import ProgramProfile
from keeper.core.snapshot import Snapshot
from keeper.core.verify import check_snapshot, diff_views, require_consistent

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
        self, plan: Plan, *, dry_run: bool = False, fees: FeePolicy | None = None
    ) -> Outcome:
        """Simulate, send, confirm, read back. `fees` overrides the session's policy
        for this one transaction (the CLI sizes compute units per plan)."""
        signer = self.signer()
        sender = self.sender
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
        mismatches: tuple[str, ...] = ()
        if plan.effect.stake is not None:
            after = await self.snapshot((plan.market_index,), (plan.authority,))
            actual = after.stake(plan.authority, plan.market_index)
            if actual is not None:
                mismatches = tuple(str(m) for m in diff_views(plan.effect.stake, actual))
        return Outcome(plan, confirmed.signature, confirmed.slot, None, mismatches)
