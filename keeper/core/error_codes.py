"""Every error code the keeper names, in one place: Drift, Anchor and SPL Token.

Members are named exactly as the program's IDL (Drift), anchor-lang 0.29 (Anchor) and
the SPL Token `TokenError` enum name them, so `DriftError(code).name` is the name a
validator log shows. Forks keep Drift's numbering and append their own codes after it
(`APPENDED_AFTER_DRIFT`). The IDL stays the source of names and messages for display
(keeper.core.errors.ErrorTable); a test keeps these enums and the IDL in agreement.
"""

from __future__ import annotations

import enum


class DriftError(enum.IntEnum):
    """Drift program errors the IF instructions can raise (and the mirror predicts)."""

    InsufficientDeposit = 6002
    MathError = 6019
    ExchangePaused = 6024
    MaxDeposit = 6038
    CastingFailure = 6041
    UnableToLoadAccountLoader = 6065
    InvalidSpotMarketAccount = 6088
    SpotMarketInsufficientDeposits = 6092
    DefaultError = 6129
    TryingToRemoveLiquidityTooFast = 6133
    InvalidSpotMarketState = 6135
    InsufficientIFShares = 6145
    MarketWithdrawPaused = 6149
    SpotMarketVaultInvariantViolated = 6173
    RevenueSettingsCannotSettleToIF = 6176
    NoRevenueToSettleToIF = 6177
    InvalidIFUnstake = 6185
    InvalidIFUnstakeSize = 6186
    InvalidIFUnstakeCancel = 6187
    InvalidIFForNewStakes = 6188
    InvalidIFRebase = 6189
    InvalidInsuranceUnstakeSize = 6190
    InvalidIFDetected = 6192
    IFWithdrawRequestInProgress = 6198
    NoIFWithdrawRequestInProgress = 6199
    IFWithdrawRequestTooSmall = 6200
    IncorrectSpotMarketAccountPassed = 6201
    InvalidIFSharesDetected = 6203
    InsuranceFundOperationPaused = 6258
    NonZeroTransferFee = 6282
    # Appended by Velocity's error.rs after Drift's last variant (see APPENDED_AFTER_DRIFT).
    IFDepositMintsZeroShares = 6360
    InvalidAccountExtension = 6367


#: Codes a fork appended after Drift's last IDL error: Drift's IDL does not define them,
#: each build that raises them does (a test checks them against that build's IDL).
APPENDED_AFTER_DRIFT: frozenset[DriftError] = frozenset(
    {DriftError.IFDepositMintsZeroShares, DriftError.InvalidAccountExtension}
)


class AnchorError(enum.IntEnum):
    """Anchor framework errors (anchor-lang 0.29) that IF instructions can hit."""

    InstructionMissing = 100
    InstructionFallbackNotFound = 101
    InstructionDidNotDeserialize = 102
    ConstraintMut = 2000
    ConstraintHasOne = 2001
    ConstraintSigner = 2002
    ConstraintRaw = 2003
    ConstraintSeeds = 2006
    ConstraintAddress = 2012
    ConstraintTokenMint = 2014
    ConstraintTokenOwner = 2015
    AccountDiscriminatorNotFound = 3001
    AccountDiscriminatorMismatch = 3002
    AccountDidNotDeserialize = 3003
    AccountNotEnoughKeys = 3005
    AccountNotMutable = 3006
    AccountOwnedByWrongProgram = 3007
    InvalidProgramId = 3008
    AccountNotSigner = 3010
    AccountNotInitialized = 3012


class SplTokenError(enum.IntEnum):
    """SPL Token program errors (its `TokenError` variants), reported as `SplToken.<Name>`."""

    NotRentExempt = 0
    InsufficientFunds = 1
    InvalidMint = 2
    MintMismatch = 3
    OwnerMismatch = 4
    FixedSupply = 5
    AlreadyInUse = 6
    InvalidNumberOfProvidedSigners = 7
    InvalidNumberOfRequiredSigners = 8
    UninitializedState = 9
    NativeNotSupported = 10
    NonNativeHasBalance = 11
    InvalidInstruction = 12
    InvalidState = 13
    Overflow = 14
    AuthorityTypeNotSupported = 15
    MintCannotFreeze = 16
    AccountFrozen = 17
    MintDecimalsMismatch = 18
    NonNativeNotSupported = 19


def is_account_error(code: int) -> bool:
    """Anchor's constraint/account range (2000–3999): its log line names the account."""
    return AnchorError.ConstraintMut <= code < 4000
