from logsummary import (
    Entry, count_by_level, error_rate, longest_quiet_stretch, parse_line, parse_log, severity,
)

LOG = """\
2024-05-01T12:00:00 INFO service started
2024-05-01T12:00:01 DEBUG cache warm
2024-05-01T12:00:02 INFO listening on :8080
2024-05-01T12:00:03 WARNING disk at 91%
2024-05-01T12:00:04 INFO GET /health
2024-05-01T12:00:05 ERROR upstream timed out
Traceback (most recent call last):
  File "app.py", line 3, in handler

2024-05-01T12:00:06 info GET /health
2024-05-01T12:00:07 CRITICAL out of memory
"""


def entries(*levels):
    return [Entry(f"t{i}", level, "") for i, level in enumerate(levels)]


def test_parse_line():
    assert parse_line("2024-05-01T12:00:03 WARNING disk at 91%") == Entry(
        "2024-05-01T12:00:03", "WARNING", "disk at 91%")
    assert parse_line("2024-05-01T12:00:03 debug") == Entry("2024-05-01T12:00:03", "DEBUG", "")
    assert parse_line("   ") is None
    assert parse_line("Traceback (most recent call last):") is None


def test_parse_log_skips_lines_that_are_not_entries():
    parsed = parse_log(LOG)
    assert [entry.level for entry in parsed] == [
        "INFO", "DEBUG", "INFO", "WARNING", "INFO", "ERROR", "INFO", "CRITICAL",
    ]
    assert parsed[5].message == "upstream timed out"


def test_count_by_level_and_error_rate():
    parsed = parse_log(LOG)
    assert count_by_level(parsed) == {"DEBUG": 1, "INFO": 4, "WARNING": 1, "ERROR": 1, "CRITICAL": 1}
    assert error_rate(parsed) == 25.0
    assert error_rate(entries("INFO", "ERROR", "DEBUG")) == 33.3
    assert error_rate([]) == 0.0
    assert severity("warning") == 2


def test_quiet_stretch_at_the_end_of_the_log():
    assert longest_quiet_stretch(entries("ERROR", "INFO", "INFO", "DEBUG")) == 3
    assert longest_quiet_stretch(entries("INFO")) == 1
    assert longest_quiet_stretch([]) == 0


def test_quiet_stretch_before_the_first_warning():
    assert longest_quiet_stretch(parse_log(LOG)) == 3


def test_quiet_stretch_with_a_custom_threshold():
    assert longest_quiet_stretch(parse_log(LOG), threshold="ERROR") == 5
    assert longest_quiet_stretch(entries("INFO", "INFO", "ERROR", "INFO", "WARNING"), "critical") == 5
    assert longest_quiet_stretch(entries("DEBUG", "INFO", "DEBUG", "WARNING", "DEBUG"), "info") == 1
