"""Run the JUnit 4/5 tests of a plain javac project (no build tool) in the sandbox.

Layout: Maven's `src/main/java` + `src/test/java` when present, else `src/` + `test/` (or
`tests/`); `main_roots`/`test_roots` override both (any directories whose `.java` files are
compiled; javac places classes by their package declarations). Jars under the project's
`lib/` go on every classpath.

Compiling: into `.repairbot/javac/` (the sandbox lets the code write only in the work dir),
and only what changed since the last compile in this work dir: a manifest keeps each source
file's hash, and changed or new files are recompiled against the existing classes, as Ant's
javac task does. Validating a candidate patch thus recompiles one file instead of the
project. A deleted file, a missing manifest or a changed setup (roots, jars, options) forces
a full rebuild. Like Ant, this never recompiles the dependents of a changed file; a change of
signature shows as a linkage error when the tests run. javac runs in the sandbox too: it
compiles untrusted code, and annotation processors found on the classpath run inside it.

Running: a fresh JVM per run with the JUnit Platform console launcher (Debian's `junit5`
package; its manifest puts the Jupiter and Vintage engines on the classpath, so JUnit 5 and
JUnit 4/3 tests run side by side). All tests: `--scan-classpath` over the test classes only,
with every class name admitted (`include_classname`), since a javac project has no naming
convention to lean on (QuixBugs' tests are `*_TEST`). Chosen tests: `--select-method` /
`--select-class` with our ids (`junit_xml.parse_java_junit_xml` explains them). The launcher
(JUnit Platform 1.9) has no fail-fast option, so `stop_at_first_failure` is not honoured.
A validation run (`test_cpu_limit_s`) ends at the first hung test: a listener of ours
(validators/java/repairbot/junit/StopAtHang.java) halts the JVM and has written the outcomes
so far, which the runner reads in place of the XML reports the halted launcher never wrote.

The JVM in the sandbox: it starts with the default `SandboxLimits` (2 GiB memory cgroup,
`memory_bytes`; 256 processes); RLIMIT_AS stays off (it keeps the JVM from starting).
The sandbox hides /sys, so the JVM cannot see its cgroup and would size its heap
from the host's RAM: the heap is capped at half the memory limit so that a memory-hungry test
ends in an OutOfMemoryError that the report records instead of a cgroup kill that loses the
report. Measured here (bwrap, 2 busy cores): a run of 7 small tests takes ~0.6 s wall and
~0.9 s CPU with DEFAULT_JVM_OPTIONS (~0.8 s / 1.3 s with the JVM's defaults), ~70 MiB peak.
Otherwise a hanging test ends the run at `timeout_s` with the whole JVM killed (JUnit's own
timeouts leave spinning threads behind); the run is then `timed_out` with no outcomes.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from repairbot.domain import TestRun
from repairbot.languages import java
from validators import safe_files
from validators.jacoco import JacocoCoverage
from validators.jvm import (
    ARTIFACTS_DIR, combine_runs, compile_errors, read_listener_outcomes, read_reports, remove_artifact, safe_dir,
    stop_at_hang_options, user_home_options,
)
from validators.process import CommandNotRunnable, last_line, scrubbed_env
from validators.runner import FullFirstRun, LineCoverage
from validators.sandbox import Preference, Sandbox, SandboxLimits, SandboxResult, detect_sandbox

# Inside the work dir because the sandbox lets the tests write nowhere else.

JAVA_SHARE = Path("/usr/share/java")
# What test code compiles against (Debian's junit4, libhamcrest-java and junit5 packages).
COMPILE_JARS = (
    "junit4.jar", "hamcrest-core.jar", "junit-jupiter-api.jar", "junit-jupiter-params.jar",
    "opentest4j.jar", "apiguardian-api.jar", "junit-platform-commons.jar",
)
LAUNCHER_JAR = "junit-platform-console-standalone.jar"
LAUNCHER_MAIN = "org.junit.platform.console.ConsoleLauncher"

# The console launcher's exit codes (picocli's -1 for a usage error reads as 255).
EXIT_NO_TESTS = 2
EXIT_USAGE_ERROR = 255

# Short test runs are dominated by JVM startup: C1 alone starts ~0.3 s faster, and the
# serial collector keeps the thread count (which pids.max counts) and CPU use down on a
# 2-core machine.
DEFAULT_JVM_OPTIONS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
DEFAULT_JAVAC_OPTIONS = ("-encoding", "UTF-8", "-g", "-nowarn")


def choose_sandbox(preferred: Preference = "auto") -> Sandbox:
    """The JDK and the JUnit jars live under /usr, which every sandbox shows; the coverage
    helpers (JaCoCo's agent and our listener) live in their cache dir, bound read-only."""
    return detect_sandbox(preferred, ro_paths=JacocoCoverage().sandbox_paths())


# --- layout ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JavaLayout:
    """Where a javac project keeps its code: directories relative to the project root."""

    main_roots: tuple[str, ...]
    test_roots: tuple[str, ...]


def detect_layout(project: Path) -> JavaLayout:
    if (project / "src/main/java").is_dir():
        return JavaLayout(("src/main/java",), ("src/test/java",))
    tests = next((d for d in ("test", "tests") if (project / d).is_dir()), "test")
    return JavaLayout(("src",), (tests,))


# --- incremental compilation --------------------------------------------------------------


@dataclass
class CompileResult:
    """One compile step: which sources javac was given and how it went."""

    compiled: list[str]  # source files (POSIX, relative to the work dir), in javac order
    full: bool  # the outputs were wiped and everything rebuilt
    runs: list[SandboxResult]  # one per javac invocation (main, then tests)
    error: str | None = None  # first javac errors when it failed

    @property
    def output(self) -> str:
        return "".join(run.output for run in self.runs)


def _sha256(workdir: Path, relative: str) -> str:
    return safe_files.sha256(workdir, relative).hex()


def project_files(workdir: Path, roots: tuple[str, ...], *patterns: str) -> list[str]:
    """Files matching one of `patterns` under the roots (relative POSIX paths), skipping hidden
    dirs (.repairbot, .git) and anything reached through a link: after a run the tests may
    have planted links to host files, which this process would otherwise read."""
    found: set[str] = set()
    for root in roots:
        base = workdir / root
        if not safe_files.is_directory(workdir, root):
            continue
        for pattern in patterns:
            for path in base.rglob(pattern):  # does not descend into linked dirs
                relative = path.relative_to(workdir)
                hidden = any(part.startswith(".") for part in relative.parts[:-1])
                if not hidden and not path.is_symlink() and path.is_file():
                    found.add(relative.as_posix())
    return sorted(found)


@dataclass(frozen=True)
class Manifest:
    """What the class outputs were compiled from: the setup and each source file's hash."""

    setup: str
    sources: dict[str, str]

    @classmethod
    def read(cls, path: Path, workdir: Path) -> Manifest | None:
        """None when missing or unusable (the tests could have rewritten it: any doubt
        means a full rebuild)."""
        try:
            data = json.loads(safe_files.read_text(workdir, path.relative_to(workdir)))
            return cls(str(data["setup"]), {str(k): str(v) for k, v in data["sources"].items()})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def write(self, path: Path, workdir: Path) -> None:
        """Atomically, never through a link: a fresh temporary file renamed over the old."""
        if not safe_dir(path.parent, workdir):
            remove_artifact(path.parent, workdir)
            return
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            json.dump({"setup": self.setup, "sources": self.sources}, tmp, indent=0, sort_keys=True)
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)


