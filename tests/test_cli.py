"""The `repairbot` command end to end, as a user runs it: a real subprocess, real pytest
runs on copies of the bundled examples, a real database."""

from __future__ import annotations

import hashlib
import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from benchmarks.examples import EXAMPLES_DIR, apply_reference_fix, example_projects
from repairbot.cli import _apply
from repairbot.db.store import JobStore
from repairbot.domain import (
    Candidate, FileEdit, RepairResult, Reproduction, SuspiciousLocation, TestRun, ValidationResult, Verdict,
)
from tests.budgets import NEVER_S, UNHURRIED_ENV, long_job
from tests.files import write_files

EXAMPLES = [p.name for p in example_projects("python")]


def tree_checksum(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_cli(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command with budgets no loaded machine reaches: what ends a job is its first
    plausible patch or its last candidate, whatever the machine's speed."""
    return subprocess.run(
        [sys.executable, "-m", "repairbot", *args],
        capture_output=True,
        text=True,
        timeout=NEVER_S + 300,
        env={**os.environ, **UNHURRIED_ENV, "REPAIRBOT_DATABASE_URL": database_url, **env},
    )


def copy_example(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLES_DIR / name, tmp_path / name))


def apply_diff(project: Path, diff: str, tmp_path: Path) -> Path:
    patched = Path(shutil.copytree(project, tmp_path / "patched"))
    subprocess.run(["git", "apply", "-"], input=diff, text=True, cwd=patched, check=True)
    return patched


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 5


@long_job
@pytest.mark.parametrize("example", EXAMPLES)
def test_repairs_each_example_with_the_reference_fix(example: str, tmp_path: Path) -> None:
    project = copy_example(example, tmp_path)
    before = tree_checksum(project)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    result = run_cli("repair", str(project), "--json", str(tmp_path / "report.json"), database_url=url)
    assert result.returncode == 0, result.stderr
    assert tree_checksum(project) == before
    patched = apply_diff(project, result.stdout, tmp_path)
    expected = apply_reference_fix(project, tmp_path / "reference")
    changed = [line[6:] for line in result.stdout.splitlines() if line.startswith("+++ b/")]
    reference = [line[6:] for line in (project / "expected.patch").read_text().splitlines()
                 if line.startswith("+++ b/")]
    assert sorted(changed) == sorted(reference)  # one file, or two for the multi-hunk trip_fares
    assert all((patched / file).read_text() == (expected / file).read_text() for file in changed)

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "patch_found" and report["patches"][0]["diff"] == result.stdout
    assert report["failing_tests"] and report["suspicious_locations"]

    [job] = JobStore(url).list_jobs()
    assert job.status == "succeeded" and job.plausible >= 1
    assert job.candidates_tried == report["candidates_tried"] >= 1
    detail = JobStore(url).get_job(job.id)
    assert detail.patches[0].diff == result.stdout
    assert detail.failures and detail.locations


@long_job
def test_repair_on_postgres_and_jobs_show(database_url: str, tmp_path: Path) -> None:
    project = copy_example(EXAMPLES[0], tmp_path)
    result = run_cli("repair", str(project), database_url=database_url)
    assert result.returncode == 0, result.stderr
    listing = run_cli("jobs", database_url=database_url)
    assert listing.returncode == 0 and "succeeded" in listing.stdout
    job_id = JobStore(database_url).list_jobs()[0].id
    shown = run_cli("show", str(job_id), database_url=database_url)
    assert shown.returncode == 0
    assert result.stdout in shown.stdout
    assert "failing:" in shown.stdout and "suspicious:" in shown.stdout


@long_job
def test_apply_writes_the_patch_and_the_tests_then_pass(tmp_path: Path) -> None:
    project = copy_example(EXAMPLES[0], tmp_path)
    result = run_cli("repair", str(project), "--apply", database_url=f"sqlite:///{tmp_path / 'j.db'}")
    assert result.returncode == 0, result.stderr
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=project, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout


PASSING = {"lib.py": "def one():\n    return 1\n", "tests/test_lib.py": "from lib import one\n\ndef test_one():\n    assert one() == 1\n"}
BAD_INPUTS = {
    "missing path": (None, [], "does not exist", 2),
    "not a project": ({"notes.txt": "hello\n"}, [], "holds no Python or Java sources", 2),
    "all tests pass": (PASSING, [], "all 1 tests pass", 2),
    "command cannot run": (PASSING, ["--test-cmd", "no-such-test-runner --x"], "cannot run", 2),
    "unparsable source": (
        {**PASSING, "lib.py": "def one(:\n    return 1\n"}, [], "cannot be collected", 2),
    "hanging test": (
        {**PASSING, "tests/test_lib.py": "import time\n\ndef test_hang():\n    time.sleep(600)\n"},
        [], "did not finish within 3s", 2),
    "no tests": ({"lib.py": "x = 1\n"}, [], "no tests were collected", 2),
    "no patch found": (
        {"lib.py": "def greet(name):\n    return 'hello'\n",
         "tests/test_lib.py": "from lib import greet\n\ndef test_greet():\n    assert greet('ann') == 'Hi, ann!'\n"},
        [], "no plausible patch", 1),
}


@long_job
@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_a_clear_error_and_loses_nothing(case: str, tmp_path: Path) -> None:
    files, args, message, code = BAD_INPUTS[case]
    project = tmp_path / "project"
    if files is not None:
        write_files(project, files, dedent=True)
    before = tree_checksum(project) if project.exists() else None
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    # Templates only: whether the model happens to guess a greeting is not what this tests.
    # A short suite timeout only where the suite hangs: a loaded machine can take seconds
    # to start even a one-test suite in the sandbox.
    result = run_cli("repair", str(project), *args, database_url=url,
                     REPAIRBOT_TEST_TIMEOUT_S="3" if case == "hanging test" else "120",
                     REPAIRBOT_GENERATORS="templates")
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert result.stdout == ""
    if before is not None:
        assert tree_checksum(project) == before
    [job] = JobStore(url).list_jobs()
    if code == 2:
        assert job.status == "failed" and message in job.error
    else:
        assert job.status == "no_patch" and job.candidates_tried > 0


def test_path_that_is_a_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "f.py").write_text("x = 1\n")
    result = run_cli("repair", str(tmp_path / "f.py"), database_url=f"sqlite:///{tmp_path / 'j.db'}")
    assert result.returncode == 2 and "is not a directory" in result.stderr


