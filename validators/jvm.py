"""What the JVM runners share (javac + JUnit, Maven, Defects4J): the work dir they read and
write from outside the sandbox, compiler errors, JUnit XML reports, and one TestRun from
the several sandbox runs a JVM test run takes (build steps, then tests)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import unquote_plus

from repairbot.domain import TestOutcome, TestRun, TestStatus
from validators import safe_files
from validators.junit_xml import (
    MAX_REPORT_BYTES, JUnitParseError, bounded_message, merge_invocations, parse_java_junit_xml, report_seconds,
)
from validators.process import last_line
from validators.sandbox import SANDBOX_HOME, SYSTEM_DIRS, Sandbox, SandboxResult

# Where a runner keeps its artifacts in the work dir (compiled classes, reports).
ARTIFACTS_DIR = ".repairbot"


# --- the work dir, written by untrusted code ---------------------------------------------
# The tests run as the sandbox uid and may have replaced any part of the work dir with a
# link to a host file; this process (root, outside the sandbox) reads and writes there only
# through `safe_files`. Paths are built from `workdir` (resolved), never resolved themselves.


def safe_dir(path: Path, workdir: Path) -> bool:
    """Whether `path` is a directory in the work dir reached without a symlink."""
    return safe_files.is_directory(workdir, path.relative_to(workdir))


def sandbox_shows(sandbox: Sandbox, path: Path) -> bool:
    """Whether commands in `sandbox` see the host's `path` (all of them in rlimits mode)."""
    if sandbox.mode != "bwrap":
        return True
    real = path.resolve()
    return any(real.is_relative_to(shown) for shown in [*map(Path, SYSTEM_DIRS), *sandbox.ro_paths])


def remove_artifact(path: Path, workdir: Path) -> None:
    """Delete a file or tree the tests may have tampered with: a planted link is removed
    itself, never followed."""
    current = workdir
    for part in path.relative_to(workdir).parts:
        current = current / part
        if current.is_symlink():
            current.unlink()
            return
    if path.is_dir():
        shutil.rmtree(path)  # does not follow links inside the tree
    else:
        path.unlink(missing_ok=True)


# --- the JVM in the sandbox ---------------------------------------------------------------


def user_home_options(sandbox: Sandbox) -> list[str]:
    """`-Duser.home` for a JVM in `sandbox`. The JVM takes `user.home` from the password
    file, not from HOME: for the sandbox uid (65534) that is /nonexistent, and a test that
    writes under the home dir fails only in the sandbox (issue 16), a failure no patch can
    fix. In bwrap mode the home is the private /tmp (HOME already says so); in rlimits mode
    the JVM runs as the caller, whose own home is left to it."""
    return [f"-Duser.home={SANDBOX_HOME}"] if sandbox.mode == "bwrap" else []


def java_options_env(options: list[str], variable: str = "JAVA_TOOL_OPTIONS") -> dict[str, str]:
    """`options` for every JVM a build tool starts (Maven's forks, Ant's), through the
    environment variable each JVM reads; none when there are none. JAVA_TOOL_OPTIONS comes
    before the command line's own options (they win); `_JAVA_OPTIONS` comes after (it wins)."""
    return {variable: " ".join(options)} if options else {}


# --- compile errors ------------------------------------------------------------------------

# javac (also as Ant's `[javac]` log lines) and the Maven compiler plugin.
_JAVAC_ERROR = re.compile(r"^(?:\[javac\]\s*)?(?P<file>\S[^:]*\.java):(?P<line>\d+): error: (?P<msg>.*)$")
_MAVEN_ERROR = re.compile(r"^\[ERROR\] (?P<file>\S[^:]*\.java):\[(?P<line>\d+),\d+\] (?P<msg>.*)$")
# javac refusing its options, no file involved (Java 17 on a `-source 6` build).
_JAVAC_OPTION_ERROR = re.compile(r"^(?:\[javac\]\s*)?error: (?P<msg>.*)$")
MAX_COMPILE_ERRORS = 5


