"""The failure a job takes as its target: only tests the bug makes fail.

A test can fail in repairbot's work copy for want of what the copy leaves out for its size
(`.git`, a venv: issue 18, a version read from `git describe`); such a test passes in a
full copy of the project, so it is reported as failing only in the work copy and is
neither a target nor a regression.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from repairbot import pipeline
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.errors import BadInput
from tests.budgets import UNHURRIED

VERSION = """\
import subprocess
from pathlib import Path


def version():
    found = subprocess.run(
        ["git", "describe", "--tags"], cwd=Path(__file__).parent, capture_output=True, text=True
    )
    return found.stdout.strip() or "unknown"
"""
CALC = "def add(a, b):\n    return a - b\n"
TESTS = """\
from calc import add
from version import version


def test_version():
    assert version() == "v1.2"


def test_add():
    assert add(2, 3) == 5
"""


def git_project(root: Path, calc: str) -> Path:
    """A checkout whose tag the version test reads, as setuptools-scm projects do."""
    root.mkdir()
    (root / "calc.py").write_text(calc)
    (root / "version.py").write_text(VERSION)
    (root / "tests").mkdir()
    (root / "tests" / "test_all.py").write_text(TESTS)
    (root / "pyproject.toml").write_text("[project]\nname = 'calc'\nversion = '1.2'\n")
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "calc"], ["tag", "v1.2"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *command], cwd=root, check=True
        )
    return root


def run(project: Path, tmp_path: Path):
    settings = load_settings(
        project, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", generators=["templates"], **UNHURRIED
    )
    messages: list[str] = []
    return pipeline.repair(project, settings, JobStore(settings.database_url), messages.append), messages


def test_a_test_failing_only_without_git_is_no_target(tmp_path: Path) -> None:
    result, messages = run(git_project(tmp_path / "calc", CALC), tmp_path)
    assert [o.test_id for o in result.reproduction.failing] == ["tests/test_all.py::test_add"]
    why = result.reproduction.baseline_failures["tests/test_all.py::test_version"]
    assert why == "fails only in repairbot's work copy: passes with .git, which the copy leaves out"
    assert "running the 2 failing test(s) in a full copy (with .git)" in messages
    # Not a regression either: the fix is plausible though the version test fails in its copy.
    assert result.patches and "+    return a + b" in result.patches[0].candidate.diff


def test_when_every_failing_test_fails_only_in_the_copy_the_job_says_so(tmp_path: Path) -> None:
    project = git_project(tmp_path / "calc", CALC.replace("a - b", "a + b"))
    with pytest.raises(BadInput, match=r"every failing test \(tests/test_all.py::test_version\) passes .* with \.git"):
        run(project, tmp_path)


def test_a_project_without_left_out_parts_runs_no_second_copy(tmp_path: Path) -> None:
    project = git_project(tmp_path / "calc", CALC)
    subprocess.run(["rm", "-rf", str(project / ".git")], check=True)
    (project / "tests" / "test_all.py").write_text(TESTS.replace('"v1.2"', '"unknown"'))
    result, messages = run(project, tmp_path)
    assert [o.test_id for o in result.reproduction.failing] == ["tests/test_all.py::test_add"]
    assert not any("full copy" in m for m in messages)
