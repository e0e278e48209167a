"""Account-level checks the program makes before any IF logic (Anchor constraints).

The share math cannot see how accounts were passed; these checks can: missing
signatures, read-only accounts the program writes, accounts that belong to someone
else or sit at the wrong address. They run in the program's order: Anchor's
constraints, then the program loading the spot market for writing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from solders.pubkey import Pubkey

from keeper.core.addresses import DriftAddresses
from keeper.core.effects import IfAccounts
from keeper.core.error_codes import AnchorError, DriftError
from keeper.core.ifmath import Rejected
from keeper.core.profile import ProgramProfile
from keeper.core.views import InsuranceFundStake, SpotMarket, State, TokenAccount, UserStats

#: Instructions whose handler loads the spot market for writing.
_WRITES_SPOT_MARKET = {
    "addInsuranceFundStake",
    "requestRemoveInsuranceFundStake",
    "cancelRequestRemoveInsuranceFundStake",
    "removeInsuranceFundStake",
    "settleRevenueToInsuranceFund",
    "depositIntoSpotMarketRevenuePool",
    "updateUserQuoteAssetInsuranceStake",
}
_SIGNERS = {
    "initializeUserStats": ("payer",),
    "initializeInsuranceFundStake": ("authority", "payer"),
    "addInsuranceFundStake": ("authority",),
    "requestRemoveInsuranceFundStake": ("authority",),
    "cancelRequestRemoveInsuranceFundStake": ("authority",),
    "removeInsuranceFundStake": ("authority",),
    "depositIntoSpotMarketRevenuePool": ("authority",),
    "updateUserQuoteAssetInsuranceStake": ("signer",),
}


@dataclass(frozen=True)
class Meta:
    pubkey: Pubkey
    is_signer: bool
    is_writable: bool


def check_accounts(
    instruction: str,
    metas: Mapping[str, Meta],
    accounts: IfAccounts,
    addresses: DriftAddresses,
    profile: ProgramProfile | None = None,
) -> None:
    """Raise `Rejected` with the code the program would fail with, or return.

    `profile` supplies the build's account rules that changed across versions
    (without it, the latest build's rules apply).
    """
    for role in _SIGNERS.get(instruction, ()):
        if role in metas and not metas[role].is_signer:
            raise Rejected(AnchorError.AccountNotSigner)
    market: SpotMarket = accounts.market
    if "spotMarket" in metas and instruction != "depositIntoSpotMarketRevenuePool":
        expected_index = (
            0 if instruction == "updateUserQuoteAssetInsuranceStake" else market.market_index
        )
        if metas["spotMarket"].pubkey != addresses.spot_market(expected_index):
            raise Rejected(AnchorError.ConstraintSeeds)
    if (
        instruction == "updateUserQuoteAssetInsuranceStake"
        and profile is not None
        and profile.quote_stake_update_requires_authority
        and "signer" in metas
    ):
        # v2.84: `has_one = authority` on the stake, then on the user stats (the IDL's
        # `signer` is that build's `authority`), checked in field order.
        signer = metas["signer"].pubkey
        for owned in (accounts.stake, accounts.user_stats):
            if owned is not None and owned.authority != signer:
                raise Rejected(AnchorError.ConstraintHasOne)
    for role, pda in (
        ("spotMarketVault", addresses.spot_market_vault(market.market_index)),
        ("insuranceFundVault", addresses.insurance_fund_vault(market.market_index)),
    ):
        if role in metas and metas[role].pubkey != pda:
            raise Rejected(AnchorError.ConstraintSeeds)
    authority = metas["authority"].pubkey if "authority" in metas else None
    stake: InsuranceFundStake | None = accounts.stake
    stats: UserStats | None = accounts.user_stats
    if authority is not None:
        if stake is not None and stake.authority != authority:
            raise Rejected(AnchorError.ConstraintHasOne)
        if stats is not None and stats.authority != authority:
            raise Rejected(AnchorError.ConstraintHasOne)
    quote_update = instruction == "updateUserQuoteAssetInsuranceStake"
    if (
        quote_update
        and stake is not None
        and stats is not None
        and stake.authority != stats.authority
    ):
        raise Rejected(AnchorError.ConstraintRaw)
    state: State | None = accounts.state
    if "driftSigner" in metas and state is not None and metas["driftSigner"].pubkey != state.signer:
        raise Rejected(AnchorError.ConstraintRaw)
    user_token: TokenAccount | None = accounts.user_token
    if user_token is not None and authority is not None:
        if user_token.mint != market.mint:
            raise Rejected(AnchorError.ConstraintTokenMint)
        if user_token.owner != authority:
            raise Rejected(AnchorError.ConstraintTokenOwner)
    if (
        instruction in _WRITES_SPOT_MARKET
        and "spotMarket" in metas
        and not metas["spotMarket"].is_writable
    ):
        # Drift's AccountLoader::load_mut fails (inner AccountNotMutable 3006).
        raise Rejected(DriftError.UnableToLoadAccountLoader)
