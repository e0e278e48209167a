"""A situation for every reachable entry of the error-site table (keeper.core.error_sites).

`provocation(instruction, entry)` returns the builder that makes the entry the first
error the program raises: Anchor's account checks by perturbing one account of an
instruction that would otherwise succeed (the field the entry names), the handler's
checks by writing the accounts that reach them. Builders only use RPC cheatcodes
(tests/integration/drift_world.py), never the model, so they hold against a real
binary too. An entry with no builder here has no provocation: the walk fails for it.
"""

from __future__ import annotations

from collections.abc import Callable

from drift_world import Staker, World, with_meta
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from keeper.core import ifmath
from keeper.core.account_structs import Field, Kind, Raw, Seeds, discriminator, fields
from keeper.core.error_codes import AnchorError, DriftError, SplTokenError
from keeper.core.error_sites import ErrorSite, Form
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID, SYSTEM_PROGRAM_ID
from keeper.core.rules import (
    EXCHANGE_DEPOSIT_PAUSED,
    EXCHANGE_WITHDRAW_PAUSED,
    IF_PAUSE_ADD,
    IF_PAUSE_INIT,
    IF_PAUSE_REMOVE,
    IF_PAUSE_REQUEST_REMOVE,
    STATUS_INITIALIZED,
    STATUS_SETTLEMENT,
)
from keeper.core.views import INSURANCE_FUND_STAKE_SIZE, USER_STATS_SIZE
from localnet.genesis import rent_exempt_lamports

U64_MAX, U128_MAX, I64_MAX = 2**64 - 1, 2**128 - 1, 2**63 - 1
#: shares (and tokens) a staker holds in the default situation
HELD = 1_000_000_000
ONE = 1_000_000

_SIZES = {"userStats": USER_STATS_SIZE, "insuranceFundStake": INSURANCE_FUND_STAKE_SIZE}
#: a situation: the instruction to send and extra accounts to watch for changes
Case = tuple[Instruction, tuple[Pubkey, ...]]
Builder = Callable[[World], Case]


def role_index(w: World, instruction: str, role: str) -> int:
    return [m.name for m in w.b.idl.instruction(instruction).accounts].index(role)


# -- instructions that would succeed ---------------------------------------------------


def _payer(w: World) -> Keypair:
    kp = Keypair()
    w.keypairs[kp.pubkey()] = kp
    w.fund_wallet(kp.pubkey())
    return kp


def scaled(w: World, index: int, tokens: int) -> int:
    m = w.market(index)
    return tokens * ifmath.balance_precision(m.decimals) // m.cumulative_deposit_interest


def with_revenue(w: World, index: int, tokens: int) -> None:
    """Market `index` holds `tokens` of revenue (pool ⊂ deposits, in its vault)."""
    s = scaled(w, index, tokens)
    w.set_market(index, revenue_pool_scaled_balance=s, deposit_balance=s)
    w.set_balance(w.a.spot_market_vault(index), tokens)


def happy(w: World, instruction: str, s: Staker, index: int = 0) -> Instruction:
    """`instruction` for staker `s` on market `index`, in a situation where it succeeds."""
    keys = w.keys(index)
    me = s.me
    if instruction == "initializeUserStats":
        return w.b.initialize_user_stats(me, _payer(w).pubkey())
    if instruction == "initializeInsuranceFundStake":
        return w.b.initialize_insurance_fund_stake(index, me, _payer(w).pubkey())
    if instruction == "addInsuranceFundStake":
        return w.b.add_insurance_fund_stake(keys, ONE, me, s.tokens[index])
    if instruction == "requestRemoveInsuranceFundStake":
        w.holding(s, index, HELD)
        return w.b.request_remove_insurance_fund_stake(keys, ONE, me)
    if instruction == "cancelRequestRemoveInsuranceFundStake":
        w.holding(s, index, HELD, last_withdraw_request_shares=ONE)
        w.set_stake(s, index, last_withdraw_request_value=ONE, last_withdraw_request_ts=w.now())
        return w.b.cancel_request_remove_insurance_fund_stake(keys, me)
    if instruction == "removeInsuranceFundStake":
        matured = w.now() - w.market(index).insurance_fund.unstaking_period_seconds - 60
        w.holding(s, index, HELD, last_withdraw_request_shares=ONE)
        w.set_stake(s, index, last_withdraw_request_value=ONE, last_withdraw_request_ts=matured)
        return w.b.remove_insurance_fund_stake(keys, me, s.tokens[index])
    if instruction == "settleRevenueToInsuranceFund":
        with_revenue(w, index, 50 * ONE)
        return w.b.settle_revenue_to_insurance_fund(keys)
    if instruction == "depositIntoSpotMarketRevenuePool":
        return w.b.deposit_into_spot_market_revenue_pool(keys, ONE, me, s.tokens[index])
    if instruction == "updateUserQuoteAssetInsuranceStake":
        w.holding(s, index, HELD)
        return w.b.update_user_quote_asset_insurance_stake(me, me, keys)
    raise ValueError(instruction)


