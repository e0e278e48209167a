"""A second, independent model of Velocity's Insurance Fund (IF) instructions (issue #11).

Written from the Velocity program's source (repository velocity-exchange/velocity-v1), not
from keeper/core, so that the two can be tested against each other. Plain Python and the
standard library only; it imports nothing from `keeper`.

Every number is an exact integer at the width the program uses (u64, u128, i64, U192). Where the
program would fail - a checked-math error, a cast that does not fit, or an explicit
`validate!` - the model raises `ProgramError(code)` with the program's own error code, in the
program's order. Token amounts are base units.

Sources (file, version; a "read id" is the stored version the file tools returned):

* [C]  programs/velocity/src/controller/insurance.rs, read id 69485015108 (53 607 chars; the
       version with `revenue_settle_allowance` and the perp-market IF receivable; commit not
       known).
* [S]  programs/velocity/src/instructions/if_staker.rs, commit 068fe867, read id 69663984803.
* [K]  programs/velocity/src/instructions/keeper/insurance_fund.rs, commit 12535d39,
       read id 69429093995.
* [M]  programs/velocity/src/math/insurance.rs, commit ede71560, read id 69383636700.
* [T]  programs/velocity/src/math/insurance/tests.rs, commit 94fc16e1, read id 69386061610.
* [B]  programs/velocity/src/math/spot_balance.rs, read id 69437122633 (19 242 chars, the
       version with `split_deposit_interest`); `get_spot_balance` and `get_token_amount` are
       the same in commit 41adf00e (read id 69543865489).
* [H]  programs/velocity/src/math/helpers.rs, commit 78b6330e, read id 69488694531.
* [W]  programs/velocity/src/math/spot_withdraw.rs, commit 0405140a, read id 69860633321.
* [SM] programs/velocity/src/state/spot_market.rs, commit 0405140a, read id 69645514188.
* [IS] programs/velocity/src/state/insurance_fund_stake.rs, commit 78b6330e, read id 69516420331.
* [E]  programs/velocity/src/error.rs, read id 69387061465 (index markers every 50 variants).
* [CS] programs/velocity/src/controller/spot_balance.rs, read id 69424619341.
* [K0] programs/velocity/src/math/constants.rs, read id 69412403856.
* [CD] programs/velocity/src/math/ceil_div.rs, commit 28b36f64.
* [AC] programs/velocity/src/instructions/constraints.rs (`withdraw_not_paused`),
       read id 69458624028.

What is modelled, and what is not:

* Interest accrual (`update_spot_market_cumulative_interest`, [CS]: the borrow-rate curve,
  the three-way split of the deposit gain with its dust carries, the TWAP stats) is **not**
  modelled. It is a hook instead: every instruction takes `accrue`, a function
  `(fund, now) -> fund` called exactly where the program accrues (first thing in the
  booking, or alone when only a receivable is pending; never when the implicit settle has
  nothing to do, and never before remove's utilization check). The default is no accrual,
  which is exact when no interest is due: no borrows, `now <= last_interest_ts`, the
  exchange's `funding_paused` or the market's UpdateCumulativeInterest pause (which stamp the
  clock and accrue nothing). Everything downstream of the indices is exact: the receivable's
  token value, NAV, the pool's token value, the ceil-scaled debits.
* Anchor's account checks (seeds, has_one, token constraints) are not modelled; the model
  starts where the handler body starts.
* Events are not modelled, except that their casts (which can fail) are made.
* The user's wallet balance is not modelled: `add` reports the amount the user sends.
* `validate_spot_balances` follows the 0405140a version of [W] (revenue pool + protocol fee
  pool within deposits); a newer version may also count the receivable (not seen).
* The pause bits follow Drift's layout (InsuranceFundOperation Init=1, Add=2,
  RequestRemove=4, Remove=8); Velocity's paused_operations.rs was not read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import IntEnum

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
U128_MAX = 2**128 - 1
U192_MAX = 2**192 - 1
I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
I128_MAX = 2**127 - 1

PERCENTAGE_PRECISION = 1_000_000  # [K0]
SPOT_UTILIZATION_PRECISION = PERCENTAGE_PRECISION  # [K0]
SPOT_CUMULATIVE_INTEREST_PRECISION = 10_000_000_000  # [K0] (1.0 for the interest indices)
QUOTE_PRECISION = 1_000_000
ONE_YEAR = 31_536_000  # [K0], u128
MAX_APR_PER_REVENUE_SETTLE_TO_INSURANCE_FUND_VAULT = 10 * PERCENTAGE_PRECISION  # [K0] 1000% APR
SHARE_OF_REVENUE_TO_IF_NUMERATOR = 1  # [K0]
SHARE_OF_REVENUE_TO_IF_DENOMINATOR = 1  # [K0]
UNHEALTHY_UTILIZATION = 900_000  # [SM] `is_healthy_utilization` (90%; Drift uses 80%)
QUOTE_SPOT_MARKET_INDEX = 0

# InsuranceFundOperation bits (Drift's layout; see the module docstring).
IF_OP_INIT = 0b0001
IF_OP_ADD = 0b0010
IF_OP_REQUEST_REMOVE = 0b0100
IF_OP_REMOVE = 0b1000


class Code(IntEnum):
    """The program's error codes that these instructions can raise.

    Custom codes are 6000 + the variant's index in [E]'s `ErrorCode` (counted from its
    "index N" markers). `TokenInsufficientFunds` is the SPL Token program's own error 1,
    raised by a transfer CPI from a vault that holds too little.
    """

    TokenInsufficientFunds = 1
    InsufficientDeposit = 6002
    MathError = 6019
    ExchangePaused = 6024
    CastingFailure = 6041
    InvalidSpotMarketAccount = 6088
    SpotMarketInsufficientDeposits = 6092
    TryingToRemoveLiquidityTooFast = 6133
    InvalidSpotMarketState = 6135
    InsufficientIFShares = 6145
    MarketWithdrawPaused = 6149
    SpotMarketVaultInvariantViolated = 6173
    RevenueSettingsCannotSettleToIF = 6176
    NoRevenueToSettleToIF = 6177
    InvalidIFUnstake = 6185
    InvalidIFUnstakeSize = 6186
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
    IFDepositMintsZeroShares = 6360


class ProgramError(Exception):
    """The program would fail here. `code` is None for a Rust panic (an overflowing `pow`)."""

    def __init__(self, code: Code | None, where: str) -> None:
        self.code = code
        self.where = where
        name = "panic" if code is None else f"{code.name} ({int(code)})"
        super().__init__(f"{name} at {where}")


# --- checked integer arithmetic at the program's widths (SafeMath -> MathError, Cast ->
# CastingFailure) ---------------------------------------------------------------------------


def _math(where: str) -> ProgramError:
    return ProgramError(Code.MathError, where)


def _add(a: int, b: int, top: int, where: str) -> int:
    r = a + b
    if r > top:
        raise _math(where)
    return r


def _sub(a: int, b: int, where: str) -> int:
    """Unsigned checked subtraction (u64 / u128)."""
    if b > a:
        raise _math(where)
    return a - b


def _mul(a: int, b: int, top: int, where: str) -> int:
    r = a * b
    if r > top:
        raise _math(where)
    return r


def _div(a: int, b: int, where: str) -> int:
    """Unsigned checked division (floor); dividing by zero is a MathError."""
    if b == 0:
        raise _math(where)
    return a // b


def _div_ceil(a: int, b: int, where: str) -> int:
    """[CD] `checked_ceil_div`: quotient, plus one if there is a remainder."""
    if b == 0:
        raise _math(where)
    q, r = divmod(a, b)
    return q + 1 if r > 0 else q


def _i64_add(a: int, b: int, where: str) -> int:
    r = a + b
    if not I64_MIN <= r <= I64_MAX:
        raise _math(where)
    return r


def _i64_sub(a: int, b: int, where: str) -> int:
    r = a - b
    if not I64_MIN <= r <= I64_MAX:
        raise _math(where)
    return r


def _cast(x: int, lo: int, hi: int, where: str) -> int:
    if not lo <= x <= hi:
        raise ProgramError(Code.CastingFailure, where)
    return x


def _u64(x: int, where: str) -> int:
    return _cast(x, 0, U64_MAX, where)


def _u128(x: int, where: str) -> int:
    return _cast(x, 0, U128_MAX, where)


def _i64(x: int, where: str) -> int:
    return _cast(x, I64_MIN, I64_MAX, where)


def _require(ok: bool, code: Code, where: str) -> None:
    if not ok:
        raise ProgramError(code, where)


def _pow10_u128(exp: int, where: str) -> int:
    """`10_u128.pow(exp)`: a panic (overflow-checked build) past 10^38."""
    r = int(10**exp)
    if r > U128_MAX:
        raise ProgramError(None, where)
    return r


# --- state --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fund:
    """The SpotMarket fields (with its InsuranceFund) that the IF instructions read or write.

    Widths: shares, balances and indices u128; vault snapshots, allowance and the perp
    receivable u64; times i64; `decimals` u32. The interest indices are the stored ones; an
    instruction's `accrue` hook brings them to `now` where the program does.
    """

    total_shares: int = 0
    user_shares: int = 0
    shares_base: int = 0
    unstaking_period: int = 0
    last_revenue_settle_ts: int = 0
    revenue_settle_period: int = 0
    if_fee_factor: int = 0  # read only by events
    if_last_settle_vault_amount: int = 0
    revenue_settle_allowance: int = 0
    receivable_scaled: int = 0  # insurance_fund_revenue_receivable_scaled (a deposit balance)
    perp_receivable: int = 0  # perp_market_if_revenue_receivable (tokens, u64)
    revenue_pool_scaled: int = 0
    protocol_fee_pool_scaled: int = 0
    deposit_balance: int = 0
    borrow_balance: int = 0
    cumulative_deposit_interest: int = SPOT_CUMULATIVE_INTEREST_PRECISION
    cumulative_borrow_interest: int = SPOT_CUMULATIVE_INTEREST_PRECISION
    decimals: int = 6
    utilization_twap: int = 0
    market_index: int = 0
    market_initialized: bool = False  # MarketStatus::Initialized (add refuses it)
    market_withdraw_paused: bool = False  # paused_operations has SpotOperation::Withdraw
    if_paused_operations: int = 0  # IF_OP_* bits


@dataclass(frozen=True)
class Stake:
    """The InsuranceFundStake fields ([IS]); `if_shares` u128, value u64, times i64."""

    if_shares: int = 0
    if_base: int = 0
    last_withdraw_request_shares: int = 0
    last_withdraw_request_value: int = 0
    last_withdraw_request_ts: int = 0
    cost_basis: int = 0
    market_index: int = 0


@dataclass(frozen=True)
class Outcome:
    """What one instruction leaves behind and the tokens it moved.

    `spot_to_if`: spot vault -> IF vault (the released receivable); `user_to_if`: the add's
    transfer; `if_to_user`: the remove's payout. `vault_amount` / `spot_vault_amount`: both
    vaults afterwards. `booked`: tokens the settle moved from the revenue pool into the
    receivable. `user_stats_if_staked`: the UserStats snapshot written (market 0 only), else
    None.
    """

    fund: Fund
    stake: Stake | None
    vault_amount: int
    spot_vault_amount: int
    spot_to_if: int = 0
    user_to_if: int = 0
    if_to_user: int = 0
    booked: int = 0
    user_stats_if_staked: int | None = None


@dataclass(frozen=True)
class Settled:
    """The implicit settle's result: the market, the booked and the released token amounts."""

    fund: Fund
    vault_amount: int
    spot_vault_amount: int
    booked: int
    released: int


