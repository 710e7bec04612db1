"""Decide whether a candidate patch is plausible: it makes the failing tests pass and
breaks none of the tests that passed before.

The failing tests run first because they reject most candidates in a fraction of the
suite's time; only survivors pay for the full run.
"""

from __future__ import annotations

from pathlib import Path

from repairbot.domain import Candidate, Reproduction, TestRun, ValidationResult, Verdict
from validators.process import CommandNotRunnable
from validators.pytest_runner import PytestRunner

MIN_TIMEOUT_S = 10.0
TIMEOUT_FACTOR = 5.0


def timeout_from_baseline(baseline_s: float) -> float:
    """Slack for slower runs on a busy machine, but a hang costs at most this much."""
    return max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * baseline_s)


class CandidateValidator:
    """Validates candidates one after another in one working copy, restoring it each time."""

    def __init__(self, runner: PytestRunner, workdir: Path, reproduction: Reproduction) -> None:
        self.runner = runner
        self.workdir = workdir
        self.reproduction = reproduction
        self.timeout_s = timeout_from_baseline(reproduction.run.duration_s)

    def validate(self, candidate: Candidate) -> ValidationResult:
        target = self.workdir / candidate.file
        target.write_text(candidate.patched, encoding="utf-8")
        try:
            return self._run_tests(candidate)
        except CommandNotRunnable as exc:
            return ValidationResult(candidate, Verdict.ERROR, detail=str(exc))
        finally:
            target.write_text(candidate.original, encoding="utf-8")

    def _run_tests(self, candidate: Candidate) -> ValidationResult:
        failing_ids = [o.test_id for o in self.reproduction.failing]
        first = self.runner.run(self.workdir, self.timeout_s, tests=failing_ids, stop_at_first_failure=True)
        verdict, detail = self._judge(first, failing_ids)
        runs = [first]
        if verdict is Verdict.PLAUSIBLE:
            full = self.runner.run(self.workdir, self.timeout_s, stop_at_first_failure=True)
            expected = failing_ids + self.reproduction.passing
            verdict, detail = self._judge(full, expected)
            runs.append(full)
        return ValidationResult(
            candidate,
            verdict,
            outcomes=[o for run in runs for o in run.outcomes],
            duration_s=sum(run.duration_s for run in runs),
            detail=detail,
            sandbox=self.runner.sandbox.mode,
        )

    def _judge(self, run: TestRun, must_pass: list[str]) -> tuple[Verdict, str]:
        if run.timed_out:
            return Verdict.TIMEOUT, f"tests did not finish within {self.timeout_s:.0f}s"
        if run.violation:
            return Verdict.SANDBOX_VIOLATION, run.violation
        by_id = {o.test_id: o for o in run.outcomes}
        broken = [o for o in run.outcomes if not o.ok]
        if broken:
            return Verdict.FAILS, f"{broken[0].test_id} {broken[0].status.value}"
        missing = [test_id for test_id in must_pass if test_id not in by_id]
        if missing:
            return Verdict.ERROR, f"{missing[0]} did not run (exit code {run.exit_code})"
        return Verdict.PLAUSIBLE, ""
