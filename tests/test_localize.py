"""Statement-level Ochiai from a real per-test coverage run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from repairbot.domain import Reproduction
from repairbot.localize import is_test_file, localize, ochiai
from validators.pytest_runner import PytestRunner

from tests.test_validators import PROJECT, write


def test_ochiai_matches_hand_computed_values() -> None:
    assert ochiai(ef=2, ep=0, total_failing=2) == pytest.approx(1.0)
    assert ochiai(ef=1, ep=3, total_failing=2) == pytest.approx(1 / math.sqrt(2 * 4))
    assert ochiai(ef=0, ep=5, total_failing=2) == 0.0
    assert ochiai(ef=0, ep=0, total_failing=0) == 0.0


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_a.py", True),
        ("pkg/tests/helpers.py", True),
        ("conftest.py", True),
        ("pkg/util_test.py", True),
        ("pkg/testing_utils.py", False),
        ("pkg/contest.py", False),
        ("src/latest.py", False),
    ],
)
def test_test_files_are_never_suspects(path: str, expected: bool) -> None:
    assert is_test_file(path) is expected


def test_faulty_line_ranks_first(tmp_path: Path) -> None:
    project = write(tmp_path / "p", PROJECT)
    run = PytestRunner().run(project, 60, coverage_file=tmp_path / "cov")
    reproduction = Reproduction(run=run, failing=[o for o in run.outcomes if not o.ok], passing=run.passing)
    locations = localize(reproduction, project, tmp_path / "cov", limit=10)
    # calc.py:2 `return a - b` runs in the 1 failing and 2 of the passing tests: 1/sqrt(1*3).
    # calc.py:5 runs only in a passing test, so it is not a suspect; test files never are.
    assert [(loc.file, loc.start_line) for loc in locations] == [("calc.py", 2)]
    assert locations[0].score == pytest.approx(1 / math.sqrt(3))
