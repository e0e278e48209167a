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


def parse_amount(text: str, decimals: int) -> int:
    """`"1.5", 6` → `1500000`; refuses more precision than the token has."""
    raw = text.strip().replace("_", "").replace(",", "")
    if not raw or raw.startswith("-"):
        raise ValueError(f"{text!r} is not a positive amount")
    whole, _, frac = raw.partition(".")
    if not (whole or frac) or not (whole or "0").isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"{text!r} is not a number")
    if len(frac) > decimals:
        raise ValueError(f"{text!r} has more than {decimals} decimal places")
    scale: int = 10**decimals
    return int(whole or "0") * scale + int(frac.ljust(decimals, "0") or "0")


def format_ts(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


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