# --- per-test coverage hook ----------------------------------------------------------------


@dataclass(frozen=True)
class JvmInstrumentation:
    """What per-test coverage or the hang stop adds to the test JVM: options (a `-javaagent`,
    the listeners' properties) and classpath entries (JUnit listeners the launcher finds
    through ServiceLoader)."""

    options: list[str]
    classpath: list[str]

    def plus(self, other: JvmInstrumentation) -> JvmInstrumentation:
        return JvmInstrumentation(
            [*self.options, *other.options], list(dict.fromkeys([*self.classpath, *other.classpath]))
        )


# --- the runner ----------------------------------------------------------------------------


@dataclass
class JavacJUnitRunner(FullFirstRun):
    """`main_roots`/`test_roots` override the detected layout; `jar_dir` holds the JUnit jars
    (Debian's names, see COMPILE_JARS and LAUNCHER_JAR)."""

    sandbox: Sandbox = field(default_factory=choose_sandbox)
    main_roots: list[str] | None = None
    test_roots: list[str] | None = None
    jar_dir: Path = JAVA_SHARE
    jvm_options: list[str] = field(default_factory=lambda: list(DEFAULT_JVM_OPTIONS))
    javac_options: list[str] = field(default_factory=lambda: list(DEFAULT_JAVAC_OPTIONS))
    # Test classes the scan admits (a regular expression on the fully qualified name).
    include_classname: str = ".*"
    # The compile step's own bound: a slow full build is not a hanging test.
    compile_timeout_s: float = 600.0
    # The memory cgroup of javac and of the test JVM; the heap gets half of it.
    memory_bytes: int = SandboxLimits.memory_bytes
    coverage: JacocoCoverage = field(default_factory=JacocoCoverage)
    language = "java"

    def describe(self) -> str:
        return f"javac + JUnit Platform console launcher ({self.jar_dir / LAUNCHER_JAR})"

    def layout(self, workdir: Path) -> JavaLayout:
        detected = detect_layout(workdir)
        return JavaLayout(
            tuple(self.main_roots) if self.main_roots is not None else detected.main_roots,
            tuple(self.test_roots) if self.test_roots is not None else detected.test_roots,
        )

    def build_dir(self, workdir: Path) -> Path:
        return workdir / ARTIFACTS_DIR / "javac"

    def classes_dir(self, workdir: Path) -> Path:
        """Compiled main code (what coverage measures)."""
        return self.build_dir(workdir) / "classes"

    def test_classes_dir(self, workdir: Path) -> Path:
        return self.build_dir(workdir) / "test-classes"

    def manifest_file(self, workdir: Path) -> Path:
        return self.build_dir(workdir) / "manifest.json"

    def prepare(self, workdir: Path) -> None:
        """Once per work copy: check the JUnit jars, then hand the copy to the sandbox's
        user with a place for the build."""
        missing = [p for p in self._compile_jars() + [self._launcher_jar()] if not p.exists()]
        if missing:
            raise CommandNotRunnable(
                f"JUnit jars not found: {', '.join(map(str, missing))} "
                "(install the Debian packages junit4, libhamcrest-java and junit5, or set jar_dir)"
            )
        self.build_dir(workdir).mkdir(parents=True, exist_ok=True)
        self.sandbox.prepare_workdir(workdir)

    # --- compiling ---

    def _compile_jars(self) -> list[Path]:
        return [self.jar_dir / name for name in COMPILE_JARS]

    def _launcher_jar(self) -> Path:
        return self.jar_dir / LAUNCHER_JAR

    def _lib_jars(self, workdir: Path) -> list[str]:
        return project_files(workdir, ("lib",), "*.jar")

    def _limits(self, timeout_s: float) -> SandboxLimits:
        """CPU time is capped per process; wall-clock time is the real bound, so the CPU cap
        must never cut a run short before it (a JVM's threads may use 2 cores)."""
        return SandboxLimits(
            timeout_s=timeout_s, cpu_time_s=math.ceil(2 * timeout_s) + 1, memory_bytes=self.memory_bytes
        )

    def _jvm_options(self, limits: SandboxLimits) -> list[str]:
        """The JVM's options, its heap capped at half the memory limit and a home it can write."""
        return [*self.jvm_options, f"-Xmx{limits.memory_bytes // 2 // (1024 * 1024)}m", *user_home_options(self.sandbox)]

    def _setup(self, workdir: Path, layout: JavaLayout, libs: list[str]) -> str:
        """Everything besides the sources that shapes the classes: a change means rebuild."""
        jars = {lib: _jar_stamp(workdir / lib) for lib in libs}
        return json.dumps(
            [layout.main_roots, layout.test_roots, jars, self.javac_options,
             [str(p) for p in self._compile_jars()]],
            sort_keys=True,
        )

    def compile(self, workdir: Path) -> CompileResult:
        """Compile what changed since the last compile in `workdir` (see the module doc)."""
        workdir = workdir.resolve()
        layout = self.layout(workdir)
        main = project_files(workdir, layout.main_roots, *java.SUPPORT.globs)
        tests = project_files(workdir, layout.test_roots, *java.SUPPORT.globs)
        current = {path: _sha256(workdir, path) for path in main + tests}
        libs = self._lib_jars(workdir)
        setup = self._setup(workdir, layout, libs)
        manifest_path = self.manifest_file(workdir)
        previous = Manifest.read(manifest_path, workdir)
        full = previous is None or previous.setup != setup or not set(previous.sources) <= set(current)
        if full:
            for out in (self.classes_dir(workdir), self.test_classes_dir(workdir)):
                remove_artifact(out, workdir)
        compiled = {} if full or previous is None else dict(previous.sources)
        self._make_build_dir(workdir)
        classes, test_classes = self.classes_dir(workdir), self.test_classes_dir(workdir)
        steps = [
            ([p for p in main if compiled.get(p) != current[p]], classes, [classes, *libs]),
            ([p for p in tests if compiled.get(p) != current[p]], test_classes,
             [test_classes, classes, *self._compile_jars(), *libs]),
        ]
        result = CompileResult(compiled=[], full=full, runs=[])
        for files, out, classpath in steps:
            if not files:
                continue
            run = self._javac(workdir, files, out, classpath)
            result.runs.append(run)
            result.compiled += files
            if run.exit_code != 0:
                # Whatever javac wrote before failing is suspect: these files compile again.
                for path in files:
                    compiled.pop(path, None)
                result.error = self._javac_failure(run, workdir)
                break
            compiled.update({path: current[path] for path in files})
        Manifest(setup, compiled).write(manifest_path, workdir)
        return result

    def _make_build_dir(self, workdir: Path) -> None:
        """The build dir may be gone (the tests can delete it); recreated for the sandbox
        uid, which javac runs as."""
        build = self.build_dir(workdir)
        for directory in (build.parent, build):
            if not safe_dir(directory, workdir):
                remove_artifact(directory, workdir)  # a link or a file in its place
                directory.mkdir()
                os.chown(directory, self.sandbox.uid, self.sandbox.gid)

    def _javac(self, workdir: Path, files: list[str], out: Path, classpath: list[Path | str]) -> SandboxResult:
        limits = self._limits(self.compile_timeout_s)
        argv = [
            "javac", *(f"-J{o}" for o in self._jvm_options(limits)),
            "-d", str(out), "-cp", _classpath(classpath), *self.javac_options, *files,
        ]
        return self.sandbox.run(argv, workdir, limits, scrubbed_env())

    def _javac_failure(self, run: SandboxResult, workdir: Path) -> str:
        if run.timed_out:
            return f"javac did not finish within {self.compile_timeout_s:.0f}s"
        if run.violation:
            return f"javac stopped by the sandbox ({run.violation}): {last_line(run.output)}"
        return compile_errors(run.output, workdir)

    # --- running ---

    def coverage_dir(self, workdir: Path) -> Path:
        """Per-test JaCoCo dumps of the last coverage run, written by the test JVM."""
        return workdir / ARTIFACTS_DIR / "jacoco"

    def coverage_instrumentation(self, workdir: Path) -> JvmInstrumentation:
        """The one place per-test JaCoCo coverage (validators/jacoco.py) plugs into a run:
        the last run's dumps go, the agent and the listener come in."""
        exec_dir = self.coverage_dir(workdir)
        remove_artifact(exec_dir, workdir)
        return JvmInstrumentation(self.coverage.jvm_args(exec_dir), [str(p) for p in self.coverage.classpath()])

    def line_coverage(self, workdir: Path, deadline: float | None = None) -> LineCoverage:
        """Of the main code only (test code is never a suspect), by test id."""
        workdir = workdir.resolve()
        exec_dir, classes = self.coverage_dir(workdir), self.classes_dir(workdir)
        if not (safe_dir(exec_dir, workdir) and safe_dir(classes, workdir)):
            return {}
        return self.coverage.read(exec_dir, [classes], list(self.layout(workdir).main_roots), workdir)

    def run(
        self,
        workdir: Path,
        timeout_s: float,
        tests: list[str] | None = None,
        with_coverage: bool = False,
        stop_at_first_failure: bool = False,
        test_cpu_limit_s: float | None = None,
    ) -> TestRun:
        """Compile what changed, then run `tests` (all when None) in a fresh JVM.
        `stop_at_first_failure` is ignored: the console launcher has no fail-fast option.
        With `test_cpu_limit_s` the run ends at the first hung test (`_stop_at_hang`)."""
        workdir = workdir.resolve()
        instrumentation = self.coverage_instrumentation(workdir) if with_coverage else JvmInstrumentation([], [])
        compiled = self.compile(workdir)
        if compiled.error is not None:
            return combine_runs(workdir, [], compiled.runs, compiled.error)
        run_id = uuid.uuid4().hex
        reports = workdir / ARTIFACTS_DIR / f"junit-{run_id}"
        listened = workdir / ARTIFACTS_DIR / f"outcomes-{run_id}.tsv"
        if test_cpu_limit_s:
            instrumentation = instrumentation.plus(self._stop_at_hang(test_cpu_limit_s, listened))
        limits = self._limits(timeout_s)
        argv = self._launcher_argv(workdir, reports, limits, tests, instrumentation)
        result = self.sandbox.run(argv, workdir, limits, scrubbed_env())
        try:
            # A run the hang stop ended has no XML reports: the listener's file has what ran.
            outcomes = read_reports(reports, workdir) or read_listener_outcomes(listened, workdir)
        finally:
            remove_artifact(reports, workdir)
            remove_artifact(listened, workdir)
        return combine_runs(workdir, outcomes, [*compiled.runs, result])

    def _stop_at_hang(self, test_cpu_limit_s: float, outcomes: Path) -> JvmInstrumentation:
        """The listener that ends a validation run at the first hung test: one that used
        `test_cpu_limit_s` of CPU, or that the project's own timeout failed (a QuixBugs
        program that loops costs one test's 3 s, not each failing test's)."""
        return JvmInstrumentation(
            stop_at_hang_options(test_cpu_limit_s, outcomes), [str(p) for p in self.coverage.classpath()]
        )

    def _launcher_argv(
        self, workdir: Path, reports: Path, limits: SandboxLimits, tests: list[str] | None,
        extra: JvmInstrumentation,
    ) -> list[str]:
        classpath = [
            self._launcher_jar(), *extra.classpath,
            self.test_classes_dir(workdir), self.classes_dir(workdir), *self._lib_jars(workdir),
        ]
        argv = [
            "java", *self._jvm_options(limits), *extra.options,
            "-cp", _classpath(classpath), LAUNCHER_MAIN,
            "--disable-banner", "--disable-ansi-colors", "--details=none",
            "--fail-if-no-tests", f"--reports-dir={reports}",
        ]
        if not tests:
            return argv + [f"--scan-classpath={self.test_classes_dir(workdir)}",
                           f"--include-classname={self.include_classname}"]
        return argv + [f"--select-method={t}" if "#" in t else f"--select-class={t}" for t in dict.fromkeys(tests)]

    def diagnose(self, run: TestRun) -> str | None:
        if run.compile_error:
            return f"the project does not compile: {run.compile_error.splitlines()[0]}"
        if run.exit_code == EXIT_NO_TESTS:
            return "no JUnit tests were found in the test classes: repairbot needs a failing test"
        if run.exit_code == EXIT_USAGE_ERROR:
            return f"the JUnit launcher rejected the run: {launcher_error(run.output)}"
        if not run.outcomes:
            return f"{self.describe()} gave no test results (exit code {run.exit_code}): {last_line(run.output)}"
        return None


def launcher_error(output: str) -> str:
    """The line that says why: picocli's parse error, else the deepest `Caused by:` of a
    failed discovery (an unknown class or method), else the last line."""
    lines = [line.strip() for line in output.splitlines()]
    for line in lines:
        if line.startswith("Error parsing command-line arguments"):
            return line
    causes = [line for line in lines if line.startswith("Caused by:")]
    return causes[-1].removeprefix("Caused by: ") if causes else last_line(output)


def _classpath(entries: list[Path | str]) -> str:
    return os.pathsep.join(str(e) for e in entries)


def _jar_stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]