Accrual = Callable[[Fund, int], Fund]
"""Brings a market's interest indices (and the pools the accrual credits) to `now`."""


def no_accrual(fund: Fund, now: int) -> Fund:
    """The default `accrue`: no interest is due (see the module docstring)."""
    return fund


# --- math helpers ---------------------------------------------------------------------------


def _precision(fund: Fund, where: str) -> int:
    """[B] `10_u128.pow(19_u32.safe_sub(decimals)?)`."""
    return int(10 ** _sub(19, fund.decimals, where))


def get_token_amount(balance: int, fund: Fund, borrow: bool = False) -> int:
    """[B] `get_token_amount`: scaled balance -> tokens; deposits floor, borrows ceil."""
    where = "spot_balance.rs get_token_amount"
    p = _precision(fund, where)
    index = fund.cumulative_borrow_interest if borrow else fund.cumulative_deposit_interest
    prod = _mul(balance, index, U128_MAX, where)
    return _div_ceil(prod, p, where) if borrow else _div(prod, p, where)


def get_spot_balance(token_amount: int, fund: Fund, round_up: bool, borrow: bool = False) -> int:
    """[B] `get_spot_balance`: tokens -> scaled balance, floored, then +1 if `round_up` (and
    the amount is not 0) - unconditionally, even when the division was exact."""
    where = "spot_balance.rs get_spot_balance"
    p = _precision(fund, where)
    index = fund.cumulative_borrow_interest if borrow else fund.cumulative_deposit_interest
    balance = _div(_mul(token_amount, p, U128_MAX, where), index, where)
    if round_up and token_amount != 0:
        balance = _add(balance, 1, U128_MAX, where)
    return balance


