from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.core.fmt import format_amount, format_duration, format_ratio_ppm, parse_amount, table


def test_format_amount_exact() -> None:
    assert format_amount(1_234_567, 6) == "1.234567"
    assert format_amount(10**30 + 1, 9) == "1,000,000,000,000,000,000,000.000000001"
    assert format_amount(-5, 2) == "-0.05"
    assert format_amount(7, 0) == "7"


@given(st.integers(min_value=0, max_value=2**64), st.integers(min_value=0, max_value=12))
def test_parse_inverts_format(amount: int, decimals: int) -> None:
    assert parse_amount(format_amount(amount, decimals), decimals) == amount


@pytest.mark.parametrize("bad", ["", "-1", "1.2.3", "abc", "1e5", "0.0000001", " . "])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(bad, 6)


def test_durations_and_ratios() -> None:
    assert format_duration(1_123_200) == "13d"
    assert format_duration(3_661) == "1h1m1s"
    assert format_duration(0) == "now"
    assert format_ratio_ppm(800_000) == "80%"
    assert format_ratio_ppm(861_330) == "86.133%"


def test_table_aligns() -> None:
    out = table(["a", "bb"], [["1", "22"], ["333", "4"]], right=[1])
    assert out.splitlines()[2] == "1    22"
    assert out.splitlines()[3] == "333   4"
