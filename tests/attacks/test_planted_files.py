"""Attack: files the sandboxed tests plant in their work dir, and files a hostile project
brings along (issue 12, holes 2 and 4; issue 18, item 0).

repairbot (root here) reads and writes the work dir the tests wrote to: it must never
follow a link they planted (a source file swapped for a link to a root-only host file must
neither be overwritten with a candidate nor read into a patch), never block on a FIFO they
made of their report, and `--apply` must not write through a link in the user's project.
The intake copy skips special files and keeps the project's own metadata (`*.egg-info`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from repairbot.cli import _apply
from repairbot.db.store import JobStore
from repairbot.domain import (
    Candidate, FileEdit, RepairResult, Reproduction, SuspiciousLocation, TestRun, ValidationResult, Verdict,
)
from repairbot.errors import EXIT_BAD_INPUT
from repairbot.generate.sources import load_source
from repairbot.reproduce import reproduce
from repairbot.workspace import Workspace
from validators.validate import CandidateValidator

from tests.attacks.hostile import SANDBOXES, sandboxed_runner
from tests.files import write_files

MARKER = "HOST-SECRET-5c1e"
# Valid Python, so that a generator reading through the link would make candidates of it.
HOST_TEXT = f"def add(a, b):\n    return a - b  # {MARKER}\n"
CALC = "def add(a, b):\n    return a - b\n"
FIXED = CALC.replace("a - b", "a + b")
LOCATION = SuspiciousLocation("calc.py", 2, 2, 1.0)
# The attack: the test swaps the source under repair for a link to a host file, always
# (the baseline plants it) or only once the code is fixed (a candidate's run plants it).
PLANTING_TEST = """\
import os
from pathlib import Path

import calc

ROOT = Path(__file__).resolve().parent.parent


def test_add():
    result = calc.add(1, 2)
    if {always} or result == 3:
        os.unlink(ROOT / "calc.py")
        os.symlink((ROOT / "target.txt").read_text().strip(), ROOT / "calc.py")
    assert result == 3
"""
# The attack on report reading: the report pytest just wrote becomes a FIFO.
FIFO_CONFTEST = """\
import os

import calc


def pytest_unconfigure(config):
    report = config.option.xmlpath
    if report and os.path.isfile(report) and ({always} or calc.add(1, 2) == 3):
        os.unlink(report)
        os.mkfifo(report)
