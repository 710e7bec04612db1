"""The one interface every test runner implements (pytest, javac + JUnit, Maven, the
Defects4J command line: `validators/runners.py` lists them), so reproduction, localization
and validation never know which build tool a project uses.

A runner works on a private copy of the project (`workdir`) that `prepare` has handed to
the sandbox; every `run` happens inside the sandbox and reports per-test outcomes with ids
the same runner accepts back in `tests=` (pytest node ids; `pkg.Class#method` for Java).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Self

from repairbot.domain import TestOutcome, TestRun
from validators.sandbox import Sandbox

# file (POSIX, relative to the work dir) -> line (1-based) -> ids of the tests that ran it
LineCoverage = dict[str, dict[int, set[str]]]


class CoverageUnavailable(Exception):
    """The runner cannot measure per-test coverage (yet): its runs with `with_coverage`
    run without it, and `line_coverage` raises this with the reason."""


class CoverageCut(CoverageUnavailable):
    """The coverage run was stopped at the job's deadline: the budget ran out, which no
    faulty lines given by hand would change."""


class TestRunner(Protocol):
    __test__ = False

    sandbox: Sandbox
    # "python" or "java": what the project's sources are, for localization and generation.
    language: str

    def describe(self) -> str:
        """The test command as a user would recognize it, for messages."""
        ...

    def prepare(self, workdir: Path) -> None:
        """Once per work copy, before its first run (ownership, artifact dirs)."""
        ...

    def run(
        self,
        workdir: Path,
        timeout_s: float,
        tests: list[str] | None = None,
        with_coverage: bool = False,
        stop_at_first_failure: bool = False,
        test_cpu_limit_s: float | None = None,
    ) -> TestRun:
        """Run `tests` (all when None) in the sandbox. A build failure is not an exception:
        the run comes back with `compile_error` set and no outcomes. `test_cpu_limit_s`: a
        test that uses more CPU than this fails as hung and the run stops there (candidate
        validation: one hang decides the verdict); a runner that cannot bound one test
        leaves hangs to `timeout_s`."""
        ...

    def fast_filter(
        self, workdir: Path, failing: list[TestOutcome], timeout_s: float, test_cpu_limit_s: float | None
    ) -> TestRunner:
        """The runner for each candidate's first run, of the `failing` tests only, which can
        reject a candidate but never accept one (a full run with this runner follows): a
        leaner one, when runs of it in `workdir` (where the baseline ran) show the failing
        tests' outcomes unchanged; else self."""
        ...

    def line_coverage(self, workdir: Path, deadline: float | None = None) -> LineCoverage:
        """Per-test line coverage of the last run made `with_coverage=True` in `workdir`;
        raises CoverageUnavailable where the runner cannot measure it. A runner that must
        run the tests again to measure it stops that run at `deadline` (`time.monotonic()`)."""
        ...

    def diagnose(self, run: TestRun) -> str | None:
        """Why a baseline run is unusable for repair (tests that cannot be collected, no
        tests found, ...) in the runner's own terms; None when it is usable."""
        ...


class FullFirstRun:
    """`fast_filter` for a runner whose runs have nothing to leave out (the Java runners:
    their start is the JVM's and the build's, which every run needs)."""

    def fast_filter(
        self, workdir: Path, failing: list[TestOutcome], timeout_s: float, test_cpu_limit_s: float | None
    ) -> Self:
        return self
