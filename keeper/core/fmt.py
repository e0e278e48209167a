"""Human formatting of base-unit integers, times and tables (integer-only)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence


def format_amount(amount: int, decimals: int) -> str:
    """`1234567, 6` → `1.234567`; exact for any size, never via float."""
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    text = f"{whole:,}"
    if decimals:
        text += "." + str(frac).rjust(decimals, "0")
    return sign + text


def format_amount_plain(amount: int, decimals: int) -> str:
    """`1234567, 6` → `1.234567` without thousands separators: the one spelling that
    `parse_amount` reads back exactly (machine output, pre-filled inputs)."""
    return format_amount(amount, decimals).replace(",", "")


_AMOUNT = re.compile(r"[0-9]*(?:\.[0-9]*)?")


def parse_amount(text: str, decimals: int) -> int:
    """`"1.5", 6` → `1500000`: ASCII digits with at most one `.` and at most `decimals`
    decimal places, nothing else.

    One strict grammar, because a loose one silently changes amounts (`1,5` read as
    15, `٥` read as 5): separators, signs, exponents and non-ASCII digits are refused
    with a hint. Zero parses (it is a number); whether zero is allowed is the caller's
    rule.
    """
    raw = text.strip()
    if not raw or _AMOUNT.fullmatch(raw) is None or raw == ".":
        if "," in raw:
            hint = "use . as the decimal point and no thousands separators"
        elif raw.startswith("-"):
            hint = "the amount must be positive"
        elif any(c.isdigit() and not c.isascii() for c in raw):
            hint = "write the digits as ASCII 0-9"
        elif "_" in raw or " " in raw or "'" in raw:
            hint = "write the amount without separators"
        else:
            hint = "write it as digits with at most one . (e.g. 1000 or 12.5)"
        raise ValueError(f"{text!r} is not an amount: {hint}")
    whole, _, frac = raw.partition(".")
    if len(frac) > decimals:
        raise ValueError(f"{text!r} has more than {decimals} decimal places")
    scale: int = 10**decimals
    return int(whole or "0") * scale + int(frac.ljust(decimals, "0") or "0")


def format_ts(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def format_utc(ts: int) -> str:
    """`2026-01-01 14:00:00 UTC`: an absolute time a staker can act on."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_wait(seconds: int) -> str:
    """`1 h 26 m`, `2 d 3 h`, `45 s`: how long until something, two units at most."""
    if seconds <= 0:
        return "now"
    units = (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(f"{count} {name}")
        if len(parts) == 2:
            break
    return " ".join(p for p in parts if not p.startswith("0 ")) or "now"


def opens_in(ts: int, now_ts: int) -> str:
    """`2026-01-01 14:00:00 UTC, in 1 h 26 m`."""
    return f"{format_utc(ts)}, in {format_wait(ts - now_ts)}"


def format_duration(seconds: int) -> str:
    if seconds <= 0:
        return "now"
    days, rem = divmod(seconds, 86_400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    text = "".join(parts)
    return text + (f"{secs}s" if secs or not text else "")


def format_ratio_ppm(value: int) -> str:
    """1e6-precision ratio → percentage with 4 decimals (integer arithmetic)."""
    return format_amount(value * 100, 6).rstrip("0").rstrip(".") + "%"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def camel_case(snake: str) -> str:
    """IDL names are camelCase; AnchorPy and our views use snake_case."""
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake_case(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()