"""
CALC_TEST = "import calc\n\n\ndef test_add():\n    assert calc.add(1, 2) == 3\n"


def host_file(tmp_path: Path) -> Path:
    """A root-only host file outside every work dir."""
    host = tmp_path / "host" / "secret.py"
    host.parent.mkdir()
    host.write_text(HOST_TEXT)
    host.chmod(0o600)
    assert host.stat().st_uid == os.getuid() == 0
    return host


def planting_project(root: Path, host: Path, always: bool) -> Path:
    return write_files(root, {
        "calc.py": CALC, "target.txt": str(host), "pytest.ini": "[pytest]\n",
        "tests/test_calc.py": PLANTING_TEST.format(always=always),
    })


def run_cli(args: list[str], tmp_path: Path, mode: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`repairbot` as a user runs it, templates only, with its temporary files in a dir of
    the test's own (to see that the workspace goes); the timeout is the hang check."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir(exist_ok=True)
    env = {
        **os.environ, "TMPDIR": str(tmp), "REPAIRBOT_SANDBOX": mode, "REPAIRBOT_GENERATORS": "templates",
        "REPAIRBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.db'}", "REPAIRBOT_TIME_BUDGET_S": "3600",
    }
    return subprocess.run(
        [sys.executable, "-m", "repairbot", *args], capture_output=True, text=True, timeout=240, env=env, cwd=cwd,
    )


@pytest.mark.parametrize("mode", SANDBOXES)
@pytest.mark.parametrize("planted_by", ["baseline", "candidate"])
def test_validation_never_writes_or_reads_through_a_planted_link(tmp_path: Path, mode: str, planted_by: str) -> None:
    host = host_file(tmp_path)
    work = planting_project(tmp_path / "work", host, always=planted_by == "baseline")
    runner = sandboxed_runner(mode)
    runner.prepare(work)
    validator = CandidateValidator(runner, work, reproduce(runner, work, 60, reruns=0))
    result = validator.validate(Candidate("calc.py", CALC, FIXED, "template:test", "fix", LOCATION))
    assert (work / "calc.py").is_symlink()  # the attack happened
    assert host.read_text() == HOST_TEXT
    assert result.verdict is Verdict.SANDBOX_VIOLATION and "tampered" in result.detail, result.detail
    assert validator.tampered  # the pool gives this copy nothing more
    assert load_source(work, "calc.py", "test") is None  # the generators read nothing through it


@pytest.mark.parametrize("mode", SANDBOXES)
def test_repair_of_a_project_that_plants_a_link_leaks_nothing(tmp_path: Path, mode: str) -> None:
    """The link comes with the first fixing candidate's run: after localization (whose
    coverage would drop a file resolved outside the work dir), before the next generation
    reads the sources and the restore writes the file back."""
    if mode == "bwrap":
        sandboxed_runner(mode)  # skips where bubblewrap does not work
    host = host_file(tmp_path)
    victim = planting_project(tmp_path / "victim", host, always=False)
    report = tmp_path / "report.json"
    result = run_cli(["repair", str(victim), "--json", str(report)], tmp_path, mode)
    assert result.returncode in (1, 2), result.stderr
    assert host.read_text() == HOST_TEXT
    database = (tmp_path / "jobs.db").read_bytes()
    for text in (result.stdout, result.stderr, report.read_text() if report.exists() else ""):
        assert MARKER not in text
    assert MARKER.encode() not in database
    assert list((tmp_path / "tmpdir").iterdir()) == []


@pytest.mark.parametrize("mode", SANDBOXES)
def test_a_report_replaced_by_a_fifo_ends_the_job_with_a_clear_error(tmp_path: Path, mode: str) -> None:
    if mode == "bwrap":
        sandboxed_runner(mode)
    victim = write_files(tmp_path / "victim", {
        "calc.py": CALC, "conftest.py": FIFO_CONFTEST.format(always=True), "tests/test_calc.py": CALC_TEST,
    })
    result = run_cli(["repair", str(victim)], tmp_path, mode)  # hung forever before
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert "no test results" in result.stderr and "not a regular file" in result.stderr, result.stderr
    [job] = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}").list_jobs()
    assert job.status == "failed"
    assert list((tmp_path / "tmpdir").iterdir()) == []


@pytest.mark.parametrize("mode", SANDBOXES)
def test_a_candidate_run_whose_report_becomes_a_fifo_is_an_error_not_a_hang(tmp_path: Path, mode: str) -> None:
    work = write_files(tmp_path / "work", {
        "calc.py": CALC, "conftest.py": FIFO_CONFTEST.format(always=False), "tests/test_calc.py": CALC_TEST,
    })
    runner = sandboxed_runner(mode)
    runner.prepare(work)
    validator = CandidateValidator(runner, work, reproduce(runner, work, 60, reruns=0))
    result = validator.validate(Candidate("calc.py", CALC, FIXED, "template:test", "fix", LOCATION))
    assert result.verdict is Verdict.ERROR
    assert "did not run" in result.detail and "not a regular file" in result.detail, result.detail
    assert (work / "calc.py").read_text() == CALC


def test_apply_refuses_a_link_in_the_project_and_writes_nothing(tmp_path: Path) -> None:
    """The linked file reads as the patch expects: only the link check stops the write."""
    host = host_file(tmp_path)
    user = write_files(tmp_path / "user", {"one.py": "x = 0\n"})
    (user / "calc.py").symlink_to(host)
    candidate = Candidate("one.py", "x = 0\n", "x = 1\n", "combine:a+b", "", SuspiciousLocation("one.py", 1, 1, 1.0),
                          other_files=(FileEdit("calc.py", HOST_TEXT, "owned\n"),))
    result = RepairResult(None, str(user), Reproduction(TestRun([], 1, 0.0), [], []), [], [],
                          [ValidationResult(candidate, Verdict.PLAUSIBLE)], {}, 0.0)
    with pytest.raises(typer.Exit) as exit_info:
        _apply(user, result)
    assert exit_info.value.exit_code == EXIT_BAD_INPUT
    assert host.read_text() == HOST_TEXT and (user / "one.py").read_text() == "x = 0\n"


def test_intake_leaves_special_files_out_and_keeps_links_as_links(tmp_path: Path) -> None:
    host = host_file(tmp_path)
    user = write_files(tmp_path / "user", {"calc.py": CALC, "pkg.egg-info/PKG-INFO": "Name: pkg\n"})
    os.mkfifo(user / "pipe")  # a copy that opens it blocks, or fails (shutil)
    (user / "link.py").symlink_to(host)
    with Workspace(user) as workspace:
        copy = workspace.root
        assert not (copy / "pipe").exists() and (copy / "calc.py").read_text() == CALC
        assert os.readlink(copy / "link.py") == str(host)
        assert (copy / "pkg.egg-info" / "PKG-INFO").is_file()  # tests read the package's metadata


VERSION_TEST = """\
from importlib.metadata import version

import calc


def test_version():
    assert version("calcpkg") == "1.2.3"


def test_add():
    assert calc.add(1, 2) == 3
"""


def test_repair_of_dot_works_and_the_copy_keeps_egg_info(tmp_path: Path) -> None:
    """Issue 18: `repairbot repair .` crashed (the copy was named after `Path('.').name`),
    and a test reading the package's metadata failed in every copy (no `*.egg-info`)."""
    victim = write_files(tmp_path / "victim", {
        "calc.py": CALC, "tests/test_calc.py": VERSION_TEST,
        "calcpkg.egg-info/PKG-INFO": "Metadata-Version: 2.1\nName: calcpkg\nVersion: 1.2.3\n",
    })
    result = run_cli(["repair", "."], tmp_path, "none", cwd=victim)
    assert result.returncode == 0, result.stderr
    assert "+    return a + b" in result.stdout
    assert list((tmp_path / "tmpdir").iterdir()) == []


def test_workspace_of_the_current_dir_is_named_after_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write_files(tmp_path / "named", {"calc.py": CALC})
    monkeypatch.chdir(user)
    with Workspace(Path(".")) as workspace:
        assert workspace.root.name == "named" and (workspace.root / "calc.py").read_text() == CALC
