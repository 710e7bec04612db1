"""Reproduce the failure: run the whole suite once, with per-test coverage.

A job needs at least one failing test; anything else (no tests, tests that cannot be
collected, a command that does not run, a suite that hangs) is the user's input to fix, so
it ends here with a message that says what to do.
"""

from __future__ import annotations

from pathlib import Path

from repairbot.domain import Reproduction, TestRun
from repairbot.errors import BadInput
from validators.process import CommandNotRunnable
from validators.pytest_runner import EXIT_NO_TESTS, EXIT_USAGE_ERROR, PytestRunner, collection_errors


def reproduce(runner: PytestRunner, workdir: Path, timeout_s: float) -> Reproduction:
    """The baseline run; its per-test coverage lands in `runner.coverage_file(workdir)`."""
    try:
        run = runner.run(workdir, timeout_s, with_coverage=True)
    except CommandNotRunnable as exc:
        raise BadInput(f"test command cannot run: {exc}") from exc
    _check_usable(run, runner, timeout_s)
    failing = [o for o in run.outcomes if not o.ok]
    if not failing:
        raise BadInput(f"all {len(run.outcomes)} tests pass: there is no failure to repair")
    return Reproduction(run=run, failing=failing, passing=run.passing)


def _check_usable(run: TestRun, runner: PytestRunner, timeout_s: float) -> None:
    if run.timed_out:
        raise BadInput(
            f"the test suite did not finish within {timeout_s:.0f}s (a hanging test?); "
            "raise REPAIRBOT_TEST_TIMEOUT_S or fix the hang"
        )
    if run.violation:
        raise BadInput(f"the test suite itself exceeds the sandbox's {run.violation}: {_last_line(run.output)}")
    broken = collection_errors(run)
    if broken:
        first = broken[0]
        raise BadInput(f"tests cannot be collected: {first.test_id}: {_last_line(first.message)}")
    if run.exit_code == EXIT_NO_TESTS:
        raise BadInput("no tests were collected: repairbot needs a failing pytest test")
    if run.exit_code == EXIT_USAGE_ERROR or not run.outcomes:
        raise BadInput(
            f"test command {' '.join(runner.command)!r} gave no test results "
            f"(exit code {run.exit_code}): {_last_line(run.output)}"
        )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
