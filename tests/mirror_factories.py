"""Build IF views from plain numbers, for vector and property tests of the mirror.

Views are frozen dataclasses over zeroed account bytes with the right discriminator,
so they can also be re-encoded by the codec. Nothing here reads a trace.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from solders.pubkey import Pubkey

from keeper.core import ifmath
from keeper.core.effects import Effect, IfAccounts
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID
from keeper.core.views import (
    INSURANCE_FUND_STAKE_SIZE,
    SPOT_MARKET_SIZE,
    STATE_SIZE,
    TOKEN_ACCOUNT_SIZE,
    USER_STATS_SIZE,
    InsuranceFund,
    InsuranceFundStake,
    SpotMarket,
    State,
    TokenAccount,
    UserStats,
)


def key(n: int) -> Pubkey:
    return Pubkey.from_bytes(n.to_bytes(32, "big"))


MINT = key(1)
MARKET = key(2)
SPOT_VAULT = key(3)
IF_VAULT = key(4)
ALICE = key(5)
ALICE_STAKE = key(6)
ALICE_STATS = key(7)
ALICE_WALLET = key(8)
SIGNER = key(9)
STATE = key(10)

# Account discriminators (sha256("account:<Name>")[:8]), as in the spec §1.3.
_DISC = {
    "SpotMarket": bytes.fromhex("64b1086ba8414127"),
    "State": bytes.fromhex("d8926b5e684bb6b1"),
    "UserStats": bytes.fromhex("b0df881b7a4f20e3"),
    "InsuranceFundStake": bytes.fromhex("6eca0e2a5f495a5f"),
}


def _raw(name: str, size: int) -> bytes:
    return _DISC[name] + bytes(size - 8)


def fund(**over: Any) -> InsuranceFund:
    base: dict[str, Any] = dict(
        vault=IF_VAULT,
        total_shares=0,
        user_shares=0,
        shares_base=0,
        unstaking_period_seconds=1_123_200,
        last_revenue_settle_ts=0,
        revenue_settle_period_seconds=3600,
        total_factor=100_000,
        user_factor=50_000,
    )
    base.update(over)
    return InsuranceFund(**base)


def fund_shares(f: InsuranceFund) -> ifmath.FundShares:
    """The (T, U, base) triple `ifmath.rebase_fund` works on."""
    return ifmath.FundShares(f.total_shares, f.user_shares, f.shares_base)


def market(insurance_fund: InsuranceFund | None = None, **over: Any) -> SpotMarket:
    """An active 6-decimal market with no lending book and interest indices at 1.0."""
    base: dict[str, Any] = dict(
        address=MARKET,
        oracle=Pubkey.default(),
        mint=MINT,
        vault=SPOT_VAULT,
        revenue_pool_scaled_balance=0,
        insurance_fund=insurance_fund or fund(),
        deposit_balance=0,
        borrow_balance=0,
        cumulative_deposit_interest=10_000_000_000,
        cumulative_borrow_interest=10_000_000_000,
        deposit_token_twap=0,
        borrow_token_twap=0,
        utilization_twap=0,
        last_interest_ts=0,
        last_twap_ts=0,
        expiry_ts=0,
        max_token_deposits=0,
        optimal_utilization=800_000,
        optimal_borrow_rate=100_000,
        max_borrow_rate=1_000_000,
        min_borrow_rate=0,
        decimals=6,
        market_index=0,
        status=1,
        paused_operations=0,
        if_paused_operations=0,
        fuel_boost_insurance=0,
        token_program_flag=0,
        raw=_raw("SpotMarket", SPOT_MARKET_SIZE),
    )
    base.update(over)
    return SpotMarket(**base)


def market_with_pool(pool_amount: int, insurance_fund: InsuranceFund, **over: Any) -> SpotMarket:
    """A 6-decimal market whose revenue pool reads `pool_amount` and whose deposits are
    the pool plus `extra_deposit_amount` (default: plenty of liquidity)."""
    extra = over.pop("extra_deposit_amount", 10**12)
    scaled = pool_amount * 1000  # p = 1e13 at index 1e10: 1 token = 1000 scaled units
    return market(
        insurance_fund,
        revenue_pool_scaled_balance=scaled,
        deposit_balance=scaled + extra * 1000,
        **over,
    )


def stake(**over: Any) -> InsuranceFundStake:
    base: dict[str, Any] = dict(
        address=ALICE_STAKE,
        authority=ALICE,
        if_shares=0,
        last_withdraw_request_shares=0,
        if_base=0,
        last_valid_ts=0,
        last_withdraw_request_value=0,
        last_withdraw_request_ts=0,
        cost_basis=0,
        market_index=0,
        raw=_raw("InsuranceFundStake", INSURANCE_FUND_STAKE_SIZE),
    )
    base.update(over)
    return InsuranceFundStake(**base)


def user_stats(**over: Any) -> UserStats:
    base: dict[str, Any] = dict(
        address=ALICE_STATS,
        authority=ALICE,
        if_staked_quote_asset_amount=0,
        if_staked_gov_token_amount=0,
        fuel_insurance=0,
        last_fuel_if_bonus_update_ts=0,
        number_of_sub_accounts=0,
        raw=_raw("UserStats", USER_STATS_SIZE),
    )
    base.update(over)
    return UserStats(**base)


def state(**over: Any) -> State:
    base: dict[str, Any] = dict(
        address=STATE,
        admin=key(11),
        signer=SIGNER,
        signer_nonce=255,
        exchange_status=0,
        number_of_spot_markets=1,
        number_of_authorities=1,
        raw=_raw("State", STATE_SIZE),
    )
    base.update(over)
    return State(**base)


def token(address: Pubkey, owner: Pubkey, amount: int) -> TokenAccount:
    return TokenAccount(
        address=address,
        token_program=SPL_TOKEN_PROGRAM_ID,
        mint=MINT,
        owner=owner,
        amount=amount,
        delegate=None,
        state=1,
        is_native=None,
        delegated_amount=0,
        close_authority=None,
        raw=bytes(TOKEN_ACCOUNT_SIZE),
    )


def depositors_claim_amount(m: SpotMarket) -> int:
    """Deposit tokens minus borrow tokens (signed): what the spot vault must at least hold."""
    return ifmath.deposit_token_amount(m) - ifmath.borrow_token_amount(m)


def accounts(
    spot_market: SpotMarket,
    if_vault_amount: int,
    *,
    the_stake: InsuranceFundStake | None = None,
    spot_vault_amount: int | None = None,
    wallet_amount: int = 10**15,
) -> IfAccounts:
    """Alice's accounts around `spot_market`; the spot vault holds the depositors' claim."""
    if spot_vault_amount is None:
        spot_vault_amount = max(depositors_claim_amount(spot_market), 0)
    return IfAccounts(
        market=spot_market,
        state=state(),
        if_vault=token(IF_VAULT, SIGNER, if_vault_amount),
        spot_vault=token(SPOT_VAULT, SIGNER, spot_vault_amount),
        stake=the_stake if the_stake is not None else stake(),
        user_stats=user_stats(),
        user_token=token(ALICE_WALLET, ALICE, wallet_amount),
    )


def token_accounts(acc: IfAccounts) -> dict[Pubkey, TokenAccount]:
    """The token accounts among `acc`, by address (what `Effect.token_accounts_after` takes)."""
    return {t.address: t for t in (acc.if_vault, acc.spot_vault, acc.user_token) if t is not None}


def token_amounts_after(effect: Effect, acc: IfAccounts) -> dict[Pubkey, int]:
    """Token balances after `effect`'s transfers, by address."""
    return {a: t.amount for a, t in effect.token_accounts_after(token_accounts(acc)).items()}


def replace_fund(m: SpotMarket, **over: Any) -> SpotMarket:
    return dataclasses.replace(m, insurance_fund=dataclasses.replace(m.insurance_fund, **over))
