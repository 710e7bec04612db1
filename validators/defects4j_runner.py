"""Run the tests of a Defects4J checkout through the Defects4J command line, in the sandbox.

The contract, as read in rjust/defects4j (framework/bin/defects4j, d4j/d4j-compile,
d4j/d4j-test, d4j/d4j-export, core/Utils.pm, core/Project.pm and the JUnit formatter in
framework/lib/formatter):

* `defects4j compile -w DIR` runs Ant's `compile` and `compile.tests` targets. Progress goes
  to stderr (`Running ant (compile)....... OK`); on failure the line ends in `FAIL`, followed
  by the executed command and Ant's log (javac errors as `[javac] /abs/File.java:12: error:
  ...`), then Perl dies ("Cannot compile sources!"): a non-zero exit code.
* `defects4j test -w DIR [-r | -t pkg.Cls::method]` deletes, then rewrites, two files in the
  work dir: `failing_tests` (`--- pkg.Cls::method` or, for a class that failed as a whole,
  `--- pkg.Cls`, each followed by its stack trace) and `all_tests` (every test started, as
  JUnit prints it: `method(pkg.Cls)`, parameterized `method[0](pkg.Cls)`). stdout says
  `Failing tests: N` and lists them as `  - pkg.Cls::method`; the exit code is 0 whether or
  not tests fail. `-t` takes exactly one method; `-r` runs only the bug's relevant test
  classes and excludes `-t`. Nothing bounds the run's time: a hanging test hangs the command.
* `defects4j export -p PROP [-o FILE] -w DIR` prints (or writes) a property: `tests.trigger`
  (one `pkg.Cls::method` a line), `tests.all` (test classes), `dir.src.classes`,
  `dir.src.tests`, ...

Defects4J reports only failing tests. Passing outcomes are the tests of `all_tests` minus the
failing ones (`tests.all` would only give classes). Ids convert between Defects4J's
`pkg.Cls::method` and ours, `pkg.Cls#method`; a class-level failure keeps the class as id.
`tests=` runs `-t` once per method (up to `max_single_runs`; `stop_at_first_failure` stops
after the first failing one), else the whole suite once, keeping the outcomes asked for.
A whole-suite run cannot stop early. Every call runs in the sandbox with a timeout: the
compile under `compile_timeout_s`, all test calls of one `run` together under `timeout_s`.

When a d4j script dies, Perl ends its message with the lines of each `require` it unwound,
always `Compilation failed in require at .../framework/bin/defects4j line 195.` (after
`BEGIN failed--compilation aborted at ...` for a module that failed to load): the reason is
the line before them (`perl_error`), e.g. `Cannot compile sources! at .../d4j-compile line 60.`
or `Can't locate DBI.pm in @INC (...)`.

The JVMs (Ant's, which also runs the tests: Defects4J's `run.dev.tests` does not fork) see
no cgroup in the sandbox and would size their heap from the host's RAM; the runner caps the
heap below the run's memory limit (`memory_mib`) and gives them a writable `user.home`,
through `_JAVA_OPTIONS`, which every JVM reads and which wins over the command line's own
options. A full Lang suite peaked at 3.8 GB uncapped (issue 16), over the sandbox's 2 GiB
default: the runner's default limit is 4 GiB.

Most Defects4J build files ask javac for `source="1.6"`, which javac 17 refuses: every call
gets, in `ANT_ARGS`, an Ant compiler adapter that raises levels below `javac_min_level`
(validators/ant_levels.py), so the projects build on the JDK at hand, unchanged.

Per-test coverage (`line_coverage`, for localization) is measured on request in a JaCoCo run
of its own over the test classes of the last run made `with_coverage` (the relevant tests when
`relevant_only`), with the framework's class path: see validators/defects4j_coverage.py. Only
a job that ranks suspects asks for it; one whose faulty lines are given never pays for it.

Pointing it at a real installation: set `executable` to `$D4J_HOME/framework/bin/defects4j`,
or set `DEFECTS4J_HOME`, or put `framework/bin` on PATH. The installation dir (the one
holding `framework/`) is bound read-only into the sandbox; Defects4J needs perl with its
modules (a PERL5LIB goes in `env`), Java 11 (JAVA_HOME passes through) and writes its
temporary files to /tmp, which the sandbox keeps private. The checkout is the work dir.
tests/fakes/defects4j speaks the same contract on a small javac + JUnit project for the tests.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from repairbot.domain import TestOutcome, TestRun, TestStatus
from validators import ant_levels, safe_files
from validators.defects4j_coverage import CheckoutBuild, CoverageLimit, CoverageRun
from validators.jacoco import JacocoCoverage
from validators.java_helpers import HelperBuildError
from validators.jvm import (
    ARTIFACTS_DIR, combine_runs, compile_errors, java_options_env, remove_artifact, sandbox_shows, user_home_options,
)
from validators.process import CommandNotRunnable, last_line, scrubbed_env
from validators.runner import CoverageUnavailable, FullFirstRun, LineCoverage
from validators.sandbox import MiB, Preference, Sandbox, SandboxLimits, SandboxResult, detect_sandbox

logger = logging.getLogger(__name__)

FAILING_TESTS = "failing_tests"
ALL_TESTS = "all_tests"
# The header of a failure after its `--- `, as Utils::get_failing_tests reads it.
_FAILURE_HEADER = re.compile(r"^([^:]+)(?:::([^:]+))?$")
# A test as JUnit's toString() writes it to all_tests (parameters stripped as the formatter does).
_STARTED_TEST = re.compile(r"^([^\[\(]*)(\[.*\])?\((.*)\)\s*$")
# Entries of all_tests that stand for a class, not a test method.
CLASS_LEVEL_NAMES = ("initializationError", "warning")
# The lines Perl adds below a `die` for each `require` and `use` it unwound.
_PERL_UNWIND = re.compile(r"^(Compilation failed in require|BEGIN failed--compilation aborted) at .* line \d+\.?$")
DEFAULT_MEMORY_MIB = 4096
# Of the memory limit, the JVM heap's share; the rest is the JVM's own (metaspace, code,
# threads), Perl's and Ant's launcher's.
HEAP_SHARE = 0.75
DEFAULT_COVERAGE_TIMEOUT_S = 900.0
DEFAULT_JAVAC_MIN_LEVEL = 8


def to_defects4j_id(test_id: str) -> str:
    return test_id.replace("#", "::", 1)


def from_defects4j_id(test: str) -> str:
    return test.replace("::", "#", 1)


def find_executable() -> Path:
    """`$DEFECTS4J_HOME/framework/bin/defects4j`, else `defects4j` on PATH."""
    home = os.environ.get("DEFECTS4J_HOME")
    if home:
        return Path(home) / "framework" / "bin" / "defects4j"
    found = shutil.which("defects4j")
    if found is None:
        raise CommandNotRunnable("defects4j not found: set DEFECTS4J_HOME or put its framework/bin on PATH")
    return Path(found)


def install_dir(executable: Path) -> Path:
    """The installation the command needs to see: the dir above `framework/bin/`, else
    the executable's own dir."""
    real = executable.resolve()
    if real.parent.name == "bin" and real.parent.parent.name == "framework":
        return real.parents[2]
    return real.parent


