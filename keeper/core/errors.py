"""Typed errors, and the one place that turns a program error code into a sentence.

Every error a staker or operator can see is an exception from this module with a
message that says what happened and what to do, never a bare traceback or code.
"""

from __future__ import annotations

from dataclasses import dataclass

from keeper.core.error_codes import AnchorError, DriftError, SplTokenError


class KeeperError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(KeeperError):
    """A config file, profile, CLI argument or keypair file is unusable."""


class DecodeError(KeeperError):
    """Account data is not what it claims to be (owner, discriminator, size, layout)."""


class AccountNotExtended(DecodeError):
    """A zero-copy account is shorter than the program's struct: it predates an upgrade
    that grew the struct, and the program cannot load it until it is extended."""


class RpcError(KeeperError):
    """The cluster answered with an error or with something we cannot trust."""


class RpcCallFailed(RpcError):
    """One RPC call failed: the message names the method, the endpoint and the cause.

    `endpoint` must already be redacted (the transport that raises this knows the URL
    and redacts it); the core cannot, and must never print a provider's API key.
    """

    advice = ""

    def __init__(self, method: str, endpoint: str, cause: str) -> None:
        self.method = method
        self.endpoint = endpoint
        self.cause = cause
        text = f"{method} to {endpoint} failed: {cause}"
        super().__init__(f"{text}; {self.advice}" if self.advice else text)


class RpcUnreachable(RpcCallFailed):
    """No usable answer arrived: connection refused, DNS, TLS, timeout, HTTP error status.

    `maybe_delivered` is true when the request may have reached the node before the
    answer was lost (a timeout, a 5xx from a proxy in front of it): a transaction sent
    so may still land, so its signature must be checked before calling it failed.
    """

    advice = "check the URL and the network, or try another RPC provider"

    def __init__(
        self, method: str, endpoint: str, cause: str, *, maybe_delivered: bool = False
    ) -> None:
        self.maybe_delivered = maybe_delivered
        super().__init__(method, endpoint, cause)


class RpcRejected(RpcCallFailed):
    """The node answered the call with a JSON-RPC error.

    `answer` is the node's whole (redacted) answer, for callers that recognise
    particular refusals (a re-sent transaction that already landed).
    """

    def __init__(self, method: str, endpoint: str, cause: str, answer: str = "") -> None:
        self.answer = answer or cause
        super().__init__(method, endpoint, cause)


class RpcBadAnswer(RpcCallFailed):
    """The node answered with something that does not parse or cannot be true."""

    advice = "the provider may be faulty or not a Solana RPC node; try another one"


class VerificationError(KeeperError):
    """Accounts read from the cluster break an invariant; nothing was sent."""


@dataclass(frozen=True)
class ProgramErrorInfo:
    code: int
    name: str
    message: str
    explanation: str = ""

    def describe(self) -> str:
        # Many Drift errors' messages are their own names: say the name once.
        if self.message.rstrip(".").replace(" ", "") == self.name:
            text = f"{self.name} ({self.code})"
        else:
            text = f"{self.name} ({self.code}): {self.message}"
        return f"{text}. {self.explanation}" if self.explanation else text


class ProgramError(KeeperError):
    """The program rejected (or would reject) an instruction with a known code."""

    def __init__(self, info: ProgramErrorInfo, detail: str = "") -> None:
        self.info = info
        self.detail = detail
        msg = info.describe()
        super().__init__(f"{msg} [{detail}]" if detail else msg)

    @property
    def code(self) -> int:
        return self.info.code

    @property
    def name(self) -> str:
        return self.info.name


