"""Checks on what the keeper reads, before anything is decided or sent.

A cluster, an RPC provider or a man in the middle can hand us accounts that decode
but make no sense together. These pure checks turn every such inconsistency into a
typed finding; callers refuse to act on a snapshot with an error-level finding.

An error-level finding is only raised for a property the program guarantees on every
state it can reach; each one names the program code (protocol-v2 v2.84, paths under
programs/drift/src/) that guarantees it. Properties the program only checks at one
moment (e.g. at request time) or never checks are warnings at most.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from solders.pubkey import Pubkey

from keeper.core import ifmath
from keeper.core.addresses import DriftAddresses
from keeper.core.errors import VerificationError
from keeper.core.ifmath import IF_FACTOR_PRECISION
from keeper.core.snapshot import MarketSnapshot, Snapshot
from keeper.core.views import InsuranceFundStake, SpotMarket, UserStats


class Severity(enum.Enum):
    ERROR = "error"  # never act on this snapshot
    WARNING = "warning"  # legal but worth an operator's attention


@dataclass(frozen=True)
class Finding:
    severity: Severity
    check: str
    account: Pubkey | None
    message: str

    def __str__(self) -> str:
        where = f" [{self.account}]" if self.account else ""
        return f"{self.severity.value}: {self.check}{where}: {self.message}"


def _err(check: str, account: Pubkey | None, message: str) -> Finding:
    return Finding(Severity.ERROR, check, account, message)


def _warn(check: str, account: Pubkey | None, message: str) -> Finding:
    return Finding(Severity.WARNING, check, account, message)


def check_market(
    snap: MarketSnapshot, addresses: DriftAddresses, drift_signer: Pubkey
) -> list[Finding]:
    market, fund = snap.market, snap.market.insurance_fund
    idx = market.market_index
    out: list[Finding] = []
    # Guaranteed: instructions/admin.rs InitializeSpotMarket creates the market and both
    # vaults at these seeds (mint = the market's, authority = drift signer); nothing
    # rewrites `vault` / `insurance_fund.vault` / `mint` afterwards.
    expected = {
        "spot market": (market.address, addresses.spot_market(idx)),
        "spot market vault": (market.vault, addresses.spot_market_vault(idx)),
        "insurance fund vault": (fund.vault, addresses.insurance_fund_vault(idx)),
    }
    for what, (actual, pda) in expected.items():
        if actual != pda:
            out.append(_err("pda", actual, f"market {idx}: {what} is {actual}, PDA is {pda}"))
    for what, tok, recorded in (
        ("insurance fund vault", snap.insurance_fund_vault, fund.vault),
        ("spot market vault", snap.spot_market_vault, market.vault),
    ):
        if tok.address != recorded:
            out.append(
                _err(
                    "vault-link",
                    tok.address,
                    f"market {idx}: {what} read from {tok.address}, market records {recorded}",
                )
            )
        if tok.mint != market.mint:
            out.append(
                _err(
                    "vault-mint",
                    tok.address,
                    f"market {idx}: {what} mint {tok.mint} != market mint {market.mint}",
                )
            )
        if tok.owner != drift_signer:
            out.append(
                _err(
                    "vault-owner",
                    tok.address,
                    f"market {idx}: {what} is owned by {tok.owner}, not the drift signer",
                )
            )
        if tok.token_program != market.token_program:
            out.append(
                _err(
                    "vault-program",
                    tok.address,
                    f"market {idx}: {what} belongs to {tok.token_program}, market uses {market.token_program}",
                )
            )
    # Guaranteed: controller/insurance.rs — add/remove/cancel move user and total shares
    # by the same count, settle and the rebase's `total = vault` only raise the total,
    # apply_rebase_to_insurance_fund floors both by one divisor, and the admin/transfer
    # paths check `total − user ≥ n` first.
    if fund.user_shares > fund.total_shares:
        out.append(
            _err(
                "shares",
                market.address,
                f"market {idx}: user shares {fund.user_shares} exceed total shares {fund.total_shares}",
            )
        )
    # The fund's value is the vault plus the booked receivable (0 on builds without one):
    # add refuses new stakes when that NAV is 0 with shares outstanding (6188).
    nav = _nav(market, snap.if_vault_amount)
    if nav == 0 and fund.total_shares != 0:
        out.append(
            _warn(
                "empty-vault",
                fund.vault,
                f"market {idx}: {fund.total_shares} shares outstanding over an empty vault; new stakes are refused",
            )
        )
    out += _receivable_findings(market)
    # Guaranteed: instructions/admin.rs — initialize_spot_market sets user = total / 2,
    # handle_update_spot_market_if_factor validates user ≤ total ≤ 100%. The init does
    # not bound the total, so a total above 100% is reachable: a warning.
    if fund.user_factor > fund.total_factor:
        out.append(
            _err(
                "factors",
                market.address,
                f"market {idx}: user factor {fund.user_factor} exceeds total factor {fund.total_factor}",
            )
        )
    elif fund.total_factor > IF_FACTOR_PRECISION:
        out.append(
            _warn(
                "factors",
                market.address,
                f"market {idx}: total factor {fund.total_factor} is above 100%; interest and settles give the fund more than the revenue",
            )
        )
    # Guaranteed: initialize_spot_market leaves the settle period 0 and
    # handle_update_spot_market_revenue_settle_period validates > 0. The unstaking period
    # is set unchecked (handle_update_insurance_fund_unstaking_period): only a warning.
    if fund.revenue_settle_period_seconds < 0:
        out.append(_err("periods", market.address, f"market {idx}: negative settle period"))
    if fund.unstaking_period_seconds < 0:
        out.append(
            _warn(
                "periods",
                market.address,
                f"market {idx}: negative unstaking period; requests can be removed at once",
            )
        )
    # Guaranteed in token units: math/spot_withdraw.rs validate_spot_balances (run at the
    # end of remove, settle, add and the revenue-pool deposit) refuses a revenue pool worth
    # more than all deposits. The scaled balances are not compared by the program.
    pool, deposits = _pool_and_deposits(market)
    if pool is not None and deposits is not None and pool > deposits:
        out.append(
            _err(
                "revenue-pool",
                market.address,
                f"market {idx}: revenue pool {pool} exceeds deposits {deposits} (token units)",
            )
        )
    return out


def _nav(market: SpotMarket, vault_amount: int) -> int | None:
    try:
        return ifmath.insurance_fund_nav(market, vault_amount)
    except ifmath.Rejected:
        return None


def _receivable_findings(market: SpotMarket) -> list[Finding]:
    """Velocity's booked-revenue fields (all 0 on Drift builds).

    Guaranteed: controller/insurance.rs `book_revenue_to_insurance_fund` moves a scaled
    claim from the revenue pool to `insurance_fund_revenue_receivable_scaled` without
    changing `deposit_balance`, and the release takes it out of both, so pool +
    receivable never exceed the deposits in scaled units. The perp markets' reservation
    is validated against the pool's tokens where it is accrued and where a booking
    reads it (InvalidSpotMarketState), so more reserved than the pool holds would make
    every booking fail: an error.
    """
    idx = market.market_index
    out: list[Finding] = []
    pooled = market.revenue_pool_scaled_balance + market.if_revenue_receivable_scaled
    if market.if_revenue_receivable_scaled and pooled > market.deposit_balance:
        out.append(
            _err(
                "receivable",
                market.address,
                f"market {idx}: revenue pool and IF receivable ({market.revenue_pool_scaled_balance} + {market.if_revenue_receivable_scaled} scaled) exceed deposits ({market.deposit_balance})",
            )
        )
    pool, _deposits = _pool_and_deposits(market)
    if pool is not None and market.perp_if_revenue_receivable > pool:
        out.append(
            _err(
                "receivable",
                market.address,
                f"market {idx}: perp markets reserve {market.perp_if_revenue_receivable} of a revenue pool worth {pool}; revenue settles fail until it is refilled",
            )
        )
    return out


def _pool_and_deposits(market: SpotMarket) -> tuple[int | None, int | None]:
    """Revenue-pool and deposit token amounts, None where the program could not compute them."""
    try:
        return ifmath.revenue_pool_amount(market), ifmath.deposit_token_amount(market)
    except ifmath.Rejected:
        return None, None


def check_stake(
    stake: InsuranceFundStake, snap: MarketSnapshot | None, addresses: DriftAddresses
) -> list[Finding]:
    out: list[Finding] = []
    # Guaranteed: instructions/if_staker.rs InitializeInsuranceFundStake `init` at these seeds.
    pda = addresses.insurance_fund_stake(stake.authority, stake.market_index)
    if stake.address != pda:
        out.append(
            _err(
                "pda",
                stake.address,
                f"stake of {stake.authority} in market {stake.market_index} should be at {pda}",
            )
        )
    # Guaranteed: controller/insurance.rs request_remove_insurance_fund_stake validates
    # requested ≤ held (6190); while a request is pending add refuses (6198), cancel and
    # remove clear it, and the stake rebase floors both by one divisor.
    if stake.last_withdraw_request_shares > stake.if_shares:
        out.append(
            _err(
                "request",
                stake.address,
                f"request of {stake.last_withdraw_request_shares} shares exceeds the stake's {stake.if_shares}",
            )
        )
    if stake.last_withdraw_request_shares == 0 and stake.last_withdraw_request_value != 0:
        out.append(
            _warn(
                "request",
                stake.address,
                "a request value without requested shares blocks adds until cancelled",
            )
        )
    if snap is None:
        return out
    fund = snap.market.insurance_fund
    # Guaranteed: a stake starts at base 0 (state/insurance_fund_stake.rs new) and only
    # ever takes its market's base (apply_rebase_to_insurance_fund_stake); market bases
    # only grow (apply_rebase_to_insurance_fund, safe_add).
    if stake.if_base > fund.shares_base:
        out.append(
            _err(
                "base",
                stake.address,
                f"stake base {stake.if_base} is ahead of the market's {fund.shares_base}",
            )
        )
    # Guaranteed: every stake change moves the market's user shares by the same count,
    # and floor(s ÷ d) summed over stakes ≤ floor(U ÷ d) under the lazy rebase.
    shares = ifmath.stake_shares(stake, snap.market)
    if shares > fund.user_shares:
        out.append(
            _err(
                "shares",
                stake.address,
                f"stake holds {shares} shares, the market's users hold {fund.user_shares}",
            )
        )
    # NOT guaranteed: the value is capped below the vault only at request time
    # (request_remove_insurance_fund_stake: min(vault − 1)); a loss paid from the IF
    # vault during the cooldown can leave it above the vault. Remove then pays the
    # shares' current value, which is legal, so this is informational.
    if (
        stake.last_withdraw_request_shares
        and snap.if_vault_amount
        and stake.last_withdraw_request_value >= snap.if_vault_amount
    ):
        out.append(
            _warn(
                "request",
                stake.address,
                f"request value {stake.last_withdraw_request_value} is not below the vault's {snap.if_vault_amount} (a loss during the cooldown); remove pays the shares' current value",
            )
        )
    return out


def check_user_stats(stats: UserStats, addresses: DriftAddresses) -> list[Finding]:
    pda = addresses.user_stats(stats.authority)
    if stats.address != pda:
        return [_err("pda", stats.address, f"user stats of {stats.authority} should be at {pda}")]
    return []


def check_snapshot(snapshot: Snapshot, addresses: DriftAddresses) -> list[Finding]:
    """Every invariant of a snapshot, as findings (empty = consistent)."""
    out: list[Finding] = []
    state = snapshot.state
    # Guaranteed: instructions/admin.rs InitializeState creates State at its seeds and
    # records the drift signer PDA; nothing rewrites `signer`.
    if state.address != addresses.state():
        out.append(_err("pda", state.address, f"state should be at {addresses.state()}"))
    signer = addresses.drift_signer()
    if state.signer != signer:
        out.append(
            _err(
                "signer", state.address, f"state records signer {state.signer}, the PDA is {signer}"
            )
        )
    by_index: dict[int, MarketSnapshot] = {}
    for m in snapshot.markets:
        if m.market_index in by_index:
            out.append(
                _err("duplicate", m.market.address, f"market {m.market_index} appears twice")
            )
        by_index[m.market_index] = m
        out += check_market(m, addresses, signer)
    totals: dict[int, int] = {}
    for stake in snapshot.stakes:
        snap = by_index.get(stake.market_index)
        out += check_stake(stake, snap, addresses)
        if snap is not None:
            shares = ifmath.stake_shares(stake, snap.market)
            totals[stake.market_index] = totals.get(stake.market_index, 0) + shares
    # Guaranteed as for one stake: the stakes of a market never hold more than its users.
    for idx, total in totals.items():
        user_shares = by_index[idx].market.insurance_fund.user_shares
        if total > user_shares:
            out.append(
                _err(
                    "shares",
                    by_index[idx].market.address,
                    f"market {idx}: stakes read hold {total} shares, more than the {user_shares} user shares",
                )
            )
    for stats in snapshot.user_stats:
        out += check_user_stats(stats, addresses)
    return out


def require_consistent(findings: Iterable[Finding]) -> None:
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise VerificationError(
            "refusing to act on inconsistent accounts:\n" + "\n".join(f"  {f}" for f in errors)
        )


@dataclass(frozen=True)
class FieldMismatch:
    account: Pubkey | None
    field: str
    expected: object
    actual: object

    def __str__(self) -> str:
        return f"{self.account} {self.field}: expected {self.expected}, read {self.actual}"


def diff_views(expected: object, actual: object, prefix: str = "") -> list[FieldMismatch]:
    """Field-by-field differences of two views (nested views included, raw bytes not)."""
    if type(expected) is not type(actual) or not dataclasses.is_dataclass(expected):
        return (
            [] if expected == actual else [FieldMismatch(None, prefix or "value", expected, actual)]
        )
    account = getattr(actual, "address", None)
    out: list[FieldMismatch] = []
    for f in dataclasses.fields(expected):
        if not f.compare:
            continue
        a, b = getattr(expected, f.name), getattr(actual, f.name)
        if dataclasses.is_dataclass(a):
            out += [
                dataclasses.replace(m, account=m.account or account)
                for m in diff_views(a, b, f"{prefix}{f.name}.")
            ]
        elif a != b:
            out.append(FieldMismatch(account, prefix + f.name, a, b))
    return out
