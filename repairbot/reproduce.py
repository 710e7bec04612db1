"""Reproduce the failure: run the whole suite with per-test coverage, then again to catch
flaky tests.

What "the whole suite" and "again" mean is the `Baseline` plan's (`baseline_plan`): for most
projects the suite under `test_timeout_s`, rerun whole. A Defects4J checkout runs under its
own limit (`defects4j_test_timeout_s`: its suites take minutes), the runner's suite is the
bug's relevant tests where the settings say so, only the failing tests are rerun, and only
the bug's trigger tests (`defects4j export -p tests.trigger`) are repair targets: another
test that fails here fails for this machine's sake (issue 16: a test that reads the home
dir), not the bug's, and is recorded as a baseline failure with why.

A job needs at least one failing test; anything else (no tests, tests that cannot be
collected, code that does not compile, a command that does not run, a suite that hangs) is
the user's input to fix, so it ends here with a message that says what to do.

Baseline failures are subtracted here, once: a test whose outcome flips between two runs
of the same code is flaky (the rerun stops at a test that hangs again, so a bug that makes
every test loop pays each test's limit once, not twice), and tests matching the user's (or a
benchmark's) `ignore` patterns are known failures unrelated to the bug. Where the operator names the last
revision without the bug (`baseline_rev`), a failing test that fails at that revision too
fails for the environment's sake (the network, a missing tool, the JDK), not the bug's
(`failing_at_revision`). None of these is a target of the repair nor a regression of a
candidate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from repairbot.config import Settings
from repairbot.domain import Reproduction, TestOutcome, TestRun
from repairbot.errors import BadInput
from repairbot.revision import Revision
from validators.defects4j_runner import Defects4JRunner
from validators.process import CommandNotRunnable, last_line
from validators.runner import TestRunner
from validators.validate import cpu_limit_per_test

NOT_A_TRIGGER_TEST = "fails before any patch but is not one of the bug's trigger tests (defects4j export -p tests.trigger)"


@dataclass(frozen=True)
class Baseline:
    """How the failure is reproduced (see the module doc)."""

    timeout_s: float
    # The setting that gave `timeout_s`, named when the run outlasts it.
    timeout_setting: str = "test_timeout_s"
    # The only tests that may be repair targets; None: every failing test.
    targets: frozenset[str] | None = None
    # Reruns run only the tests that failed: a Defects4J suite takes minutes.
    rerun_failing_only: bool = False


def baseline_plan(runner: TestRunner, workdir: Path, settings: Settings) -> Baseline:
    if not isinstance(runner, Defects4JRunner):
        return Baseline(settings.test_timeout_s)
    try:
        targets = frozenset(runner.trigger_tests(workdir))
    except CommandNotRunnable as exc:
        raise BadInput(f"cannot read the bug's trigger tests: {exc}") from exc
    return Baseline(settings.defects4j_test_timeout_s, "defects4j_test_timeout_s", targets or None, True)


def reproduce(
    runner: TestRunner, workdir: Path, plan: Baseline | float, *, reruns: int = 1, ignore: Sequence[str] = (),
    deadline: float | None = None,
) -> Reproduction:
    """The baseline run (its per-test coverage is then `runner.line_coverage(workdir)`),
    plus `reruns` runs without coverage that only look for flaky tests; a plan that is a
    number is the timeout of a plain `Baseline`. `deadline` (`time.monotonic()`: the job's
    budget) bounds the baseline run, and a rerun that could not end before it is not made."""
    plan = plan if isinstance(plan, Baseline) else Baseline(plan)
    timeout_s = plan.timeout_s
    left = _left(deadline)
    run = _run(runner, workdir, min(timeout_s, left), with_coverage=True)
    if run.timed_out and left < timeout_s:
        raise BadInput(
            f"the job's time budget ended during the baseline run (after {run.duration_s:.0f}s): "
            "raise time_budget_s (REPAIRBOT_TIME_BUDGET_S, --time-budget)"
        )
    _check_usable(run, runner, plan)
    if all(o.ok for o in run.outcomes):
        raise BadInput(f"all {len(run.outcomes)} tests pass: there is no failure to repair")
    baseline: dict[str, str] = {
        o.test_id: "known failure (ignored by setting)"
        for o in run.outcomes
        if any(fnmatchcase(o.test_id, pattern) for pattern in ignore)
    }
    if plan.targets is not None:
        _check_targets_fail(run, plan.targets)
        baseline.update({o.test_id: NOT_A_TRIGGER_TEST for o in run.outcomes
                         if not o.ok and o.test_id not in plan.targets and o.test_id not in baseline})
    first_ok = {o.test_id: o.ok for o in run.outcomes}
    rerun_tests = [o.test_id for o in run.outcomes if not o.ok] if plan.rerun_failing_only else None
    # A test that hangs again ends a rerun (validators/pytest_hang.py): a hang repeated is the
    # bug's, and every hung test would cost its limit twice.
    rerun_cpu_limit_s = cpu_limit_per_test(run, timeout_s)
    for _ in range(reruns):
        if _left(deadline) < run.duration_s:
            break  # flakiness is evidence, not a need: the budget goes to repair
        rerun = _run(runner, workdir, min(timeout_s, _left(deadline)), with_coverage=False, tests=rerun_tests,
                     test_cpu_limit_s=rerun_cpu_limit_s)
        if rerun.timed_out or rerun.violation or rerun.compile_error:
            break  # not comparable; the first run stands
        for outcome in rerun.outcomes:
            if outcome.test_id in first_ok and first_ok[outcome.test_id] != outcome.ok and outcome.test_id not in baseline:
                was = "failed" if outcome.ok else "passed"
                baseline[outcome.test_id] = f"flaky: {was} in the first run, {outcome.status.value} in a rerun"
    failing = [o for o in run.outcomes if not o.ok and o.test_id not in baseline]
    if not failing:
        raise BadInput(
            f"every failing test is flaky or a known failure ({', '.join(sorted(baseline))}): "
            "there is no reproducible failure to repair"
        )
    passing = [test_id for test_id in run.passing if test_id not in baseline]
    return Reproduction(run=run, failing=failing, passing=passing, baseline_failures=baseline)


def passing_in_full_copy(
    runner: TestRunner, full_copy: Path, reproduction: Reproduction, timeout_s: float, left_out: str,
    deadline: float | None = None,
) -> Reproduction:
    """`reproduction` less the failing tests that pass in `full_copy` (the project with what
    the work copy left out, `left_out`): they fail only in repairbot's copy, so no patch can
    fix them (issue 18: a version read from `git describe`). They are recorded as baseline
    failures, with why; if no failing test is left, the input cannot be repaired."""
    if _left(deadline) < reproduction.run.duration_s:
        return reproduction  # no time for it: the work copy's verdict stands
    runner.prepare(full_copy)
    ids = [o.test_id for o in reproduction.failing]
    run = _run(runner, full_copy, min(timeout_s, _left(deadline)), with_coverage=False, tests=ids)
    if run.timed_out or run.violation or run.compile_error:
        return reproduction  # not comparable: the work copy's verdict stands
    passed = {o.test_id for o in run.outcomes if o.ok} & set(ids)
    if not passed:
        return reproduction
    why = f"fails only in repairbot's work copy: passes with {left_out}, which the copy leaves out"
    failing = [o for o in reproduction.failing if o.test_id not in passed]
    if not failing:
        raise BadInput(
            f"every failing test ({', '.join(sorted(passed))}) passes in a copy of the project with "
            f"{left_out}: they fail only because repairbot's work copy leaves that out, not for a bug it can fix"
        )
    baseline = {**reproduction.baseline_failures, **dict.fromkeys(sorted(passed), why)}
    return Reproduction(run=reproduction.run, failing=failing, passing=reproduction.passing, baseline_failures=baseline)


def failing_at_revision(
    runner: TestRunner, copy: Path, reproduction: Reproduction, timeout_s: float, revision: Revision,
    note: Callable[[str], None],
) -> Reproduction:
    """`reproduction` less the failing tests that fail in `copy` (the project at `revision`,
    the last one without the bug) too: they fail for another reason than the change since
    (the network, a missing tool, the JDK), so no patch of it can fix them. They are
    recorded as baseline failures, with why; a test that did not exist at `revision` stays
    a target. If no failing test is left, the input cannot be repaired. `note` says why
    nothing was set aside where the run at `revision` tells nothing."""
    runner.prepare(copy)
    ids = [o.test_id for o in reproduction.failing]
    outcomes = _outcomes_of_existing(runner, copy, ids, timeout_s)
    if outcomes is None:
        note(f"the failing tests' run at {revision.describe()} did not complete (timeout, sandbox limit or "
             "compile error): none set aside")
        return reproduction
    failed = {o.test_id for o in outcomes if not o.ok} & set(ids)
    if not failed:
        return reproduction
    failing = [o for o in reproduction.failing if o.test_id not in failed]
    if not failing:
        raise BadInput(
            f"all failing tests ({', '.join(sorted(failed))}) also fail at {revision.describe()}: they fail for "
            "another reason than the change since (the environment: network, a missing tool, the JDK), "
            "not for a bug repairbot can fix"
        )
    why = f"fails at {revision.describe()} too: not this change's failure"
    baseline = {**reproduction.baseline_failures, **dict.fromkeys(sorted(failed), why)}
    return Reproduction(run=reproduction.run, failing=failing, passing=reproduction.passing, baseline_failures=baseline)


def _outcomes_of_existing(
    runner: TestRunner, workdir: Path, ids: list[str], timeout_s: float
) -> list[TestOutcome] | None:
    """The outcomes of the tests of `ids` that exist in `workdir`; None where a run does not
    complete. A runner may refuse a whole run for one test it cannot find (pytest does):
    a run with no outcomes at all is retried one test at a time."""
    run = _run(runner, workdir, timeout_s, with_coverage=False, tests=ids)
    if run.timed_out or run.violation or run.compile_error:
        return None
    if run.outcomes or len(ids) == 1:
        return run.outcomes
    outcomes: list[TestOutcome] = []
    for test_id in ids:
        alone = _run(runner, workdir, timeout_s, with_coverage=False, tests=[test_id])
        if alone.timed_out or alone.violation:
            return None
        outcomes += alone.outcomes
    return outcomes


def _left(deadline: float | None) -> float:
    return float("inf") if deadline is None else max(0.0, deadline - time.monotonic())


def _run(
    runner: TestRunner, workdir: Path, timeout_s: float, with_coverage: bool, tests: list[str] | None = None,
    test_cpu_limit_s: float | None = None,
) -> TestRun:
    try:
        return runner.run(workdir, timeout_s, tests=tests, with_coverage=with_coverage, test_cpu_limit_s=test_cpu_limit_s)
    except CommandNotRunnable as exc:
        raise BadInput(f"test command cannot run: {exc}") from exc


def _check_targets_fail(run: TestRun, targets: frozenset[str]) -> None:
    """At least one target test must fail: else the bug does not show here."""
    failed = {o.test_id for o in run.outcomes if not o.ok}
    if not failed & targets:
        ran = {o.test_id for o in run.outcomes} & targets
        why = "pass" if ran else "did not run"
        raise BadInput(f"the bug's trigger tests ({', '.join(sorted(targets))}) {why}: the bug does not reproduce here")


def _check_usable(run: TestRun, runner: TestRunner, plan: Baseline) -> None:
    variable = f"REPAIRBOT_{plan.timeout_setting.upper()}"
    if run.timed_out and plan.timeout_setting == "test_timeout_s":  # a hang and a slow suite look alike: name both
        raise BadInput(
            f"the test suite did not finish within {plan.timeout_s:.0f}s (test_timeout_s): a test hangs, "
            f"or the suite needs longer; fix the hang, or raise the limit with {variable}"
        )
    if run.timed_out:  # a limit for a whole suite known to take minutes: the suite's
        raise BadInput(
            f"the baseline tests did not finish within {plan.timeout_s:.0f}s ({plan.timeout_setting}, "
            f"the limit of the whole run): raise it with {variable}"
        )
    if run.violation:
        raise BadInput(f"the test suite itself exceeds the sandbox's {run.violation}: {last_line(run.output)}")
    if run.compile_error:
        raise BadInput(f"the project does not compile before any patch: {run.compile_error}")
    problem = runner.diagnose(run)
    if problem:
        raise BadInput(problem)
