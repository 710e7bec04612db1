"""Run a project's pytest suite (or chosen tests) in the sandbox and return per-test outcomes."""

from __future__ import annotations

import math
import shlex
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

import validators
from repairbot.domain import TestOutcome, TestRun, TestStatus
from validators import safe_files
from validators.junit_xml import JUnitParseError, parse_junit_xml
from validators.process import last_line, scrubbed_env
from validators.runner import LineCoverage
from validators.sandbox import Preference, Sandbox, SandboxLimits, detect_sandbox

if TYPE_CHECKING:
    from coverage import CoverageData

# pytest's own exit codes (pytest.ExitCode), spelled out to keep pytest out of this
# process's imports.
EXIT_USAGE_ERROR = 4
EXIT_NO_TESTS = 5

# Inside the work dir because the sandbox lets the tests write nowhere else.
ARTIFACTS_DIR = ".repairbot"
# coverage.py's data of one baseline run: a few MiB for a large suite.
MAX_COVERAGE_BYTES = 512 * safe_files.MiB
# The filter check (`fast_filter`) runs the failing tests up to len(plugins) + 1 times: worth
# it only while they are quick, when pytest's start, not the tests, is what a run costs.
FILTER_CHECK_MAX_TEST_S = 2.0
FILTER_CHECK_RUN_S = 15.0


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
    # Auto-loaded plugins (entry-point names) this runner's runs leave out (`fast_filter`).
    disabled_plugins: tuple[str, ...] = ()
    language = "python"

    def describe(self) -> str:
        return shlex.join([*self.command, *self._plugin_args()])

    def _plugin_args(self) -> list[str]:
        return [arg for name in self.disabled_plugins for arg in ("-p", f"no:{name}")]

    def fast_filter(
        self, workdir: Path, failing: list[TestOutcome], timeout_s: float, test_cpu_limit_s: float | None
    ) -> PytestRunner:
        """pytest auto-loads every plugin installed beside it (hypothesis, anyio, ...), and
        importing them can cost several times what a small project's failing tests take.
        A run that leaves them all out, or all but one, and gives every failing test the
        status and message the baseline gave it, cannot tell a candidate apart from a run
        with them: such a runner does the first run of each candidate. Only for the
        interpreter repairbot runs in, whose plugins it can list; self when none can go."""
        if (
            not failing
            or self.command[:1] != [sys.executable]
            or self.disabled_plugins
            or sum(o.duration_s for o in failing) > FILTER_CHECK_MAX_TEST_S
        ):
            return self
        installed = autoloaded_plugins()
        ids = [o.test_id for o in failing]
        # A trial that runs long has changed something (a hang the left-out pytest-timeout
        # used to end): it need not run to the validation's own limit to be refused.
        trial_timeout_s = min(timeout_s, FILTER_CHECK_RUN_S)
        for kept in [None, *installed]:
            disabled = tuple(name for name in installed if name != kept)
            if not disabled:
                break
            trial = PytestRunner(self.command, self.sandbox, disabled)
            run = trial.run(workdir, trial_timeout_s, tests=ids, test_cpu_limit_s=test_cpu_limit_s)
            if _same_outcomes(run, failing):
                return trial
        return self

    def prepare(self, workdir: Path) -> None:
        """Once per work copy: hand it to the sandbox's user, with a place for reports."""
        (workdir / ARTIFACTS_DIR).mkdir(exist_ok=True)
        self.sandbox.prepare_workdir(workdir)

    def coverage_file(self, workdir: Path) -> Path:
        return workdir / ARTIFACTS_DIR / "coverage"

    def line_coverage(self, workdir: Path, deadline: float | None = None) -> LineCoverage:
        """From coverage.py's data: one dynamic context per test, named by its node id.
        The tests wrote that SQLite file: SQLite would open it through a link, so it is
        read with a bound into a private copy first (none readable: no coverage)."""
        import coverage

        root = workdir.resolve()
        relative = self.coverage_file(root).relative_to(root)
        with tempfile.TemporaryDirectory(prefix="repairbot-coverage-") as private:
            copy = Path(private) / "coverage"
            try:
                copy.write_bytes(safe_files.read_bytes(root, relative, MAX_COVERAGE_BYTES))
            except OSError:
                return {}
            data = coverage.CoverageData(basename=str(copy))
            data.read()
            return _lines_by_file(data, root)

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
        test_cpu_limit_s: float | None = None,
    ) -> TestRun:
        report = workdir / ARTIFACTS_DIR / f"junit-{uuid.uuid4().hex}.xml"
        argv = [
            *self.command,
            "-p", "no:cacheprovider",
            "-o", "junit_family=xunit1",
            f"--junitxml={report}",
            "-q",
            *self._plugin_args(),
        ]
        if stop_at_first_failure:
            argv.append("-x")
        if test_cpu_limit_s:
            argv += ["-p", "validators.pytest_hang", f"--repairbot-test-cpu-s={test_cpu_limit_s:.3f}"]
        if with_coverage:
            argv += ["-p", "validators.pytest_coverage", f"--repairbot-coverage={self.coverage_file(workdir)}"]
        argv += tests or []
        # CPU time is capped per process; wall-clock time is the real bound, so the CPU cap
        # must never cut a run short before it (a multi-threaded run may use 2 cores).
        limits = SandboxLimits(timeout_s=timeout_s, cpu_time_s=math.ceil(2 * timeout_s) + 1)
        result = self.sandbox.run(argv, workdir, limits, scrubbed_env(_source_path(workdir)))
        try:
            outcomes, note = _read_outcomes(report, workdir)
        finally:
            _remove(report, workdir)
        # A work dir left over its caps outranks a timeout: the copy is unusable either way.
        oversize = safe_files.workspace_violation(workdir)
        return TestRun(
            outcomes=outcomes,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
            timed_out=result.timed_out and oversize is None,
            output=result.output + note,
            violation=oversize or (None if result.timed_out else result.violation),
            cpu_time_s=result.cpu_time_s,
            peak_memory_bytes=result.peak_memory_bytes,
        )


