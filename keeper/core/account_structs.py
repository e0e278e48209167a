"""The Anchor account structs of the IF instructions, field by field, per program build.

Anchor (0.29) validates an instruction's accounts before the handler runs, in two
passes over the struct's fields in declaration order (= the IDL's account order):

1. deserialization: each field's type checks its account — `Signer` that it signed
   (3010), `AccountLoader<T>` the owner (3007), the 8-byte discriminator (3001/3002),
   `Account<T>` first that it exists (3012), then owner and discriminator,
   `Program<T>`/`Interface<T>` the program id (3008);
2. `init` fields (seeds, then the System program's create/allocate CPI), then every
   other field's constraints in Anchor's order: seeds (2006), mut (2000), has_one
   (2001), raw constraints (2003), token::mint (2014), token::authority (2015).

The tables below are that order for each instruction, read from the program's
structs (drift-labs/protocol-v2 `instructions/if_staker.rs`, `keeper.rs`, `user.rs`
at v2.84.0 and v2.161.0; velocity-exchange/velocity-v1 `if_staker.rs` at 068fe867 and
`keeper/insurance_fund.rs` at 12535d39); what changed between builds is a profile
capability (`unstake_structs_settle_first`, `state_zero_copy`, ...), never a name.
The mirror (keeper.core.constraints, effects) and the localnet model walk them.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from solders.pubkey import Pubkey

from keeper.core.error_codes import AnchorError
from keeper.core.fmt import snake_case
from keeper.core.ifmath import Rejected
from keeper.core.profile import ProgramProfile
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID, SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_IDS
from keeper.core.views import RawAccount


class Kind(enum.Enum):
    """The Rust type of a struct field, which decides its deserialization checks."""

    SIGNER = "Signer"
    LOADER = "AccountLoader"  # zero-copy account (SpotMarket, stake, UserStats; Velocity's State)
    ACCOUNT = "Account"  # Borsh account (Drift's State)
    TOKEN = "TokenAccount"  # Account<TokenAccount> (v2.84) / InterfaceAccount (Token-2022 builds)
    TOKEN_PROGRAM = "Program<Token>"  # Program<Token> / Interface<TokenInterface>
    SYSTEM_PROGRAM = "Program<System>"
    UNCHECKED = "AccountInfo"  # AccountInfo / Sysvar: no check the IF path can fail


class Seeds(enum.Enum):
    """Which PDA a `seeds = [...]` constraint derives, and from what."""

    SPOT_MARKET = "spot_market"
    SPOT_MARKET_VAULT = "spot_market_vault"
    INSURANCE_FUND_VAULT = "insurance_fund_vault"
    INSURANCE_FUND_STAKE = "insurance_fund_stake"
    USER_STATS = "user_stats"


class Raw(enum.Enum):
    """The raw `constraint = ...` expressions of the IF structs (all fail with 2003)."""

    DRIFT_SIGNER = "state.signer == drift_signer"
    VAULT_MINT = "spot_market_vault.mint == user_token_account.mint"
    STATS_FOR_STAKE = "is_stats_for_if_stake(stake, user_stats)"


@dataclass(frozen=True)
class Field:
    """One struct field: its IDL role, type and constraints (in Anchor's order)."""

    role: str
    kind: Kind
    #: the Drift account type a LOADER/ACCOUNT field holds (its discriminator's name)
    account_type: str | None = None
    init: bool = False
    seeds: Seeds | None = None
    #: where the seeds' market index comes from: the instruction's argument, a fixed
    #: index, or the loaded spot market's own index (`spot_market.load()?.market_index`)
    seeds_index: str | int = "arg"
    mut: bool = False
    has_one_authority: bool = False
    raw: Raw | None = None
    token_mint_of_if_vault: bool = False
    token_authority: bool = False
    #: the Rust field name where it differs from the IDL's role (Anchor's log uses it)
    name: str | None = None

    @property
    def field_name(self) -> str:
        """The name Anchor's `AnchorError caused by account: <name>` line shows."""
        return self.name or snake_case(self.role)


class AccountRejected(Rejected):
    """Anchor refused one account: the log names it (snake_case, as the struct does)
    and, for address comparisons, shows both keys (Anchor's Left/Right lines)."""

    def __init__(
        self,
        code: int,
        role: str,
        compared: tuple[Pubkey, Pubkey] | None = None,
    ) -> None:
        super().__init__(code)
        self.role = role
        self.account = snake_case(role)
        self.compared = compared


def discriminator(account_type: str) -> bytes:
    """Anchor's account discriminator: sha256("account:<Type>")[:8]."""
    return hashlib.sha256(f"account:{account_type}".encode()).digest()[:8]


def _market_fields(*, mut_market: bool) -> tuple[Field, ...]:
    return (
        Field(
            "spotMarket",
            Kind.LOADER,
            "SpotMarket",
            seeds=Seeds.SPOT_MARKET,
            mut=mut_market,
        ),
        Field(
            "insuranceFundStake",
            Kind.LOADER,
            "InsuranceFundStake",
            mut=True,
            has_one_authority=True,
        ),
        Field("userStats", Kind.LOADER, "UserStats", mut=True, has_one_authority=True),
        Field("authority", Kind.SIGNER),
    )


def structs(profile: ProgramProfile) -> dict[str, tuple[Field, ...]]:
    """Every IF instruction's struct, in field order, for the profile's build."""
    mut_market = profile.if_structs_spot_market_mut
    state_kind = Kind.LOADER if profile.state_zero_copy else Kind.ACCOUNT
    state = Field("state", state_kind, "State")
    if_vault = Field("insuranceFundVault", Kind.TOKEN, seeds=Seeds.INSURANCE_FUND_VAULT, mut=True)
    spot_vault = Field("spotMarketVault", Kind.TOKEN, seeds=Seeds.SPOT_MARKET_VAULT, mut=True)
    # the vault-signing PDA: role `driftSigner` in every build, named after its seed
    # (`drift_signer`, Velocity's `velocity_signer`) in the struct and in Anchor's logs
    drift_signer = Field(
        "driftSigner",
        Kind.UNCHECKED,
        raw=Raw.DRIFT_SIGNER,
        name=profile.signer_seed.decode(),
    )
    user_token = Field(
        "userTokenAccount",
        Kind.TOKEN,
        mut=True,
        token_mint_of_if_vault=True,
        token_authority=True,
    )
    token_program = Field("tokenProgram", Kind.TOKEN_PROGRAM)
    stake_fields = _market_fields(mut_market=mut_market)
    add: tuple[Field, ...] = (
        state,
        *stake_fields,
        spot_vault,
        if_vault,
        drift_signer,
        user_token,
        token_program,
    )
    remove: tuple[Field, ...]
    if profile.unstake_structs_settle_first:
        # request/cancel/remove settle due revenue first: they move tokens from the spot
        # vault to the IF vault, signed by the PDA (cancel has its own struct in Velocity,
        # with the same fields as request); remove then takes exactly add's accounts
        request_like: tuple[Field, ...] = (
            state,
            *stake_fields,
            spot_vault,
            if_vault,
            drift_signer,
            token_program,
        )
        remove = add
    else:
        request_like = (*stake_fields, if_vault)
        remove = (state, *stake_fields, if_vault, drift_signer, user_token, token_program)
    if profile.quote_stake_update_requires_authority:
        quote_update: tuple[Field, ...] = (
            state,
            Field(
                "spotMarket",
                Kind.LOADER,
                "SpotMarket",
                seeds=Seeds.SPOT_MARKET,
                seeds_index=0,
                mut=mut_market,
            ),
            Field(
                "insuranceFundStake",
                Kind.LOADER,
                "InsuranceFundStake",
                mut=True,
                has_one_authority=True,
            ),
            Field("userStats", Kind.LOADER, "UserStats", mut=True, has_one_authority=True),
            # v2.84 names it `authority`; the IDL's (later) name is `signer`.
            Field("signer", Kind.SIGNER, name="authority"),
            Field(
                "insuranceFundVault",
                Kind.TOKEN,
                seeds=Seeds.INSURANCE_FUND_VAULT,
                seeds_index=0,
                mut=True,
            ),
        )
    else:
        quote_update = (
            state,
            Field(
                "spotMarket",
                Kind.LOADER,
                "SpotMarket",
                seeds=Seeds.SPOT_MARKET,
                seeds_index=0,
                mut=mut_market,
            ),
            Field(
                "insuranceFundStake",
                Kind.LOADER,
                "InsuranceFundStake",
                mut=True,
                raw=Raw.STATS_FOR_STAKE,
            ),
            Field("userStats", Kind.LOADER, "UserStats", mut=True),
            Field("signer", Kind.SIGNER),
            Field(
                "insuranceFundVault",
                Kind.TOKEN,
                seeds=Seeds.INSURANCE_FUND_VAULT,
                seeds_index=0,
                mut=True,
            ),
        )
    init_authority = (
        Field("authority", Kind.SIGNER)
        if profile.init_user_stats_authority_signs
        else Field("authority", Kind.UNCHECKED)
    )
    return {
        "initializeUserStats": (
            Field("userStats", Kind.LOADER, "UserStats", init=True, seeds=Seeds.USER_STATS),
            Field("state", state_kind, "State", mut=True),
            init_authority,
            Field("payer", Kind.SIGNER, mut=True),
            Field("rent", Kind.UNCHECKED),
            Field("systemProgram", Kind.SYSTEM_PROGRAM),
        ),
        "initializeInsuranceFundStake": (
            Field("spotMarket", Kind.LOADER, "SpotMarket", seeds=Seeds.SPOT_MARKET),
            Field(
                "insuranceFundStake",
                Kind.LOADER,
                "InsuranceFundStake",
                init=True,
                seeds=Seeds.INSURANCE_FUND_STAKE,
            ),
            Field("userStats", Kind.LOADER, "UserStats", mut=True, has_one_authority=True),
            state,
            Field("authority", Kind.SIGNER),
            Field("payer", Kind.SIGNER, mut=True),
            Field("rent", Kind.UNCHECKED),
            Field("systemProgram", Kind.SYSTEM_PROGRAM),
        ),
        "addInsuranceFundStake": add,
        "requestRemoveInsuranceFundStake": request_like,
        "cancelRequestRemoveInsuranceFundStake": request_like,
        "removeInsuranceFundStake": remove,
        "settleRevenueToInsuranceFund": (
            state,
            Field("spotMarket", Kind.LOADER, "SpotMarket", seeds=Seeds.SPOT_MARKET, mut=True),
            spot_vault,
            drift_signer,
            if_vault,
            token_program,
        ),
        "depositIntoSpotMarketRevenuePool": (
            state,
            Field("spotMarket", Kind.LOADER, "SpotMarket", mut=True),
            Field("authority", Kind.SIGNER, mut=True),
            Field(
                "spotMarketVault",
                Kind.TOKEN,
                seeds=Seeds.SPOT_MARKET_VAULT,
                seeds_index="loaded",
                mut=True,
            ),
            Field(
                "userTokenAccount",
                Kind.TOKEN,
                mut=True,
                raw=Raw.VAULT_MINT,
                token_authority=True,
            ),
            token_program,
        ),
        "updateUserQuoteAssetInsuranceStake": quote_update,
    }


def fields(instruction: str, profile: ProgramProfile) -> tuple[Field, ...]:
    return structs(profile).get(instruction, ())


def field_name(instruction: str, role: str, profile: ProgramProfile) -> str:
    """The Rust name of `instruction`'s field for IDL role `role` (as Anchor logs it)."""
    for f in fields(instruction, profile):
        if f.role == role:
            return f.field_name
    return snake_case(role)


def token_owners(profile: ProgramProfile) -> tuple[Pubkey, ...]:
    """Owners a token field accepts: SPL Token only before Token-2022 support."""
    return TOKEN_PROGRAM_IDS if profile.token_2022 else (SPL_TOKEN_PROGRAM_ID,)


def deserialize_error(
    f: Field,
    is_signer: bool,
    raw: RawAccount | None,
    program_id: Pubkey,
    profile: ProgramProfile,
) -> AnchorError | None:
    """The error Anchor's deserialization of field `f` raises for this account, if any.

    `raw` None means the account does not exist (no lamports, no data, System-owned).
    Data that passes the discriminator but does not decode is the caller's to report
    (AccountDidNotDeserialize 3003).
    """
    if f.kind is Kind.SIGNER:
        return None if is_signer else AnchorError.AccountNotSigner
    if f.init or f.kind is Kind.UNCHECKED:
        return None
    missing = raw is None or (raw.owner == SYSTEM_PROGRAM_ID and raw.lamports == 0)
    if f.kind is Kind.TOKEN_PROGRAM:
        ok = raw is not None and raw.address in token_owners(profile)
        return None if ok else AnchorError.InvalidProgramId
    if f.kind is Kind.SYSTEM_PROGRAM:
        ok = raw is not None and raw.address == SYSTEM_PROGRAM_ID
        return None if ok else AnchorError.InvalidProgramId
    if f.kind in (Kind.ACCOUNT, Kind.TOKEN) and missing:
        return AnchorError.AccountNotInitialized
    if raw is None:  # a LOADER over a missing account: its owner is the System program
        return AnchorError.AccountOwnedByWrongProgram
    if f.kind is Kind.TOKEN:
        return (
            None if raw.owner in token_owners(profile) else AnchorError.AccountOwnedByWrongProgram
        )
    if raw.owner != program_id:
        return AnchorError.AccountOwnedByWrongProgram
    assert f.account_type is not None
    if len(raw.data) < 8:
        return AnchorError.AccountDiscriminatorNotFound
    if raw.data[:8] != discriminator(f.account_type):
        return AnchorError.AccountDiscriminatorMismatch
    return None


def missing_error(f: Field) -> AnchorError | None:
    """What Anchor raises when field `f`'s account does not exist (None: no check)."""
    if f.kind in (Kind.ACCOUNT, Kind.TOKEN):
        return AnchorError.AccountNotInitialized
    if f.kind is Kind.LOADER and not f.init:
        return AnchorError.AccountOwnedByWrongProgram
    return None


def raise_foreign_token_accounts(
    instruction: str, token_program: Pubkey, profile: ProgramProfile
) -> None:
    """A market whose token accounts belong to a token program the build's token
    fields do not accept (Token-2022 before v2.87) fails at its first token field."""
    if token_program in token_owners(profile):
        return
    for f in fields(instruction, profile):
        if f.kind is Kind.TOKEN:
            raise AccountRejected(AnchorError.AccountOwnedByWrongProgram, f.role)


def raise_first_missing(
    instruction: str, present: Mapping[str, bool], profile: ProgramProfile
) -> None:
    """Fail as Anchor does on the first field (in struct order) whose account is absent
    (`present` maps the roles the caller checks to whether their account exists)."""
    for f in fields(instruction, profile):
        if f.role in present and not present[f.role]:
            code = missing_error(f)
            if code is not None:
                raise AccountRejected(code, f.role)
