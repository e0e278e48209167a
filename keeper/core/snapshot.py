"""A consistent set of decoded accounts read at one slot: what pure code reasons over."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from solders.pubkey import Pubkey

from keeper.core.errors import DecodeError
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID
from keeper.core.spl_token import decode_token_account
from keeper.core.views import (
    DriftView,
    InsuranceFundStake,
    RawAccount,
    SpotMarket,
    State,
    TokenAccount,
    UserStats,
)


@dataclass(frozen=True)
class MarketSnapshot:
    """One spot market with the two vaults whose balances the IF math needs."""

    market: SpotMarket
    insurance_fund_vault: TokenAccount
    spot_market_vault: TokenAccount

    @property
    def market_index(self) -> int:
        return self.market.market_index

    @property
    def if_vault_amount(self) -> int:
        return self.insurance_fund_vault.amount


@dataclass(frozen=True)
class Snapshot:
    """Accounts as of `slot`, whose Clock read `now_ts`."""

    slot: int
    now_ts: int
    state: State
    markets: tuple[MarketSnapshot, ...]
    stakes: tuple[InsuranceFundStake, ...] = ()
    user_stats: tuple[UserStats, ...] = ()
    wallets: tuple[TokenAccount, ...] = field(default=())
    #: SOL balances (lamports) of accounts read along, e.g. the fee payer's
    balances: tuple[tuple[Pubkey, int], ...] = ()

    def lamports(self, address: Pubkey) -> int | None:
        return next((n for a, n in self.balances if a == address), None)

    def market(self, market_index: int) -> MarketSnapshot:
        for m in self.markets:
            if m.market_index == market_index:
                return m
        raise KeyError(f"market {market_index} is not in this snapshot")

    def stake(self, authority: Pubkey, market_index: int) -> InsuranceFundStake | None:
        for s in self.stakes:
            if s.authority == authority and s.market_index == market_index:
                return s
        return None


class DriftAccountDecoder(Protocol):
    """What a snapshot needs of the program binding (`keeper.program.codec.AccountCodec`)."""

    @property
    def program_id(self) -> Pubkey: ...

    def account_name(self, data: bytes) -> str | None: ...

    def decode_drift(self, acc: RawAccount) -> DriftView: ...


def build_snapshot(
    accounts: Iterable[RawAccount], codec: DriftAccountDecoder, *, slot: int, now_ts: int
) -> Snapshot:
    """Decode a bag of raw accounts into a Snapshot.

    Drift accounts are recognised by owner and discriminator; each spot market must
    come with both of its vaults, or the snapshot is refused.
    """
    drift: list[DriftView] = []
    tokens: dict[Pubkey, RawAccount] = {}
    for acc in accounts:
        if acc.owner == codec.program_id and codec.account_name(acc.data) is not None:
            drift.append(codec.decode_drift(acc))
        elif acc.owner in (SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            tokens[acc.address] = acc
    states = [v for v in drift if isinstance(v, State)]
    if len(states) != 1:
        raise DecodeError(f"a snapshot needs exactly one Drift State account, got {len(states)}")
    markets = []
    for m in (v for v in drift if isinstance(v, SpotMarket)):
        vaults = []
        for what, address in (
            ("insurance fund vault", m.insurance_fund.vault),
            ("spot market vault", m.vault),
        ):
            if address not in tokens:
                raise DecodeError(f"market {m.market_index}: {what} {address} was not read")
            vaults.append(decode_token_account(tokens[address]))
        markets.append(MarketSnapshot(m, vaults[0], vaults[1]))
    return Snapshot(
        slot=slot,
        now_ts=now_ts,
        state=states[0],
        markets=tuple(sorted(markets, key=lambda s: s.market_index)),
        stakes=tuple(v for v in drift if isinstance(v, InsuranceFundStake)),
        user_stats=tuple(v for v in drift if isinstance(v, UserStats)),
    )