def autoloaded_plugins() -> list[str]:
    """The entry-point names of the plugins pytest loads by itself in this interpreter."""
    return sorted({entry.name for entry in entry_points(group="pytest11")})


def _same_outcomes(run: TestRun, expected: list[TestOutcome]) -> bool:
    """Every expected test has the status and the message's first line it had there."""
    got = {o.test_id: (o.status, _first_line(o.message)) for o in run.outcomes}
    return all(got.get(o.test_id) == (o.status, _first_line(o.message)) for o in expected)


def _first_line(message: str) -> str:
    return message.split("\n", 1)[0]


def _lines_by_file(data: CoverageData, root: Path) -> LineCoverage:
    """Measured files inside the work dir (by path only: nothing is read through them)."""
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


def _read_outcomes(report: Path, workdir: Path) -> tuple[list[TestOutcome], str]:
    """Outcomes from the report, and a note for the run's output when there is a report
    but it cannot be read (tampered with, too large, cut short); none if the run died
    before writing it."""
    if not report.exists() and not report.is_symlink():
        return [], ""
    try:
        return parse_junit_xml(report, workdir), ""
    except JUnitParseError as exc:
        return [], f"\nrepairbot: no test results: {exc}\n"


def _remove(report: Path, workdir: Path) -> None:
    """The report's name, whatever the tests made of it (a link is removed, not followed);
    a report dir swapped for a link keeps it: nothing is removed through a link."""
    try:
        if safe_files.is_directory(workdir, report.parent.relative_to(workdir)):
            report.unlink(missing_ok=True)
    except IsADirectoryError:
        pass


def collection_errors(run: TestRun) -> list[TestOutcome]:
    """Errors pytest reports for modules it could not import (ids without `::`)."""
    return [
        o for o in run.outcomes if o.status is TestStatus.ERROR and "::" not in o.test_id
    ]


def _source_path(workdir: Path) -> dict[str, str]:
    """`PYTHONPATH` for a src layout (`src/pkg/...`): its tests import the package as the
    user's installed copy or tox would provide it, and must import the work copy's instead
    (an installed one would test the user's checkout, not the candidate)."""
    src = workdir / "src"
    if safe_files.is_directory(workdir, Path("src")) and not (src / "__init__.py").exists():
        return {"PYTHONPATH": str(src)}
    return {}
