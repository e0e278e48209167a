"""Insurance Fund share math, as the program computes it: pure integers, floor division.

Every function mirrors one step of the program (spec §4) and rounds the same way,
which is always in the fund's favour. Errors the program would raise are raised as
`Rejected(code)`; the shell maps codes to names and sentences (keeper.core.errors).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from keeper.core.error_codes import DriftError
from keeper.core.errors import KeeperError
from keeper.core.views import InsuranceFundStake, SpotMarket

PERCENTAGE_PRECISION = 1_000_000
IF_FACTOR_PRECISION = 1_000_000
SPOT_UTILIZATION_PRECISION = 1_000_000
SPOT_RATE_PRECISION = 1_000_000
ONE_YEAR_SECONDS = 31_536_000


class Rejected(KeeperError):
    """The program would fail with custom error `code` (plus any `msg!` lines it logs).

    `site` names which of an instruction's several raise sites of the same code fired,
    where that matters (a key of keeper.core.error_sites; None: the only one).
    """

    def __init__(self, code: int, logs: tuple[str, ...] = (), site: str | None = None) -> None:
        self.code = int(code)
        self.logs = logs
        self.site = site
        super().__init__(f"program error {code}" + (f": {' '.join(logs)}" if logs else ""))


class TokenRejected(Rejected):
    """The SPL Token program (called by Drift) would fail with its own error `code`.

    `transfers` are the instruction's token moves up to and including the failing one
    (keeper.core.effects.TokenMove), in its order: a caller that executes transfers
    (the localnet model) makes them, so the token program itself reports the failure
    at the point of the instruction where it happens.
    """

    def __init__(
        self, code: int, logs: tuple[str, ...] = (), transfers: tuple[object, ...] = ()
    ) -> None:
        super().__init__(code, logs)
        self.transfers = transfers


def _require(condition: bool, code: int, site: str | None = None) -> None:
    if not condition:
        raise Rejected(code, site=site)


# -- integer widths ------------------------------------------------------------------------
#
# Python's ints never overflow; the program's do. Each helper below is one checked Rust
# operation: `safe_add/sub/mul` on a fixed width fails with MathError (6019), a `cast()`
# to a narrower type fails with CastingFailure (6041). Prediction code calls them exactly
# where the program uses that width, so the mirror fails where and how the program fails.

U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
U128_MAX = 2**128 - 1
I128_MAX = 2**127 - 1
U192_MAX = 2**192 - 1


def _checked(value: int, lo: int, hi: int) -> int:
    _require(lo <= value <= hi, DriftError.MathError)
    return value


def u64_add(a: int, b: int) -> int:
    return _checked(a + b, 0, U64_MAX)


def u64_sub(a: int, b: int) -> int:
    return _checked(a - b, 0, U64_MAX)


def u64_mul(a: int, b: int) -> int:
    return _checked(a * b, 0, U64_MAX)


def u128_add(a: int, b: int) -> int:
    return _checked(a + b, 0, U128_MAX)


def u128_sub(a: int, b: int) -> int:
    return _checked(a - b, 0, U128_MAX)


def u128_mul(a: int, b: int) -> int:
    return _checked(a * b, 0, U128_MAX)


def i64_add(a: int, b: int) -> int:
    return _checked(a + b, I64_MIN, I64_MAX)


def i64_sub(a: int, b: int) -> int:
    return _checked(a - b, I64_MIN, I64_MAX)


def _cast(value: int, lo: int, hi: int) -> int:
    _require(lo <= value <= hi, DriftError.CastingFailure)
    return value


def cast_to_u64(value: int) -> int:
    return _cast(value, 0, U64_MAX)


def cast_to_i64(value: int) -> int:
    return _cast(value, I64_MIN, I64_MAX)


def cast_to_u128(value: int) -> int:
    return _cast(value, 0, U128_MAX)


def cast_to_i128(value: int) -> int:
    return _cast(value, -(2**127), I128_MAX)


def proportion_u128(value: int, numerator: int, denominator: int) -> int:
    """floor(value × numerator ÷ denominator) the way the program's u128 helper fails.

    The result is always the floor; what differs between the program's four branches
    is where it overflows: equal ratio (no arithmetic), a 192-bit product once either
    factor reaches u64::MAX (then a u128 cast), a "ceiling" form for ratios in (½, 1)
    whose u128 product is cast to i128, and a plain u128 product otherwise.
    """
    if numerator == denominator:
        return value
    _require(denominator != 0, DriftError.MathError)
    if value >= U64_MAX or numerator >= U64_MAX:
        product = _checked(value * numerator, 0, U192_MAX)
        return cast_to_u128(product // denominator)
    if numerator > denominator // 2 and denominator > numerator:
        cast_to_i128(u128_mul(value, denominator - numerator))
        return value * numerator // denominator
    return u128_mul(value, numerator) // denominator


# -- token amounts from scaled balances ------------------------------------------------


def balance_precision(decimals: int) -> int:
    """Scaled balance × cumulative interest ÷ this = token units: 10^(19 − decimals)."""
    if not 0 <= decimals <= 19:
        raise Rejected(DriftError.MathError)
    result: int = 10 ** (19 - decimals)
    return result


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def deposit_tokens(scaled_balance: int, cumulative_interest: int, decimals: int) -> int:
    """get_token_amount (Deposit): a u128 product, floored."""
    precision = balance_precision(decimals)
    return u128_mul(scaled_balance, cumulative_interest) // precision


def borrow_tokens(scaled_balance: int, cumulative_interest: int, decimals: int) -> int:
    """get_token_amount (Borrow): a u128 product, rounded up."""
    precision = balance_precision(decimals)
    return ceil_div(u128_mul(scaled_balance, cumulative_interest), precision)


def deposit_token_amount(market: SpotMarket) -> int:
    return deposit_tokens(
        market.deposit_balance, market.cumulative_deposit_interest, market.decimals
    )


def borrow_token_amount(market: SpotMarket) -> int:
    return borrow_tokens(market.borrow_balance, market.cumulative_borrow_interest, market.decimals)


def revenue_pool_amount(market: SpotMarket) -> int:
    return deposit_tokens(
        market.revenue_pool_scaled_balance, market.cumulative_deposit_interest, market.decimals
    )


def utilization(deposit_amount: int, borrow_amount: int) -> int:
    """Borrows ÷ deposits at 1e6; 0 with neither, 100% with borrows and no deposits."""
    scaled = u128_mul(borrow_amount, SPOT_UTILIZATION_PRECISION)
    if borrow_amount == 0 and deposit_amount == 0:
        return 0
    if deposit_amount == 0:
        return SPOT_UTILIZATION_PRECISION
    return scaled // deposit_amount


def market_utilization(market: SpotMarket) -> int:
    return utilization(deposit_token_amount(market), borrow_token_amount(market))


def withdraw_utilization_ok(market: SpotMarket, limit: int) -> bool:
    """The remove gate: both the stored TWAP and the current utilization ≤ limit.

    The program computes the current utilization (and casts it to u64) before it
    compares either, so that cast can fail even when the TWAP alone would refuse.
    """
    current = cast_to_u64(market_utilization(market))
    return market.utilization_twap <= limit and current <= limit


def validate_spot_balances(market: SpotMarket) -> int:
    """The depositors' claim (deposits − borrows, signed), after the program's casts.

    Mirrors math/spot_withdraw.rs `validate_spot_balances`: each token amount is cast
    to u64, deposits and borrows to i64 for the difference (CastingFailure beyond
    i64::MAX), then the revenue pool must not exceed the deposits (6173).
    """
    deposits = cast_to_u64(deposit_token_amount(market))
    borrows = cast_to_u64(borrow_token_amount(market))
    revenue = cast_to_u64(revenue_pool_amount(market))
    claim = i64_sub(cast_to_i64(deposits), cast_to_i64(borrows))
    _require(revenue <= deposits, DriftError.SpotMarketVaultInvariantViolated, "revenue")
    return claim


def validate_spot_market_vault_amount(market: SpotMarket, vault_amount: int) -> int:
    """`validate_spot_balances`, then the spot vault must hold the depositors' claim.

    Mirrors math/spot_withdraw.rs `validate_spot_market_vault_amount` (the vault
    balance is cast to i64 for the comparison). Returns the claim.
    """
    claim = validate_spot_balances(market)
    _require(
        cast_to_i64(vault_amount) >= claim, DriftError.SpotMarketVaultInvariantViolated, "vault"
    )
    return claim


# -- shares ↔ amounts ---------------------------------------------------------------------


def amount_to_shares(amount: int, total_shares: int, vault_amount: int) -> int:
    """Shares an `amount` buys; an empty vault (with no shares) prices 1:1.

    math/insurance.rs `vault_amount_to_if_shares` (u128 proportion, see proportion_u128).
    """
    if vault_amount > 0:
        return proportion_u128(amount, total_shares, vault_amount)
    _require(total_shares == 0, DriftError.InvalidIFSharesDetected)
    return amount


def shares_to_amount(shares: int, total_shares: int, vault_amount: int) -> int:
    """Tokens `shares` are worth now, rounded against the holder.

    math/insurance.rs `if_shares_to_vault_amount`: the share check comes first, then
    the u128 proportion (which can fail its i128 cast for vaults near u64::MAX).
    """
    _require(shares <= total_shares, DriftError.InvalidIFSharesDetected)
    if total_shares == 0:
        return 0
    return cast_to_u64(proportion_u128(vault_amount, shares, total_shares))


def request_value(shares: int, total_shares: int, vault_amount: int) -> int:
    """Frozen at request time; capped at V − 1 so the vault never empties."""
    return min(shares_to_amount(shares, total_shares, vault_amount), max(vault_amount - 1, 0))


def remove_payout(
    shares: int, total_shares: int, vault_amount: int, request_value_amount: int
) -> int:
    """Losses during the cooldown are passed on, gains are forfeited."""
    return min(shares_to_amount(shares, total_shares, vault_amount), request_value_amount)


def cancel_shares_lost(
    shares: int,
    total_shares: int,
    vault_amount: int,
    request_value_amount: int,
    *,
    sole_staker_guard: bool = False,
) -> int:
    """Shares a cancel burns: the requested slice's gain during the cooldown.

    math/insurance.rs `calculate_if_shares_lost` (remove computes it too, and fails
    with its errors): the requested shares are re-bought at the frozen value from the
    rest of the fund, in u128 shares and u64 tokens. With `sole_staker_guard` (Velocity,
    OtterSec #108) a request of every share (n ≥ T) loses nothing: there is no other
    holder to forfeit to, and the re-buy from an empty rest would burn the whole request.
    """
    if sole_staker_guard and shares >= total_shares:
        return 0
    if shares_to_amount(shares, total_shares, vault_amount) <= request_value_amount:
        return 0
    kept = amount_to_shares(
        request_value_amount,
        u128_sub(total_shares, shares),
        u64_sub(vault_amount, request_value_amount),
    )
    _require(kept <= shares, DriftError.InvalidIFSharesDetected)
    return shares - kept


def amount_for_shares(shares: int, total_shares: int, vault_amount: int) -> int:
    """The largest request `amount` that converts to at most `shares` shares.

    Requests are made in tokens; this finds the amount to pass to request exactly
    (or as close below as possible to) a share count, e.g. a full exit.
    """
    if vault_amount == 0 or total_shares == 0:
        return shares
    # floor(a·T/V) ≤ s  ⇔  a·T < (s+1)·V  ⇔  a ≤ ceil((s+1)·V/T) − 1
    return ceil_div((shares + 1) * vault_amount, total_shares) - 1


# -- rebase -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundShares:
    total_shares: int
    user_shares: int
    shares_base: int


def rebase_exponent(total_shares: int, vault_amount: int) -> int:
    """k = floor(log10(T/10/V)) when 0 < V < T; the program divides shares by 10^k."""
    if vault_amount == 0 or vault_amount >= total_shares:
        return 0
    ratio = total_shares // 10 // vault_amount
    return len(str(ratio)) - 1 if ratio >= 1 else 0


def rebase_fund(fund: FundShares, vault_amount: int) -> FundShares:
    k = rebase_exponent(fund.total_shares, vault_amount)
    if k > 0:
        div: int = 10**k
        fund = FundShares(fund.total_shares // div, fund.user_shares // div, fund.shares_base + k)
    if vault_amount != 0 and fund.total_shares == 0:
        # Tokens with no shares become protocol-owned at one share per unit.
        fund = FundShares(vault_amount, fund.user_shares, fund.shares_base)
    return fund


def rebase_stake_shares(shares: int, stake_base: int, market_base: int) -> int:
    _require(stake_base <= market_base, DriftError.InvalidIFRebase, "rebase")
    div: int = 10 ** (market_base - stake_base)
    return shares // div


def with_fund(market: SpotMarket, **changes: int) -> SpotMarket:
    """`market` with these insurance-fund fields changed."""
    fund = dataclasses.replace(market.insurance_fund, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(market, insurance_fund=fund)


def rebase_accounts(
    market: SpotMarket, stake: InsuranceFundStake, vault_amount: int
) -> tuple[SpotMarket, InsuranceFundStake]:
    """Rebase the fund, then the stake (shares and requested shares) to the fund's base."""
    f = market.insurance_fund
    shares = rebase_fund(FundShares(f.total_shares, f.user_shares, f.shares_base), vault_amount)
    market = with_fund(
        market,
        total_shares=shares.total_shares,
        user_shares=shares.user_shares,
        shares_base=shares.shares_base,
    )
    if stake.if_base != shares.shares_base:
        stake = dataclasses.replace(
            stake,
            if_shares=rebase_stake_shares(stake.if_shares, stake.if_base, shares.shares_base),
            last_withdraw_request_shares=rebase_stake_shares(
                stake.last_withdraw_request_shares, stake.if_base, shares.shares_base
            ),
            if_base=shares.shares_base,
        )
    return market, stake


def effective_stake_shares(if_shares: int, stake_base: int, market_base: int) -> int:
    """A stake's shares at the market's base, as the next touch will rebase them.

    A stake ahead of its market is invalid (the program fails with 6189); read-only
    views show its shares as stored and let verification report it.
    """
    if stake_base >= market_base:
        return if_shares
    return rebase_stake_shares(if_shares, stake_base, market_base)


def stake_shares(stake: InsuranceFundStake, market: SpotMarket) -> int:
    """The one valuation of a stake's shares: at the market's base, as the program's
    next touch rebases them (a stake whose `if_base` lags is not worth 0)."""
    return effective_stake_shares(stake.if_shares, stake.if_base, market.insurance_fund.shares_base)


def stake_value(stake: InsuranceFundStake, market: SpotMarket, vault_amount: int) -> int:
    """Tokens the stake's shares (`stake_shares`) are worth at this vault amount."""
    fund = market.insurance_fund
    return shares_to_amount(stake_shares(stake, market), fund.total_shares, vault_amount)


# -- settle ---------------------------------------------------------------------------------


def next_settle_ts(last_settle_ts: int, period_seconds: int) -> int:
    """The on-the-hour rule: settles align to multiples of the period since the epoch."""
    if period_seconds <= 1:
        return last_settle_ts + period_seconds
    delay = last_settle_ts % period_seconds
    if delay == 0:
        return last_settle_ts + period_seconds
    if delay <= period_seconds // 3:
        return last_settle_ts - delay + period_seconds
    return last_settle_ts - delay + 2 * period_seconds


def settle_wait_seconds(last_settle_ts: int, period_seconds: int, now_ts: int) -> int:
    return max(0, next_settle_ts(last_settle_ts, period_seconds) - now_ts)


def settle_apr_cap(vault_amount: int, max_apr: int, period_seconds: int) -> int:
    """Most a settle may add to the vault: `max_apr` per year, per settle period."""
    settles_per_year = max(ONE_YEAR_SECONDS // period_seconds, 1)
    return vault_amount * max_apr // PERCENTAGE_PRECISION // settles_per_year


def settle_amount(
    pool_amount: int,
    liquidity_amount: int,
    user_shares: int,
    vault_amount: int,
    max_apr: int,
    period_seconds: int,
) -> int:
    """Tokens a settle moves: the pool, halved liquidity if short, then /10 and the cap."""
    amount = pool_amount
    if liquidity_amount < amount:
        amount = max(liquidity_amount, 0) // 2
    if user_shares > 0:
        amount = min(amount // 10, settle_apr_cap(vault_amount, max_apr, period_seconds))
    return amount


def protocol_shares_minted(
    amount: int, total_factor: int, user_factor: int, total_shares: int, vault_amount: int
) -> int:
    """The protocol's cut of a settle, bought as shares at the pre-settle price.

    controller/insurance.rs `settle_revenue_to_insurance_fund`: the cut is a u64
    product `amount × (total − user factor)`, which overflows (MathError) for large
    settles; a fresh program-side u64 product, not a u128 one.
    """
    protocol_factor = total_factor - user_factor
    if protocol_factor <= 0 or total_factor == 0:
        return 0
    protocol_amount = u64_mul(amount, protocol_factor) // total_factor
    return amount_to_shares(protocol_amount, total_shares, vault_amount)


def share_price(total_shares: int, vault_amount: int) -> int:
    """Tokens per share at 1e6 (PRICE_PRECISION), for display."""
    return (
        vault_amount * PERCENTAGE_PRECISION // total_shares
        if total_shares
        else PERCENTAGE_PRECISION
    )


def cooldown_matures_ts(request_ts: int, unstaking_period_seconds: int) -> int:
    return request_ts + unstaking_period_seconds


# -- NAV, whole-share deposits, the receivable (Velocity) -------------------------------
#
# Velocity books settled revenue into a receivable (a scaled deposit claim held in the
# spot vault) before it transfers it, and prices shares off the fund's NAV: the IF
# vault's cash plus that claim's token value. On Drift the receivable is always 0.


def receivable_amount(market: SpotMarket) -> int:
    """Token value of `if_revenue_receivable_scaled`: a deposit balance, floored.

    Velocity `SpotMarket::get_insurance_fund_revenue_receivable` (the scaled claim at
    the market's cumulative deposit interest, as get_token_amount Deposit computes it).
    """
    return deposit_tokens(
        market.if_revenue_receivable_scaled, market.cumulative_deposit_interest, market.decimals
    )


def insurance_fund_nav(market: SpotMarket, vault_amount: int) -> int:
    """Velocity controller/insurance.rs `get_insurance_fund_nav`: the vault (u64) plus
    the receivable cast to u64 (CastingFailure), a u64 checked add (MathError)."""
    return u64_add(vault_amount, cast_to_u64(receivable_amount(market)))


def deposit_cost_and_shares(amount: int, total_shares: int, nav: int) -> tuple[int, int]:
    """The whole shares `amount` buys and their exact token cost: (cost, shares).

    Velocity math/insurance.rs `deposit_amount_and_shares_for_if_stake`, in U192:
    n = floor(amount·T/NAV), cost = ceil(n·NAV/T) ≤ amount, so the fund never sells
    below price and no part of a deposit is given to the other holders as rounding.
    (0, 0) when `amount` is below one share's price; an empty fund prices 1:1 (and must
    have no shares, 6203).
    """
    if nav == 0:
        _require(total_shares == 0, DriftError.InvalidIFSharesDetected)
        return amount, cast_to_u128(amount)
    shares = _checked(amount * total_shares, 0, U192_MAX) // nav
    if shares == 0:
        return 0, 0
    cost = ceil_div(_checked(shares * nav, 0, U192_MAX), total_shares)
    return cast_to_u64(cast_to_u128(cost)), cast_to_u128(shares)


def scaled_for_tokens_ceil(tokens: int, market: SpotMarket) -> int:
    """`get_spot_balance(tokens, Deposit, round_up=true)`: the scaled claim the program
    books for `tokens` (Velocity math/spot_balance.rs): the floored quotient plus one
    whenever `tokens` is non-zero, even when the division is exact. Not a ceiling: at
    index 1.0 on a 6-decimal market 1 token is 1000 scaled units, but it books 1001,
    so the booked claim can be worth one token unit more than `tokens` (on markets of 9
    or more decimals that makes the allowance subtraction underflow: MathError)."""
    precision = balance_precision(market.decimals)
    quotient = u128_mul(tokens, precision) // market.cumulative_deposit_interest
    return u128_add(quotient, 1) if tokens != 0 else quotient


def settle_cap_amount(cap_base: int, max_apr: int, period_seconds: int) -> int:
    """Velocity `apply_revenue_settle_caps`: the APR cap in u128 (the period cast from
    i64; a period above ONE_YEAR still counts one settle a year)."""
    settles_per_year = max(ONE_YEAR_SECONDS // cast_to_u128(period_seconds), 1)
    return u128_mul(cap_base, max_apr) // PERCENTAGE_PRECISION // settles_per_year


def release_receivable(market: SpotMarket) -> tuple[SpotMarket, int]:
    """Velocity `settle_insurance_fund_revenue_receivable`: the whole receivable leaves
    the market's deposits; its token value is what the spot vault pays the IF vault."""
    scaled = market.if_revenue_receivable_scaled
    if scaled == 0:
        return market, 0
    tokens = deposit_tokens(scaled, market.cumulative_deposit_interest, market.decimals)
    market = dataclasses.replace(
        market,
        deposit_balance=u128_sub(market.deposit_balance, scaled),
        if_revenue_receivable_scaled=0,
    )
    return market, cast_to_u64(tokens)
