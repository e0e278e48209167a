"""Typed errors, and the one place that turns a program error code into a sentence.

Every error a staker or operator can see is an exception from this module with a
message that says what happened and what to do, never a bare traceback or code.
"""

from __future__ import annotations

from dataclasses import dataclass


class KeeperError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(KeeperError):
    """A config file, profile, CLI argument or keypair file is unusable."""


class DecodeError(KeeperError):
    """Account data is not what it claims to be (owner, discriminator, size, layout)."""


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
    """No usable answer arrived: connection refused, DNS, TLS, timeout, HTTP error status."""

    advice = "check the URL and the network, or try another RPC provider"


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


# Anchor framework errors (anchor-lang 0.29) that IF instructions can hit.
ANCHOR_ERRORS: dict[int, tuple[str, str]] = {
    100: ("InstructionMissing", "8 byte instruction identifier not provided"),
    101: ("InstructionFallbackNotFound", "Fallback functions are not supported"),
    102: (
        "InstructionDidNotDeserialize",
        "The program could not deserialize the given instruction",
    ),
    2000: ("ConstraintMut", "A mut constraint was violated"),
    2001: ("ConstraintHasOne", "A has one constraint was violated"),
    2002: ("ConstraintSigner", "A signer constraint was violated"),
    2003: ("ConstraintRaw", "A raw constraint was violated"),
    2006: ("ConstraintSeeds", "A seeds constraint was violated"),
    2012: ("ConstraintAddress", "An address constraint was violated"),
    2014: ("ConstraintTokenMint", "A token mint constraint was violated"),
    2015: ("ConstraintTokenOwner", "A token owner constraint was violated"),
    3001: ("AccountDiscriminatorNotFound", "No 8 byte discriminator was found on the account"),
    3002: ("AccountDiscriminatorMismatch", "8 byte discriminator did not match what was expected"),
    3003: ("AccountDidNotDeserialize", "Failed to deserialize the account"),
    3006: ("AccountNotMutable", "The given account is not mutable"),
    3007: (
        "AccountOwnedByWrongProgram",
        "The given account is owned by a different program than expected",
    ),
    3008: ("InvalidProgramId", "Program ID was not as expected"),
    3010: ("AccountNotSigner", "The given account did not sign"),
    3012: ("AccountNotInitialized", "The program expected this account to be already initialized"),
}

# SPL Token program errors (TokenError variants), reported as `SplToken.<Variant>`.
SPL_TOKEN_ERRORS: dict[int, tuple[str, str]] = {
    0: ("NotRentExempt", "Lamport balance below rent-exempt threshold"),
    1: ("InsufficientFunds", "Insufficient funds"),
    2: ("InvalidMint", "Invalid Mint"),
    3: ("MintMismatch", "Account not associated with this Mint"),
    4: ("OwnerMismatch", "Owner does not match"),
    5: ("FixedSupply", "Fixed supply"),
    6: ("AlreadyInUse", "Already in use"),
    7: ("InvalidNumberOfProvidedSigners", "Invalid number of provided signers"),
    8: ("InvalidNumberOfRequiredSigners", "Invalid number of required signers"),
    9: ("UninitializedState", "State is unititialized"),
    10: ("NativeNotSupported", "Instruction does not support native tokens"),
    11: ("NonNativeHasBalance", "Non-native account can only be closed if its balance is zero"),
    12: ("InvalidInstruction", "Invalid instruction"),
    13: ("InvalidState", "State is invalid for requested operation"),
    14: ("Overflow", "Operation overflowed"),
    15: ("AuthorityTypeNotSupported", "Account does not support specified authority type"),
    16: ("MintCannotFreeze", "This token mint cannot freeze accounts"),
    17: ("AccountFrozen", "Account is frozen"),
    18: ("MintDecimalsMismatch", "The provided decimals value different from the Mint decimals"),
    19: ("NonNativeNotSupported", "Instruction does not support non-native tokens"),
}

# What an IF error means for a staker, and what to do about it.
EXPLANATIONS: dict[int, str] = {
    101: (
        "The program at this id does not dispatch this instruction. Drift v2 commented out "
        "every instruction in v2.162 (April 2026); use the profile of a live deployment "
        "(a fork's program id) or a build that still serves the Insurance Fund."
    ),
    3006: "An account the program writes was passed read-only.",
    3010: "A required signature is missing.",
    6002: "The amount must be greater than zero.",
    6024: "The exchange has paused withdrawals; settles and unstakes are blocked until it resumes.",
    6065: "An account was passed with the wrong permissions (the spot market must be writable).",
    6088: "The spot market account does not match the market index.",
    6092: (
        "The market's utilization (current or 24h TWAP) is above the unstake limit; "
        "withdrawals reopen when borrowers repay or deposits grow."
    ),
    6133: "The unstaking cooldown has not passed yet; wait until the request matures.",
    6135: "The spot market is not active yet.",
    6145: "The stake does not hold enough shares for this amount.",
    6173: "The spot market vault does not hold what its balances say; the market is inconsistent.",
    6176: "It is too early to settle revenue again (settles happen once per settle period).",
    6177: "The revenue pool holds nothing that can be settled right now.",
    6185: "There is no pending unstake request to withdraw.",
    6186: "The unstake request is larger than the vault allows.",
    6187: "The pending request was reduced to zero shares by a rebase and cannot be cancelled.",
    6188: "The insurance fund vault is empty but has shares outstanding; new stakes are refused.",
    6189: ("The stake was not rebased after a large loss; a small add (1 base unit) rebases it."),
    6190: "The requested shares exceed the stake.",
    6192: "The withdrawal would empty the insurance fund vault.",
    6198: "An unstake request is already pending; cancel it or wait for it to mature and withdraw.",
    6199: "There is no pending unstake request to cancel.",
    6200: "The amount is worth less than one IF share; request a larger amount.",
    6201: "The stake account belongs to another spot market.",
    6203: "The insurance fund has shares but an empty vault.",
    6258: "The admin has paused this insurance fund operation for the market.",
    6282: "The token has a transfer fee, which the insurance fund does not accept.",
}


class ErrorTable:
    """Code → name/message/explanation, from the IDL's error list plus framework tables."""

    def __init__(self, program_errors: dict[int, tuple[str, str]]) -> None:
        self._program = dict(program_errors)

    def lookup(self, code: int) -> ProgramErrorInfo:
        if code in self._program:
            name, msg = self._program[code]
            return ProgramErrorInfo(code, name, msg, EXPLANATIONS.get(code, ""))
        if code in ANCHOR_ERRORS:
            name, msg = ANCHOR_ERRORS[code]
            return ProgramErrorInfo(code, name, msg, EXPLANATIONS.get(code, ""))
        return ProgramErrorInfo(code, f"Unknown({code})", "unknown program error code")

    def spl_token(self, code: int) -> ProgramErrorInfo:
        name, msg = SPL_TOKEN_ERRORS.get(code, (f"Unknown({code})", "unknown token error"))
        return ProgramErrorInfo(code, f"SplToken.{name}", msg)

    def error(self, code: int, detail: str = "") -> ProgramError:
        return ProgramError(self.lookup(code), detail)

    def by_name(self, name: str) -> ProgramErrorInfo:
        for code, (n, _msg) in self._program.items():
            if n == name:
                return self.lookup(code)
        raise KeyError(name)
