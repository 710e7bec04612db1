"""Candidate validation verdicts and the ranking around it, on real pytest runs."""

from __future__ import annotations


import time
from dataclasses import replace
from pathlib import Path

import pytest

from repairbot.errors import BadInput
from repairbot.domain import Candidate, SuspiciousLocation, TestOutcome, TestRun, TestStatus, ValidationResult, Verdict
from repairbot.rank import dedupe, generator_family, order_for_validation, program_key, rank_patches
from repairbot.reproduce import reproduce
from validators.pytest_runner import PytestRunner
from validators.validate import BUDGET_ENDED, CandidateValidator, cpu_limit_per_test, timeout_from_baseline

from tests.test_validators import PROJECT
from tests.files import write_files

LOCATION = SuspiciousLocation("calc.py", 2, 2, 0.5)
ORIGINAL = "def add(a, b):\n    return a - b\n\ndef neg(a):\n    return -a\n"


def candidate(patched: str, prior: float = 0.5, description: str = "") -> Candidate:
    return Candidate("calc.py", ORIGINAL, patched, "template:test", description, LOCATION, prior)


@pytest.fixture(scope="module")
def validator(tmp_path_factory: pytest.TempPathFactory) -> CandidateValidator:
    root = tmp_path_factory.mktemp("v")
    project = write_files(root / "p", PROJECT, dedent=True)
    runner = PytestRunner()
    runner.prepare(project)
    return CandidateValidator(runner, project, reproduce(runner, project, 60))


def test_correct_patch_is_plausible(validator: CandidateValidator) -> None:
    result = validator.validate(candidate(ORIGINAL.replace("a - b", "a + b")))
    assert result.verdict is Verdict.PLAUSIBLE, result.detail
    assert {o.test_id for o in result.outcomes} >= {"tests/test_calc.py::test_add", "tests/test_calc.py::test_neg"}
    assert (validator.workdir / "calc.py").read_text() == ORIGINAL


def test_patch_that_keeps_failing_is_rejected_after_the_failing_tests_only(validator: CandidateValidator) -> None:
    result = validator.validate(candidate(ORIGINAL.replace("a - b", "a * b")))
    assert result.verdict is Verdict.FAILS
    assert [o.test_id for o in result.outcomes] == ["tests/test_calc.py::test_add"]


def test_patch_that_breaks_a_passing_test_is_rejected(validator: CandidateValidator) -> None:
    # Fixes test_add by special-casing it, but neg is broken on the way.
    patched = "def add(a, b):\n    return 3\n\ndef neg(a):\n    return a\n"
    result = validator.validate(candidate(patched))
    assert result.verdict is Verdict.FAILS


def test_hanging_patch_times_out(validator: CandidateValidator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validator, "timeout_s", 3.0)
    result = validator.validate(candidate("def add(a, b):\n    while True: pass\n\ndef neg(a):\n    return -a\n"))
    assert result.verdict is Verdict.TIMEOUT
    assert (validator.workdir / "calc.py").read_text() == ORIGINAL