def compile_errors(output: str, workdir: Path, otherwise: Callable[[str], str] = last_line) -> str:
    """The first compiler errors as `file:line: error: message`, files relative to the work
    dir, each once (Maven repeats them), or javac's errors about its options (`error: Source
    option 6 is no longer supported`); when none has either shape (a crashed or misused
    compiler), what `otherwise` reads from the output (its last line)."""
    root = str(workdir.resolve()) + "/"
    found: dict[str, None] = {}
    for raw in output.splitlines():
        line = raw.strip()
        match = _JAVAC_ERROR.match(line) or _MAVEN_ERROR.match(line)
        if match:
            found[f"{match['file'].removeprefix(root)}:{match['line']}: error: {match['msg']}"] = None
        elif option := _JAVAC_OPTION_ERROR.match(line):
            found[f"javac: error: {option['msg']}"] = None
    return "\n".join(list(found)[:MAX_COMPILE_ERRORS]) or otherwise(output)


# --- reports and runs ---------------------------------------------------------------------


def read_reports(reports: Path, workdir: Path) -> list[TestOutcome]:
    """Outcomes from every XML report in `reports`; none if the run died before writing.
    A report the tests replaced with a link or a special file is left out."""
    try:
        names = safe_files.list_dir(workdir, reports.relative_to(workdir))
    except OSError:
        return []
    outcomes: list[TestOutcome] = []
    for name in names:
        if not fnmatchcase(name, "TEST-*.xml"):
            continue
        try:
            outcomes += parse_java_junit_xml(reports / name, workdir)
        except JUnitParseError:
            continue
    return outcomes


# --- the hang stop (validators/java/repairbot/junit/StopAtHang.java) ------------------------

STOP_CPU_PROPERTY = "repairbot.hang.cpu.s"
STOP_OUTCOMES_PROPERTY = "repairbot.hang.outcomes"
STATUSES = frozenset(status.value for status in TestStatus)


def stop_at_hang_options(test_cpu_limit_s: float, outcomes: Path) -> list[str]:
    """Test JVM options that make the listener end the run at the first hung test, writing
    each finished test's outcome to `outcomes` (the listener's classes must be on the
    classpath: `JacocoCoverage.classpath`, whose build holds every listener of ours)."""
    return [f"-D{STOP_CPU_PROPERTY}={test_cpu_limit_s:.3f}", f"-D{STOP_OUTCOMES_PROPERTY}={outcomes}"]


def read_listener_outcomes(outcomes: Path, workdir: Path) -> list[TestOutcome]:
    """The outcomes the hang stop's listener wrote, one line per finished test (status, id
    and message URL-encoded, seconds): what a run it stopped has instead of XML reports.
    The tests could have written the file too: read as untrusted, a malformed line skipped."""
    try:
        data = safe_files.read_bytes(workdir, outcomes.relative_to(workdir), MAX_REPORT_BYTES)
    except (OSError, ValueError):
        return []
    invocations: dict[str, list[tuple[str, TestOutcome]]] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split("\t")
        if len(fields) != 4 or fields[0] not in STATUSES:
            continue
        test_id = unquote_plus(fields[1])
        outcome = TestOutcome(
            test_id, TestStatus(fields[0]), bounded_message(unquote_plus(fields[2])), report_seconds(fields[3])
        )
        runs = invocations.setdefault(test_id, [])
        runs.append((f"[{len(runs) + 1}]", outcome))
    return [merge_invocations(runs) for runs in invocations.values()]


def combine_runs(
    workdir: Path, outcomes: list[TestOutcome], runs: list[SandboxResult], compile_error: str | None = None
) -> TestRun:
    """One TestRun from the sandbox runs it took in `workdir` (build steps, then tests):
    times and CPU add up, the exit code and any limit hit are the last step's. A build that
    ran out of time is a compile error, not a timed-out test run. Runs that left the work
    dir over its caps are a violation, whatever else happened: the copy is unusable."""
    last = runs[-1]
    oversize = safe_files.workspace_violation(workdir)
    timed_out = last.timed_out and compile_error is None and oversize is None
    cpu = [r.cpu_time_s for r in runs if r.cpu_time_s is not None]
    peaks = [r.peak_memory_bytes for r in runs if r.peak_memory_bytes is not None]
    return TestRun(
        outcomes=outcomes,
        exit_code=last.exit_code,
        duration_s=sum(r.duration_s for r in runs),
        timed_out=timed_out,
        output="".join(r.output for r in runs),
        violation=oversize or (None if timed_out or compile_error else last.violation),
        compile_error=compile_error,
        cpu_time_s=sum(cpu) if cpu else None,
        peak_memory_bytes=max(peaks) if peaks else None,
    )
