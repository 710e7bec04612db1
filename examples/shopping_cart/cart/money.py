"""Prices are integer cents so that totals never pick up floating-point dust."""

from __future__ import annotations


def parse_price(text: str) -> int:
    """'$12.5' -> 1250, '3' -> 300."""
    text = text.strip().lstrip("$")
    dollars, _, cents = text.partition(".")
    if len(cents) > 2 or not (dollars + cents).isdigit():
        raise ValueError(f"not a price: {text!r}")
    return int(dollars or "0") * 100 + int(cents.ljust(2, "0"))


def format_cents(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    dollars, cents = divmod(abs(amount), 100)
    return f"{sign}${dollars:,}.{cents:02d}"
