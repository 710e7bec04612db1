"""`baseline_rev`: a failing test that also fails at the last revision without the bug fails
for the environment's sake (a file that exists nowhere, a tool that is missing), so it is
set aside with why instead of being taken as a target no patch can make pass (issue 17).
Real git repositories, real pytest projects, the real pipeline with templates only."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from repairbot import pipeline
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.errors import BadInput
from repairbot.revision import resolve
from tests.budgets import UNHURRIED, long_job
from tests.files import write_files
from tests.test_cli import run_cli, tree_checksum

GOOD = "def add(a, b):\n    return a + b\n"
BUGGY = "def add(a, b):\n    return a - b\n"
TESTS = """\
from pathlib import Path

from calc import add


def test_add():
    assert add(2, 3) == 5


def test_fixture():
    # The environment's failure: a file that exists on no machine repairbot runs on.
    assert Path("/nonexistent/repairbot-fixture.txt").read_text() == "data"
"""
# Added with the bug: at the baseline revision there is no such test (it stays a target).
NEW_TEST = "\n\ndef test_add_negative():\n    assert add(-1, -1) == -2\n"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout.strip()


def commit(root: Path, files: dict[str, str], message: str) -> None:
    write_files(root, files)
    git(root, "add", ".")
    git(root, "commit", "-qm", message)


def project_with_bug(root: Path) -> Path:
    """HEAD~1 is good (only the fixture test fails); HEAD brings the bug and a new test."""
    root.mkdir()
    git(root, "init", "-q")
    commit(root, {"calc.py": GOOD, "tests/test_all.py": TESTS}, "calc")
    commit(root, {"calc.py": BUGGY, "tests/test_all.py": TESTS + NEW_TEST}, "refactor add")
    return root


def settings_for(project: Path, tmp_path: Path, rev: str):
    return load_settings(
        project, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", generators=["templates"], baseline_rev=rev,
        **UNHURRIED,
    )


@long_job
def test_a_test_failing_at_the_baseline_too_is_set_aside_and_the_bug_repaired(tmp_path: Path) -> None:
    project = project_with_bug(tmp_path / "calc")
    (project / "notes.txt").write_text("untracked, the user's\n")
    head, before = git(project, "rev-parse", "HEAD"), tree_checksum(project)
    status = git(project, "status", "--porcelain")
    base = git(project, "rev-parse", "--short=10", "HEAD~1")
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    report = tmp_path / "report.json"

    result = run_cli("repair", str(project), "--baseline-rev", "HEAD~1", "--json", str(report),
                     database_url=url, REPAIRBOT_GENERATORS="templates")

    assert result.returncode == 0, result.stderr
    assert "+    return a + b" in result.stdout
    why = f"fails at HEAD~1 ({base}) too: not this change's failure"
    data = json.loads(report.read_text())
    assert data["ignored_tests"] == {"tests/test_all.py::test_fixture": why}
    # The test the bug came with did not exist at HEAD~1: still a target, and fixed.
    assert {t["test_id"] for t in data["failing_tests"]} == {
        "tests/test_all.py::test_add", "tests/test_all.py::test_add_negative"
    }
    assert f"running the 3 failing test(s) at HEAD~1 ({base})" in result.stderr
    assert f"1 of 3 failing test(s) fail at HEAD~1 ({base}) too: set aside; 2 to repair" in result.stderr
    shown = run_cli("show", str(data["job_id"]), database_url=url)
    assert f"ignored: tests/test_all.py::test_fixture: {why}" in shown.stdout
    # The user's checkout: same HEAD, same index and status, same files.
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == status == "?? notes.txt"
    assert tree_checksum(project) == before


@long_job
def test_every_failing_test_failing_at_the_baseline_too_is_bad_input(tmp_path: Path) -> None:
    project = tmp_path / "calc"
    project.mkdir()
    git(project, "init", "-q")
    commit(project, {"calc.py": GOOD, "tests/test_all.py": TESTS}, "calc")
    git(project, "tag", "v1")
    commit(project, {"calc.py": GOOD + "\n\ndef sub(a, b):\n    return a - b\n"}, "sub")
    url = f"sqlite:///{tmp_path / 'jobs.db'}"

    result = run_cli("repair", str(project), "--baseline-rev", "v1", database_url=url, REPAIRBOT_GENERATORS="templates")

    assert result.returncode == 2, result.stderr
    message = "all failing tests (tests/test_all.py::test_fixture) also fail at v1"
    assert message in " ".join(result.stderr.split())
    [job] = JobStore(url).list_jobs()
    assert job.status == "failed" and message in job.error


def test_a_revision_that_does_not_resolve_is_bad_input_before_any_test_runs(tmp_path: Path) -> None:
    project = project_with_bug(tmp_path / "calc")
    messages: list[str] = []
    settings = settings_for(project, tmp_path, "no-such-branch")
    with pytest.raises(BadInput, match=r"baseline_rev 'no-such-branch' does not name a commit of the repository"):
        pipeline.repair(project, settings, JobStore(settings.database_url), messages.append)
    assert messages == []


def test_a_project_outside_git_is_bad_input(tmp_path: Path) -> None:
    project = tmp_path / "calc"
    (project / "tests").mkdir(parents=True)
    (project / "calc.py").write_text(BUGGY)
    (project / "tests" / "test_all.py").write_text(TESTS)
    settings = settings_for(project, tmp_path, "HEAD~1")
    with pytest.raises(BadInput, match=r"baseline_rev 'HEAD~1': .*calc is not in a git repository"):
        pipeline.repair(project, settings, JobStore(settings.database_url))


def test_a_project_folder_the_revision_lacks_is_bad_input(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    commit(repo, {"README": "hello\n"}, "start")
    commit(repo, {"calc/calc.py": BUGGY, "calc/tests/test_all.py": TESTS}, "calc")
    with pytest.raises(BadInput, match=r"baseline_rev 'HEAD~1': calc is not a folder of the repository at HEAD~1"):
        resolve(repo / "calc", "HEAD~1")


def test_an_option_is_no_revision() -> None:
    """git would read it as an option (what a repository's own file may not set at all is
    tested in tests/attacks/test_settings_trust.py)."""
    with pytest.raises(BadInput, match="is not a git revision"):
        load_settings(baseline_rev="--output=/tmp/x")


def test_the_revision_tree_is_written_as_committed_from_a_subfolder(tmp_path: Path) -> None:
    """Only the project's folder, links as links, executable bits kept, what the work copy
    leaves out left out; the checkout's later edits are not there."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "app" / "run.sh").write_text("#!/bin/sh\n")
    (repo / "app" / "run.sh").chmod(0o755)
    os.symlink("run.sh", repo / "app" / "link")
    commit(repo, {"top.txt": "outside\n", "app/calc.py": GOOD, "app/.venv/x.py": "venv\n"}, "app")
    (repo / "app" / "calc.py").write_text(BUGGY)

    revision = resolve(repo / "app", "HEAD")
    target = tmp_path / "out" / "app"
    revision.write_tree(target, lambda name: name == ".venv")

    assert sorted(p.name for p in target.iterdir()) == ["calc.py", "link", "run.sh"]
    assert (target / "calc.py").read_text() == GOOD
    assert os.readlink(target / "link") == "run.sh"
    assert (target / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (target / "calc.py").stat().st_mode & 0o777 == 0o644
    assert revision.prefix == "app" and revision.sha == git(repo, "rev-parse", "HEAD")
