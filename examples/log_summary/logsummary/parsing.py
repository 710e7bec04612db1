"""Log lines look like '2024-05-01T12:00:03 WARNING disk at 91%'."""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Entry:
    timestamp: str
    level: str
    message: str


def parse_line(line: str) -> Entry | None:
    """None for lines that are not log entries (blank lines, stack trace lines)."""
    parts = line.strip().split(" ", 2)
    if len(parts) < 2 or parts[1].upper() not in LEVELS:
        return None
    message = parts[2] if len(parts) == 3 else ""
    return Entry(parts[0], parts[1].upper(), message)


def parse_log(text: str) -> list[Entry]:
    entries = (parse_line(line) for line in text.splitlines())
    return [entry for entry in entries if entry is not None]
