"""Frozen views of the accounts the Insurance Fund touches, as the program lays them out.

The views are plain values: the mirror, the checks and the decisions work on them
without knowing how they were decoded. Each Drift view keeps the bytes it came from
(`raw`), so the program binding can re-encode a changed view over the exact original
bytes. Decoding lives in `keeper.program.codec` (Drift accounts, via the IDL) and
`keeper.core.spl_token` (token accounts and mints, a fixed layout).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solders.pubkey import Pubkey

from keeper.core.programs import SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID

SPOT_MARKET_SIZE = 776
STATE_SIZE = 992
USER_STATS_SIZE = 240
INSURANCE_FUND_STAKE_SIZE = 136
TOKEN_ACCOUNT_SIZE = 165
MINT_SIZE = 82

MARKET_STATUS_NAMES = (
    "Initialized",
    "Active",
    "FundingPaused",
    "AmmPaused",
    "FillPaused",
    "WithdrawPaused",
    "ReduceOnly",
    "Settlement",
    "Delisted",
)


@dataclass(frozen=True)
class RawAccount:
    """An account as the cluster returns it."""

    address: Pubkey
    owner: Pubkey
    lamports: int
    data: bytes = field(repr=False)
    executable: bool = False
    rent_epoch: int = 0


@dataclass(frozen=True)
class InsuranceFund:
    vault: Pubkey
    total_shares: int
    user_shares: int
    shares_base: int
    unstaking_period_seconds: int
    last_revenue_settle_ts: int
    revenue_settle_period_seconds: int
    total_factor: int
    user_factor: int

    @property
    def protocol_shares(self) -> int:
        return self.total_shares - self.user_shares


@dataclass(frozen=True)
class SpotMarket:
    address: Pubkey
    oracle: Pubkey
    mint: Pubkey
    vault: Pubkey
    revenue_pool_scaled_balance: int
    insurance_fund: InsuranceFund
    deposit_balance: int
    borrow_balance: int
    cumulative_deposit_interest: int
    cumulative_borrow_interest: int
    deposit_token_twap: int
    borrow_token_twap: int
    utilization_twap: int
    last_interest_ts: int
    last_twap_ts: int
    expiry_ts: int
    max_token_deposits: int
    optimal_utilization: int
    optimal_borrow_rate: int
    max_borrow_rate: int
    min_borrow_rate: int
    decimals: int
    market_index: int
    #: the MarketStatus as an index into MARKET_STATUS_NAMES (Drift's numbering); the
    #: codec maps a program whose enum differs (Velocity has 5 variants) by variant name
    status: int
    paused_operations: int
    if_paused_operations: int
    fuel_boost_insurance: int
    token_program_flag: int
    raw: bytes = field(repr=False, compare=False)
    #: the display name the market records (e.g. "USDC"), trailing padding removed
    name: str = field(default="", compare=False)
    # Velocity's Insurance Fund fields (0 on Drift builds, which have none of them).
    #: revenue booked to the IF but still held in the spot vault (a scaled deposit
    #: balance); the IF's NAV counts its token value
    if_revenue_receivable_scaled: int = 0
    #: what the open settle period may still book into the IF (token units)
    revenue_settle_allowance: int = 0
    #: the part of the revenue pool reserved for perp-market IF revenue (token units)
    perp_if_revenue_receivable: int = 0
    #: the lowest NAV since the settle period opened (0: never settled): the APR cap base
    if_last_settle_vault_amount: int = 0

    @property
    def symbol(self) -> str:
        """The market's name, or `#<index>` when it records none."""
        return self.name or f"#{self.market_index}"

    @property
    def status_name(self) -> str:
        return MARKET_STATUS_NAMES[self.status] if self.status < len(MARKET_STATUS_NAMES) else "?"

    @property
    def token_program(self) -> Pubkey:
        return TOKEN_2022_PROGRAM_ID if self.token_program_flag & 0x01 else SPL_TOKEN_PROGRAM_ID


@dataclass(frozen=True)
class State:
    address: Pubkey
    admin: Pubkey
    signer: Pubkey
    signer_nonce: int
    exchange_status: int
    number_of_spot_markets: int
    number_of_authorities: int
    raw: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class UserStats:
    address: Pubkey
    authority: Pubkey
    if_staked_quote_asset_amount: int
    if_staked_gov_token_amount: int
    fuel_insurance: int
    last_fuel_if_bonus_update_ts: int
    number_of_sub_accounts: int
    raw: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class InsuranceFundStake:
    address: Pubkey
    authority: Pubkey
    if_shares: int
    last_withdraw_request_shares: int
    if_base: int
    last_valid_ts: int
    last_withdraw_request_value: int
    last_withdraw_request_ts: int
    cost_basis: int
    market_index: int
    raw: bytes = field(repr=False, compare=False)

    @property
    def has_pending_request(self) -> bool:
        return self.last_withdraw_request_shares != 0 or self.last_withdraw_request_value != 0


@dataclass(frozen=True)
class TokenAccount:
    address: Pubkey
    token_program: Pubkey
    mint: Pubkey
    owner: Pubkey
    amount: int
    delegate: Pubkey | None
    state: int
    is_native: int | None
    delegated_amount: int
    close_authority: Pubkey | None
    raw: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class Mint:
    address: Pubkey
    token_program: Pubkey
    mint_authority: Pubkey | None
    supply: int
    decimals: int
    is_initialized: bool
    freeze_authority: Pubkey | None
    raw: bytes = field(repr=False, compare=False)


DriftView = SpotMarket | State | UserStats | InsuranceFundStake
AnyView = DriftView | TokenAccount | Mint