def test_a_run_still_going_when_the_jobs_budget_ends_is_stopped_there(
    validator: CandidateValidator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: the budget is a promise. A hanging candidate's run would last the run's own
    limit (5x the baseline's time, here 600 s); the job's deadline stops it, and the verdict
    says why (a timeout that is never cached as the patch's)."""
    monkeypatch.setattr(validator, "timeout_s", 600.0)
    hanging = candidate("def add(a, b):\n    while True: pass\n\ndef neg(a):\n    return -a\n")
    result = validator.validate(hanging, deadline=time.monotonic() + 3.0)
    assert (result.verdict, result.detail) == (Verdict.TIMEOUT, BUDGET_ENDED)
    assert result.duration_s < 300
    assert (validator.workdir / "calc.py").read_text() == ORIGINAL


def test_the_baseline_run_ends_with_the_jobs_budget(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", {**PROJECT, "tests/test_slow.py": "import time\n\ndef test_slow():\n    time.sleep(300)\n"}, dedent=True)
    runner = PytestRunner()
    runner.prepare(project)
    with pytest.raises(BadInput, match=r"the job's time budget ended during the baseline run"):
        reproduce(runner, project, 600, deadline=time.monotonic() + 3.0)


# Three failing tests of one function: a candidate that makes it loop forever hangs in each.
THREE_FAILING = {
    "calc.py": ORIGINAL,
    "tests/test_three.py": "from calc import add\n\n" + "".join(
        f"def test_add_{n}():\n    assert add({n}, 1) == {n + 1}\n\n" for n in range(3)
    ),
}
LOOPING = "def add(a, b):\n    while True: pass\n\ndef neg(a):\n    return -a\n"
# A conftest.py giving every test pytest-timeout's limit of 1 s: the project's own limit.
ONE_SECOND_PER_TEST = ("import pytest\n\ndef pytest_collection_modifyitems(items):\n"
                       "    for item in items:\n        item.add_marker(pytest.mark.timeout(1))\n")


def three_failing_validator(tmp_path: Path, conftest: str = "") -> CandidateValidator:
    project = write_files(tmp_path / "p", {**THREE_FAILING, "tests/conftest.py": conftest})
    runner = PytestRunner()
    runner.prepare(project)
    validator = CandidateValidator(runner, project, reproduce(runner, project, 60))
    assert len(validator.reproduction.failing) == 3
    # Were the hang not to stop the run, all three tests would hang until this ends it: a
    # TIMEOUT verdict instead of FAILS.
    validator.timeout_s = 120.0
    return validator


def test_a_hung_test_ends_the_run_the_tests_after_it_are_not_run(tmp_path: Path) -> None:
    """Issue 17: with several failing tests all of them run, so a looping mutant would cost
    each one's limit; the first test over its CPU limit fails as hung and ends the run."""
    validator = three_failing_validator(tmp_path)
    validator.test_cpu_limit_s = 1.0
    result = validator.validate(candidate(LOOPING))
    assert result.verdict is Verdict.FAILS, result.detail
    assert [(o.test_id, o.status) for o in result.outcomes] == [("tests/test_three.py::test_add_0", TestStatus.FAILED)]
    assert "stopped as hung" in result.outcomes[0].message


def test_a_test_pytest_timeout_fails_ends_the_run_too(tmp_path: Path) -> None:
    """The project's own per-test limit (pytest-timeout), shorter than repairbot's."""
    validator = three_failing_validator(tmp_path, ONE_SECOND_PER_TEST)
    validator.test_cpu_limit_s = 100.0
    result = validator.validate(candidate(LOOPING))
    assert result.verdict is Verdict.FAILS, result.detail
    assert [o.test_id for o in result.outcomes] == ["tests/test_three.py::test_add_0"]
    assert "Timeout" in result.outcomes[0].message


def test_the_cpu_limit_of_a_test_follows_the_slowest_baseline_test() -> None:
    def baseline(*durations: float) -> TestRun:
        return TestRun([TestOutcome(f"t{i}", TestStatus.PASSED, duration_s=d) for i, d in enumerate(durations)], 0, 1.0)

    assert cpu_limit_per_test(baseline(0.1, 0.3), run_timeout_s=60.0) == 5.0
    assert cpu_limit_per_test(baseline(0.1, 4.0), run_timeout_s=60.0) == 20.0
    assert cpu_limit_per_test(baseline(30.0), run_timeout_s=60.0) == 60.0


def test_patch_with_import_error_is_not_plausible(validator: CandidateValidator) -> None:
    result = validator.validate(candidate("import no_such_module\n" + ORIGINAL.replace("a - b", "a + b")))
    assert result.verdict in (Verdict.FAILS, Verdict.ERROR)


def test_timeout_from_baseline() -> None:
    assert timeout_from_baseline(0.5) == 10.0
    assert timeout_from_baseline(4.0) == 20.0


def test_dedupe_by_ast_and_order() -> None:
    a = candidate(ORIGINAL.replace("a - b", "a + b"), prior=0.2)
    same_program = candidate(ORIGINAL.replace("a - b", "(a + b)  # fixed"), prior=0.9)
    other = candidate(ORIGINAL.replace("a - b", "b - a"), prior=0.4)
    assert dedupe([a, same_program, other]) == [a, other]
    assert order_for_validation([a, other, same_program]) == [other, a]
    likelier_line = Candidate("calc.py", ORIGINAL, "y = 0\n", "template:test", "", SuspiciousLocation("calc.py", 5, 5, 0.9), 0.1)
    assert order_for_validation([a, other, likelier_line]) == [likelier_line, other, a]


def test_rank_keeps_plausible_best_prior_first() -> None:
    low = ValidationResult(candidate("x = 1\n", prior=0.1), Verdict.PLAUSIBLE)
    high = ValidationResult(candidate("x = 2\n", prior=0.8), Verdict.PLAUSIBLE)
    failing = ValidationResult(candidate("x = 3\n", prior=0.9), Verdict.FAILS)
    assert rank_patches([low, failing, high]) == [high, low]


def test_rank_puts_a_patch_two_generators_agree_on_first() -> None:
    """Agreement outranks one generator's prior; a generator's own variants are one voice."""
    agreed = candidate("x = 1\n", prior=0.1)
    alone = replace(candidate("x = 2\n", prior=0.8), generator="masked:callee")
    plausible = [ValidationResult(alone, Verdict.PLAUSIBLE), ValidationResult(agreed, Verdict.PLAUSIBLE)]
    proposers = {
        program_key(agreed): {generator_family(agreed), "infill"},
        program_key(alone): {"masked"},
    }
    assert [v.candidate for v in rank_patches(plausible, proposers)] == [agreed, alone]
    assert generator_family(replace(alone, generator="masked:operator")) == generator_family(alone) == "masked"
    assert [v.candidate for v in rank_patches(plausible)] == [alone, agreed]
