"""One connection to a cluster for one program profile, and sending validated plans.

Shared by the CLI (one pass per command) and the daemon (a pass per wake-up): read a
verified snapshot, execute a plan (simulate → send → confirm → read back → compare
with the prediction).
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from keeper.actions import Plan, Planner
from keeper.addresses import DriftAddresses
from keeper.codec import AccountCodec
from keeper.errors import ConfigError
from keeper.idl import load_idl
from keeper.instructions import DriftInstructions
from keeper.profile import ProgramProfile
from keeper.rpc import SnapshotRequest, SolanaRpcSource, fetch_snapshot
from keeper.snapshot import Snapshot
from keeper.tx import FeePolicy, TxSender, build_transaction
from keeper.verify import check_snapshot, diff_views, require_consistent


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
    """Profile, codecs, builders, transport and signer for one cluster."""

    profile: ProgramProfile
    codec: AccountCodec
    planner: Planner
    source: SolanaRpcSource
    url: str
    keypair: Keypair | None
    commitment: str
    fees: FeePolicy

    @classmethod
    def open(
        cls,
        url: str,
        profile: ProgramProfile,
        *,
        keypair: Keypair | None,
        commitment: str = "confirmed",
        requests_per_second: int = 10,
        fees: FeePolicy | None = None,
    ) -> Session:
        idl = load_idl(profile.idl_path)
        codec = AccountCodec(idl, profile.program_id)
        source = SolanaRpcSource(
            url, commitment=commitment, requests_per_second=requests_per_second
        )
        planner = Planner(profile, DriftInstructions(profile, idl), codec)
        return cls(profile, codec, planner, source, url, keypair, commitment, fees or FeePolicy())

    async def close(self) -> None:
        await self.source.close()

    def signer(self) -> Keypair:
        if self.keypair is None:
            raise ConfigError("this command signs a transaction: pass -k/--keypair")
        return self.keypair

    async def snapshot(self, markets: tuple[int, ...], authorities: tuple[Pubkey, ...]) -> Snapshot:
        """A verified snapshot with the authorities' stakes and token accounts."""
        base = await fetch_snapshot(self.source, self.codec, SnapshotRequest(markets, authorities))
        wallets = [self.planner.wallet_address(m, who) for who in authorities for m in base.markets]
        snap = await fetch_snapshot(
            self.source, self.codec, SnapshotRequest(markets, authorities, tuple(wallets))
        )
        require_consistent(check_snapshot(snap, DriftAddresses(self.profile.program_id)))
        return snap

    async def execute(self, plan: Plan, *, dry_run: bool = False) -> Outcome:
        payer = self.signer()
        sender = TxSender(
            self.source.client,
            self.profile.program_id,
            self.planner.errors,
            commitment=self.commitment,
        )
        blockhash, last_valid = await sender.latest_blockhash()
        tx = build_transaction(plan.instructions, payer, blockhash, fees=self.fees)
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
