"""Hex color arithmetic for UI themes."""

from palette.colors import clamp, darken, lighten, mix, parse_hex, to_hex
from palette.theme import build_theme

__all__ = ["build_theme", "clamp", "darken", "lighten", "mix", "parse_hex", "to_hex"]
