"""Velocity's Insurance Fund math: the program's own unit-test vectors (numbers are facts,
from velocity-v1 math/insurance/tests.rs and the SDK's NAV test) and properties."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mirror_factories import fund, market

from keeper.core import ifmath
from keeper.core.ifmath import Rejected

# -- calculate_rebase_info (the rebase is Drift's, now applied to NAV) -------------------


@pytest.mark.parametrize(
    ("total", "nav", "expo"),
    [
        (10_000, 10_000, 0),
        (20_000, 10_000, 0),
        (60_078, 10_000, 0),
        (60_078, 9_999, 0),
        (60_078, 6_008, 0),
        (60_078, 6_007, 0),
        (60_078, 6_006, 0),
        (60_078, 606, 0),
        (60_078, 600, 1),
        (60_078 * 10**6, 600 * 10**6 + 19_234, 1),
        (60_078 * 10**6, 601 * 10**6 + 19_234, 0),
        (800_000_078 * 10**6, 1, 13),
        (99_999, 100, 1),
        (100_000, 100, 2),
        (100_001, 100, 2),
        (1_242_418_900_000, 1, 11),
        (12_412, 83_295_723_895_729_080, 0),
    ],
)
def test_rebase_info_vectors(total: int, nav: int, expo: int) -> None:
    assert ifmath.rebase_exponent(total, nav) == expo


# -- calculate_if_shares_lost (cancel; NAV as the balance) -------------------------------

M = 10**6


@pytest.mark.parametrize(
    ("total", "nav", "value", "lost"),
    [
        (1000 * M, 1000 * M, 100 * M - 1, 2),
        (1100 * M, 1100 * M, 100 * M - 1, 2),
        (1000 * M, 1000 * M, 100 * M - 1, 2),
        (1000 * M, 1100 * M, 100 * M - 1, 10_000_001),
        (1000 * M, 1100 * M, 200 * M, 0),
        (2000 * M, 2100 * M, 100 * M - 1, 5_000_001),
        (2000 * M, 21_000 * M, 100 * M - 1, 90_909_092),
    ],
)
def test_shares_lost_vectors(total: int, nav: int, value: int, lost: int) -> None:
    shares = 100 * M
    for guard in (False, True):
        got = ifmath.cancel_shares_lost(shares, total, nav, value, sole_staker_guard=guard)
        assert got == lost


def test_sole_staker_loses_nothing_with_the_guard() -> None:
    # T = U = n = 100e6, value 100e6, NAV 110e6: the whole fund is requested
    assert ifmath.cancel_shares_lost(100 * M, 100 * M, 110 * M, 100 * M, sole_staker_guard=True) == 0
    # Drift's math burns the sole staker's whole request there (OtterSec #108)
    assert ifmath.cancel_shares_lost(100 * M, 100 * M, 110 * M, 100 * M) == 100 * M
    # with another holder (T = 200e6, NAV 220e6) the gain is forfeited
    assert ifmath.cancel_shares_lost(100 * M, 200 * M, 220 * M, 100 * M, sole_staker_guard=True) > 0


# -- deposit_amount_and_shares_for_if_stake ----------------------------------------------


@pytest.mark.parametrize(
    ("amount", "total", "nav", "expected"),
    [
        (1_500_000, 1, 1_000_000, (1_000_000, 1)),
        (999_999, 1, 1_000_000, (0, 0)),
        (100 * M, 0, 0, (100 * M, 100 * M)),
        (7, 1000, 100, (7, 70)),
    ],
)
def test_deposit_vectors(amount: int, total: int, nav: int, expected: tuple[int, int]) -> None:
    assert ifmath.deposit_cost_and_shares(amount, total, nav) == expected


@pytest.mark.parametrize(
    "amount", [142_858, 285_714, 1_000_003, 1_000_004, 2_000_005, 7_000_021, 12_345_678]
)
def test_deposit_property_vectors(amount: int) -> None:
    total, nav = 7, 1_000_003
    cost, n = ifmath.deposit_cost_and_shares(amount, total, nav)
    assert cost <= amount
    assert (amount - cost) * total < nav
    assert n * (nav + cost) <= cost * (total + n)


def test_empty_fund_with_shares_refuses_a_deposit() -> None:
    with pytest.raises(Rejected) as info:
        ifmath.deposit_cost_and_shares(10, 5, 0)
    assert info.value.code == 6203


@given(
    amount=st.integers(1, 2**64 - 1),
    total=st.integers(1, 2**100),
    nav=st.integers(1, 2**64 - 1),
)
def test_deposit_properties(amount: int, total: int, nav: int) -> None:
    try:
        cost, n = ifmath.deposit_cost_and_shares(amount, total, nav)
    except Rejected as rej:
        assert rej.code in (6019, 6041)  # beyond the program's widths
        return
    assert 0 <= cost <= amount
    if n == 0:
        assert cost == 0 and amount * total < nav  # below one share's price: 6360
        return
    # the remainder left in the wallet is worth less than one share
    assert (amount - cost) * total < nav
    # shares are never sold below the pre-deposit price
    assert n * (nav + cost) <= cost * (total + n)
    assert n * nav <= cost * total


# -- NAV and the receivable ------------------------------------------------------------


def test_nav_counts_the_receivable_at_the_deposit_index() -> None:
    # SDK test: receivable 50·1e9/1e6 scaled (50 base units) at index 1.0 (1e10), vault
    # 1_000 → NAV 1_050; at index 1.1 the receivable is worth 55
    m = dataclasses.replace(
        market(fund(), decimals=6, cumulative_deposit_interest=10**10),
        if_revenue_receivable_scaled=50 * 10**9 // 10**6,
    )
    assert ifmath.receivable_amount(m) == 50
    assert ifmath.insurance_fund_nav(m, 1_000) == 1_050
    grown = dataclasses.replace(m, cumulative_deposit_interest=11 * 10**9)
    assert ifmath.receivable_amount(grown) == 55


def test_nav_without_a_receivable_is_the_vault() -> None:
    m = market(fund())
    assert ifmath.insurance_fund_nav(m, 1234) == 1234


# -- the APR cap -----------------------------------------------------------------------


def test_settle_cap_amount() -> None:
    # 10_000_000 (1000%) a year on 1e9 at one settle an hour: 1e10 / 8760
    assert ifmath.settle_cap_amount(10**9, 10_000_000, 3600) == 10**10 // 8760
    assert ifmath.settle_cap_amount(0, 10_000_000, 3600) == 0
    # a period longer than a year still counts one settle a year
    assert ifmath.settle_cap_amount(10**6, 10_000_000, 2 * 31_536_000) == 10**7
