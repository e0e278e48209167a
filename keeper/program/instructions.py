"""Builders for the Drift instructions a staker or keeper sends.

Data bytes come from AnchorPy's instruction coder over the profile's IDL; account
order, writability and signer flags come from the IDL's account list, corrected by the
profile where a build differs from its IDL. The IDL's account lists must be the
profile's Anchor structs (keeper.core.account_structs), field for field: an IDL of
another build (say Velocity's before request/cancel/remove took the spot market vault)
is refused when the builders are made, not when the program rejects a transaction.
Each builder validates its arguments, so an instruction that leaves this module is well
formed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from keeper.core.account_structs import structs
from keeper.core.errors import ConfigError
from keeper.core.fmt import snake_case
from keeper.core.profile import ProgramProfile
from keeper.core.programs import (
    SPL_TOKEN_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    SYSVAR_RENT_ID,
    TOKEN_2022_PROGRAM_ID,
)
from keeper.core.views import SpotMarket
from keeper.program.idl import DriftIdl, load_idl

_U16_MAX = 2**16 - 1
_U64_MAX = 2**64 - 1


@dataclass(frozen=True)
class MarketKeys:
    """The per-market accounts an IF instruction needs, read from its SpotMarket."""

    market_index: int
    spot_market: Pubkey
    spot_market_vault: Pubkey
    insurance_fund_vault: Pubkey
    mint: Pubkey
    token_program: Pubkey

    @classmethod
    def from_market(cls, market: SpotMarket) -> MarketKeys:
        return cls(
            market_index=market.market_index,
            spot_market=market.address,
            spot_market_vault=market.vault,
            insurance_fund_vault=market.insurance_fund.vault,
            mint=market.mint,
            token_program=market.token_program,
        )

    def token_remaining(self) -> tuple[AccountMeta, ...]:
        """Token-2022 markets take the mint as the first remaining account."""
        if self.token_program == TOKEN_2022_PROGRAM_ID:
            return (AccountMeta(self.mint, is_signer=False, is_writable=False),)
        return ()


class DriftInstructions:
    """Instruction builders for one program profile."""

    def __init__(self, profile: ProgramProfile, idl: DriftIdl | None = None) -> None:
        self.profile = profile
        self.idl = idl or load_idl(profile.idl_path)
        self.addresses = profile.addresses
        self._state = self.addresses.state()
        self._signer = self.addresses.drift_signer()
        self._check_structs()

    def _check_structs(self) -> None:
        """Each IF instruction's IDL account list must be the build's struct, in order."""
        for name, struct_fields in structs(self.profile).items():
            if name not in self.idl.instructions:
                continue  # a missing instruction fails when it is built
            idl_roles = [m.name for m in self.idl.instructions[name].accounts]
            want = [f.role for f in struct_fields]
            if idl_roles != want:
                raise ConfigError(
                    f"the IDL {self.idl.source.name} lists the accounts of {name} as "
                    f"{idl_roles}, but the {self.profile.name} program's struct is {want}: "
                    "the IDL belongs to another build (check the profile's idl_path)"
                )

    # -- generic --------------------------------------------------------------------

    def build(
        self,
        name: str,
        args: Mapping[str, int],
        accounts: Mapping[str, Pubkey],
        remaining: Sequence[AccountMeta] = (),
        *,
        signer_overrides: Mapping[str, bool] | None = None,
        writable_overrides: Mapping[str, bool] | None = None,
    ) -> Instruction:
        """Encode `name` with IDL-ordered metas; every role must be given exactly once."""
        spec = self.idl.instruction(name)
        roles = [m.name for m in spec.accounts]
        missing = [r for r in roles if r not in accounts]
        extra = [r for r in accounts if r not in roles]
        if missing or extra:
            raise ConfigError(f"{name}: missing accounts {missing}, unexpected {extra}")
        arg_names = [a for a, _ in spec.args]
        if sorted(arg_names) != sorted(args):
            raise ConfigError(f"{name}: expected arguments {arg_names}, got {sorted(args)}")
        for arg, ty in spec.args:
            _check_int(name, arg, args[arg], ty)
        data = bytes(
            self.idl.coder.instruction.encode(
                snake_case(name), {snake_case(a): args[a] for a in arg_names}
            )
        )
        signers = dict(signer_overrides or {})
        writables = dict(writable_overrides or {})
        metas = [
            AccountMeta(
                accounts[m.name],
                is_signer=signers.get(m.name, m.is_signer),
                is_writable=writables.get(m.name, m.is_mut),
            )
            for m in spec.accounts
        ]
        return Instruction(self.profile.program_id, data, metas + list(remaining))

    # -- staker instructions ----------------------------------------------------------

    def initialize_user_stats(self, authority: Pubkey, payer: Pubkey) -> Instruction:
        overrides = {"authority": True} if self.profile.init_user_stats_authority_signs else {}
        return self.build(
            "initializeUserStats",
            {},
            {
                "userStats": self.addresses.user_stats(authority),
                "state": self._state,
                "authority": authority,
                "payer": payer,
                "rent": SYSVAR_RENT_ID,
                "systemProgram": SYSTEM_PROGRAM_ID,
            },
            signer_overrides=overrides,
        )

    def initialize_insurance_fund_stake(
        self, market_index: int, authority: Pubkey, payer: Pubkey
    ) -> Instruction:
        return self.build(
            "initializeInsuranceFundStake",
            {"marketIndex": market_index},
            {
                "spotMarket": self.addresses.spot_market(market_index),
                "insuranceFundStake": self.addresses.insurance_fund_stake(authority, market_index),
                "userStats": self.addresses.user_stats(authority),
                "state": self._state,
                "authority": authority,
                "payer": payer,
                "rent": SYSVAR_RENT_ID,
                "systemProgram": SYSTEM_PROGRAM_ID,
            },
        )

    def add_insurance_fund_stake(
        self, market: MarketKeys, amount: int, authority: Pubkey, user_token_account: Pubkey
    ) -> Instruction:
        return self.build(
            "addInsuranceFundStake",
            {"marketIndex": market.market_index, "amount": amount},
            {**self._stake_accounts(market, authority), "userTokenAccount": user_token_account},
            market.token_remaining(),
        )

    def _stake_accounts(self, market: MarketKeys, authority: Pubkey) -> dict[str, Pubkey]:
        """Every account a staker's instruction may take, by role; `_listed` keeps the
        ones the instruction's IDL lists (Velocity's request, cancel and remove settle
        due revenue first, so they also take state, the spot vault, the signer PDA and
        the token program)."""
        return {
            "state": self._state,
            "spotMarket": market.spot_market,
            "insuranceFundStake": self.addresses.insurance_fund_stake(
                authority, market.market_index
            ),
            "userStats": self.addresses.user_stats(authority),
            "authority": authority,
            "spotMarketVault": market.spot_market_vault,
            "insuranceFundVault": market.insurance_fund_vault,
            "driftSigner": self._signer,
            "tokenProgram": market.token_program,
        }

    def _listed(self, name: str, accounts: dict[str, Pubkey]) -> dict[str, Pubkey]:
        """The accounts of `accounts` the instruction's IDL lists (builds differ)."""
        roles = {m.name for m in self.idl.instruction(name).accounts}
        return {role: key for role, key in accounts.items() if role in roles}

    def _request_like(
        self, name: str, market: MarketKeys, authority: Pubkey, args: dict[str, int]
    ) -> Instruction:
        """Request and cancel. Drift: market, stake, stats, authority, IF vault. Velocity
        settles due revenue first: also state, the spot market vault, the signer PDA, the
        token program, and the market's token remaining accounts."""
        accounts = self._listed(name, self._stake_accounts(market, authority))
        moves_tokens = "tokenProgram" in accounts
        return self.build(name, args, accounts, market.token_remaining() if moves_tokens else ())

    def request_remove_insurance_fund_stake(
        self, market: MarketKeys, amount: int, authority: Pubkey
    ) -> Instruction:
        """`amount` is in token base units; the program converts it to shares."""
        return self._request_like(
            "requestRemoveInsuranceFundStake",
            market,
            authority,
            {"marketIndex": market.market_index, "amount": amount},
        )

    def cancel_request_remove_insurance_fund_stake(
        self, market: MarketKeys, authority: Pubkey
    ) -> Instruction:
        return self._request_like(
            "cancelRequestRemoveInsuranceFundStake",
            market,
            authority,
            {"marketIndex": market.market_index},
        )

    def remove_insurance_fund_stake(
        self, market: MarketKeys, authority: Pubkey, user_token_account: Pubkey
    ) -> Instruction:
        accounts = {
            **self._stake_accounts(market, authority),
            "userTokenAccount": user_token_account,
        }
        return self.build(
            "removeInsuranceFundStake",
            {"marketIndex": market.market_index},
            self._listed("removeInsuranceFundStake", accounts),
            market.token_remaining(),
        )

    # -- permissionless -------------------------------------------------------------

    def settle_revenue_to_insurance_fund(self, market: MarketKeys) -> Instruction:
        return self.build(
            "settleRevenueToInsuranceFund",
            {"spotMarketIndex": market.market_index},
            {
                "state": self._state,
                "spotMarket": market.spot_market,
                "spotMarketVault": market.spot_market_vault,
                "driftSigner": self._signer,
                "insuranceFundVault": market.insurance_fund_vault,
                "tokenProgram": market.token_program,
            },
            market.token_remaining(),
        )

    def deposit_into_spot_market_revenue_pool(
        self, market: MarketKeys, amount: int, authority: Pubkey, user_token_account: Pubkey
    ) -> Instruction:
        return self.build(
            "depositIntoSpotMarketRevenuePool",
            {"amount": amount},
            {
                "state": self._state,
                "spotMarket": market.spot_market,
                "authority": authority,
                "spotMarketVault": market.spot_market_vault,
                "userTokenAccount": user_token_account,
                "tokenProgram": market.token_program,
            },
            market.token_remaining(),
        )

    def update_user_quote_asset_insurance_stake(
        self, authority: Pubkey, signer: Pubkey, quote: MarketKeys
    ) -> Instruction:
        """Refresh `UserStats.ifStakedQuoteAssetAmount` of `authority` (anyone may sign)."""
        return self.build(
            "updateUserQuoteAssetInsuranceStake",
            {},
            {
                "state": self._state,
                "spotMarket": quote.spot_market,
                "insuranceFundStake": self.addresses.insurance_fund_stake(
                    authority, quote.market_index
                ),
                "userStats": self.addresses.user_stats(authority),
                "signer": signer,
                "insuranceFundVault": quote.insurance_fund_vault,
            },
        )


def _check_int(ix: str, arg: str, value: object, ty_json: str) -> None:
    limits = {'"u16"': _U16_MAX, '"u64"': _U64_MAX, '"u8"': 255, '"u32"': 2**32 - 1}
    if ty_json not in limits:
        raise ConfigError(f"{ix}.{arg}: argument type {ty_json} is not supported")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{ix}.{arg} must be an integer, got {value!r}")
    if not 0 <= value <= limits[ty_json]:
        raise ConfigError(f"{ix}.{arg}={value} is out of range for {ty_json.strip(chr(34))}")


def token_program_for_flag(flag: int) -> Pubkey:
    return TOKEN_2022_PROGRAM_ID if flag & 0x01 else SPL_TOKEN_PROGRAM_ID
