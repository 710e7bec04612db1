"""Colors are '#rrggbb' strings at the edges and (r, g, b) tuples of 0..255 inside."""

from __future__ import annotations

RGB = tuple[int, int, int]


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def parse_hex(code: str) -> RGB:
    code = code.strip().lstrip("#").lower()
    if len(code) == 3:
        code = "".join(ch * 2 for ch in code)
    if len(code) != 6 or any(ch not in "0123456789abcdef" for ch in code):
        raise ValueError(f"not a hex color: {code!r}")
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)


def to_hex(rgb: RGB) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in rgb)


def mix(first: str, second: str, weight: float = 0.5) -> str:
    """Blend two colors; weight 0 gives `first`, weight 1 gives `second`."""
    a, b = parse_hex(first), parse_hex(second)
    return to_hex(tuple(round(x + (y - x) * weight) for x, y in zip(a, b)))


def lighten(code: str, amount: int) -> str:
    """Add `amount` to every channel, saturating at black and white."""
    return to_hex(tuple(clamp(0, channel + amount, 255) for channel in parse_hex(code)))


def darken(code: str, amount: int) -> str:
    return lighten(code, -amount)
