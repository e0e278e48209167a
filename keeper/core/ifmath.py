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
    """The program would fail with custom error `code` (plus any `msg!` lines it logs)."""

    def __init__(self, code: int, logs: tuple[str, ...] = ()) -> None:
        self.code = int(code)
        self.logs = logs
        super().__init__(f"program error {code}" + (f": {' '.join(logs)}" if logs else ""))


class TokenRejected(Rejected):
    """The SPL Token program (called by Drift) would fail with its own error `code`."""


def _require(condition: bool, code: int) -> None:
    if not condition:
        raise Rejected(code)


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
    return scaled_balance * cumulative_interest // balance_precision(decimals)


def borrow_tokens(scaled_balance: int, cumulative_interest: int, decimals: int) -> int:
    return ceil_div(scaled_balance * cumulative_interest, balance_precision(decimals))


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
    if borrow_amount == 0 and deposit_amount == 0:
        return 0
    if deposit_amount == 0:
        return SPOT_UTILIZATION_PRECISION
    return borrow_amount * SPOT_UTILIZATION_PRECISION // deposit_amount


def market_utilization(market: SpotMarket) -> int:
    return utilization(deposit_token_amount(market), borrow_token_amount(market))


def withdraw_utilization_ok(market: SpotMarket, limit: int) -> bool:
    """The remove gate: both the stored TWAP and the current utilization ≤ limit."""
    return market.utilization_twap <= limit and market_utilization(market) <= limit


# -- shares ↔ amounts ---------------------------------------------------------------------


def amount_to_shares(amount: int, total_shares: int, vault_amount: int) -> int:
    """Shares an `amount` buys; an empty vault (with no shares) prices 1:1."""
    if vault_amount > 0:
        return amount * total_shares // vault_amount
    _require(total_shares == 0, DriftError.InvalidIFSharesDetected)
    return amount


def shares_to_amount(shares: int, total_shares: int, vault_amount: int) -> int:
    """Tokens `shares` are worth now, rounded against the holder."""
    if total_shares == 0:
        return 0
    _require(shares <= total_shares, DriftError.InvalidIFSharesDetected)
    return shares * vault_amount // total_shares


def request_value(shares: int, total_shares: int, vault_amount: int) -> int:
    """Frozen at request time; capped at V − 1 so the vault never empties."""
    return min(shares_to_amount(shares, total_shares, vault_amount), max(vault_amount - 1, 0))


def remove_payout(
    shares: int, total_shares: int, vault_amount: int, request_value_amount: int
) -> int:
    """Losses during the cooldown are passed on, gains are forfeited."""
    return min(shares_to_amount(shares, total_shares, vault_amount), request_value_amount)


def cancel_shares_lost(
    shares: int, total_shares: int, vault_amount: int, request_value_amount: int
) -> int:
    """Shares a cancel burns: the requested slice's gain during the cooldown."""
    if shares_to_amount(shares, total_shares, vault_amount) <= request_value_amount:
        return 0
    kept = request_value_amount * (total_shares - shares) // (vault_amount - request_value_amount)
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
    _require(stake_base <= market_base, DriftError.InvalidIFRebase)
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
    """The protocol's cut of a settle, bought as shares at the pre-settle price."""
    protocol_factor = total_factor - user_factor
    if protocol_factor <= 0 or total_factor == 0:
        return 0
    protocol_amount = amount * protocol_factor // total_factor
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