def situation(w: World, instruction: str) -> tuple[Staker, Instruction]:
    """A fresh staker (markets 0 and 1) and its instruction that would succeed."""
    if instruction == "initializeUserStats":
        kp = Keypair()
        w.keypairs[kp.pubkey()] = kp
        w.fund_wallet(kp.pubkey())
        s = Staker(kp, w.a.user_stats(kp.pubkey()), {}, {})
    elif instruction == "initializeInsuranceFundStake":
        s = w.staker(markets=())
    else:
        s = w.staker(markets=(0, 1))
    return s, happy(w, instruction, s)


# -- Anchor's account checks: perturb the field the entry names ---------------------------


def _other_of_same_type(w: World, instruction: str, f: Field, s: Staker) -> Pubkey:
    """An account that deserializes as `f` but is not the one its constraint wants."""
    if f.seeds is Seeds.SPOT_MARKET:
        return w.a.spot_market(1)
    if f.seeds is Seeds.SPOT_MARKET_VAULT:
        return (
            w.a.spot_market_vault(1) if f.seeds_index == "loaded" else w.a.insurance_fund_vault(0)
        )
    if f.seeds is Seeds.INSURANCE_FUND_VAULT:
        return w.a.spot_market_vault(0)
    raise AssertionError(f"{instruction}.{f.role}: no seeds")


def _bob(w: World) -> Staker:
    return w.staker(markets=(0, 1))


