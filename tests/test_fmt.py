from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.core.fmt import (
    format_amount,
    format_amount_plain,
    format_duration,
    format_ratio_ppm,
    parse_amount,
    table,
)


def test_format_amount_exact() -> None:
    assert format_amount(1_234_567, 6) == "1.234567"
    assert format_amount(10**30 + 1, 9) == "1,000,000,000,000,000,000,000.000000001"
    assert format_amount(-5, 2) == "-0.05"
    assert format_amount(7, 0) == "7"


@given(st.integers(min_value=0, max_value=2**64), st.integers(min_value=0, max_value=12))
def test_parse_inverts_format(amount: int, decimals: int) -> None:
    """parse(format(x)) == x for the separator-free formatter.

    `format_amount` is for display and writes thousands separators, which the strict
    parser refuses on purpose (`1,5` must not become 15); `format_amount_plain` is the
    spelling that reads back exactly.
    """
    assert parse_amount(format_amount_plain(amount, decimals), decimals) == amount
    assert format_amount_plain(amount, decimals) == format_amount(amount, decimals).replace(",", "")


@pytest.mark.parametrize(
    "bad",
    ["", "-1", "1.2.3", "abc", "1e5", "0.0000001", " . ", "1,5", "1,000", "١٢", "５", "1_000", "+1", "1 000", "0x10", "inf", "nan", "."],
)
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


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        ("1,5", "use . as the decimal point"),
        ("١٢", "ASCII 0-9"),
        ("５", "ASCII 0-9"),
        ("-3", "positive"),
        ("1_000", "without separators"),
    ],
)
def test_parse_refusals_say_how_to_write_it(bad: str, hint: str) -> None:
    with pytest.raises(ValueError, match=hint):
        parse_amount(bad, 6)


def test_parse_accepts_the_grammar() -> None:
    assert parse_amount("0", 6) == 0
    assert parse_amount("12.5", 6) == 12_500_000
    assert parse_amount(".5", 6) == 500_000
    assert parse_amount("5.", 6) == 5_000_000
    assert parse_amount(" 7 ", 0) == 7
