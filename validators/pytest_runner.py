"""Run a project's pytest suite (or chosen tests) in the sandbox and return per-test outcomes."""

from __future__ import annotations

import math
import shlex
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import validators
from repairbot.domain import TestOutcome, TestRun, TestStatus
from validators.junit_xml import JUnitParseError, parse_junit_xml
from validators.process import last_line, scrubbed_env
from validators.runner import LineCoverage
from validators.sandbox import Preference, Sandbox, SandboxLimits, detect_sandbox

# pytest's own exit codes (pytest.ExitCode), spelled out to keep pytest out of this
# process's imports.
EXIT_USAGE_ERROR = 4
EXIT_NO_TESTS = 5

# Inside the work dir because the sandbox lets the tests write nowhere else.
ARTIFACTS_DIR = ".repairbot"


def default_test_command() -> list[str]:
    return [sys.executable, "-m", "pytest"]


def choose_sandbox(preferred: Preference = "auto") -> Sandbox:
    """The sandbox for pytest runs; our coverage plugin must be importable inside it."""
    return detect_sandbox(preferred, ro_paths=[Path(validators.__file__).parent])


@dataclass
class PytestRunner:
    """`command` is any pytest-compatible command line; runner flags are appended to it."""

    command: list[str] = field(default_factory=default_test_command)
    sandbox: Sandbox = field(default_factory=choose_sandbox)
    language = "python"

    def describe(self) -> str:
        return shlex.join(self.command)

    def prepare(self, workdir: Path) -> None:
        """Once per work copy: hand it to the sandbox's user, with a place for reports."""
        (workdir / ARTIFACTS_DIR).mkdir(exist_ok=True)
        self.sandbox.prepare_workdir(workdir)

    def coverage_file(self, workdir: Path) -> Path:
        return workdir / ARTIFACTS_DIR / "coverage"

    def line_coverage(self, workdir: Path) -> LineCoverage:
        """From coverage.py's data: one dynamic context per test, named by its node id."""
        import coverage

        data = coverage.CoverageData(basename=str(self.coverage_file(workdir)))
        data.read()
        root = workdir.resolve()
        lines: LineCoverage = {}
        for measured in data.measured_files():
            path = Path(measured).resolve()
            if not path.is_relative_to(root):
                continue
            by_line = data.contexts_by_lineno(measured) or {}
            lines[path.relative_to(root).as_posix()] = {
                line: {context for context in contexts if context} for line, contexts in by_line.items()
            }
        return lines

    def diagnose(self, run: TestRun) -> str | None:
        broken = collection_errors(run)
        if broken:
            return f"tests cannot be collected: {broken[0].test_id}: {last_line(broken[0].message)}"
        if run.exit_code == EXIT_NO_TESTS:
            return "no tests were collected: repairbot needs a failing pytest test"
        if run.exit_code == EXIT_USAGE_ERROR or not run.outcomes:
            return (
                f"test command {self.describe()!r} gave no test results "
                f"(exit code {run.exit_code}): {last_line(run.output)}"
            )
        return None

    def run(
        self,
        workdir: Path,
        timeout_s: float,
        tests: list[str] | None = None,
        with_coverage: bool = False,
        stop_at_first_failure: bool = False,
    ) -> TestRun:
        report = workdir / ARTIFACTS_DIR / f"junit-{uuid.uuid4().hex}.xml"
        argv = [
            *self.command,
            "-p", "no:cacheprovider",
            "-o", "junit_family=xunit1",
            f"--junitxml={report}",
            "-q",
        ]
        if stop_at_first_failure:
            argv.append("-x")
        if with_coverage:
            argv += ["-p", "validators.pytest_coverage", f"--repairbot-coverage={self.coverage_file(workdir)}"]
        argv += tests or []
        # CPU time is capped per process; wall-clock time is the real bound, so the CPU cap
        # must never cut a run short before it (a multi-threaded run may use 2 cores).
        limits = SandboxLimits(timeout_s=timeout_s, cpu_time_s=math.ceil(2 * timeout_s) + 1)
        result = self.sandbox.run(argv, workdir, limits, scrubbed_env())
        try:
            outcomes = _read_outcomes(report)
        finally:
            report.unlink(missing_ok=True)
        return TestRun(
            outcomes=outcomes,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            timed_out=result.timed_out,
            output=result.output,
            violation=None if result.timed_out else result.violation,
            cpu_time_s=result.cpu_time_s,
            peak_memory_bytes=result.peak_memory_bytes,
        )


def _read_outcomes(report: Path) -> list[TestOutcome]:
    """Outcomes from the report; none if the run died before writing it."""
    if not report.exists():
        return []
    try:
        return parse_junit_xml(report)
    except JUnitParseError:
        return []


def collection_errors(run: TestRun) -> list[TestOutcome]:
    """Errors pytest reports for modules it could not import (ids without `::`)."""
    return [
        o for o in run.outcomes if o.status is TestStatus.ERROR and "::" not in o.test_id
    ]