def perl_error(output: str) -> str:
    """Why a Defects4J script died: the last line before the lines Perl adds while unwinding
    `require`s (see the module doc), the last line when there are none; after it, when an
    Ant build failed, Ant's innermost reason (`Cannot export property tests.trigger at ...
    (Ant: .../Math.build.xml:66: Unable to create javax script engine for javascript)`)."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    while len(lines) > 1 and _PERL_UNWIND.match(lines[-1]):
        lines.pop()
    died = lines[-1] if lines else ""
    ant = _ant_failure(lines)
    return last_line(f"{died} (Ant: {ant})" if ant and ant != died else died)


def _ant_failure(lines: list[str]) -> str | None:
    """The last line of Ant's last `BUILD FAILED` block (before `Total time:`): the
    innermost of the nested "error occurred while executing this line" reasons."""
    starts = [i for i, line in enumerate(lines) if line == "BUILD FAILED"]
    if not starts:
        return None
    block = []
    for line in lines[starts[-1] + 1 :]:
        if line.startswith("Total time:"):
            break
        block.append(line)
    return block[-1] if block else None


def choose_sandbox(executable: Path, preferred: Preference = "auto") -> Sandbox:
    """One that shows the installation and the coverage helpers (validators/jacoco.py)."""
    return detect_sandbox(preferred, ro_paths=[install_dir(executable), *JacocoCoverage().sandbox_paths()])


@dataclass(frozen=True)
class Defects4JOptions:
    """What the settings say about Defects4J runs (see `Defects4JRunner`)."""

    relevant_only: bool = False
    memory_mib: int = DEFAULT_MEMORY_MIB
    env: dict[str, str] = field(default_factory=dict)
    coverage_timeout_s: float = DEFAULT_COVERAGE_TIMEOUT_S
    javac_min_level: int = DEFAULT_JAVAC_MIN_LEVEL


@dataclass
class Defects4JRunner(FullFirstRun):
    # None: found through DEFECTS4J_HOME or PATH (see `find_executable`).
    executable: Path = None  # type: ignore[assignment]
    # None: a sandbox that shows the installation (see `choose_sandbox`).
    sandbox: Sandbox = None  # type: ignore[assignment]
    # Run only the bug's relevant tests (`-r`) when no tests are chosen.
    relevant_only: bool = False
    max_single_runs: int = 4
    compile_timeout_s: float = 600.0
    # Extra environment for Defects4J itself (e.g. PERL5LIB); the host's stays out.
    env: dict[str, str] = field(default_factory=dict)
    # The memory limit of each call; the JVMs' heap gets HEAP_SHARE of it.
    memory_mib: int = DEFAULT_MEMORY_MIB
    # The per-test coverage run's limit (as long as a baseline run may take).
    coverage_timeout_s: float = DEFAULT_COVERAGE_TIMEOUT_S
    coverage: JacocoCoverage = field(default_factory=JacocoCoverage)
    # javac source/target levels below this are raised to it (validators/ant_levels.py); 0: never.
    javac_min_level: int = DEFAULT_JAVAC_MIN_LEVEL
    # checkout -> the test classes of its last run made `with_coverage` (see line_coverage).
    _coverage_tests: dict[Path, list[str]] = field(default_factory=dict, init=False, repr=False)
    language = "java"

    def __post_init__(self) -> None:
        self.executable = (self.executable or find_executable()).resolve()
        if self.sandbox is None:
            self.sandbox = choose_sandbox(self.executable)
        elif not sandbox_shows(self.sandbox, install_dir(self.executable)):
            raise ValueError(
                f"the sandbox does not show the Defects4J installation {install_dir(self.executable)}: "
                "build it with defects4j_runner.choose_sandbox(executable)"
            )

    def describe(self) -> str:
        return f"{self.executable} test"

    def prepare(self, workdir: Path) -> None:
        """Once per checkout: hand it to the sandbox's user with a place for exports."""
        (workdir / ARTIFACTS_DIR).mkdir(exist_ok=True)
        self.sandbox.prepare_workdir(workdir)

    def java_options(self) -> list[str]:
        """What every JVM of a call gets (see the module doc)."""
        return [f"-Xmx{int(self.memory_mib * HEAP_SHARE)}m", *user_home_options(self.sandbox)]

    def call_env(self) -> dict[str, str]:
        """`env`, with the JVM options after any `_JAVA_OPTIONS` of its own (the later wins)
        and the Ant options after any `ANT_ARGS` of its own."""
        options = [*self.env.get("_JAVA_OPTIONS", "").split(), *self.java_options()]
        env = {**self.env, **java_options_env(options, "_JAVA_OPTIONS")}
        ant = " ".join([self.env.get("ANT_ARGS", ""), *self._ant_args()]).strip()
        return scrubbed_env({**env, "ANT_ARGS": ant} if ant else env)

    def _ant_args(self) -> list[str]:
        """The javac level adapter's Ant options; none when it is off or cannot be built
        (no Ant here to build it against: the framework's own Ant then compiles as is)."""
        if not self.javac_min_level:
            return []
        try:
            return ant_levels.ant_args(self.javac_min_level, self.coverage.cache_root)
        except HelperBuildError as exc:
            logger.warning("javac levels stay as the build files say: %s", exc)
            return []

    def _call(self, workdir: Path, args: list[str], timeout_s: float) -> SandboxResult:
        limits = SandboxLimits(
            timeout_s=timeout_s, cpu_time_s=math.ceil(2 * timeout_s) + 1, memory_bytes=self.memory_mib * MiB
        )
        argv = [str(self.executable), args[0], "-w", str(workdir), *args[1:]]
        return self.sandbox.run(argv, workdir, limits, self.call_env())

    def export(self, workdir: Path, prop: str) -> list[str]:
        """A property's values (`defects4j export -p PROP`), one per line; through a file
        because the sandbox merges stdout with Defects4J's progress on stderr."""
        workdir = workdir.resolve()
        out = workdir / ARTIFACTS_DIR / f"export-{prop}"
        result = self._call(workdir, ["export", "-p", prop, "-o", str(out)], self.compile_timeout_s)
        try:
            text = _read(out, workdir) if result.exit_code == 0 else None
            if text is None:
                # An export that builds first fails with the build's errors.
                why = "timed out" if result.timed_out else compile_errors(result.output, workdir, perl_error)
                raise CommandNotRunnable(f"defects4j export -p {prop} failed: {why}")
            return [line.strip() for line in text.splitlines() if line.strip()]
        finally:
            remove_artifact(out, workdir)

    def trigger_tests(self, workdir: Path) -> list[str]:
        """The tests that expose the bug, as our ids."""
        return [from_defects4j_id(t) for t in self.export(workdir, "tests.trigger")]

    def relevant_tests(self, workdir: Path) -> list[str]:
        """The test classes that load a class the fix modifies (what `-r` runs)."""
        return self.export(workdir, "tests.relevant")

    def line_coverage(self, workdir: Path, deadline: float | None = None) -> LineCoverage:
        """Per-test coverage of the main classes by the test classes of the last run made
        `with_coverage` in `workdir`, measured now (see validators/defects4j_coverage.py)
        within `coverage_timeout_s` or until `deadline`, whichever comes first; none
        without such a run. Raises CoverageUnavailable when it cannot be measured."""
        workdir = workdir.resolve()
        test_classes = self._coverage_tests.get(workdir)
        if not test_classes:
            return {}
        build = CheckoutBuild(
            classes_dir=self._export_one(workdir, "dir.bin.classes"),
            source_roots=self._export_paths(workdir, "dir.src.classes"),
            test_classpath=self._export_paths(workdir, "cp.test"),
        )
        limit = CoverageLimit(self.coverage_timeout_s, "defects4j_test_timeout_s")
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if left is not None and left < limit.seconds:
            limit = CoverageLimit(left, "the job's time budget", budget=True)
        run = CoverageRun(self.sandbox, self.call_env(), self.memory_mib, limit, self.coverage)
        return run.measure(workdir, build, test_classes)

    def _export_paths(self, workdir: Path, prop: str) -> list[str]:
        """A property that lists paths (a class path: `:`-separated)."""
        try:
            lines = self.export(workdir, prop)
        except CommandNotRunnable as exc:
            raise CoverageUnavailable(str(exc)) from exc
        return [part for line in lines for part in line.split(os.pathsep) if part]

    def _export_one(self, workdir: Path, prop: str) -> str:
        values = self._export_paths(workdir, prop)
        if len(values) != 1:
            raise CoverageUnavailable(f"defects4j export -p {prop} gave {values or 'nothing'}, not one path")
        return values[0]

    def run(
        self,
        workdir: Path,
        timeout_s: float,
        tests: list[str] | None = None,
        with_coverage: bool = False,
        stop_at_first_failure: bool = False,
        test_cpu_limit_s: float | None = None,
    ) -> TestRun:
        # with_coverage: measured later, when asked (see line_coverage); test_cpu_limit_s: the
        # framework has no per-test limit, a hang ends the run at timeout_s.
        workdir = workdir.resolve()
        if with_coverage:
            self._coverage_tests.pop(workdir, None)
        compiled = self._call(workdir, ["compile"], self.compile_timeout_s)
        if compiled.exit_code != 0:
            error = (
                f"defects4j compile did not finish within {self.compile_timeout_s:.0f}s"
                if compiled.timed_out else compile_errors(compiled.output, workdir, perl_error)
            )
            return combine_runs(workdir, [], [compiled], compile_error=error)
        calls, wanted = self._plan(tests)
        deadline = time.monotonic() + timeout_s
        runs, outcomes = [compiled], []
        for args in calls:
            result = self._call(workdir, ["test", *args], max(0.0, deadline - time.monotonic()))
            runs.append(result)
            if result.timed_out:
                break
            found = read_results(workdir)
            outcomes += [o for o in found if wanted is None or _asked_for(o.test_id, wanted)]
            if stop_at_first_failure and any(not o.ok for o in found):
                break
        if with_coverage:
            self._coverage_tests[workdir] = coverage_order(outcomes)
        return combine_runs(workdir, outcomes, runs)

    def _plan(self, tests: list[str] | None) -> tuple[list[list[str]], set[str] | None]:
        """The `defects4j test` calls for `tests`, and the ids to keep (None: all)."""
        if not tests:
            return [["-r"] if self.relevant_only else []], None
        unique = list(dict.fromkeys(tests))
        if all("#" in t for t in unique) and len(unique) <= self.max_single_runs:
            return [["-t", to_defects4j_id(t)] for t in unique], None
        return [[]], set(unique)

    def diagnose(self, run: TestRun) -> str | None:
        if "is not a valid working directory" in run.output:  # fails the compile step first
            return f"not a Defects4J checkout (no .defects4j.config): {perl_error(run.output)}"
        if run.compile_error:
            return f"the checkout does not compile: {run.compile_error.splitlines()[0]}"
        if not run.outcomes:
            return f"{self.describe()} gave no test results (exit code {run.exit_code}): {perl_error(run.output)}"
        return None


