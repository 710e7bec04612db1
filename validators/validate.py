"""Decide whether a candidate patch is plausible: it makes the failing tests pass and
breaks none of the tests that passed before.

The failing tests run first because they reject most candidates in a fraction of the
suite's time; only survivors pay for the full run, which alone can accept a candidate (so
the first run may be made leaner, `TestRunner.fast_filter`). Baseline failures (flaky or declared
known failures, see `Reproduction`) are neither targets nor regressions.

The tests run with write access to the work copy and may tamper with it: replace the patched
file with a link to a host file (which this process, often root, must never write through)
or a special file, or leave the copy over its size caps. The candidate is then a sandbox
violation, and the copy is `tampered`: its later verdicts could not be trusted, so the pool
stops using it.
"""

from __future__ import annotations

import time
from pathlib import Path

from repairbot.domain import Candidate, Reproduction, TestRun, ValidationResult, Verdict
from validators import safe_files
from validators.process import CommandNotRunnable, last_line
from validators.runner import TestRunner

MIN_TIMEOUT_S = 10.0
TIMEOUT_FACTOR = 5.0
MIN_TEST_CPU_S = 5.0
BUDGET_ENDED = "stopped: the job's time budget ended during this run"


def timeout_from_baseline(baseline_s: float) -> float:
    """Slack for slower runs on a busy machine, but a hang costs at most this much."""
    return max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * baseline_s)


def cpu_limit_per_test(baseline: TestRun, run_timeout_s: float) -> float:
    """How much CPU one test may use before it counts as hung: five times the slowest test
    of the baseline run (measured with coverage on, so already generous), at least
    MIN_TEST_CPU_S; never more than the whole run may take."""
    slowest = max((o.duration_s for o in baseline.outcomes), default=0.0)
    return min(run_timeout_s, max(MIN_TEST_CPU_S, TIMEOUT_FACTOR * slowest))


class CandidateValidator:
    """Validates candidates one after another in one working copy, restoring it each time."""

    def __init__(
        self, runner: TestRunner, workdir: Path, reproduction: Reproduction, filter_runner: TestRunner | None = None
    ) -> None:
        self.runner = runner
        # Does each candidate's first run, of the failing tests only (`TestRunner.fast_filter`).
        self.filter_runner = filter_runner or runner
        self.workdir = workdir
        self.reproduction = reproduction
        self.timeout_s = timeout_from_baseline(reproduction.run.duration_s)
        self.test_cpu_limit_s = cpu_limit_per_test(reproduction.run, self.timeout_s)
        # Why this copy can no longer be trusted (see the module doc); None while it can.
        self.tampered: str | None = None

    def validate(self, candidate: Candidate, deadline: float | None = None) -> ValidationResult:
        """`deadline` (a `time.monotonic()` value): the job's budget ends then, and so does
        a run still going (its verdict a timeout that says so, never cached as the patch's)."""
        refused = self._write(candidate, patched=True)
        if refused is not None:  # an earlier run (the baseline, in worker 0) tampered
            self._write(candidate, patched=False)
            return self._tampered(candidate, refused)
        try:
            result = self._run_tests(candidate, deadline)
        except CommandNotRunnable as exc:
            result = ValidationResult(candidate, Verdict.ERROR, detail=str(exc), sandbox=self.runner.sandbox.mode)
        finally:
            refused = self._write(candidate, patched=False)
        if refused is not None:
            return self._tampered(candidate, refused)
        if result.verdict is Verdict.SANDBOX_VIOLATION and result.detail.startswith(safe_files.WORKSPACE_LIMIT):
            self.tampered = result.detail
        return result

    def _write(self, candidate: Candidate, patched: bool) -> str | None:
        """Write every edit's patched (or original) text, never through a link or into a
        special file; the first refusal, if any."""
        refusal = None
        for edit in candidate.edits:
            try:
                safe_files.write_text(self.workdir, edit.file, edit.patched if patched else edit.original)
            except OSError as exc:
                refusal = refusal or f"the tests tampered with the work copy: {exc}"
        return refusal

    def _tampered(self, candidate: Candidate, detail: str) -> ValidationResult:
        self.tampered = detail
        return ValidationResult(candidate, Verdict.SANDBOX_VIOLATION, detail=detail, sandbox=self.runner.sandbox.mode)

    def _run_tests(self, candidate: Candidate, deadline: float | None) -> ValidationResult:
        failing_ids = [o.test_id for o in self.reproduction.failing]
        # With several failing tests all of them run: which ones a candidate fixes is what
        # multi-hunk repair combines (repairbot.generate.combine); but a hung test ends the
        # run, since the tests after it would likely hang too (validators/pytest_hang.py).
        timeout_s, cut = self._timeout(deadline)
        first = self.filter_runner.run(
            self.workdir, timeout_s, tests=failing_ids, stop_at_first_failure=len(failing_ids) == 1,
            test_cpu_limit_s=self.test_cpu_limit_s,
        )
        verdict, detail = self._judge(first, failing_ids, cut)
        runs = [first]
        if verdict is Verdict.PLAUSIBLE:
            # A baseline failure would end a stop-at-first-failure run before the tests
            # that matter: with any, the whole suite runs and they are ignored.
            timeout_s, cut = self._timeout(deadline)
            full = self.runner.run(
                self.workdir, timeout_s, stop_at_first_failure=not self.reproduction.ignored,
                test_cpu_limit_s=self.test_cpu_limit_s,
            )
            verdict, detail = self._judge(full, failing_ids + self.reproduction.passing, cut)
            runs.append(full)
        return ValidationResult(
            candidate,
            verdict,
            outcomes=[o for run in runs for o in run.outcomes],
            duration_s=sum(run.duration_s for run in runs),
            detail=detail,
            sandbox=self.runner.sandbox.mode,
            cpu_time_s=_sum_measured([run.cpu_time_s for run in runs]),
            peak_memory_bytes=max((r.peak_memory_bytes for r in runs if r.peak_memory_bytes is not None), default=None),
            test_runs=len(runs),
        )

    def _timeout(self, deadline: float | None) -> tuple[float, bool]:
        """A run's timeout, and whether the job's deadline, not the run's own limit, set it."""
        if deadline is None:
            return self.timeout_s, False
        left = max(0.0, deadline - time.monotonic())
        return (left, True) if left < self.timeout_s else (self.timeout_s, False)

    def _judge(self, run: TestRun, must_pass: list[str], cut: bool = False) -> tuple[Verdict, str]:
        if run.timed_out:
            return Verdict.TIMEOUT, BUDGET_ENDED if cut else f"tests did not finish within {self.timeout_s:.0f}s"
        if run.violation:
            return Verdict.SANDBOX_VIOLATION, run.violation
        if run.compile_error:
            return Verdict.COMPILE_ERROR, run.compile_error
        ignored = self.reproduction.ignored
        by_id = {o.test_id: o for o in run.outcomes}
        broken = [o for o in run.outcomes if not o.ok and o.test_id not in ignored]
        if broken:
            return Verdict.FAILS, f"{broken[0].test_id} {broken[0].status.value}"
        missing = [test_id for test_id in must_pass if test_id not in by_id]
        if missing:
            # No outcome at all: the output's last line says why (the runner notes a report
            # it refused to read there).
            why = "" if run.outcomes else f": {last_line(run.output)}"
            return Verdict.ERROR, f"{missing[0]} did not run (exit code {run.exit_code}){why}"
        return Verdict.PLAUSIBLE, ""


def _sum_measured(values: list[float | None]) -> float | None:
    measured = [v for v in values if v is not None]
    return sum(measured) if measured else None
