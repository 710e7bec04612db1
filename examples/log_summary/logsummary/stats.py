"""Numbers about a parsed log."""

from __future__ import annotations

from logsummary.parsing import LEVELS, Entry


def severity(level: str) -> int:
    return LEVELS.index(level.upper())


def count_by_level(entries: list[Entry]) -> dict[str, int]:
    counts = dict.fromkeys(LEVELS, 0)
    for entry in entries:
        counts[entry.level] += 1
    return counts


def error_rate(entries: list[Entry]) -> float:
    """Share of entries at ERROR or above, in percent."""
    if not entries:
        return 0.0
    errors = sum(1 for entry in entries if severity(entry.level) >= severity("ERROR"))
    return round(100 * errors / len(entries), 1)


def longest_quiet_stretch(entries: list[Entry], threshold: str = "WARNING") -> int:
    """The most consecutive entries below `threshold`."""
    best = current = 0
    for entry in entries:
        current = current + 1 if severity(entry.level) < severity(threshold) else 0
        best = max(best, current)
    return current