def anchor_builder(instruction: str, entry: ErrorSite) -> Builder | None:
    """The perturbation of one account that makes Anchor refuse it with entry.code."""
    code, role = entry.code, entry.account

    def build(w: World) -> Case:
        s, ix = situation(w, instruction)
        f = next(x for x in fields(instruction, w.profile) if x.role == role)
        i = role_index(w, instruction, f.role)
        if entry.form is Form.CPI:  # init of an account in use
            if f.role == "userStats":
                w.write(w.codec.new_user_stats(s.stats, s.me, w.now()))
            else:
                address = w.a.insurance_fund_stake(s.me, 0)
                w.write(w.codec.new_stake(address, s.me, 0, w.now()))
            return ix, ()
        if code == AnchorError.AccountNotSigner:
            return with_meta(ix, i, signer=False), ()
        if code == AnchorError.AccountNotInitialized:
            return with_meta(ix, i, pubkey=Keypair().pubkey()), ()
        if code == AnchorError.AccountOwnedByWrongProgram:
            stranger = Keypair().pubkey()
            w.fund_wallet(stranger, 1_000_000)
            return with_meta(ix, i, pubkey=stranger), ()
        if code == AnchorError.AccountDiscriminatorNotFound:
            return with_meta(ix, i, pubkey=w.blob(w.program_id, b"\x01\x02\x03")), ()
        if code == AnchorError.AccountDiscriminatorMismatch:
            return with_meta(
                ix, i, pubkey=w.blob(w.program_id, discriminator("User") + bytes(64))
            ), ()
        if code == AnchorError.AccountDidNotDeserialize:
            return with_meta(ix, i, pubkey=w.blob(SPL_TOKEN_PROGRAM_ID, bytes(100))), ()
        if code == AnchorError.InvalidProgramId:
            wrong = SPL_TOKEN_PROGRAM_ID if f.kind is Kind.SYSTEM_PROGRAM else SYSTEM_PROGRAM_ID
            return with_meta(ix, i, pubkey=wrong), ()
        if code == AnchorError.ConstraintMut:
            if f.role == "payer":
                # A read-only payer fails the init's create_account CPI first (privilege
                # escalation); an address already funded to rent exemption is allocated
                # and assigned without the payer, so Anchor gets to the payer's `mut`.
                init = next(x for x in fields(instruction, w.profile) if x.init)
                address = ix.accounts[role_index(w, instruction, init.role)].pubkey
                w.fund_wallet(address, rent_exempt_lamports(_SIZES[init.role]))
            return with_meta(ix, i, writable=False), ()
        if code == AnchorError.ConstraintSeeds:
            if f.init:
                return with_meta(ix, i, pubkey=Keypair().pubkey()), ()
            return with_meta(ix, i, pubkey=_other_of_same_type(w, instruction, f, s)), ()
        if code == AnchorError.ConstraintHasOne:
            bob = _bob(w)
            other = bob.stakes[0] if f.role == "insuranceFundStake" else bob.stats
            return with_meta(ix, i, pubkey=other), ()
        if code == AnchorError.ConstraintRaw:
            if f.raw is Raw.DRIFT_SIGNER:
                return with_meta(ix, i, pubkey=Keypair().pubkey()), ()
            if f.raw is Raw.VAULT_MINT:
                return with_meta(ix, i, pubkey=s.tokens[1]), ()
            assert f.raw is Raw.STATS_FOR_STAKE
            j = role_index(w, instruction, "userStats")
            return with_meta(ix, j, pubkey=_bob(w).stats), ()
        if code == AnchorError.ConstraintTokenMint:
            return with_meta(ix, i, pubkey=s.tokens[1]), ()
        if code == AnchorError.ConstraintTokenOwner:
            return with_meta(ix, i, pubkey=_bob(w).tokens[0]), ()
        raise AssertionError(f"no perturbation for {code} on {role}")

    known = {
        AnchorError.AccountNotSigner,
        AnchorError.AccountNotInitialized,
        AnchorError.AccountOwnedByWrongProgram,
        AnchorError.AccountDiscriminatorNotFound,
        AnchorError.AccountDiscriminatorMismatch,
        AnchorError.AccountDidNotDeserialize,
        AnchorError.InvalidProgramId,
        AnchorError.ConstraintMut,
        AnchorError.ConstraintSeeds,
        AnchorError.ConstraintHasOne,
        AnchorError.ConstraintRaw,
        AnchorError.ConstraintTokenMint,
        AnchorError.ConstraintTokenOwner,
    }
    if entry.form is Form.CPI and entry.key == "already_in_use":
        return build
    return build if code in known else None


# -- the handlers' checks -----------------------------------------------------------------


def _readonly_market(instruction: str) -> Builder:
    def build(w: World) -> Case:
        _, ix = situation(w, instruction)
        return with_meta(ix, role_index(w, instruction, "spotMarket"), writable=False), ()

    return build


def _with(instruction: str, prepare: Callable[[World, Staker], None], index: int = 0) -> Builder:
    """The instruction that would succeed, after `prepare` wrote the situation."""

    def build(w: World) -> Case:
        s, _ = situation(w, instruction)
        ix = happy(w, instruction, s, index)
        prepare(w, s)
        return ix, ()

    return build


def _args(instruction: str, make: Callable[[World, Staker], Instruction]) -> Builder:
    """Another instruction (other arguments or accounts) for the same staker."""

    def build(w: World) -> Case:
        s, _ = situation(w, instruction)
        return make(w, s), ()

    return build


def _other_market_stake(instruction: str) -> Builder:
    """The staker's stake of market 1, passed with market 0 (no seeds on the stake)."""

    def build(w: World) -> Case:
        s, ix = situation(w, instruction)
        w.holding(s, 1, HELD)
        w.set_stake(s, 1, last_withdraw_request_shares=ONE, last_withdraw_request_value=ONE)
        return with_meta(
            ix, role_index(w, instruction, "insuranceFundStake"), pubkey=s.stakes[1]
        ), ()

    return build


def _pause(bit: int) -> Callable[[World, Staker], None]:
    def prepare(w: World, s: Staker) -> None:
        w.set_market(0, if_paused_operations=bit)

    return prepare


def _exchange(bit: int) -> Callable[[World, Staker], None]:
    def prepare(w: World, s: Staker) -> None:
        w.set_state(exchange_status=bit)

    return prepare


def _stake(**changes: int) -> Callable[[World, Staker], None]:
    def prepare(w: World, s: Staker) -> None:
        w.set_stake(s, 0, **changes)

    return prepare


