"""Each candidate's first run leaves out the pytest plugins the failing tests do not need
(`PytestRunner.fast_filter`), and the verdicts stay what the full runner gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from repairbot.domain import Verdict
from repairbot.reproduce import reproduce
from validators.pool import ValidationPool
from validators.pytest_runner import PytestRunner, autoloaded_plugins, default_test_command

from tests.test_validate import ORIGINAL, candidate
from tests.test_validators import PROJECT
from tests.files import write_files

# pytest-timeout is one of the test extra's packages: there is always a plugin to leave out.
INSTALLED = autoloaded_plugins()


def pool_for(tmp_path: Path, runner: PytestRunner) -> ValidationPool:
    project = write_files(tmp_path / "p", PROJECT, dedent=True)
    runner.prepare(project)
    return ValidationPool(runner, project, reproduce(runner, project, 60, reruns=0), 2, tmp_path / "copies")


def test_the_first_runs_leave_out_every_plugin_the_failing_tests_do_not_need(tmp_path: Path) -> None:
    assert "timeout" in INSTALLED
    pool = pool_for(tmp_path, PytestRunner())
    assert pool.filter_runner.disabled_plugins == tuple(INSTALLED)
    assert all(v.filter_runner is pool.filter_runner for v in pool.validators)
    fixed, wrong = candidate(ORIGINAL.replace("a - b", "a + b")), candidate(ORIGINAL.replace("a - b", "a * b"))
    results = {r.candidate.patched: r for r in pool.run([fixed, wrong], lambda: False)}
    assert results[fixed.patched].verdict is Verdict.PLAUSIBLE, results[fixed.patched].detail
    assert results[fixed.patched].test_runs == 2  # the full run, with every plugin, accepted it
    assert results[wrong.patched].verdict is Verdict.FAILS
    assert results[wrong.patched].test_runs == 1


def test_a_plugin_the_test_command_needs_stays(tmp_path: Path) -> None:
    """Without pytest-timeout, `--timeout` is an unknown option and no test runs: the check
    sees the failing test's outcome gone and keeps that plugin, leaving out the others."""
    pool = pool_for(tmp_path, PytestRunner([*default_test_command(), "--timeout=30"]))
    disabled = pool.filter_runner.disabled_plugins
    if len(INSTALLED) == 1:
        assert pool.filter_runner is pool.validators[0].runner
    else:
        assert "timeout" not in disabled and set(disabled) == set(INSTALLED) - {"timeout"}
        assert "-p no:timeout" not in pool.filter_runner.describe()
    result = next(pool.run([candidate(ORIGINAL.replace("a - b", "a + b"))], lambda: False))
    assert result.verdict is Verdict.PLAUSIBLE, result.detail


@pytest.mark.parametrize("runner", [
    PytestRunner(["env", *default_test_command()]),  # whose plugins repairbot cannot list
    PytestRunner(disabled_plugins=("timeout",)),  # already a filter
], ids=["another-interpreter", "already-lean"])
def test_a_runner_whose_plugins_cannot_be_told_is_left_as_it_is(tmp_path: Path, runner: PytestRunner) -> None:
    assert pool_for(tmp_path, runner).filter_runner is runner
