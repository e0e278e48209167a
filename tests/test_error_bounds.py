"""The error-site table's unreachable entries whose reason is a bound of the arithmetic.

tests/integration/test_error_walk.py checks that each such reason names a test here;
these show, over the integer ranges the program's accounts hold, that no input reaches
the entry (keeper.core.ifmath computes at the program's widths and in its order).
"""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st
from mirror_factories import market as make_market
from mirror_factories import stake as make_stake

from keeper.core import ifmath
from keeper.core.error_codes import DriftError
from keeper.core.ifmath import Rejected

U64 = st.integers(0, 2**64 - 1)
U128 = st.integers(0, 2**128 - 1)


@given(total=U128, vault=U64, data=st.data())
def test_shares_within_the_total_never_fail_the_proportion(
    total: int, vault: int, data: st.DataObject
) -> None:
    """if_shares_to_vault_amount's `n <= total` (6203): request, remove and the quote
    update pass shares a stake holds, and a stake holds at most the fund's total."""
    shares = data.draw(st.integers(0, total))
    try:
        ifmath.shares_to_amount(shares, total, vault)
    except Rejected as rej:
        assert rej.code != DriftError.InvalidIFSharesDetected


@given(total=st.integers(1, 2**128 - 1), vault=U64, data=st.data())
def test_shares_lost_never_exceed_the_request(total: int, vault: int, data: st.DataObject) -> None:
    """calculate_if_shares_lost's `new_n <= request shares` (6203): shares are lost only
    when the request's value now exceeds its frozen value rv, i.e. rv·T < V·s, and then
    rv·(T−s) < s·(V−rv), so re-buying rv from the rest of the fund costs < s shares."""
    shares = data.draw(st.integers(0, total))
    frozen = data.draw(U64)
    try:
        lost = ifmath.cancel_shares_lost(shares, total, vault, frozen)
    except Rejected as rej:
        assert rej.code != DriftError.InvalidIFSharesDetected
    else:
        assert 0 <= lost <= shares


@given(total=st.integers(1, 2**128 - 1), vault=U64, data=st.data())
def test_the_request_value_is_below_the_vault(total: int, vault: int, data: st.DataObject) -> None:
    """InvalidIFUnstakeSize (6186) needs a request value that is neither 0 nor below the
    vault; the value is capped at `vault.saturating_sub(1)` just before."""
    shares = data.draw(st.integers(0, total))
    try:
        value = ifmath.request_value(shares, total, vault)
    except Rejected:
        return
    assert value == 0 or value < vault


@given(
    total=U128,
    user=U128,
    base=st.integers(0, 30),
    lag=st.integers(0, 8),
    vault=U64,
    shares=U128,
    requested=U128,
)
def test_a_rebase_leaves_stake_and_market_at_one_base(
    total: int, user: int, base: int, lag: int, vault: int, shares: int, requested: int
) -> None:
    """The base-equality checks after the rebase (6189): the instruction has just moved
    the stake to the market's base, so they hold whenever the rebase itself succeeded."""
    market = make_market()
    fund = dataclasses.replace(
        market.insurance_fund, total_shares=total, user_shares=min(user, total), shares_base=base
    )
    market = dataclasses.replace(market, insurance_fund=fund)
    stake = dataclasses.replace(
        make_stake(),
        if_shares=shares,
        last_withdraw_request_shares=requested,
        if_base=max(base - lag, 0),
    )
    after_market, after_stake = ifmath.rebase_accounts(market, stake, vault)
    assert after_stake.if_base == after_market.insurance_fund.shares_base
