"""Run a project's pytest suite (or chosen tests) and return per-test outcomes."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from repairbot.domain import TestOutcome, TestRun, TestStatus
from validators.junit_xml import JUnitParseError, parse_junit_xml
from validators.process import run_command, scrubbed_env

# pytest's own exit codes (pytest.ExitCode), spelled out to keep pytest out of this
# process's imports.
EXIT_USAGE_ERROR = 4
EXIT_NO_TESTS = 5


def default_test_command() -> list[str]:
    return [sys.executable, "-m", "pytest"]


@dataclass
class PytestRunner:
    """`command` is any pytest-compatible command line; runner flags are appended to it."""

    command: list[str] = field(default_factory=default_test_command)

    def run(
        self,
        workdir: Path,
        timeout_s: float,
        tests: list[str] | None = None,
        coverage_file: Path | None = None,
        stop_at_first_failure: bool = False,
    ) -> TestRun:
        with tempfile.TemporaryDirectory(prefix="repairbot-run-") as scratch:
            scratch_dir = Path(scratch)
            report = scratch_dir / "junit.xml"
            argv = [
                *self.command,
                "-p", "no:cacheprovider",
                "-o", "junit_family=xunit1",
                f"--junitxml={report}",
                "-q",
            ]
            if stop_at_first_failure:
                argv.append("-x")
            if coverage_file is not None:
                argv += ["-p", "validators.pytest_coverage", f"--repairbot-coverage={coverage_file}"]
            argv += tests or []
            result = run_command(argv, workdir, timeout_s, scrubbed_env(scratch_dir))
            outcomes = _read_outcomes(report)
        return TestRun(
            outcomes=outcomes,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            timed_out=result.timed_out,
            output=result.output,
            coverage_file=str(coverage_file) if coverage_file else None,
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
