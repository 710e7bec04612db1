"""Helpers for payment card numbers: checksum, brand, grouping and masking."""

from cards.numbers import brand, digits_only, format_groups, luhn_valid, mask

__all__ = ["brand", "digits_only", "format_groups", "luhn_valid", "mask"]
