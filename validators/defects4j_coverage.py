"""Per-test line coverage of a Defects4J checkout, with JaCoCo (validators/jacoco.py).

Defects4J runs its tests inside Ant's own JVM with its JUnit 4 formatter, which the per-test
listener cannot join, so coverage is measured in a run of its own once the framework has
built the checkout (a `defects4j test` compiles classes and tests): the test classes are run
again by Debian's JUnit Platform console launcher, whose Vintage engine runs JUnit 3 and 4
tests method by method, with the JaCoCo agent and the listener (one dump per test), on the
framework's own test class path (`defects4j export -p cp.test`), in the sandbox. The dumps
are then read against the compiled classes (`dir.bin.classes`) with the sources under
`dir.src.classes`, by the test ids Defects4J's `all_tests` gives (`pkg.Cls#method`).

The launcher's jar comes first on the class path: it carries the JUnit 4.13 its Vintage
engine needs (4.12 or later), ahead of the JUnit a project ships. A test that only passes
under Ant (a system property its build sets) may fail here: coverage records what each test
ran either way, and outcomes stay Defects4J's.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from validators.jacoco import JacocoCoverage
from validators.junit_runner import EXIT_NO_TESTS, EXIT_USAGE_ERROR, JAVA_SHARE, LAUNCHER_JAR, LAUNCHER_MAIN, launcher_error
from validators.jvm import ARTIFACTS_DIR, remove_artifact, safe_dir, sandbox_shows
from validators.runner import CoverageCut, CoverageUnavailable, LineCoverage
from validators.sandbox import MiB, Sandbox, SandboxLimits


@dataclass(frozen=True)
class CheckoutBuild:
    """Where the framework builds a checkout, as it exports it."""

    classes_dir: str  # dir.bin.classes, relative to the checkout
    source_roots: list[str]  # dir.src.classes
    test_classpath: list[str]  # cp.test, absolute entries


@dataclass(frozen=True)
class CoverageLimit:
    """How long a coverage run may take, and what set that (for the message when it is cut)."""

    seconds: float
    set_by: str
    budget: bool = False  # the job's time budget, not the run's own timeout, set it


@dataclass(frozen=True)
class CoverageRun:
    """One coverage run of `test_classes` in a checkout, in `sandbox`."""

    sandbox: Sandbox
    env: dict[str, str]  # the framework's environment (the JVM options ride in `_JAVA_OPTIONS`)
    memory_mib: int
    limit: CoverageLimit
    jacoco: JacocoCoverage

    def exec_dir(self, workdir: Path) -> Path:
        return workdir / ARTIFACTS_DIR / "jacoco"

    def measure(self, workdir: Path, build: CheckoutBuild, test_classes: list[str]) -> LineCoverage:
        """Run the classes with the agent, then read the dumps. Raises CoverageUnavailable
        when the run cannot give coverage (a timeout, no tests found, a launcher error)."""
        classes = _inside(workdir, build.classes_dir)
        if not sandbox_shows(self.sandbox, self.jacoco.cache_root):
            raise CoverageUnavailable(
                f"the sandbox does not show the coverage helpers in {self.jacoco.cache_root}: "
                "build it with defects4j_runner.choose_sandbox(executable)"
            )
        exec_dir = self.exec_dir(workdir)
        remove_artifact(exec_dir, workdir)
        seconds = self.limit.seconds
        limits = SandboxLimits(timeout_s=seconds, cpu_time_s=math.ceil(2 * seconds) + 1, memory_bytes=self.memory_mib * MiB)
        result = self.sandbox.run(self.argv(exec_dir, build, test_classes), workdir, limits, self.env)
        if result.timed_out:
            error = CoverageCut if self.limit.budget else CoverageUnavailable
            raise error(
                f"the per-test coverage run of {len(test_classes)} test class(es) did not finish within "
                f"{seconds:.0f}s ({self.limit.set_by})"
            )
        if result.exit_code in (EXIT_NO_TESTS, EXIT_USAGE_ERROR) or result.violation:
            why = result.violation or launcher_error(result.output)
            raise CoverageUnavailable(f"the per-test coverage run failed (exit code {result.exit_code}): {why}")
        if not (safe_dir(exec_dir, workdir) and safe_dir(classes, workdir)):
            return {}
        return self.jacoco.read(exec_dir, [classes], build.source_roots, workdir)

    def argv(self, exec_dir: Path, build: CheckoutBuild, test_classes: list[str]) -> list[str]:
        classpath = [str(JAVA_SHARE / LAUNCHER_JAR), *map(str, self.jacoco.classpath()), *build.test_classpath]
        return [
            "java", "-XX:+UseSerialGC", *self.jacoco.jvm_args(exec_dir), "-cp", os.pathsep.join(classpath),
            LAUNCHER_MAIN, "--disable-banner", "--disable-ansi-colors", "--details=none",
            *(f"--select-class={cls}" for cls in dict.fromkeys(test_classes)),
        ]


def _inside(workdir: Path, relative: str) -> Path:
    """`relative` (as exported) under the checkout; a path that leaves it is refused: the
    reader must not analyze host files."""
    path = workdir / relative
    if not os.path.normpath(path).startswith(f"{workdir}{os.sep}"):
        raise CoverageUnavailable(f"defects4j exports the class dir {relative}, outside the checkout {workdir}")
    return Path(os.path.normpath(path))
