"""Summaries of application log files."""

from logsummary.parsing import Entry, parse_line, parse_log
from logsummary.stats import count_by_level, error_rate, longest_quiet_stretch, severity

__all__ = [
    "Entry", "count_by_level", "error_rate", "longest_quiet_stretch", "parse_line", "parse_log", "severity",
]
