"""A consistent set of decoded accounts read at one slot: what pure code reasons over."""

from __future__ import annotations

from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from keeper.codec import InsuranceFundStake, SpotMarket, State, TokenAccount, UserStats


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
