"""Baseline-failure subtraction, the outcome cache and parallel validation, on real
sandboxed pytest runs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.domain import Candidate, SuspiciousLocation, TestRun, Verdict
from repairbot.errors import BadInput
from repairbot.pipeline import repair
from repairbot.rank import normalized
from repairbot.reproduce import reproduce
from validators.outcome_cache import MemoryOutcomeStore, OutcomeCache, project_fingerprint
from validators.pool import ValidationPool
from validators.pytest_runner import PytestRunner

from tests.test_validate import ONE_SECOND_PER_TEST
from tests.test_validators import PROJECT
from tests.files import write_files

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LOCATION = SuspiciousLocation("calc.py", 2, 2, 0.5)
ORIGINAL = textwrap.dedent(PROJECT["calc.py"])
FIX = ORIGINAL.replace("a - b", "a + b")

# Fails the first time it runs in a work copy, passes afterwards: the shape of a test that
# depends on leftover state or timing.
FLAKY_TEST = """\
from pathlib import Path


def test_warm_cache():
    marker = Path(__file__).with_name(".warmed")
    warmed = marker.exists()
    marker.touch()
    assert warmed
"""
# Fails for a reason no patch of calc.py can change (a missing service, say).
UNRELATED_FAILURE = "def test_needs_a_service():\n    raise ConnectionError('no such service here')\n"


def candidate(patched: str, description: str = "") -> Candidate:
    return Candidate("calc.py", ORIGINAL, patched, "template:test", description, LOCATION, 0.5)


def prepared(root: Path, files: dict[str, str]) -> tuple[PytestRunner, Path]:
    project = write_files(root, files, dedent=True)
    runner = PytestRunner()
    runner.prepare(project)
    return runner, project


def test_flaky_test_is_found_by_the_rerun_and_subtracted(tmp_path: Path) -> None:
    runner, project = prepared(tmp_path / "p", {**PROJECT, "tests/test_flaky.py": FLAKY_TEST})
    reproduction = reproduce(runner, project, 60, reruns=1)
    assert [o.test_id for o in reproduction.failing] == ["tests/test_calc.py::test_add"]
    assert list(reproduction.baseline_failures) == ["tests/test_flaky.py::test_warm_cache"]
    assert reproduction.baseline_failures["tests/test_flaky.py::test_warm_cache"].startswith("flaky")
    assert "tests/test_flaky.py::test_warm_cache" not in reproduction.passing


class RecordingRunner(PytestRunner):
    """The real runner, keeping each run's outcomes."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[TestRun] = []

    def run(self, *args: Any, **kwargs: Any) -> TestRun:
        self.runs.append(super().run(*args, **kwargs))
        return self.runs[-1]


def test_the_flakiness_rerun_stops_at_a_test_that_hangs_again(tmp_path: Path) -> None:
    """A bug that makes three tests loop (each failed by the project's pytest-timeout) pays
    each one's limit in the baseline run, and one in the rerun: a hang repeated is the bug's."""
    looping = "".join(f"def test_loops_{n}():\n    while True: pass\n\n" for n in range(3))
    project = write_files(tmp_path / "p", {**PROJECT, "tests/test_loops.py": looping,
                                           "tests/conftest.py": ONE_SECOND_PER_TEST}, dedent=True)
    runner = RecordingRunner()
    runner.prepare(project)
    reproduction = reproduce(runner, project, 60, reruns=1)
    assert {o.test_id for o in reproduction.failing} == {
        "tests/test_calc.py::test_add", *(f"tests/test_loops.py::test_loops_{n}" for n in range(3))}
    assert reproduction.baseline_failures == {}
    baseline, rerun = runner.runs
    assert [o.test_id for o in rerun.outcomes if not o.ok] == ["tests/test_calc.py::test_add", "tests/test_loops.py::test_loops_0"]
    assert len(rerun.outcomes) < len(baseline.outcomes)


def test_without_reruns_a_flaky_failure_counts_as_a_target(tmp_path: Path) -> None:
    runner, project = prepared(tmp_path / "p", {**PROJECT, "tests/test_flaky.py": FLAKY_TEST})
    reproduction = reproduce(runner, project, 60, reruns=0)
    assert {o.test_id for o in reproduction.failing} == {
        "tests/test_calc.py::test_add", "tests/test_flaky.py::test_warm_cache",
    }


def test_declared_known_failure_is_neither_target_nor_regression(tmp_path: Path) -> None:
    runner, project = prepared(tmp_path / "p", {**PROJECT, "tests/test_service.py": UNRELATED_FAILURE})
    reproduction = reproduce(runner, project, 60, reruns=0, ignore=["tests/test_service.py::*"])
    assert [o.test_id for o in reproduction.failing] == ["tests/test_calc.py::test_add"]
    assert reproduction.baseline_failures == {"tests/test_service.py::test_needs_a_service": "known failure (ignored by setting)"}

    pool = ValidationPool(runner, project, reproduction, 1, tmp_path / "copies")
    [result] = pool.run([candidate(FIX)], should_stop=lambda: False)
    assert result.verdict is Verdict.PLAUSIBLE, result.detail
    # The whole suite ran (not stopped at the ignored failure): every passing test was seen.
    assert set(reproduction.passing) <= {o.test_id for o in result.outcomes}


