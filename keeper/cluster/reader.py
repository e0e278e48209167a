"""The thin async layer that reads accounts from a cluster.

Everything the pure core needs arrives through one `getMultipleAccounts` call per
snapshot, Clock sysvar included, so all accounts and `now` come from the same slot.
The transport is injected (`AccountSource`): `SolanaRpcTransport` in production,
`keeper.testing.FakeAccountSource` (or any fault-injecting source) in tests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from solders.pubkey import Pubkey
from solders.sysvar import CLOCK

from keeper.cluster.transport import MAX_ACCOUNTS_PER_CALL, AccountSource
from keeper.core.addresses import DriftAddresses
from keeper.core.errors import DecodeError, RpcError
from keeper.core.programs import SYSVAR_PROGRAM_ID
from keeper.core.snapshot import Snapshot, build_snapshot
from keeper.core.spl_token import decode_token_account
from keeper.core.views import (
    DriftView,
    InsuranceFundStake,
    RawAccount,
    SpotMarket,
    State,
    UserStats,
)


class SnapshotCodec(Protocol):
    """What reading a snapshot needs of the program binding (`AccountCodec`).

    A protocol, not the class, so this module does not import AnchorPy: a caller may
    pass a codec that loads the IDL only when the first account is decoded, after the
    first RPC call is on its way (the CLI's cold start).
    """

    @property
    def program_id(self) -> Pubkey: ...

    @property
    def addresses(self) -> DriftAddresses:
        """The deployment's PDAs (the profile's seeds under its program id)."""
        ...

    def account_name(self, data: bytes) -> str | None: ...

    def decode_drift(self, acc: RawAccount) -> DriftView: ...

    def decode_state(self, acc: RawAccount) -> State: ...

    def decode_spot_market(self, acc: RawAccount) -> SpotMarket: ...

    def decode_stake(self, acc: RawAccount) -> InsuranceFundStake: ...

    def decode_user_stats(self, acc: RawAccount) -> UserStats: ...


@dataclass(frozen=True)
class ClusterClock:
    slot: int
    epoch: int
    unix_timestamp: int


def clock_account(clock: ClusterClock, epoch_start_timestamp: int = 0) -> RawAccount:
    """The Clock sysvar account holding this clock (what `decode_clock` reads back)."""
    data = (
        clock.slot.to_bytes(8, "little")
        + epoch_start_timestamp.to_bytes(8, "little", signed=True)
        + clock.epoch.to_bytes(8, "little")
        + clock.epoch.to_bytes(8, "little")  # leader schedule epoch
        + clock.unix_timestamp.to_bytes(8, "little", signed=True)
    )
    return RawAccount(CLOCK, SYSVAR_PROGRAM_ID, 1_169_280, data)


def decode_clock(acc: RawAccount) -> ClusterClock:
    if acc.address != CLOCK or acc.owner != SYSVAR_PROGRAM_ID or len(acc.data) != 40:
        raise RpcError("the Clock sysvar returned by the cluster is malformed")
    data = acc.data
    return ClusterClock(
        slot=int.from_bytes(data[0:8], "little"),
        epoch=int.from_bytes(data[16:24], "little"),
        unix_timestamp=int.from_bytes(data[32:40], "little", signed=True),
    )


@dataclass(frozen=True)
class SnapshotRequest:
    """What to read: markets by index and the stakes of these authorities."""

    market_indexes: tuple[int, ...]
    authorities: tuple[Pubkey, ...] = ()
    #: wallets' token accounts to read along (absent ones are simply not in the snapshot)
    token_accounts: tuple[Pubkey, ...] = ()
    #: accounts whose SOL balance to read along (the fee payer's)
    balances: tuple[Pubkey, ...] = ()


async def fetch_snapshot(
    source: AccountSource, codec: SnapshotCodec, request: SnapshotRequest
) -> Snapshot:
    """Read State, markets, both vaults per market, stakes and user stats in one call."""
    pdas = codec.addresses
    wanted: list[Pubkey] = [CLOCK, pdas.state()]
    for idx in request.market_indexes:
        wanted += [
            pdas.spot_market(idx),
            pdas.insurance_fund_vault(idx),
            pdas.spot_market_vault(idx),
        ]
    for who in request.authorities:
        wanted.append(pdas.user_stats(who))
        wanted += [pdas.insurance_fund_stake(who, idx) for idx in request.market_indexes]
    wanted += list(request.token_accounts)
    wanted += list(request.balances)
    wanted = list(dict.fromkeys(wanted))
    slot, accounts = await read_accounts(source, wanted)
    found = {a.address: a for a in accounts if a is not None}
    for a in accounts:
        if a is not None and a.address not in wanted:
            raise RpcError(f"the cluster returned an account we did not ask for: {a.address}")
    if CLOCK not in found:
        raise RpcError("the cluster did not return the Clock sysvar")
    clock = decode_clock(found[CLOCK])
    if clock.slot > slot + 1 or slot > clock.slot + 150:
        raise RpcError(f"Clock sysvar slot {clock.slot} does not match the context slot {slot}")
    if pdas.state() not in found:
        raise RpcError(
            f"no Drift State account at {pdas.state()}: is {codec.program_id} the right program?"
        )
    for idx in request.market_indexes:
        if pdas.spot_market(idx) not in found:
            raise RpcError(f"spot market {idx} does not exist on program {codec.program_id}")
    try:
        # Decode the accounts we expect by kind first: a foreign owner or a wrong
        # account type at a Drift PDA must be an error, not a silently missing market.
        codec.decode_state(found[pdas.state()])
        for idx in request.market_indexes:
            market = codec.decode_spot_market(found[pdas.spot_market(idx)])
            if market.market_index != idx:
                raise DecodeError(f"spot market PDA {idx} holds market {market.market_index}")
        for who in request.authorities:
            for idx in request.market_indexes:
                stake_addr = pdas.insurance_fund_stake(who, idx)
                if stake_addr in found:
                    codec.decode_stake(found[stake_addr])
            if pdas.user_stats(who) in found:
                codec.decode_user_stats(found[pdas.user_stats(who)])
        snap = build_snapshot(
            (a for addr, a in found.items() if addr != CLOCK),
            codec,
            slot=clock.slot,
            now_ts=clock.unix_timestamp,
        )
        wallets = tuple(
            decode_token_account(found[a]) for a in request.token_accounts if a in found
        )
    except DecodeError as exc:
        raise RpcError(f"the cluster returned accounts that do not decode: {exc}") from exc
    balances = tuple((a, found[a].lamports if a in found else 0) for a in request.balances)
    return dataclasses.replace(snap, wallets=wallets, balances=balances)


async def read_accounts(
    source: AccountSource, wanted: list[Pubkey]
) -> tuple[int, list[RawAccount | None]]:
    """`wanted` in as few `getMultipleAccounts` calls as fit (≤100 addresses each).

    One call is one slot. Several calls are several slots: the Clock (first in the
    list) dates the snapshot, and a later call answering from an older slot than an
    earlier one (a load-balanced provider behind) is refused, so the snapshot never
    mixes states backwards. Amounts are re-checked after every landed transaction.
    """
    slot: int | None = None
    out: list[RawAccount | None] = []
    for start in range(0, len(wanted), MAX_ACCOUNTS_PER_CALL):
        chunk_slot, chunk = await source.get_multiple(wanted[start : start + MAX_ACCOUNTS_PER_CALL])
        if slot is not None and chunk_slot < slot:
            raise RpcError(
                f"the cluster answered a snapshot's accounts from slot {chunk_slot} after slot "
                f"{slot}: the provider's nodes disagree; reading again"
            )
        slot = chunk_slot if slot is None else slot
        out += chunk
    return (slot or 0), out