def receivable_tokens(fund: Fund) -> int:
    """The receivable's token value: `get_token_amount(receivable_scaled, Deposit)` (u128).

    The body of `SpotMarket::get_insurance_fund_revenue_receivable` was not in the stored
    spot_market.rs versions; [C] treats it as the deposit-side token value of the scaled claim
    (`consume_insurance_fund_revenue_receivable` compares it with a token cap and converts the
    cap back with `get_spot_balance(.., Deposit, ..)`; `release_...` reads the same value with
    `get_token_amount(.., Deposit)`), so the model uses that.
    """
    return get_token_amount(fund.receivable_scaled, fund)


def get_insurance_fund_nav(vault_amount: int, fund: Fund) -> int:
    """[C] `get_insurance_fund_nav`: IF vault cash + the receivable's token value, u64."""
    where = "insurance.rs get_insurance_fund_nav"
    return _add(vault_amount, _u64(receivable_tokens(fund), where), U64_MAX, where)


def _standardize_value_with_remainder_i128(value: int, step: int, where: str) -> tuple[int, int]:
    """[H] `standardize_value_with_remainder_i128` for value >= 0."""
    if step == 0:
        raise _math(where)
    remainder = _cast(abs(value) % step, -I128_MAX - 1, I128_MAX, where)
    sign = (value > 0) - (value < 0)
    remainder *= sign
    return value - remainder, remainder


def get_proportion_u128(value: int, numerator: int, denominator: int) -> int:
    """[H] `get_proportion_u128`: floor(value * numerator / denominator), by its four branches.

    The branches give the exact floor, but each has its own failure: the U192 branch fails on a
    product past 2^192 (MathError) or a quotient past u128 (CastingFailure); the "ceiling"
    branch multiplies `value * (denominator - numerator)` in u128 (MathError) and casts it to
    i128 (CastingFailure), which the plain branch would not.
    """
    where = "helpers.rs get_proportion_u128"
    large = U64_MAX
    if numerator == denominator:
        return value
    if value >= large or numerator >= large:
        prod = _mul(value, numerator, U192_MAX, where)
        return _u128(_div(prod, denominator, where), where)
    if numerator > denominator // 2 and denominator > numerator:
        scaled = _mul(value, _sub(denominator, numerator, where), U128_MAX, where)
        scaled = _cast(scaled, -I128_MAX - 1, I128_MAX, where)
        std_value, r = _standardize_value_with_remainder_i128(scaled, denominator, where)
        step = _div(_u128(std_value, where), denominator, where)
        out = _sub(value, step, where)
        return _sub(out, 1 if r > 0 else 0, where)
    return _div(_mul(value, numerator, U128_MAX, where), denominator, where)


def on_the_hour_update(now: int, last_update_ts: int, update_period: int) -> int:
    """[H] `on_the_hour_update`: seconds until the next on-the-hour update (0 = due now)."""
    where = "helpers.rs on_the_hour_update"
    since = _i64_sub(now, last_update_ts, where)
    next_wait = update_period
    if update_period > 1:
        delay = last_update_ts % update_period  # rem_euclid: non-negative for a positive period
        if delay != 0:
            max_delay = update_period // 3
            two_periods = _i64_add(update_period, update_period, where)
            # too late in the period for the next hour: wait for the one after
            next_wait = two_periods - delay if delay > max_delay else update_period - delay
            if next_wait > two_periods:
                next_wait = next_wait - update_period
    return max(_i64_sub(next_wait, since, where), 0)