def coverage_order(outcomes: list[TestOutcome]) -> list[str]:
    """The test classes of `outcomes`, those with a failing test last. A class's static
    initialization (constant tables, and whatever it calls) runs once per JVM, in the test
    that first loads it, and per-test coverage charges it all to that test: run first, a
    failing test would make every line of it look as suspicious as the fault (Lang-6: 15
    lines of EntityArrays' initialization ranked ahead of it). Last, it is charged to passing
    tests wherever they load the same classes."""
    failing = {o.test_id.split("#", 1)[0] for o in outcomes if not o.ok}
    classes = dict.fromkeys(o.test_id.split("#", 1)[0] for o in outcomes)
    return [c for c in classes if c not in failing] + [c for c in classes if c in failing]


def read_results(workdir: Path) -> list[TestOutcome]:
    """Outcomes of the last `defects4j test` in `workdir`: its failures, and every other
    test it started as passed."""
    failing = parse_failing_tests(_read(workdir / FAILING_TESTS, workdir) or "")
    failed_ids = {o.test_id for o in failing}
    passing = [
        TestOutcome(test_id, TestStatus.PASSED)
        for test_id in parse_all_tests(_read(workdir / ALL_TESTS, workdir) or "")
        if test_id not in failed_ids and test_id.split("#", 1)[0] not in failed_ids
    ]
    return failing + passing


