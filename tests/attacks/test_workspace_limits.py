"""Attack: a project or its tests that fill the work dir (issue 12, hole 7: a test wrote
2 GiB; 100k files slowed a job 5x).

The intake copy refuses a project over `safe_files.WORKSPACE_LIMITS`, and after each
sandboxed run the work dir is measured: a run that leaves it over the caps is a sandbox
violation ("workspace size limit"), in the baseline a BadInput, and the copy is no longer
used. The caps are lowered here so the tests stay small and fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from repairbot.domain import Candidate, SuspiciousLocation, Verdict
from repairbot.errors import BadInput
from repairbot.reproduce import reproduce
from repairbot.workspace import Workspace
from validators import safe_files
from validators.pool import ValidationPool
from validators.safe_files import MiB, TreeLimits
from validators.validate import CandidateValidator

from tests.attacks.hostile import SANDBOXES, sandboxed_runner

LIMITS = TreeLimits(max_bytes=4 * MiB, max_files=300)
CALC = "def add(a, b):\n    return a - b\n"
LOCATION = SuspiciousLocation("calc.py", 2, 2, 1.0)
# Fills the work dir: always (the baseline does it), or once the code is fixed.
FILLING_TEST = """\
from pathlib import Path

import calc

ROOT = Path(__file__).resolve().parent.parent


def test_add():
    result = calc.add(1, 2)
    if {always} or result == 3:
        {fill}
    assert result == 3
"""
MANY_FILES = 'for i in range(400): (ROOT / f"junk-{i}").write_text("x")'
BIG_FILE = '(ROOT / "junk").write_bytes(bytes(8 * 1024 * 1024))'


@pytest.fixture(autouse=True)
def small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_files, "WORKSPACE_LIMITS", LIMITS)


def filling_project(root: Path, fill: str, always: bool) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text(CALC)
    (root / "tests" / "test_calc.py").write_text(FILLING_TEST.format(always=always, fill=fill))
    return root


def fixed(variant: str) -> Candidate:
    return Candidate("calc.py", CALC, CALC.replace("a - b", f"{variant}a + b"), "template:test", variant, LOCATION)


@pytest.mark.parametrize("mode", SANDBOXES)
@pytest.mark.parametrize("fill", [MANY_FILES, BIG_FILE], ids=["files", "bytes"])
def test_a_candidate_run_that_fills_the_work_dir_is_a_violation(tmp_path: Path, mode: str, fill: str) -> None:
    work = filling_project(tmp_path / "work", fill, always=False)
    runner = sandboxed_runner(mode)
    runner.prepare(work)
    validator = CandidateValidator(runner, work, reproduce(runner, work, 60, reruns=0))
    result = validator.validate(fixed(""))
    assert result.verdict is Verdict.SANDBOX_VIOLATION, result.detail
    assert result.detail.startswith("workspace size limit: the work dir holds more than")
    assert validator.tampered == result.detail
    assert (work / "calc.py").read_text() == CALC


@pytest.mark.parametrize("mode", SANDBOXES)
def test_a_baseline_that_fills_the_work_dir_is_bad_input(tmp_path: Path, mode: str) -> None:
    work = filling_project(tmp_path / "work", MANY_FILES, always=True)
    runner = sandboxed_runner(mode)
    runner.prepare(work)
    with pytest.raises(BadInput, match="exceeds the sandbox's workspace size limit: the work dir holds more than 300"):
        reproduce(runner, work, 60, reruns=0)


def test_the_pool_stops_when_every_copy_is_spoiled(tmp_path: Path) -> None:
    work = filling_project(tmp_path / "work", BIG_FILE, always=False)
    runner = sandboxed_runner("none")
    runner.prepare(work)
    copies = tmp_path / "copies"
    pool = ValidationPool(runner, work, reproduce(runner, work, 60, reruns=0), 1, copies)
    results = []
    with pytest.raises(BadInput, match="tampered with every work copy"):
        for result in pool.run([fixed(""), fixed(" ")], should_stop=lambda: False):
            results.append(result)
    assert [r.verdict for r in results] == [Verdict.SANDBOX_VIOLATION]


def test_intake_refuses_a_project_with_too_many_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "user"
    user.mkdir()
    for i in range(LIMITS.max_files + 1):
        (user / f"f{i}.py").write_text("")
    (user / ".git").mkdir()  # not copied, not counted
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(BadInput, match=r"the project .* holds more than 300 files, the cap of a work copy"):
        Workspace(user)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user"]  # the partial copy is gone


def test_intake_refuses_a_project_too_large(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    (user / "data.bin").write_bytes(bytes(LIMITS.max_bytes + 1))
    with pytest.raises(BadInput, match="holds more than 4 MiB"):
        Workspace(user)


def test_intake_ignores_caches_when_counting(tmp_path: Path) -> None:
    user = tmp_path / "user"
    (user / "__pycache__").mkdir(parents=True)
    for i in range(LIMITS.max_files + 1):
        (user / "__pycache__" / f"m{i}.pyc").write_text("")
    (user / "calc.py").write_text(CALC)
    with Workspace(user) as workspace:
        assert [p.name for p in workspace.root.iterdir()] == ["calc.py"]

