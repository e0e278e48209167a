"""Every error each IF instruction can raise, in the order the program checks them.

One table per program build (the profile's `source_tag`), read from
drift-labs/protocol-v2 at v2.84.0 and v2.161.0: Anchor's account checks (generated
from keeper.core.account_structs, so they follow the struct field order), then the
handler's checks with the source site each `validate!`/`load_mut!` logs as
`Error <message> thrown at <file>:<line>`. The localnet model writes those lines;
the error explanations say where a rejection comes from; a test provokes every
reachable entry over RPC, and each unreachable entry says why no input reaches it.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from keeper.core.account_structs import Kind, fields, structs
from keeper.core.error_codes import AnchorError, DriftError, SplTokenError
from keeper.core.profile import ProgramProfile


class Form(enum.Enum):
    """How the program reports the error (what its log shows)."""

    #: `validate!` / `load_mut!`: "Error <message> thrown at <site>", then its msg! line
    VALIDATE = "validate"
    #: `return Err(...)`: only Anchor's "AnchorError occurred" line
    PLAIN = "plain"
    #: checked arithmetic: "Math error thrown at <call site>" / "Casting error thrown at"
    ARITHMETIC = "arithmetic"
    #: Anchor's account checks: "AnchorError caused by account: <field>"
    ANCHOR = "anchor"
    #: an error of the SPL Token / System program the instruction invokes
    CPI = "cpi"


@dataclass(frozen=True)
class ErrorSite:
    """One place an instruction can fail."""

    code: int
    form: Form
    #: the key of the source site in `_LINES` (validate!/load_mut!/return Err sites)
    where: str | None = None
    #: distinguishes sites of the same code in one instruction (Rejected.site)
    key: str | None = None
    #: the struct field an Anchor error names
    account: str | None = None
    #: the fixed msg! line the program logs after the site line
    msg: str | None = None
    #: why no input (on a real cluster or through the localnet's cheatcodes) reaches it
    unreachable: str | None = None
    #: reachable only with account data no program instruction writes (cheatcodes)
    cheat_only: bool = False


_LINES: dict[str, dict[str, str]] = {
    "v2.84.0": {
        "init.pause": "instructions/if_staker.rs:35",
        "add.zero": "instructions/if_staker.rs:50",
        "add.load.stake": "instructions/if_staker.rs:55",
        "add.load.stats": "instructions/if_staker.rs:56",
        "add.load.market": "instructions/if_staker.rs:57",
        "add.pause": "instructions/if_staker.rs:60",
        "add.index": "instructions/if_staker.rs:66",
        "add.status": "instructions/if_staker.rs:72",
        "add.pending": "instructions/if_staker.rs:79",
        "req.load.stake": "instructions/if_staker.rs:132",
        "req.load.stats": "instructions/if_staker.rs:133",
        "req.load.market": "instructions/if_staker.rs:134",
        "req.pause": "instructions/if_staker.rs:136",
        "req.index": "instructions/if_staker.rs:142",
        "req.pending": "instructions/if_staker.rs:148",
        "req.small": "instructions/if_staker.rs:160",
        "req.shares": "instructions/if_staker.rs:167",
        "can.load.stake": "instructions/if_staker.rs:187",
        "can.load.stats": "instructions/if_staker.rs:188",
        "can.load.market": "instructions/if_staker.rs:189",
        "can.index": "instructions/if_staker.rs:191",
        "can.none": "instructions/if_staker.rs:197",
        "rem.load.stake": "instructions/if_staker.rs:223",
        "rem.load.stats": "instructions/if_staker.rs:224",
        "rem.load.market": "instructions/if_staker.rs:225",
        "rem.pause": "instructions/if_staker.rs:228",
        "rem.index": "instructions/if_staker.rs:234",
        "rem.util": "instructions/if_staker.rs:241",
        "rem.empty": "instructions/if_staker.rs:265",
        "c.add.new": "controller/insurance.rs:46",
        "c.rebase": "controller/insurance.rs:148",
        "c.req.size": "controller/insurance.rs:203",
        "c.req.base": "controller/insurance.rs:212",
        "c.req.value": "controller/insurance.rs:225",
        "c.can.base": "controller/insurance.rs:276",
        "c.can.zero": "controller/insurance.rs:282",
        "c.rem.fast": "controller/insurance.rs:345",
        "c.rem.none": "controller/insurance.rs:359",
        "c.rem.shares": "controller/insurance.rs:365",
        "c.set.factor": "controller/insurance.rs:639",
        "c.set.none": "controller/insurance.rs:682",
        "m.to_shares": "math/insurance.rs:31",
        "m.to_amount": "math/insurance.rs:48",
        "m.lost": "math/insurance.rs:105",
        "s.base": "state/insurance_fund_stake.rs:53",
        "w.revenue": "math/spot_withdraw.rs:283",
        "w.vault": "math/spot_withdraw.rs:302",
        "k.set.load": "instructions/keeper.rs:1432",
        "k.set.index": "instructions/keeper.rs:1434",
        "k.set.period": "instructions/keeper.rs:1440",
        "k.set.wait": "instructions/keeper.rs:1458",
        "k.q.load.stake": "instructions/keeper.rs:1568",
        "k.q.load.stats": "instructions/keeper.rs:1569",
        "k.q.load.market": "instructions/keeper.rs:1570",
        "k.q.index": "instructions/keeper.rs:1572",
        "u.dep.zero": "instructions/user.rs:1980",
        "u.dep.load": "instructions/user.rs:1983",
        "u.dep.settle": "instructions/user.rs:1985",
        "sm.maxdep": "state/spot_market.rs:429",
        "sm.util": "state/spot_market.rs:480",
        "ac.withdraw": "instructions/constraints.rs:117",
        "ac.deposit": "instructions/constraints.rs:107",
        "init.load": "instructions/if_staker.rs:26",
    },
    "v2.161.0": {
        "init.pause": "instructions/if_staker.rs:50",
        "add.zero": "instructions/if_staker.rs:65",
        "add.load.stake": "instructions/if_staker.rs:70",
        "add.load.stats": "instructions/if_staker.rs:71",
        "add.load.market": "instructions/if_staker.rs:72",
        "add.pause": "instructions/if_staker.rs:78",
        "add.index": "instructions/if_staker.rs:84",
        "add.status": "instructions/if_staker.rs:90",
        "add.pending": "instructions/if_staker.rs:97",
        "req.load.stake": "instructions/if_staker.rs:173",
        "req.load.stats": "instructions/if_staker.rs:174",
        "req.load.market": "instructions/if_staker.rs:175",
        "req.pause": "instructions/if_staker.rs:177",
        "req.index": "instructions/if_staker.rs:183",
        "req.pending": "instructions/if_staker.rs:189",
        "req.small": "instructions/if_staker.rs:201",
        "req.shares": "instructions/if_staker.rs:208",
        "can.load.stake": "instructions/if_staker.rs:228",
        "can.load.stats": "instructions/if_staker.rs:229",
        "can.load.market": "instructions/if_staker.rs:230",
        "can.index": "instructions/if_staker.rs:232",
        "can.none": "instructions/if_staker.rs:238",
        "rem.load.stake": "instructions/if_staker.rs:264",
        "rem.load.stats": "instructions/if_staker.rs:265",
        "rem.load.market": "instructions/if_staker.rs:266",
        "rem.pause": "instructions/if_staker.rs:272",
        "rem.index": "instructions/if_staker.rs:278",
        "rem.util": "instructions/if_staker.rs:285",
        "rem.empty": "instructions/if_staker.rs:315",
        "c.add.new": "controller/insurance.rs:117",
        "c.rebase": "controller/insurance.rs:224",
        "c.req.size": "controller/insurance.rs:279",
        "c.req.base": "controller/insurance.rs:288",
        "c.req.value": "controller/insurance.rs:301",
        "c.can.base": "controller/insurance.rs:353",
        "c.can.zero": "controller/insurance.rs:359",
        "c.rem.fast": "controller/insurance.rs:423",
        "c.rem.none": "controller/insurance.rs:437",
        "c.rem.shares": "controller/insurance.rs:443",
        "c.set.factor": "controller/insurance.rs:728",
        "c.set.none": "controller/insurance.rs:778",
        "m.to_shares": "math/insurance.rs:32",
        "m.to_amount": "math/insurance.rs:49",
        "m.lost": "math/insurance.rs:106",
        "s.base": "state/insurance_fund_stake.rs:54",
        "w.revenue": "math/spot_withdraw.rs:334",
        "w.vault": "math/spot_withdraw.rs:353",
        "k.set.load": "instructions/keeper.rs:2786",
        "k.set.index": "instructions/keeper.rs:2791",
        "k.set.period": "instructions/keeper.rs:2797",
        "k.set.wait": "instructions/keeper.rs:2815",
        "k.q.load.stake": "instructions/keeper.rs:2979",
        "k.q.load.stats": "instructions/keeper.rs:2980",
        "k.q.load.market": "instructions/keeper.rs:2981",
        "k.q.index": "instructions/keeper.rs:2983",
        "u.dep.zero": "instructions/user.rs:3678",
        "u.dep.load": "instructions/user.rs:3681",
        "u.dep.settle": "instructions/user.rs:3687",
        "sm.maxdep": "state/spot_market.rs:472",
        "sm.util": "state/spot_market.rs:524",
        "ac.withdraw": "instructions/constraints.rs:129",
        "ac.deposit": "instructions/constraints.rs:119",
        "init.load": "instructions/if_staker.rs:41",
    },
}

_MUT_STRUCT = "the struct declares the account `mut`: Anchor's ConstraintMut (2000) fires first"
_SEEDS_ARG = "the spot market's seeds use the same index: an account at that PDA is that market"
_AFTER_REBASE = "the instruction rebased the stake to the market's base just before"
_BOUNDED = "the shares are bounded by the totals the proportion divides by"
_AFTER_NEW_STAKES = "InvalidIFForNewStakes (6188) refuses an empty vault with shares first"
_STAKE_AHEAD = (
    "a stake's base never exceeds its market's (both only grow, the stake's to the market's)"
)


def _load(prefix: str, mut_market: bool, stake_loads: bool = True) -> tuple[ErrorSite, ...]:
    out = []
    for role, part in (
        ("insuranceFundStake", "stake"),
        ("userStats", "stats"),
        ("spotMarket", "market"),
    ):
        if part != "market" and not stake_loads:
            continue
        mut = part != "market" or mut_market
        out.append(
            ErrorSite(
                DriftError.UnableToLoadAccountLoader,
                Form.VALIDATE,
                f"{prefix}.load.{part}",
                key=f"load_mut:{role}",
                unreachable=_MUT_STRUCT if mut else None,
            )
        )
    return tuple(out)


def _math(what: str) -> ErrorSite:
    return ErrorSite(DriftError.MathError, Form.ARITHMETIC, key=what)


def _cast(what: str) -> ErrorSite:
    return ErrorSite(DriftError.CastingFailure, Form.ARITHMETIC, key=what)


_SPOT_BALANCES = (
    ErrorSite(
        DriftError.SpotMarketVaultInvariantViolated,
        Form.VALIDATE,
        "w.revenue",
        key="revenue",
        cheat_only=True,
    ),
)
_VAULT_CHECK = (
    *_SPOT_BALANCES,
    ErrorSite(DriftError.SpotMarketVaultInvariantViolated, Form.VALIDATE, "w.vault", key="vault"),
)
_TOKEN_IN = (
    ErrorSite(SplTokenError.InsufficientFunds, Form.CPI),
    ErrorSite(
        SplTokenError.Overflow,
        Form.CPI,
        cheat_only=True,
        unreachable=None,
    ),
)
_SETTLE_ALGORITHM = (
    _math("interest"),
    ErrorSite(
        DriftError.RevenueSettingsCannotSettleToIF,
        Form.VALIDATE,
        "c.set.factor",
        key="factor",
        cheat_only=True,
    ),
    *_VAULT_CHECK,
)
#: the protocol's cut of a settle: `if_amount * protocol_factor` (u64), then its shares
#: at the IF vault's price — an empty vault with shares fails there (6203), in the
#: implicit settle of an add before InvalidIFForNewStakes
_SETTLE_SHARES = (
    _math("protocol_shares"),
    ErrorSite(
        DriftError.InvalidIFSharesDetected,
        Form.VALIDATE,
        "m.to_shares",
        key="protocol_shares",
        cheat_only=True,
    ),
)


def _handler(name: str, profile: ProgramProfile) -> tuple[ErrorSite, ...]:
    mut_market = profile.if_structs_spot_market_mut
    rebase_ahead = ErrorSite(
        DriftError.InvalidIFRebase, Form.VALIDATE, "c.rebase", key="rebase", cheat_only=True
    )
    base_after_rebase = ErrorSite(
        DriftError.InvalidIFRebase,
        Form.VALIDATE,
        "s.base",
        key="after_rebase",
        unreachable=_AFTER_REBASE,
    )
    if name == "initializeInsuranceFundStake":
        return (
            ErrorSite(
                DriftError.UnableToLoadAccountLoader,
                Form.PLAIN,
                unreachable="load_init of the account Anchor has just created succeeds",
            ),
            ErrorSite(
                DriftError.InsuranceFundOperationPaused,
                Form.VALIDATE,
                "init.pause",
                msg="if staking init disabled",
            ),
        )
    if name == "addInsuranceFundStake":
        return (
            ErrorSite(DriftError.InsufficientDeposit, Form.PLAIN),
            *_load("add", mut_market),
            ErrorSite(
                DriftError.InsuranceFundOperationPaused,
                Form.VALIDATE,
                "add.pause",
                msg="if staking add disabled",
            ),
            ErrorSite(
                DriftError.IncorrectSpotMarketAccountPassed,
                Form.VALIDATE,
                "add.index",
                msg="insurance_fund_stake does not match market_index",
            ),
            ErrorSite(DriftError.InvalidSpotMarketState, Form.VALIDATE, "add.status"),
            ErrorSite(
                DriftError.IFWithdrawRequestInProgress,
                Form.VALIDATE,
                "add.pending",
                msg="withdraw request in progress",
            ),
            *_SETTLE_ALGORITHM,
            *_SETTLE_SHARES,
            ErrorSite(
                DriftError.InvalidIFForNewStakes, Form.VALIDATE, "c.add.new", cheat_only=True
            ),
            rebase_ahead,
            base_after_rebase,
            ErrorSite(
                DriftError.InvalidIFSharesDetected,
                Form.VALIDATE,
                "m.to_shares",
                unreachable=_AFTER_NEW_STAKES,
            ),
            _cast("cost_basis"),
            _math("shares"),
            *_TOKEN_IN,
        )
    if name == "requestRemoveInsuranceFundStake":
        return (
            *_load("req", mut_market),
            ErrorSite(
                DriftError.InsuranceFundOperationPaused,
                Form.VALIDATE,
                "req.pause",
                msg="if staking request remove disabled",
            ),
            ErrorSite(
                DriftError.IncorrectSpotMarketAccountPassed,
                Form.VALIDATE,
                "req.index",
                msg="insurance_fund_stake does not match market_index",
            ),
            ErrorSite(
                DriftError.IFWithdrawRequestInProgress,
                Form.VALIDATE,
                "req.pending",
                msg="Withdraw request is already in progress",
            ),
            ErrorSite(
                DriftError.InvalidIFSharesDetected, Form.VALIDATE, "m.to_shares", cheat_only=True
            ),
            ErrorSite(
                DriftError.IFWithdrawRequestTooSmall,
                Form.VALIDATE,
                "req.small",
                msg="Requested lp_shares = 0",
            ),
            ErrorSite(DriftError.InvalidIFRebase, Form.VALIDATE, "s.base", key="checked_shares"),
            ErrorSite(DriftError.InsufficientIFShares, Form.VALIDATE, "req.shares"),
            ErrorSite(
                DriftError.InvalidInsuranceUnstakeSize,
                Form.VALIDATE,
                "c.req.size",
                unreachable="the handler has just checked the same shares against the stake",
            ),
            ErrorSite(
                DriftError.InvalidIFRebase,
                Form.VALIDATE,
                "c.req.base",
                key="base_equal",
                unreachable=_AFTER_REBASE,
            ),
            ErrorSite(
                DriftError.InvalidIFSharesDetected,
                Form.VALIDATE,
                "m.to_amount",
                key="to_amount",
                unreachable=_BOUNDED,
            ),
            ErrorSite(
                DriftError.InvalidIFUnstakeSize,
                Form.VALIDATE,
                "c.req.value",
                unreachable="the request value is capped at the vault minus one first",
            ),
        )
    if name == "cancelRequestRemoveInsuranceFundStake":
        return (
            *_load("can", mut_market),
            ErrorSite(
                DriftError.IncorrectSpotMarketAccountPassed,
                Form.VALIDATE,
                "can.index",
                msg="insurance_fund_stake does not match market_index",
            ),
            ErrorSite(
                DriftError.NoIFWithdrawRequestInProgress,
                Form.VALIDATE,
                "can.none",
                msg="No withdraw request in progress",
            ),
            rebase_ahead,
            ErrorSite(
                DriftError.InvalidIFRebase,
                Form.VALIDATE,
                "c.can.base",
                key="base_equal",
                unreachable=_AFTER_REBASE,
            ),
            ErrorSite(DriftError.InvalidIFUnstakeCancel, Form.VALIDATE, "c.can.zero"),
            ErrorSite(
                DriftError.InvalidIFSharesDetected,
                Form.VALIDATE,
                "m.lost",
                key="lost",
                unreachable=_BOUNDED,
            ),
            _math("shares"),
        )
    if name == "removeInsuranceFundStake":
        return (
            ErrorSite(DriftError.ExchangePaused, Form.PLAIN, "ac.withdraw"),
            *_load("rem", mut_market),
            ErrorSite(
                DriftError.InsuranceFundOperationPaused,
                Form.VALIDATE,
                "rem.pause",
                msg="if staking remove disabled",
            ),
            ErrorSite(
                DriftError.IncorrectSpotMarketAccountPassed,
                Form.VALIDATE,
                "rem.index",
                msg="insurance_fund_stake does not match market_index",
            ),
            ErrorSite(
                DriftError.SpotMarketInsufficientDeposits,
                Form.VALIDATE,
                "rem.util",
                msg="spot market utilization above health threshold",
            ),
            ErrorSite(DriftError.TryingToRemoveLiquidityTooFast, Form.VALIDATE, "c.rem.fast"),
            rebase_ahead,
            base_after_rebase,
            ErrorSite(
                DriftError.InvalidIFUnstake,
                Form.VALIDATE,
                "c.rem.none",
                msg="Must submit withdraw request and wait the escrow period",
            ),
            ErrorSite(
                DriftError.InsufficientIFShares,
                Form.VALIDATE,
                "c.rem.shares",
                unreachable="a request never holds more shares than its stake (request checks it)",
            ),
            ErrorSite(
                DriftError.InvalidIFSharesDetected,
                Form.VALIDATE,
                "m.to_amount",
                key="to_amount",
                unreachable=_BOUNDED,
            ),
            _cast("cost_basis"),
            _math("shares"),
            ErrorSite(
                DriftError.InvalidIFDetected,
                Form.VALIDATE,
                "rem.empty",
                msg="insurance_fund_vault.amount must remain > 0",
            ),
            *_SPOT_BALANCES,
        )
    if name == "settleRevenueToInsuranceFund":
        return (
            ErrorSite(DriftError.ExchangePaused, Form.PLAIN, "ac.withdraw"),
            ErrorSite(
                DriftError.UnableToLoadAccountLoader,
                Form.VALIDATE,
                "k.set.load",
                key="load_mut:spotMarket",
                unreachable=_MUT_STRUCT,
            ),
            ErrorSite(
                DriftError.InvalidSpotMarketAccount,
                Form.VALIDATE,
                "k.set.index",
                msg="invalid spot_market passed",
                cheat_only=True,
            ),
            ErrorSite(
                DriftError.RevenueSettingsCannotSettleToIF,
                Form.VALIDATE,
                "k.set.period",
                key="period",
                msg="invalid revenue_settle_period settings on spot market",
            ),
            ErrorSite(
                DriftError.RevenueSettingsCannotSettleToIF, Form.VALIDATE, "k.set.wait", key="wait"
            ),
            *_SETTLE_ALGORITHM,
            ErrorSite(DriftError.NoRevenueToSettleToIF, Form.VALIDATE, "c.set.none"),
            *_SETTLE_SHARES,
        )
    if name == "depositIntoSpotMarketRevenuePool":
        return (
            ErrorSite(DriftError.ExchangePaused, Form.PLAIN, "ac.deposit"),
            ErrorSite(DriftError.InsufficientDeposit, Form.PLAIN, "u.dep.zero"),
            ErrorSite(
                DriftError.UnableToLoadAccountLoader,
                Form.VALIDATE,
                "u.dep.load",
                key="load_mut:spotMarket",
                unreachable=_MUT_STRUCT,
            ),
            ErrorSite(DriftError.DefaultError, Form.VALIDATE, "u.dep.settle"),
            _math("pool"),
            *_TOKEN_IN,
            ErrorSite(DriftError.MaxDeposit, Form.VALIDATE, "sm.maxdep"),
            _cast("deposits"),
            *_VAULT_CHECK,
        )
    if name == "updateUserQuoteAssetInsuranceStake":
        return (
            *_load("k.q", mut_market),
            ErrorSite(
                DriftError.IncorrectSpotMarketAccountPassed,
                Form.VALIDATE,
                "k.q.index",
                msg="insurance_fund_stake is not for quote market",
            ),
            ErrorSite(DriftError.InvalidIFRebase, Form.VALIDATE, "s.base", key="checked_shares"),
            ErrorSite(
                DriftError.InvalidIFSharesDetected,
                Form.VALIDATE,
                "m.to_amount",
                key="to_amount",
                unreachable=_BOUNDED,
            ),
        )
    return ()


_DESERIALIZE: dict[Kind, tuple[AnchorError, ...]] = {
    Kind.SIGNER: (AnchorError.AccountNotSigner,),
    Kind.LOADER: (
        AnchorError.AccountOwnedByWrongProgram,
        AnchorError.AccountDiscriminatorNotFound,
        AnchorError.AccountDiscriminatorMismatch,
    ),
    Kind.ACCOUNT: (
        AnchorError.AccountNotInitialized,
        AnchorError.AccountOwnedByWrongProgram,
        AnchorError.AccountDiscriminatorNotFound,
        AnchorError.AccountDiscriminatorMismatch,
    ),
    Kind.TOKEN: (
        AnchorError.AccountNotInitialized,
        AnchorError.AccountOwnedByWrongProgram,
        AnchorError.AccountDidNotDeserialize,
    ),
    Kind.TOKEN_PROGRAM: (AnchorError.InvalidProgramId,),
    Kind.SYSTEM_PROGRAM: (AnchorError.InvalidProgramId,),
    Kind.UNCHECKED: (),
}


def _anchor(name: str, profile: ProgramProfile) -> tuple[ErrorSite, ...]:
    struct = fields(name, profile)
    out: list[ErrorSite] = []
    for f in struct:
        if f.init:
            continue
        out += [ErrorSite(c, Form.ANCHOR, account=f.role) for c in _DESERIALIZE[f.kind]]
    for f in struct:
        if f.init:
            out.append(ErrorSite(AnchorError.ConstraintSeeds, Form.ANCHOR, account=f.role))
            # The System program refuses to create (allocate) an account in use.
            out.append(ErrorSite(0, Form.CPI, key="already_in_use", account=f.role))
    for f in struct:
        if f.init:
            continue
        if f.seeds is not None:
            out.append(ErrorSite(AnchorError.ConstraintSeeds, Form.ANCHOR, account=f.role))
        if f.mut:
            out.append(ErrorSite(AnchorError.ConstraintMut, Form.ANCHOR, account=f.role))
        if f.has_one_authority:
            out.append(ErrorSite(AnchorError.ConstraintHasOne, Form.ANCHOR, account=f.role))
        if f.raw is not None:
            out.append(ErrorSite(AnchorError.ConstraintRaw, Form.ANCHOR, account=f.role))
        if f.token_mint_of_if_vault:
            out.append(ErrorSite(AnchorError.ConstraintTokenMint, Form.ANCHOR, account=f.role))
        if f.token_authority:
            out.append(ErrorSite(AnchorError.ConstraintTokenOwner, Form.ANCHOR, account=f.role))
    return tuple(out)


@functools.cache
def table(profile: ProgramProfile) -> dict[str, tuple[ErrorSite, ...]]:
    """Instruction → every error it can raise, in program order, for this build."""
    return {name: _anchor(name, profile) + _handler(name, profile) for name in structs(profile)}


def source_site(profile: ProgramProfile, entry: ErrorSite) -> str | None:
    """`programs/drift/src/<file>:<line>` of the entry in the profile's build; None
    where the build's line numbers are not known (Velocity's source was read without
    them: its logs then carry the error and its message, not a `thrown at` site)."""
    lines = _LINES.get(profile.source_tag)
    if entry.where is None or lines is None:
        return None
    return f"programs/drift/src/{lines[entry.where]}"


def find(
    profile: ProgramProfile, instruction: str, code: int, key: str | None = None
) -> ErrorSite | None:
    """The table entry a rejection came from: by code and (if several) by site key.

    With no key, the one reachable entry of that code (None if there are several).
    """
    entries = [e for e in table(profile).get(instruction, ()) if e.code == code]
    if key is not None:
        keyed = [e for e in entries if e.key == key]
        if keyed:
            return keyed[0]
    reachable = [e for e in entries if e.unreachable is None]
    return reachable[0] if len(reachable) == 1 else None
