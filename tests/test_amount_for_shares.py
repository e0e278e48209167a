"""`amount_for_shares`: the request amount that asks for exactly (at most) s shares."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.core import ifmath


def test_spec_v_exact() -> None:
    # §8.2 V-EXACT: V = 1900, T = 1583, Alice holds 1000 shares; 1201 requests all of them.
    assert ifmath.amount_for_shares(1000, 1583, 1900) == 1201
    assert ifmath.amount_to_shares(1201, 1583, 1900) == 1000
    assert ifmath.amount_to_shares(1202, 1583, 1900) == 1001


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(min_value=1, max_value=10**24),
    vault=st.integers(min_value=1, max_value=10**18),
    frac=st.integers(min_value=0, max_value=10**6),
)
def test_largest_amount_not_above_the_shares(total: int, vault: int, frac: int) -> None:
    shares = total * frac // 10**6
    amount = ifmath.amount_for_shares(shares, total, vault)
    assert ifmath.amount_to_shares(amount, total, vault) <= shares
    assert ifmath.amount_to_shares(amount + 1, total, vault) > shares