# Messages of the framework errors (names are the enums' own, keeper.core.error_codes).
ANCHOR_MESSAGES: dict[AnchorError, str] = {
    AnchorError.InstructionMissing: "8 byte instruction identifier not provided",
    AnchorError.InstructionFallbackNotFound: "Fallback functions are not supported",
    AnchorError.InstructionDidNotDeserialize: (
        "The program could not deserialize the given instruction"
    ),
    AnchorError.ConstraintMut: "A mut constraint was violated",
    AnchorError.ConstraintHasOne: "A has one constraint was violated",
    AnchorError.ConstraintSigner: "A signer constraint was violated",
    AnchorError.ConstraintRaw: "A raw constraint was violated",
    AnchorError.ConstraintSeeds: "A seeds constraint was violated",
    AnchorError.ConstraintAddress: "An address constraint was violated",
    AnchorError.ConstraintTokenMint: "A token mint constraint was violated",
    AnchorError.ConstraintTokenOwner: "A token owner constraint was violated",
    AnchorError.AccountDiscriminatorNotFound: "No 8 byte discriminator was found on the account",
    AnchorError.AccountDiscriminatorMismatch: "8 byte discriminator did not match what was expected",
    AnchorError.AccountDidNotDeserialize: "Failed to deserialize the account",
    AnchorError.AccountNotEnoughKeys: "Not enough account keys given to the instruction",
    AnchorError.AccountNotMutable: "The given account is not mutable",
    AnchorError.AccountOwnedByWrongProgram: (
        "The given account is owned by a different program than expected"
    ),
    AnchorError.InvalidProgramId: "Program ID was not as expected",
    AnchorError.AccountNotSigner: "The given account did not sign",
    AnchorError.AccountNotInitialized: "The program expected this account to be already initialized",
}

# SPL Token program errors (TokenError variants), reported as `SplToken.<Variant>`.
SPL_TOKEN_MESSAGES: dict[SplTokenError, str] = {
    SplTokenError.NotRentExempt: "Lamport balance below rent-exempt threshold",
    SplTokenError.InsufficientFunds: "Insufficient funds",
    SplTokenError.InvalidMint: "Invalid Mint",
    SplTokenError.MintMismatch: "Account not associated with this Mint",
    SplTokenError.OwnerMismatch: "Owner does not match",
    SplTokenError.FixedSupply: "Fixed supply",
    SplTokenError.AlreadyInUse: "Already in use",
    SplTokenError.InvalidNumberOfProvidedSigners: "Invalid number of provided signers",
    SplTokenError.InvalidNumberOfRequiredSigners: "Invalid number of required signers",
    SplTokenError.UninitializedState: "State is unititialized",
    SplTokenError.NativeNotSupported: "Instruction does not support native tokens",
    SplTokenError.NonNativeHasBalance: "Non-native account can only be closed if its balance is zero",
    SplTokenError.InvalidInstruction: "Invalid instruction",
    SplTokenError.InvalidState: "State is invalid for requested operation",
    SplTokenError.Overflow: "Operation overflowed",
    SplTokenError.AuthorityTypeNotSupported: "Account does not support specified authority type",
    SplTokenError.MintCannotFreeze: "This token mint cannot freeze accounts",
    SplTokenError.AccountFrozen: "Account is frozen",
    SplTokenError.MintDecimalsMismatch: "The provided decimals value different from the Mint decimals",
    SplTokenError.NonNativeNotSupported: "Instruction does not support non-native tokens",
}