def _fund(**changes: int) -> Callable[[World, Staker], None]:
    def prepare(w: World, s: Staker) -> None:
        w.set_fund(0, **changes)

    return prepare


def _market(**changes: int) -> Callable[[World, Staker], None]:
    def prepare(w: World, s: Staker) -> None:
        w.set_market(0, **changes)

    return prepare


def _interest_overflow(w: World, s: Staker) -> None:
    """Borrows above deposits with an optimal utilization of 100%: the borrow rate's
    slope above the optimum divides by (100% - optimum) = 0."""
    w.set_market(
        0,
        deposit_balance=scaled(w, 0, 100 * ONE),
        borrow_balance=scaled(w, 0, 200 * ONE),
        optimal_utilization=1_000_000,
        last_interest_ts=w.now() - 3600,
    )


def _factor(w: World, s: Staker) -> None:
    w.set_fund(0, user_factor=20, total_factor=10)


def _revenue_over_deposits(w: World, s: Staker) -> None:
    w.set_market(
        0, revenue_pool_scaled_balance=scaled(w, 0, 10 * ONE), deposit_balance=scaled(w, 0, ONE)
    )
    w.set_balance(w.a.spot_market_vault(0), ONE)


def _vault_short(w: World, s: Staker) -> None:
    """Depositors' claim 100 tokens above what the spot vault holds."""
    m = w.market(0)
    w.set_market(0, deposit_balance=m.deposit_balance + scaled(w, 0, 100 * ONE))


def _empty_vault_with_shares(w: World, s: Staker) -> None:
    w.set_fund(0, total_shares=HELD, user_shares=HELD)
    w.set_balance(w.a.insurance_fund_vault(0), 0)


def _empty_vault_no_settle(w: World, s: Staker) -> None:
    """As above, settled this period already (the settle's own 6203 comes first)."""
    _empty_vault_with_shares(w, s)
    w.set_fund(0, last_revenue_settle_ts=w.now())


def _empty_vault_protocol_shares(w: World, s: Staker) -> None:
    """Revenue to settle into an empty IF vault with (protocol) shares: minting the
    protocol's shares prices them at 0 tokens (6203)."""
    with_revenue(w, 0, 50 * ONE)
    w.set_fund(0, total_shares=HELD, user_shares=0)
    w.set_balance(w.a.insurance_fund_vault(0), 0)


def _stake_ahead(w: World, s: Staker) -> None:
    w.set_stake(s, 0, if_base=3)


def _stake_lagging(w: World, s: Staker) -> None:
    w.set_fund(0, shares_base=1)


def _shares_overflow(w: World, s: Staker) -> None:
    w.holding(s, 0, HELD)
    w.set_stake(s, 0, if_shares=U128_MAX)