def calculate_rebase_info(total_if_shares: int, vault_balance: int) -> tuple[int, int]:
    """[M] `calculate_rebase_info`: (expo_diff, 10^expo_diff) from floor(floor(T/10)/V).

    The exponent is the number of decimal digits of that quotient minus one (`log10_iter`,
    [H]), 0 when it is below 10. V == 0 is a MathError (the callers never pass 0).
    """
    where = "insurance.rs calculate_rebase_info"
    full = _div(total_if_shares // 10, vault_balance, where)
    expo = 0
    while full >= 10:
        expo += 1
        full //= 10
    return expo, _pow10_u128(expo, where)


def vault_amount_to_if_shares(amount: int, total_if_shares: int, vault_balance: int) -> int:
    """[M] `vault_amount_to_if_shares`: floor(amount * T / V); with V == 0 it requires T == 0
    (else InvalidIFSharesDetected) and returns `amount` (1:1)."""
    if vault_balance > 0:
        return get_proportion_u128(amount, total_if_shares, vault_balance)
    _require(
        total_if_shares == 0, Code.InvalidIFSharesDetected, "insurance.rs vault_amount_to_if_shares"
    )
    return amount


def if_shares_to_vault_amount(n_shares: int, total_if_shares: int, vault_balance: int) -> int:
    """[M] `if_shares_to_vault_amount`: floor(V * n / T) as u64; n > T is
    InvalidIFSharesDetected; T == 0 gives 0."""
    where = "insurance.rs if_shares_to_vault_amount"
    _require(n_shares <= total_if_shares, Code.InvalidIFSharesDetected, where)
    if total_if_shares == 0:
        return 0
    return _u64(get_proportion_u128(vault_balance, n_shares, total_if_shares), where)


def deposit_amount_and_shares_for_if_stake(
    amount: int, total_if_shares: int, vault_balance: int
) -> tuple[int, int]:
    """[M] `deposit_amount_and_shares_for_if_stake` -> (amount charged, whole shares).

    n = floor(amount * T / V) and cost = ceil(n * V / T), in U192; (0, 0) when n == 0. An empty
    fund (V == 0) mints 1:1 and needs T == 0 (else InvalidIFSharesDetected). The cost is cast
    U192 -> u128 -> u64 before n is cast to u128, so a cost overflow is reported first.
    """
    where = "insurance.rs deposit_amount_and_shares_for_if_stake"
    if vault_balance == 0:
        _require(total_if_shares == 0, Code.InvalidIFSharesDetected, where)
        return amount, amount
    n = _div(_mul(amount, total_if_shares, U192_MAX, where), vault_balance, where)
    if n == 0:
        return 0, 0
    cost = _div_ceil(_mul(n, vault_balance, U192_MAX, where), total_if_shares, where)
    cost = _u64(_u128(cost, where), where)
    return cost, _u128(n, where)


def calculate_if_shares_lost(stake: Stake, fund: Fund, vault_balance: int) -> int:
    """[M] `calculate_if_shares_lost`: the shares a cancel forfeits (withdraw-and-restake).

    n = the requested shares. A request of the whole fund (n >= T) loses nothing (the
    sole-staker guard, OtterSec #108). Otherwise, if the shares are now worth more than the
    frozen value, the staker keeps new_n = floor(value * (T - n) / (V - value)) of them; new_n > n
    is InvalidIFSharesDetected. `vault_balance` is what the caller passes: NAV in every caller.
    """
    where = "insurance.rs calculate_if_shares_lost"
    n = stake.last_withdraw_request_shares
    if n >= fund.total_shares:
        return 0
    amount = if_shares_to_vault_amount(n, fund.total_shares, vault_balance)
    value = stake.last_withdraw_request_value
    if amount <= value:
        return 0
    new_n = vault_amount_to_if_shares(
        value, _sub(fund.total_shares, n, where), _sub(vault_balance, value, where)
    )
    _require(new_n <= n, Code.InvalidIFSharesDetected, where)
    return n - new_n


def apply_rebase_to_insurance_fund(vault_balance: int, fund: Fund) -> Fund:
    """[C] `apply_rebase_to_insurance_fund` (called with NAV): when 0 < NAV < T, divide T and U
    by 10^expo and raise the base; then an emptied T with NAV > 0 is reset to NAV."""
    where = "insurance.rs apply_rebase_to_insurance_fund"
    if vault_balance != 0 and vault_balance < fund.total_shares:
        expo, divisor = calculate_rebase_info(fund.total_shares, vault_balance)
        fund = replace(
            fund,
            total_shares=fund.total_shares // divisor,
            user_shares=fund.user_shares // divisor,
            shares_base=_add(fund.shares_base, expo, U128_MAX, where),
        )
    if vault_balance != 0 and fund.total_shares == 0:
        fund = replace(fund, total_shares=vault_balance)
    return fund


def apply_rebase_to_insurance_fund_stake(stake: Stake, fund: Fund) -> Stake:
    """[C] `apply_rebase_to_insurance_fund_stake`: bring a stake to the fund's base, dividing
    its shares and its pending request by 10^(difference). A stake ahead of the fund
    (stake base > fund base) is InvalidIFRebase; a difference past u32 is CastingFailure."""
    where = "insurance.rs apply_rebase_to_insurance_fund_stake"
    if fund.shares_base == stake.if_base:
        return stake
    _require(fund.shares_base > stake.if_base, Code.InvalidIFRebase, where)
    expo = _cast(fund.shares_base - stake.if_base, 0, U32_MAX, where)
    divisor = _pow10_u128(expo, where)
    return replace(
        stake,
        if_base=fund.shares_base,
        if_shares=stake.if_shares // divisor,
        last_withdraw_request_shares=stake.last_withdraw_request_shares // divisor,
    )


def checked_if_shares(stake: Stake, fund: Fund) -> int:
    """[IS] `checked_if_shares`: the stake's shares, InvalidIFRebase when the bases differ."""
    _require(
        stake.if_base == fund.shares_base,
        Code.InvalidIFRebase,
        "insurance_fund_stake.rs validate_base",
    )
    return stake.if_shares


def update_user_stats_if_stake_amount(
    delta: int, vault_amount: int, stake: Stake, fund: Fund
) -> int | None:
    """[C] `update_user_stats_if_stake_amount`: the UserStats `if_staked_quote_asset_amount`
    snapshot, floor(if_shares * (NAV +/- |delta|) / T), written for market 0 only (None
    otherwise). NAV + delta / NAV - delta are u64 checked."""
    where = "insurance.rs update_user_stats_if_stake_amount"
    if fund.market_index != QUOTE_SPOT_MARKET_INDEX:
        return None
    nav = get_insurance_fund_nav(vault_amount, fund)
    basis = _add(nav, delta, U64_MAX, where) if delta >= 0 else _sub(nav, -delta, where)
    return if_shares_to_vault_amount(checked_if_shares(stake, fund), fund.total_shares, basis)


def record_insurance_fund_outflow(fund: Fund, vault_amount: int, outflow: int) -> Fund:
    """[C] `record_insurance_fund_outflow`: the cap base falls to what the outflow leaves,
    `min(if_last_settle_vault_amount, NAV(vault before) saturating- outflow)`."""
    after = max(get_insurance_fund_nav(vault_amount, fund) - outflow, 0)
    return replace(
        fund, if_last_settle_vault_amount=min(fund.if_last_settle_vault_amount, after)
    )


def validate_spot_balances(fund: Fund) -> int:
    """[W] `validate_spot_balances` -> depositors' claim (deposits - borrows, i64).

    Each pool's token value is cast to u64 (CastingFailure); the revenue pool plus the
    protocol fee pool above the deposits is SpotMarketVaultInvariantViolated.
    """
    where = "spot_withdraw.rs validate_spot_balances"
    deposits = _u64(get_token_amount(fund.deposit_balance, fund), where)
    borrows = _u64(get_token_amount(fund.borrow_balance, fund, borrow=True), where)
    revenue = _u64(get_token_amount(fund.revenue_pool_scaled, fund), where)
    protocol = _u64(get_token_amount(fund.protocol_fee_pool_scaled, fund), where)
    claim = _i64_sub(_i64(deposits, where), _i64(borrows, where), where)
    _require(
        _add(revenue, protocol, U64_MAX, where) <= deposits,
        Code.SpotMarketVaultInvariantViolated,
        where,
    )
    return claim


def validate_spot_market_vault_amount(fund: Fund, spot_vault_amount: int) -> int:
    """[W] `validate_spot_market_vault_amount`: the spot vault must cover the depositors'
    claim (SpotMarketVaultInvariantViolated); returns that claim."""
    where = "spot_withdraw.rs validate_spot_market_vault_amount"
    claim = validate_spot_balances(fund)
    _require(
        _i64(spot_vault_amount, where) >= claim, Code.SpotMarketVaultInvariantViolated, where
    )
    return claim


def is_healthy_utilization(fund: Fund) -> bool:
    """[SM] `is_healthy_utilization` with [B] `calculate_utilization`: both the utilization TWAP
    and the current utilization (borrow tokens, ceil, * 1e6 / deposit tokens, floor; 100% with
    borrows but no deposits) at most 90%. The utilization is cast to u64."""
    where = "spot_market.rs is_healthy_utilization"
    deposits = get_token_amount(fund.deposit_balance, fund)
    borrows = get_token_amount(fund.borrow_balance, fund, borrow=True)
    scaled = _mul(borrows, SPOT_UTILIZATION_PRECISION, U128_MAX, where)
    if deposits == 0:
        utilization = 0 if borrows == 0 else SPOT_UTILIZATION_PRECISION
    else:
        utilization = scaled // deposits
    utilization = _u64(utilization, where)
    return fund.utilization_twap <= UNHEALTHY_UTILIZATION and utilization <= UNHEALTHY_UTILIZATION


# --- the booking (settle) -------------------------------------------------------------------


def get_unreserved_revenue_pool_token_amount(fund: Fund) -> int:
    """[C] the revenue pool's token value less the perp markets' IF receivable (which stays
    reserved in the pool); a reserve above the pool is InvalidSpotMarketState."""
    where = "insurance.rs get_unreserved_revenue_pool_token_amount"
    pool = get_token_amount(fund.revenue_pool_scaled, fund)
    _require(fund.perp_receivable <= pool, Code.InvalidSpotMarketState, where)
    return pool - fund.perp_receivable


def apply_revenue_settle_caps(token_amount: int, vault_amount: int, fund: Fund) -> int:
    """[C] `apply_revenue_settle_caps`: with stakers (U > 0), at most a tenth of the amount and
    at most the APR cap, 1000%/year of min(NAV, if_last_settle_vault_amount) per period:
    floor(floor(base * 10_000_000 / 1_000_000) / max(floor(ONE_YEAR / period), 1))."""
    where = "insurance.rs apply_revenue_settle_caps"
    if fund.user_shares == 0:
        return token_amount
    nav = get_insurance_fund_nav(vault_amount, fund)
    cap_base = min(nav, fund.if_last_settle_vault_amount)
    period = _u128(fund.revenue_settle_period, where)
    per_year = max(_div(ONE_YEAR, period, where), 1)
    apr = _mul(cap_base, MAX_APR_PER_REVENUE_SETTLE_TO_INSURANCE_FUND_VAULT, U128_MAX, where)
    apr_cap = _div(apr // PERCENTAGE_PRECISION, per_year, where)
    return min(token_amount // 10, apr_cap)


def open_revenue_settle_period(
    spot_vault_amount: int, vault_amount: int, fund: Fund, now: int
) -> tuple[Fund, bool]:
    """[C] `open_revenue_settle_period` -> (fund, cap_base_was_unset).

    Checks the spot vault (SpotMarketVaultInvariantViolated); takes the pool's token value,
    halves what is left of the depositors' claim after the receivable when that is smaller
    (the liquidity rule), applies the caps, and sets the period's allowance and
    `last_revenue_settle_ts = now`. `cap_base_was_unset` (U > 0 and no snapshot yet) lets
    the seeding settle through NoRevenueToSettleToIF.
    """
    where = "insurance.rs open_revenue_settle_period"
    claim = validate_spot_market_vault_amount(fund, spot_vault_amount)
    reserved = receivable_tokens(fund)
    unreserved_claim = max(max(claim, 0) - reserved, 0)
    token_amount = get_token_amount(fund.revenue_pool_scaled, fund)
    if unreserved_claim < token_amount:
        token_amount = unreserved_claim // 2
    cap_base_was_unset = fund.user_shares > 0 and fund.if_last_settle_vault_amount == 0
    token_amount = apply_revenue_settle_caps(token_amount, vault_amount, fund)
    allowance = get_proportion_u128(
        token_amount, SHARE_OF_REVENUE_TO_IF_NUMERATOR, SHARE_OF_REVENUE_TO_IF_DENOMINATOR
    )
    fund = replace(
        fund,
        revenue_settle_allowance=_u64(allowance, where),
        last_revenue_settle_ts=now,
    )
    return fund, cap_base_was_unset


def book_revenue_to_insurance_fund(
    spot_vault_amount: int,
    vault_amount: int,
    fund: Fund,
    now: int,
    check_invariants: bool,
    open_period: bool,
    accrue: Accrual = no_accrual,
) -> tuple[Fund, int]:
    """[C] `book_revenue_to_insurance_fund` -> (fund, tokens booked).

    Moves a scaled claim from the revenue pool to the receivable (no tokens move):
    min(unreserved pool, allowance), kept one scaled unit clear of the perp reserve; the pool
    debit is the whole pool when the amount covers its token value, else ceil-scaled
    (`get_spot_balance(.., round_up)`: floor + 1, always); the booked amount is the debit's
    floor token value and comes off the allowance (u64 checked: a debit whose token value
    exceeds the allowance is a MathError). NoRevenueToSettleToIF when asked to check and
    nothing was booked or pending. With no shares, T becomes NAV_before + booked (ballast);
    an opening period sets the cap base to NAV_before + booked.

    Interest accrual, the program's first step, is the `accrue` hook.
    """
    where = "insurance.rs book_revenue_to_insurance_fund"
    fund = accrue(fund, now)
    if fund.revenue_settle_period == 0:
        return fund, 0
    cap_base_was_unset = False
    if open_period:
        fund, cap_base_was_unset = open_revenue_settle_period(
            spot_vault_amount, vault_amount, fund, now
        )
    amount = min(
        _u64(get_unreserved_revenue_pool_token_amount(fund), where), fund.revenue_settle_allowance
    )
    if amount > 0 and fund.perp_receivable > 0:
        minimum_reserved = get_spot_balance(fund.perp_receivable, fund, round_up=True)
        _require(
            minimum_reserved <= fund.revenue_pool_scaled, Code.InvalidSpotMarketState, where
        )
        available = fund.revenue_pool_scaled - minimum_reserved
        max_reclassifiable = get_token_amount(max(available - 1, 0), fund)
        amount = min(amount, _u64(max_reclassifiable, where))
    nav_before = get_insurance_fund_nav(vault_amount, fund)
    if amount > 0:
        pool_tokens = get_token_amount(fund.revenue_pool_scaled, fund)
        if pool_tokens <= amount:
            delta = fund.revenue_pool_scaled
        else:
            delta = get_spot_balance(amount, fund, round_up=True)
        fund = replace(
            fund,
            revenue_pool_scaled=_sub(fund.revenue_pool_scaled, delta, where),
            receivable_scaled=_add(fund.receivable_scaled, delta, U128_MAX, where),
        )
        amount = _u64(get_token_amount(delta, fund), where)
        fund = replace(
            fund, revenue_settle_allowance=_sub(fund.revenue_settle_allowance, amount, where)
        )
    if check_invariants and not cap_base_was_unset:
        _require(
            amount != 0 or fund.receivable_scaled > 0, Code.NoRevenueToSettleToIF, where
        )
    if fund.total_shares == 0:
        fund = replace(
            fund, total_shares=_u128(_add(nav_before, amount, U64_MAX, where), where)
        )
    if open_period:
        fund = replace(
            fund, if_last_settle_vault_amount=_add(nav_before, amount, U64_MAX, where)
        )
    _i64(amount, where + " (InsuranceFundRecord.amount)")
    return fund, amount


def settle_insurance_fund_revenue_receivable(fund: Fund) -> tuple[Fund, int]:
    """[C] `settle_insurance_fund_revenue_receivable` -> (fund, tokens released): the whole
    receivable's token value (u64), taken off `deposit_balance` and zeroed."""
    where = "insurance.rs release_insurance_fund_revenue_receivable"
    delta = fund.receivable_scaled
    if delta == 0:
        return fund, 0
    amount = get_token_amount(delta, fund)
    fund = replace(
        fund, deposit_balance=_sub(fund.deposit_balance, delta, where), receivable_scaled=0
    )
    return fund, _u64(amount, where)


def _send(source: int, destination: int, amount: int, where: str) -> tuple[int, int]:
    """An SPL transfer: the source must hold `amount` (token error 1 otherwise)."""
    _require(amount <= source, Code.TokenInsufficientFunds, where)
    return source - amount, destination + amount


def attempt_settle(
    fund: Fund,
    vault_amount: int,
    spot_vault_amount: int,
    now: int,
    exchange_withdraw_paused: bool,
    accrue: Accrual = no_accrual,
) -> Settled:
    """[C] `attempt_settle_revenue_to_insurance_fund`: the settle that add, request, cancel and
    remove run first.

    Due = a positive period whose on-the-hour time has come. With nothing due, no receivable
    and no allowance left, nothing happens. Otherwise it books (opening a period only when
    due; with only a receivable pending it just accrues interest), and - unless the exchange
    or the market pauses withdrawals - releases the whole receivable and sends its tokens from
    the spot vault to the IF vault. A pause never blocks the booking, only the transfer.
    """
    period = fund.revenue_settle_period
    due = period > 0 and on_the_hour_update(now, fund.last_revenue_settle_ts, period) == 0
    transfer_paused = exchange_withdraw_paused or fund.market_withdraw_paused
    has_receivable = fund.receivable_scaled > 0
    has_allowance = fund.revenue_settle_allowance > 0
    if not due and not has_receivable and not has_allowance:
        return Settled(fund, vault_amount, spot_vault_amount, 0, 0)
    booked = 0
    if due or has_allowance:
        fund, booked = book_revenue_to_insurance_fund(
            spot_vault_amount, vault_amount, fund, now, False, due, accrue
        )
    else:
        fund = accrue(fund, now)
    if transfer_paused:
        return Settled(fund, vault_amount, spot_vault_amount, booked, 0)
    fund, released = settle_insurance_fund_revenue_receivable(fund)
    if released > 0:
        spot_vault_amount, vault_amount = _send(
            spot_vault_amount, vault_amount, released, "insurance.rs attempt_settle (transfer)"
        )
    return Settled(fund, vault_amount, spot_vault_amount, booked, released)


def _settle_first(
    fund: Fund, vault_amount: int, spot_vault_amount: int, now: int, paused: bool, accrue: Accrual
) -> Settled:
    """[S] each handler's settle block: the implicit settle, the vaults reloaded, then
    `validate_spot_market_vault_amount` on the reloaded spot vault."""
    s = attempt_settle(fund, vault_amount, spot_vault_amount, now, paused, accrue)
    validate_spot_market_vault_amount(s.fund, s.spot_vault_amount)
    return s


# --- the instructions -------------------------------------------------------------------------


def add(
    fund: Fund,
    stake: Stake,
    vault_amount: int,
    spot_vault_amount: int,
    amount: int,
    now: int,
    exchange_withdraw_paused: bool = False,
    accrue: Accrual = no_accrual,
) -> Outcome:
    """add_insurance_fund_stake: [S] `handle_add_insurance_fund_stake`, [C]
    `add_insurance_fund_stake`.

    Order: amount 0 (InsufficientDeposit); Add paused (InsuranceFundOperationPaused); stake of
    another market (IncorrectSpotMarketAccountPassed); market Initialized
    (InvalidSpotMarketState); a pending request, shares or value (IFWithdrawRequestInProgress);
    the implicit settle; then on the post-settle vault: NAV 0 with shares (InvalidIFForNewStakes),
    ballast T = NAV when T is 0, rebase fund and stake, whole-share pricing (zero shares:
    IFDepositMintsZeroShares), cost basis (reset when the stake had no shares), shares,
    snapshot. Only the priced `cost` is sent from the user.
    """
    where = "if_staker.rs handle_add_insurance_fund_stake"
    _require(amount != 0, Code.InsufficientDeposit, where)
    _require(
        not fund.if_paused_operations & IF_OP_ADD, Code.InsuranceFundOperationPaused, where
    )
    _require(stake.market_index == fund.market_index, Code.IncorrectSpotMarketAccountPassed, where)
    _require(not fund.market_initialized, Code.InvalidSpotMarketState, where)
    _require(
        stake.last_withdraw_request_shares == 0 and stake.last_withdraw_request_value == 0,
        Code.IFWithdrawRequestInProgress,
        where,
    )
    s = _settle_first(fund, vault_amount, spot_vault_amount, now, exchange_withdraw_paused, accrue)
    fund, v = s.fund, s.vault_amount

    where = "insurance.rs add_insurance_fund_stake"
    nav = get_insurance_fund_nav(v, fund)
    _require(not (nav == 0 and fund.total_shares != 0), Code.InvalidIFForNewStakes, where)
    if fund.total_shares == 0 and nav > 0:
        fund = replace(fund, total_shares=nav)
    fund = apply_rebase_to_insurance_fund(nav, fund)
    stake = apply_rebase_to_insurance_fund_stake(stake, fund)
    shares_before = checked_if_shares(stake, fund)
    cost, n = deposit_amount_and_shares_for_if_stake(amount, fund.total_shares, nav)
    _require(n > 0, Code.IFDepositMintsZeroShares, where)
    cost_i64 = _i64(cost, where)
    basis = cost_i64 if shares_before == 0 else _i64_add(stake.cost_basis, cost_i64, where)
    stake = replace(
        stake,
        cost_basis=basis,
        if_shares=_add(checked_if_shares(stake, fund), n, U128_MAX, where),
    )
    fund = replace(
        fund,
        total_shares=_add(fund.total_shares, n, U128_MAX, where),
        user_shares=_add(fund.user_shares, n, U128_MAX, where),
    )
    snapshot = update_user_stats_if_stake_amount(_i64(cost, where), v, stake, fund)
    checked_if_shares(stake, fund)
    return Outcome(
        fund=fund,
        stake=stake,
        vault_amount=v + cost,
        spot_vault_amount=s.spot_vault_amount,
        spot_to_if=s.released,
        user_to_if=cost,
        booked=s.booked,
        user_stats_if_staked=snapshot,
    )


def request(
    fund: Fund,
    stake: Stake,
    vault_amount: int,
    spot_vault_amount: int,
    amount: int,
    now: int,
    exchange_withdraw_paused: bool = False,
    accrue: Accrual = no_accrual,
) -> Outcome:
    """request_remove_insurance_fund_stake: [S] `handle_request_remove_insurance_fund_stake`,
    [C] `request_remove_insurance_fund_stake`.

    Order: RequestRemove paused; another market; request shares pending
    (IFWithdrawRequestInProgress; a lingering value alone does not block); the implicit settle
    (no pause gate: a paused transfer leaves the booking as a receivable that NAV counts);
    n = shares for `amount` at NAV with the *pre-rebase* T (0: IFWithdrawRequestTooSmall);
    the stake's base checked *before* any rebase (InvalidIFRebase); n above the stake's shares
    (InsufficientIFShares); then the request is recorded, fund and stake rebased, the request
    checked against the shares (InvalidInsuranceUnstakeSize), and its value frozen at
    min(floor(n * NAV / T), NAV - 1).
    """
    where = "if_staker.rs handle_request_remove_insurance_fund_stake"
    _require(
        not fund.if_paused_operations & IF_OP_REQUEST_REMOVE,
        Code.InsuranceFundOperationPaused,
        where,
    )
    _require(stake.market_index == fund.market_index, Code.IncorrectSpotMarketAccountPassed, where)
    _require(stake.last_withdraw_request_shares == 0, Code.IFWithdrawRequestInProgress, where)
    s = _settle_first(fund, vault_amount, spot_vault_amount, now, exchange_withdraw_paused, accrue)
    fund, v = s.fund, s.vault_amount
    nav = get_insurance_fund_nav(v, fund)
    n = vault_amount_to_if_shares(amount, fund.total_shares, nav)
    _require(n > 0, Code.IFWithdrawRequestTooSmall, where)
    _require(checked_if_shares(stake, fund) >= n, Code.InsufficientIFShares, where)

    where = "insurance.rs request_remove_insurance_fund_stake"
    stake = replace(stake, last_withdraw_request_shares=n)
    nav = get_insurance_fund_nav(v, fund)
    fund = apply_rebase_to_insurance_fund(nav, fund)
    stake = apply_rebase_to_insurance_fund_stake(stake, fund)
    checked_if_shares(stake, fund)
    _require(
        stake.last_withdraw_request_shares <= checked_if_shares(stake, fund),
        Code.InvalidInsuranceUnstakeSize,
        where,
    )
    _require(stake.if_base == fund.shares_base, Code.InvalidIFRebase, where)
    value = min(
        if_shares_to_vault_amount(stake.last_withdraw_request_shares, fund.total_shares, nav),
        max(nav - 1, 0),
    )
    _require(value == 0 or value < nav, Code.InvalidIFUnstakeSize, where)
    stake = replace(stake, last_withdraw_request_value=value)
    checked_if_shares(stake, fund)
    snapshot = update_user_stats_if_stake_amount(0, v, stake, fund)
    stake = replace(stake, last_withdraw_request_ts=now)
    return Outcome(
        fund=fund,
        stake=stake,
        vault_amount=v,
        spot_vault_amount=s.spot_vault_amount,
        spot_to_if=s.released,
        booked=s.booked,
        user_stats_if_staked=snapshot,
    )


def cancel(
    fund: Fund,
    stake: Stake,
    vault_amount: int,
    spot_vault_amount: int,
    now: int,
    exchange_withdraw_paused: bool = False,
    accrue: Accrual = no_accrual,
) -> Outcome:
    """cancel_request_remove_insurance_fund_stake: [S]
    `handle_cancel_request_remove_insurance_fund_stake`, [C]
    `cancel_request_remove_insurance_fund_stake`.

    Order: another market; no request shares (NoIFWithdrawRequestInProgress); the implicit
    settle (no pause gate); rebase at NAV; base check; the forfeit (`calculate_if_shares_lost`
    at NAV) burnt from the stake, T and U; no "request floored to 0" check after the rebase
    (OtterSec #34); the request cleared.
    """
    where = "if_staker.rs handle_cancel_request_remove_insurance_fund_stake"
    _require(stake.market_index == fund.market_index, Code.IncorrectSpotMarketAccountPassed, where)
    _require(stake.last_withdraw_request_shares != 0, Code.NoIFWithdrawRequestInProgress, where)
    s = _settle_first(fund, vault_amount, spot_vault_amount, now, exchange_withdraw_paused, accrue)
    fund, v = s.fund, s.vault_amount

    where = "insurance.rs cancel_request_remove_insurance_fund_stake"
    nav = get_insurance_fund_nav(v, fund)
    fund = apply_rebase_to_insurance_fund(nav, fund)
    stake = apply_rebase_to_insurance_fund_stake(stake, fund)
    checked_if_shares(stake, fund)
    _require(stake.if_base == fund.shares_base, Code.InvalidIFRebase, where)
    lost = calculate_if_shares_lost(stake, fund, nav)
    stake = replace(stake, if_shares=_sub(checked_if_shares(stake, fund), lost, where))
    fund = replace(
        fund,
        total_shares=_sub(fund.total_shares, lost, where),
        user_shares=_sub(fund.user_shares, lost, where),
    )
    checked_if_shares(stake, fund)
    snapshot = update_user_stats_if_stake_amount(0, v, stake, fund)
    stake = replace(
        stake,
        last_withdraw_request_shares=0,
        last_withdraw_request_value=0,
        last_withdraw_request_ts=now,
    )
    return Outcome(
        fund=fund,
        stake=stake,
        vault_amount=v,
        spot_vault_amount=s.spot_vault_amount,
        spot_to_if=s.released,
        booked=s.booked,
        user_stats_if_staked=snapshot,
    )


def remove(
    fund: Fund,
    stake: Stake,
    vault_amount: int,
    spot_vault_amount: int,
    now: int,
    exchange_withdraw_paused: bool = False,
    accrue: Accrual = no_accrual,
) -> Outcome:
    """remove_insurance_fund_stake: [AC] `withdraw_not_paused`, [S]
    `handle_remove_insurance_fund_stake`, [C] `remove_insurance_fund_stake`.

    Order: exchange withdraw pause (ExchangePaused); Remove paused; another market;
    utilization above 90% (SpotMarketInsufficientDeposits); the implicit settle; the unstaking
    period (TryingToRemoveLiquidityTooFast); rebase at NAV; no request (InvalidIFUnstake);
    request above the shares (InsufficientIFShares); value at NAV; the forfeit computed and
    discarded (it can still fail); payout = min(value now, frozen value); the cash check
    `payout == 0 || payout < IF vault cash` (InvalidIFUnstakeSize); burn, cost basis, T, U;
    `record_insurance_fund_outflow`; the request cleared; snapshot; the transfer; the vault
    must stay above 0 (InvalidIFDetected); `validate_spot_balances`.
    """
    where = "if_staker.rs handle_remove_insurance_fund_stake"
    _require(not exchange_withdraw_paused, Code.ExchangePaused, "constraints.rs withdraw_not_paused")
    _require(
        not fund.if_paused_operations & IF_OP_REMOVE, Code.InsuranceFundOperationPaused, where
    )
    _require(stake.market_index == fund.market_index, Code.IncorrectSpotMarketAccountPassed, where)
    _require(is_healthy_utilization(fund), Code.SpotMarketInsufficientDeposits, where)
    s = _settle_first(fund, vault_amount, spot_vault_amount, now, exchange_withdraw_paused, accrue)
    fund, v = s.fund, s.vault_amount

    where = "insurance.rs remove_insurance_fund_stake"
    since = _i64_sub(now, stake.last_withdraw_request_ts, where)
    _require(since >= fund.unstaking_period, Code.TryingToRemoveLiquidityTooFast, where)
    nav = get_insurance_fund_nav(v, fund)
    fund = apply_rebase_to_insurance_fund(nav, fund)
    stake = apply_rebase_to_insurance_fund_stake(stake, fund)
    shares_before = checked_if_shares(stake, fund)
    n = stake.last_withdraw_request_shares
    _require(n > 0, Code.InvalidIFUnstake, where)
    _require(shares_before >= n, Code.InsufficientIFShares, where)
    value_now = if_shares_to_vault_amount(n, fund.total_shares, nav)
    calculate_if_shares_lost(stake, fund, nav)
    pay = min(value_now, stake.last_withdraw_request_value)
    _require(pay == 0 or pay < v, Code.InvalidIFUnstakeSize, where)
    stake = replace(stake, if_shares=_sub(checked_if_shares(stake, fund), n, where))
    stake = replace(stake, cost_basis=_i64_sub(stake.cost_basis, _i64(pay, where), where))
    fund = replace(
        fund,
        total_shares=_sub(fund.total_shares, n, where),
        user_shares=_sub(fund.user_shares, n, where),
    )
    fund = record_insurance_fund_outflow(fund, v, pay)
    stake = replace(
        stake,
        last_withdraw_request_shares=0,
        last_withdraw_request_value=0,
        last_withdraw_request_ts=now,
    )
    checked_if_shares(stake, fund)
    snapshot = update_user_stats_if_stake_amount(-_i64(pay, where), v, stake, fund)

    where = "if_staker.rs handle_remove_insurance_fund_stake"
    v_after = v - pay
    _require(v_after > 0, Code.InvalidIFDetected, where)
    validate_spot_balances(fund)
    return Outcome(
        fund=fund,
        stake=stake,
        vault_amount=v_after,
        spot_vault_amount=s.spot_vault_amount,
        spot_to_if=s.released,
        if_to_user=pay,
        booked=s.booked,
        user_stats_if_staked=snapshot,
    )


def settle(
    fund: Fund,
    vault_amount: int,
    spot_vault_amount: int,
    now: int,
    exchange_withdraw_paused: bool = False,
    spot_market_index: int | None = None,
    accrue: Accrual = no_accrual,
) -> Outcome:
    """settle_revenue_to_insurance_fund (permissionless): [AC] `withdraw_not_paused`, [K]
    `handle_settle_revenue_to_insurance_fund` / `require_revenue_settle_due`, [C]
    `settle_revenue_to_insurance_fund`.

    Order: exchange withdraw pause (ExchangePaused); the argument's index against the market's
    (InvalidSpotMarketAccount; Anchor's seeds already force it); the market's own Withdraw
    pause (MarketWithdrawPaused); period <= 0 or not yet on the hour
    (RevenueSettingsCannotSettleToIF); the booking with a new period and the
    NoRevenueToSettleToIF check; the release; `last_revenue_settle_ts = now`; the transfer
    (made even for 0); the spot vault check.
    """
    where = "insurance_fund.rs handle_settle_revenue_to_insurance_fund"
    _require(not exchange_withdraw_paused, Code.ExchangePaused, "constraints.rs withdraw_not_paused")
    index = fund.market_index if spot_market_index is None else spot_market_index
    _require(index == fund.market_index, Code.InvalidSpotMarketAccount, where)
    _require(not fund.market_withdraw_paused, Code.MarketWithdrawPaused, where)
    _require(fund.revenue_settle_period > 0, Code.RevenueSettingsCannotSettleToIF, where)
    wait = on_the_hour_update(now, fund.last_revenue_settle_ts, fund.revenue_settle_period)
    _require(wait == 0, Code.RevenueSettingsCannotSettleToIF, where)
    fund, booked = book_revenue_to_insurance_fund(
        spot_vault_amount, vault_amount, fund, now, True, True, accrue
    )
    fund, released = settle_insurance_fund_revenue_receivable(fund)
    fund = replace(fund, last_revenue_settle_ts=now)
    spot_after, vault_after = _send(spot_vault_amount, vault_amount, released, where)
    validate_spot_market_vault_amount(fund, spot_after)
    return Outcome(
        fund=fund,
        stake=None,
        vault_amount=vault_after,
        spot_vault_amount=spot_after,
        spot_to_if=released,
        booked=booked,
    )
