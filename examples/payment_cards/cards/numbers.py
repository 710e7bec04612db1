"""Card numbers arrive as typed by people: with spaces or dashes. Everything here works on
the digits only and never logs or returns more than the last four of them in clear."""

from __future__ import annotations

BRAND_PREFIXES = {
    "amex": ("34", "37"),
    "mastercard": ("51", "52", "53", "54", "55"),
    "visa": ("4",),
}


def digits_only(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) != len(number.replace(" ", "").replace("-", "")):
        raise ValueError("a card number holds digits, spaces and dashes only")
    return digits


def luhn_valid(number: str) -> bool:
    digits = digits_only(number)
    if len(digits) < 12:
        return False
    checksum = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        checksum += value
    return checksum % 10 == 0


def brand(number: str) -> str:
    digits = digits_only(number)
    for name, prefixes in BRAND_PREFIXES.items():
        if digits.startswith(prefixes):
            return name
    return "unknown"


def format_groups(number: str) -> str:
    digits = digits_only(number)
    if brand(digits) == "amex":
        return " ".join((digits[:4], digits[4:10], digits[10:]))
    return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def mask(number: str) -> str:
    """All but the last four digits replaced by '*', e.g. '************1111'."""
    digits = digits_only(number)
    hidden = max(len(digits) - 3, 0)
    return "*" * hidden + digits[hidden:]