def test_db_upgrade_creates_the_database(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "fresh.db"
    result = run_cli("db", "upgrade", database_url=f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    assert db.exists() and JobStore(f"sqlite:///{db}", migrate=False).list_jobs() == []


def test_apply_writes_every_file_of_a_multi_file_patch_or_none(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", {"one.py": "x = 0\n", "two.py": "y = 0\n"}, dedent=True)
    candidate = Candidate("one.py", "x = 0\n", "x = 1\n", "combine:a+b", "", SuspiciousLocation("one.py", 1, 1, 1.0),
                          other_files=(FileEdit("two.py", "y = 0\n", "y = 2\n"),))
    result = RepairResult(None, str(project), Reproduction(TestRun([], 1, 0.0), [], []), [], [],
                          [ValidationResult(candidate, Verdict.PLAUSIBLE)], {}, 0.0)
    (project / "two.py").write_text("y = 5\n")  # edited meanwhile: nothing is written
    with pytest.raises(typer.Exit):
        _apply(project, result)
    assert (project / "one.py").read_text() == "x = 0\n"
    (project / "two.py").write_text("y = 0\n")
    _apply(project, result)
    assert [(project / f).read_text() for f in ("one.py", "two.py")] == ["x = 1\n", "y = 2\n"]


@long_job
def test_piped_output_is_complete(tmp_path: Path) -> None:
    """With stderr and stdout not terminals (CI logs, `2>log`, `| less`): a line per stage
    and per validated candidate, `jobs` lines that cut nothing, seconds with one decimal."""
    project = write_files(tmp_path / ("a-project-dir-with-a-long-name-" * 4).rstrip("-"), {
        "calc.py": "def add(a, b):\n    return a - b\n",
        "tests/test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    }, dedent=True)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    result = run_cli("repair", str(project), database_url=url, REPAIRBOT_GENERATORS="templates")
    assert result.returncode == 0, result.stderr
    progress = result.stderr.splitlines()
    for line in ("copying ", "running the test suite", "ranking suspicious lines", "generating patches",
                 "validating ", "validated 1 "):
        assert any(line in shown for shown in progress), result.stderr

    listing = run_cli("jobs", database_url=url)
    header, row = listing.stdout.splitlines()
    assert header.split("\t") == [
        "job", "status", "stage", "worker", "candidates", "plausible", "created", "project", "error"
    ]
    assert row.split("\t")[7] == str(project.resolve())  # whole, though far wider than 80 columns
    shown = run_cli("show", row.split("\t")[0], database_url=url)
    assert re.search(r"; time to first plausible: \d+\.\ds$", shown.stdout, re.MULTILINE), shown.stdout