def test_a_failure_that_is_only_flaky_is_bad_input(tmp_path: Path) -> None:
    runner, project = prepared(tmp_path / "p", {**PROJECT, "calc.py": FIX, "tests/test_flaky.py": FLAKY_TEST})
    with pytest.raises(BadInput, match="flaky or a known failure"):
        reproduce(runner, project, 60, reruns=1)


@pytest.fixture
def two_workers(tmp_path: Path) -> tuple[ValidationPool, Path]:
    runner, project = prepared(tmp_path / "p", PROJECT)
    reproduction = reproduce(runner, project, 60, reruns=0)
    return ValidationPool(runner, project, reproduction, 2, tmp_path / "copies"), project


def test_parallel_workers_validate_in_their_own_copies(two_workers: tuple[ValidationPool, Path]) -> None:
    pool, project = two_workers
    wrong = [candidate(ORIGINAL.replace("a - b", op), op) for op in ("a * b", "b - a", "a - b - 1")]
    results = list(pool.run([*wrong, candidate(FIX, "fix")], should_stop=lambda: False))

    assert pool.workers == 2
    assert sorted(r.candidate.description for r in results) == sorted(["a * b", "b - a", "a - b - 1", "fix"])
    assert {r.candidate.description: r.verdict for r in results}["fix"] is Verdict.PLAUSIBLE
    assert [r.verdict for r in results].count(Verdict.FAILS) == 3
    workdirs = [v.workdir for v in pool.validators]
    assert len(set(workdirs)) == 2 and workdirs[0] == project
    for workdir in workdirs:
        assert (workdir / "calc.py").read_text() == ORIGINAL
    # Resource usage of the sandboxed runs is measured (cgroup or rusage).
    assert all(r.test_runs >= 1 and r.cpu_time_s and r.cpu_time_s > 0 for r in results)


def test_nothing_new_starts_once_the_caller_says_stop(two_workers: tuple[ValidationPool, Path]) -> None:
    pool, _ = two_workers
    candidates = [candidate(FIX, "fix")] + [candidate(ORIGINAL.replace("a - b", f"a - b - {n}"), str(n)) for n in range(4)]
    seen = []
    # Stop at the first verdict, whichever worker gives it: the other worker's run, already
    # in flight, is the only one that may still come in, however fast the runs are.
    for result in pool.run(candidates, should_stop=lambda: bool(seen)):
        seen.append(result)
    assert 1 <= len(seen) <= pool.workers


def test_outcome_cache_answers_an_equivalent_patch_without_running_tests(tmp_path: Path) -> None:
    runner, project = prepared(tmp_path / "p", PROJECT)
    reproduction = reproduce(runner, project, 60, reruns=0)
    store = MemoryOutcomeStore()
    cache = OutcomeCache(store, project_fingerprint(project, runner.describe()), normalized)
    pool = ValidationPool(runner, project, reproduction, 1, tmp_path / "copies", cache)

    spaced = FIX.replace("a + b", "(a  +  b)  # same program")
    first, again, wrong, wrong_again = pool.run(
        [candidate(FIX), candidate(spaced), candidate(ORIGINAL.replace("a - b", "a * b")), candidate(ORIGINAL.replace("a - b", "a*b"))],
        should_stop=lambda: False,
    )
    assert (first.verdict, first.cached) == (Verdict.PLAUSIBLE, False)
    assert (again.verdict, again.cached, again.test_runs, again.outcomes) == (Verdict.PLAUSIBLE, True, 0, first.outcomes)
    assert (wrong.cached, wrong_again.cached, wrong_again.verdict) == (False, True, Verdict.FAILS)
    assert cache.hits == 2 and len(store.outcomes) == 2

    # Another project state is another key space: a changed test means nothing is reused.
    (project / "tests" / "test_calc.py").write_text(textwrap.dedent(PROJECT["tests/test_calc.py"]) + "# changed\n")
    other = OutcomeCache(store, project_fingerprint(project, runner.describe()), normalized)
    assert other.lookup(candidate(FIX)) is None


def test_timeouts_are_not_cached(tmp_path: Path) -> None:
    runner, project = prepared(tmp_path / "p", PROJECT)
    reproduction = reproduce(runner, project, 60, reruns=0)
    cache = OutcomeCache(MemoryOutcomeStore(), "ctx", normalized)
    pool = ValidationPool(runner, project, reproduction, 1, tmp_path / "copies", cache)
    pool.validators[0].timeout_s = 2.0
    [result] = pool.run([candidate(ORIGINAL.replace("return a - b", "while True: pass"))], should_stop=lambda: False)
    assert result.verdict is Verdict.TIMEOUT
    assert cache.lookup(result.candidate) is None


def test_a_rerun_job_reuses_verdicts_from_the_database(tmp_path: Path) -> None:
    settings = load_settings(
        None, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", generators=["templates"], validation_workers=2,
        max_plausible=1,
    )
    store = JobStore(settings.database_url)
    first = repair(EXAMPLES / "word_stats", settings, store)
    second = repair(EXAMPLES / "word_stats", settings, store)
    assert first.patches and second.patches
    assert second.patches[0].candidate.diff == first.patches[0].candidate.diff
    assert not any(v.cached for v in first.validations)
    assert second.validations and all(v.cached and v.test_runs == 0 for v in second.validations)
