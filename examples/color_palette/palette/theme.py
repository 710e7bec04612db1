"""A theme is a handful of named shades derived from one brand color."""

from __future__ import annotations

from palette.colors import darken, lighten, mix


def build_theme(brand: str, step: int = 40) -> dict[str, str]:
    return {
        "primary": lighten(brand, 0),
        "hover": darken(brand, step // 2),
        "pressed": darken(brand, step),
        "highlight": lighten(brand, step),
        "muted": mix(brand, "#808080", 0.5),
    }