# What an IF error means for a staker, and what to do about it (keyed by the enums).
EXPLANATIONS: dict[int, str] = {
    AnchorError.InstructionFallbackNotFound: (
        "The program at this id does not dispatch this instruction. Drift v2 commented out "
        "every instruction in v2.162 (April 2026); use the profile of a live deployment "
        "(a fork's program id) or a build that still serves the Insurance Fund."
    ),
    AnchorError.AccountNotMutable: "An account the program writes was passed read-only.",
    AnchorError.AccountNotSigner: "A required signature is missing.",
    DriftError.InsufficientDeposit: "The amount must be greater than zero.",
    DriftError.ExchangePaused: "The exchange has paused withdrawals; settles and unstakes are blocked until it resumes.",
    DriftError.UnableToLoadAccountLoader: "An account was passed with the wrong permissions (the spot market must be writable).",
    DriftError.InvalidSpotMarketAccount: "The spot market account does not match the market index.",
    DriftError.SpotMarketInsufficientDeposits: (
        "The market's utilization (current or 24h TWAP) is above the unstake limit; "
        "withdrawals reopen when borrowers repay or deposits grow."
    ),
    DriftError.TryingToRemoveLiquidityTooFast: "The unstaking cooldown has not passed yet; wait until the request matures.",
    DriftError.InvalidSpotMarketState: "The spot market is not active yet.",
    DriftError.InsufficientIFShares: "The stake does not hold enough shares for this amount.",
    DriftError.SpotMarketVaultInvariantViolated: "The spot market vault does not hold what its balances say; the market is inconsistent.",
    DriftError.RevenueSettingsCannotSettleToIF: "It is too early to settle revenue again (settles happen once per settle period).",
    DriftError.NoRevenueToSettleToIF: "The revenue pool holds nothing that can be settled right now.",
    DriftError.InvalidIFUnstake: "There is no pending unstake request to withdraw.",
    DriftError.MarketWithdrawPaused: (
        "The admin has paused withdrawals on this spot market, which also stops revenue "
        "settles into its insurance fund; settle again once the pause lifts."
    ),
    DriftError.InvalidIFUnstakeSize: (
        "The unstake is larger than the insurance fund vault can pay: either the request "
        "exceeds the vault, or booked revenue is still held back in the spot vault by a "
        "withdraw pause and the vault's cash is short; withdraw again once the pause lifts."
    ),
    DriftError.InvalidIFUnstakeCancel: "The pending request was reduced to zero shares by a rebase and cannot be cancelled.",
    DriftError.InvalidIFForNewStakes: "The insurance fund vault is empty but has shares outstanding; new stakes are refused.",
    DriftError.InvalidIFRebase: (
        "The stake was not rebased after a large loss; a small add (1 base unit) rebases it."
    ),
    DriftError.InvalidInsuranceUnstakeSize: "The requested shares exceed the stake.",
    DriftError.InvalidIFDetected: "The withdrawal would empty the insurance fund vault.",
    DriftError.IFWithdrawRequestInProgress: "An unstake request is already pending; cancel it or wait for it to mature and withdraw.",
    DriftError.NoIFWithdrawRequestInProgress: "There is no pending unstake request to cancel.",
    DriftError.IFWithdrawRequestTooSmall: "The amount is worth less than one IF share; request a larger amount.",
    DriftError.IncorrectSpotMarketAccountPassed: "The stake account belongs to another spot market.",
    DriftError.InvalidIFSharesDetected: "The insurance fund has shares but an empty vault.",
    DriftError.InsuranceFundOperationPaused: "The admin has paused this insurance fund operation for the market.",
    DriftError.IFDepositMintsZeroShares: (
        "The amount is worth less than one insurance fund share, so it would buy nothing; "
        "stake a larger amount (at least the price of one share)."
    ),
    DriftError.InvalidAccountExtension: (
        "The account cannot be extended (it is too short or of a kind the program does not grow)."
    ),
    DriftError.NonZeroTransferFee: "The token has a transfer fee, which the insurance fund does not accept.",
}


class ErrorTable:
    """Code → name/message/explanation, from the IDL's error list plus framework tables."""

    def __init__(self, program_errors: dict[int, tuple[str, str]]) -> None:
        self._program = dict(program_errors)

    def lookup(self, code: int) -> ProgramErrorInfo:
        if code in self._program:
            name, msg = self._program[code]
            return ProgramErrorInfo(code, name, msg, EXPLANATIONS.get(code, ""))
        if code in ANCHOR_MESSAGES:
            anchor = AnchorError(code)
            return ProgramErrorInfo(
                code, anchor.name, ANCHOR_MESSAGES[anchor], EXPLANATIONS.get(code, "")
            )
        return ProgramErrorInfo(code, f"Unknown({code})", "unknown program error code")

    def spl_token(self, code: int) -> ProgramErrorInfo:
        if code in SPL_TOKEN_MESSAGES:
            token = SplTokenError(code)
            return ProgramErrorInfo(code, f"SplToken.{token.name}", SPL_TOKEN_MESSAGES[token])
        return ProgramErrorInfo(code, f"SplToken.Unknown({code})", "unknown token error")

    def error(self, code: int, detail: str = "") -> ProgramError:
        return ProgramError(self.lookup(code), detail)

    def by_name(self, name: str) -> ProgramErrorInfo:
        for code, (n, _msg) in self._program.items():
            if n == name:
                return self.lookup(code)
        raise KeyError(name)
