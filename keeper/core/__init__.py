"""The pure core: account views, profiles, IF share math, checks, predictions, decisions.

Stdlib and solders value types only (a test keeps it so). `__all__` is the surface
the localnet and other integrators may import; everything else is internal.
"""

from __future__ import annotations

from keeper.core import error_sites
from keeper.core.account_structs import (
    AccountRejected,
    Kind,
    deserialize_error,
    field_name,
    fields,
)
from keeper.core.addresses import DriftAddresses, associated_token_address
from keeper.core.constraints import Meta, check_accounts, check_constraints, check_init_seeds
from keeper.core.effects import (
    ACCOUNT_ROLES,
    TOKEN_ROLES,
    Effect,
    IfAccounts,
    TokenMove,
    predict,
    predict_initialize_user_stats,
)
from keeper.core.error_codes import AnchorError, DriftError, SplTokenError, is_account_error
from keeper.core.errors import ConfigError, DecodeError
from keeper.core.fmt import format_duration, snake_case
from keeper.core.ifmath import IF_FACTOR_PRECISION, SPOT_RATE_PRECISION, Rejected, TokenRejected
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84, Capability, ProgramProfile, get_profile
from keeper.core.programs import (
    ADDRESS_LOOKUP_TABLE_PROGRAM_ID,
    ASSOCIATED_TOKEN_PROGRAM_ID,
    COMPUTE_BUDGET_PROGRAM_ID,
    MICRO_LAMPORTS_PER_LAMPORT,
    SPL_TOKEN_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
)
from keeper.core.spl_token import (
    decode_mint,
    decode_token_account,
    encode_mint,
    encode_token_account,
)
from keeper.core.views import (
    INSURANCE_FUND_STAKE_SIZE,
    USER_STATS_SIZE,
    DriftView,
    Mint,
    RawAccount,
    State,
    TokenAccount,
)

__all__ = [
    "ACCOUNT_ROLES",
    "ADDRESS_LOOKUP_TABLE_PROGRAM_ID",
    "ASSOCIATED_TOKEN_PROGRAM_ID",
    "COMPUTE_BUDGET_PROGRAM_ID",
    "DRIFT_MAINNET",
    "DRIFT_V2_84",
    "IF_FACTOR_PRECISION",
    "INSURANCE_FUND_STAKE_SIZE",
    "MICRO_LAMPORTS_PER_LAMPORT",
    "SPL_TOKEN_PROGRAM_ID",
    "SPOT_RATE_PRECISION",
    "SYSTEM_PROGRAM_ID",
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_ROLES",
    "USER_STATS_SIZE",
    "AccountRejected",
    "AnchorError",
    "Capability",
    "ConfigError",
    "DecodeError",
    "DriftAddresses",
    "DriftError",
    "DriftView",
    "Effect",
    "IfAccounts",
    "Kind",
    "Meta",
    "Mint",
    "ProgramProfile",
    "RawAccount",
    "Rejected",
    "SplTokenError",
    "State",
    "TokenAccount",
    "TokenMove",
    "TokenRejected",
    "associated_token_address",
    "check_accounts",
    "check_constraints",
    "check_init_seeds",
    "decode_mint",
    "decode_token_account",
    "deserialize_error",
    "encode_mint",
    "encode_token_account",
    "error_sites",
    "field_name",
    "fields",
    "format_duration",
    "get_profile",
    "is_account_error",
    "predict",
    "predict_initialize_user_stats",
    "snake_case",
]
