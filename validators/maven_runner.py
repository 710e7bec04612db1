"""Run a Maven project's tests (`mvn test`) offline in the sandbox.

    mvn -o -B -q -Dmaven.repo.local=REPO test -Dtest=pkg.Cls#m1+m2,pkg.Other
        -DfailIfNoTests=false -Dsurefire.failIfNoSpecifiedTests=false

The sandbox has no network, so Maven runs offline (`-o`) against the user's local repository
(`~/.m2/repository` unless set), bound read-only into the sandbox. HOME is /tmp in there, so
the repository is named on the command line, and user settings (mirrors, proxies) are not
read: offline they have nothing to do. A repository that lacks a plugin or dependency of the
build fails the run with Maven's "offline" message, which `diagnose` points at; run
`mvn dependency:go-offline` once with network access to fill it. Debian's packaged plugins
under /usr/share/maven-repo also work as a repository for a POM that pins their versions.

Outcomes come from Surefire's `target/surefire-reports/TEST-*.xml` (every module's), removed
before each run so that no stale report is read. A build that fails in the compiler plugin
comes back with `compile_error`. One `mvn` call compiles and tests, so `timeout_s` bounds both.
`stop_at_first_failure` maps to Surefire's `skipAfterFailureCount=1`. The JVM Surefire forks
for the tests sizes its heap as the POM's `argLine` says (not overridden here, since a POM's
own agents live there): a test that outgrows the 2 GiB memory cgroup is killed with the run.

Measured here: Debian's Surefire 2.22.3 (also 2.17 and 2.12.4) idles ~10 s after a forked
test JVM finishes before Maven goes on; a run of two tests takes ~12 s of which ~2.5 s CPU.
Gradle is not supported: Debian's Gradle 4.4.1 does not run on Java 17.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from repairbot.domain import TestOutcome, TestRun
from validators.jvm import (
    combine_runs, compile_errors, java_options_env, read_reports, remove_artifact, safe_dir, sandbox_shows,
    user_home_options,
)
from validators.process import last_line, scrubbed_env
from validators.runner import CoverageUnavailable, FullFirstRun, LineCoverage
from validators.sandbox import Preference, Sandbox, SandboxLimits, detect_sandbox

REPORTS = "target/surefire-reports"
# Lines of Maven's output that mean the build, not a test, failed to compile.
COMPILE_FAILURE_MARKERS = ("COMPILATION ERROR", "Compilation failure")
# ... or that the repository lacks what the build needs.
OFFLINE_MARKERS = ("offline mode", "could not be resolved", "Cannot access")
# Maven's own JVM: C1 only halves its CPU time for a short build (measured 2.3 s vs 4.3 s).
DEFAULT_MAVEN_OPTS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx512m"
# Surefire's forked JVM would need the agent in `argLine`; not done yet.
COVERAGE_NOT_INTEGRATED = "per-test JaCoCo coverage for Maven is not integrated yet (validators/jacoco.py)"


def default_local_repository() -> Path:
    return Path.home() / ".m2" / "repository"


def choose_sandbox(local_repository: Path, preferred: Preference = "auto") -> Sandbox:
    """A sandbox that shows the local repository (read-only)."""
    return detect_sandbox(preferred, ro_paths=[local_repository])


@dataclass
class MavenRunner(FullFirstRun):
    command: list[str] = field(default_factory=lambda: ["mvn"])
    local_repository: Path = field(default_factory=default_local_repository)
    # None: a sandbox that shows `local_repository` (see `choose_sandbox`).
    sandbox: Sandbox = None  # type: ignore[assignment]
    maven_opts: str = DEFAULT_MAVEN_OPTS
    language = "java"

    def __post_init__(self) -> None:
        if self.sandbox is None:
            self.sandbox = choose_sandbox(self.local_repository)
        elif not sandbox_shows(self.sandbox, self.local_repository):
            raise ValueError(
                f"the sandbox does not show the local repository {self.local_repository}: "
                "build it with maven_runner.choose_sandbox(local_repository)"
            )

    def describe(self) -> str:
        return shlex.join([*self.command, "-o", f"-Dmaven.repo.local={self.local_repository}", "test"])

    def prepare(self, workdir: Path) -> None:
        """Once per work copy: hand it to the sandbox's user (Maven writes target/)."""
        self.sandbox.prepare_workdir(workdir)

    def line_coverage(self, workdir: Path, deadline: float | None = None) -> LineCoverage:
        raise CoverageUnavailable(COVERAGE_NOT_INTEGRATED)

    def run(
        self,
        workdir: Path,
        timeout_s: float,
        tests: list[str] | None = None,
        with_coverage: bool = False,
        stop_at_first_failure: bool = False,
        test_cpu_limit_s: float | None = None,
    ) -> TestRun:
        # with_coverage: not measured here (see line_coverage); test_cpu_limit_s: Surefire has
        # no per-test limit, a hang ends the run at timeout_s.
        workdir = workdir.resolve()
        for reports in _report_dirs(workdir):
            remove_artifact(reports, workdir)
        argv = [
            *self.command, "-o", "-B", "-q", f"-Dmaven.repo.local={self.local_repository}", "test",
            "-DfailIfNoTests=false", "-Dsurefire.failIfNoSpecifiedTests=false",
        ]
        if tests:
            argv.append(f"-Dtest={surefire_filter(tests)}")
        if stop_at_first_failure:
            argv.append("-Dsurefire.skipAfterFailureCount=1")
        limits = SandboxLimits(timeout_s=timeout_s, cpu_time_s=math.ceil(2 * timeout_s) + 1)
        # Every JVM of the build (Maven's, Surefire's forks) reads JAVA_TOOL_OPTIONS: the home.
        env = {"MAVEN_OPTS": self.maven_opts, **java_options_env(user_home_options(self.sandbox))}
        result = self.sandbox.run(argv, workdir, limits, scrubbed_env(env))
        compile_error = None
        if result.exit_code not in (0, None) and any(m in result.output for m in COMPILE_FAILURE_MARKERS):
            compile_error = compile_errors(result.output, workdir)
        outcomes: list[TestOutcome] = []
        if compile_error is None:
            for reports in _report_dirs(workdir):
                outcomes += read_reports(reports, workdir)
        return combine_runs(workdir, outcomes, [result], compile_error)

    def diagnose(self, run: TestRun) -> str | None:
        if run.compile_error:
            return f"the project does not compile: {run.compile_error.splitlines()[0]}"
        offline = [line for line in run.output.splitlines() if any(m in line for m in OFFLINE_MARKERS)]
        if offline and not run.outcomes:
            return (
                f"Maven cannot build offline from {self.local_repository}: {offline[0].strip()} "
                "(fill the repository once with network access: mvn dependency:go-offline)"
            )
        if not run.outcomes:
            errors = [line for line in run.output.splitlines() if line.startswith("[ERROR]") and line[7:].strip()]
            detail = errors[0] if errors else last_line(run.output)
            return f"{self.describe()} gave no test results (exit code {run.exit_code}): {detail}"
        return None


def surefire_filter(tests: list[str]) -> str:
    """`-Dtest` for our ids: methods grouped by class (`pkg.Cls#a+b`), parameter types
    dropped (Surefire matches method names), a bare class id selects the whole class."""
    by_class: dict[str, list[str] | None] = {}  # None: the whole class
    for test_id in tests:
        cls, _, method = test_id.partition("#")
        if not method:
            by_class[cls] = None
        elif by_class.get(cls, []) is not None:
            by_class.setdefault(cls, []).append(method.split("(", 1)[0])  # type: ignore[union-attr]
    return ",".join(
        cls if names is None else f"{cls}#{'+'.join(dict.fromkeys(names))}" for cls, names in by_class.items()
    )


def _report_dirs(workdir: Path) -> list[Path]:
    """Surefire's report dirs of the project and its modules (none through a link)."""
    return [d for d in workdir.glob(f"**/{REPORTS}") if safe_dir(d, workdir)]
