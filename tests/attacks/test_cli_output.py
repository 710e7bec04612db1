"""Attacks on what the CLI prints (issue 12, hole 5; issue 18, item 7).

A project's directory name, file names, test ids and test output reach the operator's
terminal and the job history. Rich markup in them (`[/x]`) used to crash `repair` with a
traceback (exit 1 instead of 2) and then crash `jobs` and `show` for good; ESC and OSC
sequences reached the terminal raw; a test printing one huge line made a 64 KiB "one-line"
error. Each case is a real `repairbot` subprocess on a hostile project, then `jobs` and
`show` on the job it recorded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from repairbot.db.store import JobStore
from tests.files import write_files

# Markup that closes a tag never opened (a MarkupError), markup that restyles, an OSC that
# retitles the terminal (ended by BEL) and a CSI that clears the screen.
EVIL = "[/x][bold]\x1b]0;pwned\x07\x1b[2J"
RAW_CONTROLS = ("\x1b", "\x07")

CALC = "def add(a, b):\n    return a - b\n"
GREET = "def greet(name):\n    return 'hello'\n"
# A test id with markup in it (pytest escapes control characters in ids itself).
PARAMETRIZED = """\
    import pytest
    from {module} import {function}

    @pytest.mark.parametrize("case", [1], ids=["[/x][bold]"])
    def test_it(case):
        assert {check}, "[/x] failed [bold]"
    """
PATCH_FOUND = {
    "calc.py": CALC,
    "tests/test_calc.py": PARAMETRIZED.format(module="calc", function="add", check="add(1, 2) == 3"),
}
NO_PATCH = {
    "lib.py": GREET,
    "tests/test_lib.py": PARAMETRIZED.format(module="lib", function="greet", check="greet('ann') == 'Hi, ann!'"),
}


def _dies_printing(line: str) -> dict[str, str]:
    """pytest stops while loading the project's conftest, with `line` (the exception's
    message) as its last output: the error quotes that line ("gave no test results ...")."""
    conftest = f"raise RuntimeError({line!r})\n"
    return {"lib.py": GREET, "conftest.py": conftest, "tests/test_lib.py": "def test_x():\n    assert False\n"}


CASES = {
    "patch found": (PATCH_FOUND, 0, "plausible patch"),
    "no patch": (NO_PATCH, 1, "no plausible patch"),
    "bad input quoting the output": (_dies_printing(f"boom {EVIL} boom"), 2, "gave no test results"),
}


def run_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REPAIRBOT_DATABASE_URL": url, "REPAIRBOT_GENERATORS": "templates",
           "REPAIRBOT_TEST_TIMEOUT_S": "120"}
    return subprocess.run([sys.executable, "-m", "repairbot", *args], capture_output=True, text=True,
                          errors="surrogateescape", timeout=600, env=env)


def assert_contained(result: subprocess.CompletedProcess[str], code: int) -> None:
    """The expected exit code, no traceback, no raw control character on either stream."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for stream in (result.stdout, result.stderr):
        assert not any(control in stream for control in RAW_CONTROLS), repr(stream)


@pytest.mark.parametrize("case", CASES)
def test_hostile_names_and_output_are_shown_as_text(case: str, tmp_path: Path) -> None:
    files, code, message = CASES[case]
    # The project's path holds the markup and the escape sequences ("[/x]" spans two levels);
    # its own name is plain: pytest refuses a rootdir argument with brackets in it.
    project = write_files(tmp_path / "p[" / f"x]{EVIL[4:]}" / "project", files, dedent=True)
    assert "[/x]" in str(project) and "\x1b]0;pwned\x07" in str(project)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"

    repaired = run_cli("repair", str(project), url=url)
    assert_contained(repaired, code)
    assert message in repaired.stderr
    [job] = JobStore(url).list_jobs()
    assert job.status == {0: "succeeded", 1: "no_patch", 2: "failed"}[code]

    listing = run_cli("jobs", url=url)
    assert_contained(listing, 0)
    assert "\\x1b]0;pwned\\x07" in listing.stdout and "[/x]" in listing.stdout  # shown, not obeyed
    shown = run_cli("show", str(job.id), url=url)
    assert_contained(shown, 0)
    assert f"job {job.id}" in shown.stdout and "\\x1b[2J" in shown.stdout
    if code == 2:
        assert "error: " in shown.stdout and "boom [/x][bold]\\x1b]0;pwned\\x07" in shown.stdout
    else:
        assert "[/x][bold]" in shown.stdout  # the failing test's id


def test_a_megabyte_line_of_output_makes_a_capped_error(tmp_path: Path) -> None:
    project = write_files(tmp_path / "project", _dies_printing("E" * 1_000_000), dedent=True)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    repaired = run_cli("repair", str(project), url=url)
    assert_contained(repaired, 2)
    [error_line] = [line for line in repaired.stderr.splitlines() if line.startswith("error:")]
    assert "gave no test results" in error_line and "more characters)" in error_line
    assert len(error_line) < 1000  # the sandbox keeps 64 KiB of output: that was the line
    [job] = JobStore(url).list_jobs()
    assert job.error is not None and len(job.error) < 1000 and "more characters)" in job.error