def parse_failing_tests(text: str) -> list[TestOutcome]:
    """`--- pkg.Cls::method` (or `--- pkg.Cls`) headers, each followed by its stack trace;
    a test listed twice (parameterized) is one outcome. A header Defects4J's own pattern
    cannot read ("--- broken test input ...") is kept whole as an error: a failure must
    never disappear."""
    traces: dict[str, list[str]] = {}
    status: dict[str, TestStatus] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("--- "):
            header = line[4:].strip()
            match = _FAILURE_HEADER.match(header)
            if match and " " not in header:
                test_id = match[1] + (f"#{match[2]}" if match[2] else "")
                status[test_id] = TestStatus.FAILED if match[2] else TestStatus.ERROR
            else:
                test_id, status[header] = header, TestStatus.ERROR
            current = traces.setdefault(test_id, [])
        elif current is not None:
            current.append(line)
    return [
        TestOutcome(test_id, status[test_id], message="\n".join(lines).strip())
        for test_id, lines in traces.items()
    ]


def parse_all_tests(text: str) -> list[str]:
    """Test ids from `all_tests` lines (`method(pkg.Cls)`), in order, once each."""
    ids: dict[str, None] = {}
    for line in text.splitlines():
        match = _STARTED_TEST.match(line.strip())
        if match and match[1] and match[1] not in CLASS_LEVEL_NAMES:
            ids[f"{match[3]}#{match[1]}"] = None
    return list(ids)


def _read(path: Path, workdir: Path) -> str | None:
    """A file Defects4J wrote in the work dir (where the tests could replace it); None when
    missing, not a regular file, or reached through a link."""
    try:
        return safe_files.read_text(workdir, path.relative_to(workdir), errors="replace")
    except OSError:
        return None


def _asked_for(test_id: str, wanted: set[str]) -> bool:
    """Whether an outcome answers one of the ids asked for: itself, its class, or (for a
    class that failed as a whole) a method of it."""
    cls = test_id.split("#", 1)[0]
    return test_id in wanted or cls in wanted or any(w.split("#", 1)[0] == test_id for w in wanted)