def _if_vault_full(w: World, s: Staker) -> None:
    """Market 1 (no user-stats snapshot): the IF vault one unit short of u64::MAX."""
    w.holding(s, 1, U64_MAX - 1, total=U64_MAX - 1, vault=U64_MAX - ONE // 2, cost_basis=0)


def _add_to_full_vault(w: World) -> Case:
    s, _ = situation(w, "addInsuranceFundStake")
    _if_vault_full(w, s)
    return w.b.add_insurance_fund_stake(w.keys(1), ONE, s.me, s.tokens[1]), ()


def _utilization(w: World, s: Staker) -> None:
    w.set_market(0, deposit_balance=scaled(w, 0, 100 * ONE), borrow_balance=scaled(w, 0, 95 * ONE))
    w.set_balance(w.a.spot_market_vault(0), 5 * ONE)


def _request_too_fresh(w: World, s: Staker) -> None:
    w.set_stake(s, 0, last_withdraw_request_ts=w.now())


def _no_request_matured(w: World, s: Staker) -> None:
    w.set_stake(s, 0, last_withdraw_request_shares=0, last_withdraw_request_value=0)


def _remove_cast(w: World) -> Case:
    """A payout above i64::MAX on market 1: `withdraw.cast::<i64>()` fails."""
    s, _ = situation(w, "removeInsuranceFundStake")
    big = 2**63 + 10
    matured = w.now() - w.market(1).insurance_fund.unstaking_period_seconds - 60
    w.holding(s, 1, big, total=big, vault=big + 5)
    w.set_stake(
        s,
        1,
        last_withdraw_request_shares=big - 5,
        last_withdraw_request_value=big - 5,
        last_withdraw_request_ts=matured,
    )
    return w.b.remove_insurance_fund_stake(w.keys(1), s.me, s.tokens[1]), ()


def _cost_basis_underflow(w: World, s: Staker) -> None:
    w.set_stake(s, 0, cost_basis=-(2**63))


def _loss_empties(w: World, s: Staker) -> None:
    """A loss after the request: the shares' value is the whole (smaller) vault."""
    w.set_stake(s, 0, last_withdraw_request_shares=HELD, last_withdraw_request_value=HELD - 1)
    w.set_balance(w.a.insurance_fund_vault(0), HELD // 2)


def _cancel_rebased_to_zero(w: World, s: Staker) -> None:
    w.set_stake(s, 0, last_withdraw_request_shares=5, last_withdraw_request_value=5)
    w.set_fund(0, shares_base=1)


def _cancel_lost_overflow(w: World, s: Staker) -> None:
    """Shares lost (request valued below its shares) beyond the stake's own shares."""
    w.holding(s, 0, 10, total=1000, vault=1000)
    w.set_stake(s, 0, last_withdraw_request_shares=500, last_withdraw_request_value=100)


def _settle_wait(w: World, s: Staker) -> None:
    w.set_fund(0, last_revenue_settle_ts=w.now())


def _wrong_index_in_data(w: World, s: Staker) -> None:
    w.set_market(0, market_index=1)


def _protocol_overflow(w: World, s: Staker) -> None:
    w.set_fund(0, user_factor=0, total_factor=1_000_000)
    with_revenue(w, 0, 2 * 10**15)


def _pool_overflow(w: World, s: Staker) -> None:
    w.set_market(0, revenue_pool_scaled_balance=U128_MAX - 10, deposit_balance=U128_MAX - 10)


def _spot_vault_full(w: World, s: Staker) -> None:
    w.set_balance(w.a.spot_market_vault(0), U64_MAX - ONE // 2)


def _deposits_past_i64(w: World, s: Staker) -> None:
    w.set_market(0, deposit_balance=scaled(w, 0, I64_MAX - ONE // 2))
    w.set_balance(w.a.spot_market_vault(0), I64_MAX - ONE // 2)


def _add_amount(amount: int) -> Callable[[World, Staker], Instruction]:
    return lambda w, s: w.b.add_insurance_fund_stake(w.keys(0), amount, s.me, s.tokens[0])


def _request_amount(amount: int) -> Callable[[World, Staker], Instruction]:
    def make(w: World, s: Staker) -> Instruction:
        w.holding(s, 0, HELD)
        return w.b.request_remove_insurance_fund_stake(w.keys(0), amount, s.me)

    return make


def _deposit_amount(amount: int) -> Callable[[World, Staker], Instruction]:
    return lambda w, s: w.b.deposit_into_spot_market_revenue_pool(
        w.keys(0), amount, s.me, s.tokens[0]
    )


def _poor(instruction: str) -> Callable[[World, Staker], None]:
    def prepare(w: World, s: Staker) -> None:
        w.set_balance(s.tokens[0], ONE - 1)

    return prepare


ADD, REQ, CAN = (
    "addInsuranceFundStake",
    "requestRemoveInsuranceFundStake",
    "cancelRequestRemoveInsuranceFundStake",
)
REM, SET, DEP, QUO = (
    "removeInsuranceFundStake",
    "settleRevenueToInsuranceFund",
    "depositIntoSpotMarketRevenuePool",
    "updateUserQuoteAssetInsuranceStake",
)
INI = "initializeInsuranceFundStake"

#: (instruction, code, site key or source key) → builder
HANDLER: dict[tuple[str, int, str | None], Builder] = {
    (INI, DriftError.InsuranceFundOperationPaused, "init.pause"): _with(INI, _pause(IF_PAUSE_INIT)),
    (ADD, DriftError.InsufficientDeposit, None): _args(ADD, _add_amount(0)),
    (ADD, DriftError.UnableToLoadAccountLoader, "load_mut:spotMarket"): _readonly_market(ADD),
    (ADD, DriftError.InsuranceFundOperationPaused, "add.pause"): _with(ADD, _pause(IF_PAUSE_ADD)),
    (ADD, DriftError.IncorrectSpotMarketAccountPassed, "add.index"): _other_market_stake(ADD),
    (ADD, DriftError.InvalidSpotMarketState, "add.status"): _with(
        ADD, _market(status=STATUS_INITIALIZED)
    ),
    (ADD, DriftError.IFWithdrawRequestInProgress, "add.pending"): _with(
        ADD, _stake(last_withdraw_request_shares=1, last_withdraw_request_value=1)
    ),
    (ADD, DriftError.MathError, "interest"): _with(ADD, _interest_overflow),
    (ADD, DriftError.RevenueSettingsCannotSettleToIF, "factor"): _with(ADD, _factor),
    (ADD, DriftError.SpotMarketVaultInvariantViolated, "revenue"): _with(
        ADD, _revenue_over_deposits
    ),
    (ADD, DriftError.SpotMarketVaultInvariantViolated, "vault"): _with(ADD, _vault_short),
    (ADD, DriftError.InvalidIFForNewStakes, "c.add.new"): _with(ADD, _empty_vault_no_settle),
    (ADD, DriftError.InvalidIFSharesDetected, "protocol_shares"): _with(
        ADD, _empty_vault_protocol_shares
    ),
    (ADD, DriftError.MathError, "protocol_shares"): _with(ADD, _protocol_overflow),
    (ADD, DriftError.InvalidIFRebase, "rebase"): _with(ADD, _stake_ahead),
    (ADD, DriftError.CastingFailure, "cost_basis"): _args(ADD, _add_amount(2**63)),
    (ADD, DriftError.MathError, "shares"): _with(ADD, _shares_overflow),
    (ADD, SplTokenError.InsufficientFunds, None): _with(ADD, _poor(ADD)),
    (ADD, SplTokenError.Overflow, None): _add_to_full_vault,
    (REQ, DriftError.UnableToLoadAccountLoader, "load_mut:spotMarket"): _readonly_market(REQ),
    (REQ, DriftError.InsuranceFundOperationPaused, "req.pause"): _with(
        REQ, _pause(IF_PAUSE_REQUEST_REMOVE)
    ),
    (REQ, DriftError.IncorrectSpotMarketAccountPassed, "req.index"): _other_market_stake(REQ),
    (REQ, DriftError.IFWithdrawRequestInProgress, "req.pending"): _with(
        REQ, _stake(last_withdraw_request_shares=1, last_withdraw_request_value=1)
    ),
    (REQ, DriftError.InvalidIFSharesDetected, "m.to_shares"): _with(REQ, _empty_vault_with_shares),
    (REQ, DriftError.IFWithdrawRequestTooSmall, "req.small"): _args(REQ, _request_amount(0)),
    (REQ, DriftError.InvalidIFRebase, "checked_shares"): _with(REQ, _stake_lagging),
    (REQ, DriftError.InsufficientIFShares, "req.shares"): _args(REQ, _request_amount(HELD + 1)),
    (CAN, DriftError.UnableToLoadAccountLoader, "load_mut:spotMarket"): _readonly_market(CAN),
    (CAN, DriftError.IncorrectSpotMarketAccountPassed, "can.index"): _other_market_stake(CAN),
    (CAN, DriftError.NoIFWithdrawRequestInProgress, "can.none"): _with(
        CAN, _stake(last_withdraw_request_shares=0, last_withdraw_request_value=0)
    ),
    (CAN, DriftError.InvalidIFRebase, "rebase"): _with(CAN, _stake_ahead),
    (CAN, DriftError.InvalidIFUnstakeCancel, "c.can.zero"): _with(CAN, _cancel_rebased_to_zero),
    (CAN, DriftError.MathError, "shares"): _with(CAN, _cancel_lost_overflow),
    (REM, DriftError.ExchangePaused, "ac.withdraw"): _with(
        REM, _exchange(EXCHANGE_WITHDRAW_PAUSED)
    ),
    (REM, DriftError.UnableToLoadAccountLoader, "load_mut:spotMarket"): _readonly_market(REM),
    (REM, DriftError.InsuranceFundOperationPaused, "rem.pause"): _with(
        REM, _pause(IF_PAUSE_REMOVE)
    ),
    (REM, DriftError.IncorrectSpotMarketAccountPassed, "rem.index"): _other_market_stake(REM),
    (REM, DriftError.SpotMarketInsufficientDeposits, "rem.util"): _with(REM, _utilization),
    (REM, DriftError.TryingToRemoveLiquidityTooFast, "c.rem.fast"): _with(REM, _request_too_fresh),
    (REM, DriftError.InvalidIFRebase, "rebase"): _with(REM, _stake_ahead),
    (REM, DriftError.InvalidIFUnstake, "c.rem.none"): _with(REM, _no_request_matured),
    (REM, DriftError.CastingFailure, "cost_basis"): _remove_cast,
    (REM, DriftError.MathError, "shares"): _with(REM, _cost_basis_underflow),
    (REM, DriftError.InvalidIFDetected, "rem.empty"): _with(REM, _loss_empties),
    (REM, DriftError.SpotMarketVaultInvariantViolated, "revenue"): _with(
        REM, _revenue_over_deposits
    ),
    (SET, DriftError.ExchangePaused, "ac.withdraw"): _with(
        SET, _exchange(EXCHANGE_WITHDRAW_PAUSED)
    ),
    (SET, DriftError.InvalidSpotMarketAccount, "k.set.index"): _with(SET, _wrong_index_in_data),
    (SET, DriftError.RevenueSettingsCannotSettleToIF, "period"): _with(
        SET, _fund(revenue_settle_period_seconds=0)
    ),
    (SET, DriftError.RevenueSettingsCannotSettleToIF, "wait"): _with(SET, _settle_wait),
    (SET, DriftError.MathError, "interest"): _with(SET, _interest_overflow),
    (SET, DriftError.RevenueSettingsCannotSettleToIF, "factor"): _with(SET, _factor),
    (SET, DriftError.SpotMarketVaultInvariantViolated, "revenue"): _with(
        SET, _revenue_over_deposits
    ),
    (SET, DriftError.SpotMarketVaultInvariantViolated, "vault"): _with(SET, _vault_short),
    (SET, DriftError.NoRevenueToSettleToIF, "c.set.none"): _with(
        SET, _market(revenue_pool_scaled_balance=0, deposit_balance=0)
    ),
    (SET, DriftError.MathError, "protocol_shares"): _with(SET, _protocol_overflow),
    (SET, DriftError.InvalidIFSharesDetected, "protocol_shares"): _with(
        SET, _empty_vault_protocol_shares
    ),
    (DEP, DriftError.ExchangePaused, "ac.deposit"): _with(DEP, _exchange(EXCHANGE_DEPOSIT_PAUSED)),
    (DEP, DriftError.InsufficientDeposit, "u.dep.zero"): _args(DEP, _deposit_amount(0)),
    (DEP, DriftError.DefaultError, "u.dep.settle"): _with(DEP, _market(status=STATUS_SETTLEMENT)),
    (DEP, DriftError.MathError, "pool"): _with(DEP, _pool_overflow),
    (DEP, SplTokenError.InsufficientFunds, None): _with(DEP, _poor(DEP)),
    (DEP, SplTokenError.Overflow, None): _with(DEP, _spot_vault_full),
    (DEP, DriftError.MaxDeposit, "sm.maxdep"): _with(DEP, _market(max_token_deposits=1)),
    (DEP, DriftError.CastingFailure, "deposits"): _with(DEP, _deposits_past_i64),
    (DEP, DriftError.SpotMarketVaultInvariantViolated, "revenue"): _with(
        DEP, _revenue_over_deposits
    ),
    (DEP, DriftError.SpotMarketVaultInvariantViolated, "vault"): _with(DEP, _vault_short),
    (QUO, DriftError.UnableToLoadAccountLoader, "load_mut:spotMarket"): _readonly_market(QUO),
    (QUO, DriftError.IncorrectSpotMarketAccountPassed, "k.q.index"): _other_market_stake(QUO),
    (QUO, DriftError.InvalidIFRebase, "checked_shares"): _with(QUO, _stake_lagging),
}


def provocation(instruction: str, entry: ErrorSite) -> Builder | None:
    """The builder that provokes `entry` (None: the walk has none for it)."""
    if entry.form is Form.ANCHOR or (entry.form is Form.CPI and entry.account is not None):
        return anchor_builder(instruction, entry)
    return HANDLER.get((instruction, entry.code, entry.key or entry.where))
