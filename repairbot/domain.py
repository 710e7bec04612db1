"""Data that flows between pipeline stages.

Every stage takes and returns these plain dataclasses, so a stage can run in-process, as a
Celery task (they serialize with `dataclasses.asdict`) or be replaced without touching the
others. Paths inside a project are always POSIX strings relative to the project root, so a
result computed in a temporary copy means the same thing in the user's tree.
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass, field


class TestStatus(str, enum.Enum):
    __test__ = False  # a name pytest would otherwise try to collect

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class TestOutcome:
    """One test's result in one run; `test_id` is the runner's id (a pytest node id)."""

    __test__ = False

    test_id: str
    status: TestStatus
    message: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in (TestStatus.PASSED, TestStatus.SKIPPED)


@dataclass
class TestRun:
    """A whole invocation of a test command, with per-test outcomes when the runner gives them."""

    __test__ = False

    outcomes: list[TestOutcome]
    exit_code: int | None
    duration_s: float
    timed_out: bool = False
    output: str = ""
    violation: str | None = None  # a sandbox limit the run hit ("memory limit", ...)
    compile_error: str | None = None  # the build's message when the code did not compile
    # Resource usage of the whole run (all its processes) where the sandbox can measure it.
    cpu_time_s: float | None = None
    peak_memory_bytes: int | None = None

    @property
    def failing(self) -> list[str]:
        return [o.test_id for o in self.outcomes if not o.ok]

    @property
    def passing(self) -> list[str]:
        return [o.test_id for o in self.outcomes if o.status is TestStatus.PASSED]


@dataclass
class Reproduction:
    """The failure the job must fix: which tests fail before any patch, and the evidence.

    `baseline_failures` are tests that fail (or flip) without any patch for reasons the job
    is not asked to fix: flaky tests (seen with different outcomes in a rerun) and tests the
    user or benchmark declared as known failures. They are recorded, then left out of both
    the targets and the regressions of every validation.
    """

    run: TestRun
    failing: list[TestOutcome]
    passing: list[str]
    baseline_failures: dict[str, str] = field(default_factory=dict)  # test id -> why it is ignored

    @property
    def ignored(self) -> set[str]:
        return set(self.baseline_failures)


@dataclass(frozen=True)
class SuspiciousLocation:
    """A span of source lines (1-based, inclusive) ranked by a localization formula."""

    file: str
    start_line: int
    end_line: int
    score: float
    formula: str = "ochiai"


@dataclass(frozen=True)
class FileEdit:
    """One file's whole text before and after a change."""

    file: str
    original: str
    patched: str


@dataclass(frozen=True)
class Candidate:
    """A proposed change: the whole new text of `file`, so applying it is a plain write.
    Every generator changes one location, hence one file; only a combination of two
    candidates (`repairbot.generate.combine`) may change more files, listed in `other_files`."""

    file: str
    original: str
    patched: str
    generator: str
    description: str
    location: SuspiciousLocation
    prior: float = 0.0
    other_files: tuple[FileEdit, ...] = ()

    @property
    def edits(self) -> tuple[FileEdit, ...]:
        """Every file this candidate changes, `file` first: what validation writes and
        restores, `--apply` writes, and the diff shows."""
        return (FileEdit(self.file, self.original, self.patched), *self.other_files)

    @property
    def diff(self) -> str:
        return "".join(unified_diff(edit.file, edit.original, edit.patched) for edit in self.edits)

    @property
    def size(self) -> int:
        """Changed lines in the diff: smaller patches are preferred at equal evidence."""
        return sum(
            1
            for line in self.diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        )


class Verdict(str, enum.Enum):
    PLAUSIBLE = "plausible"
    FAILS = "fails"
    TIMEOUT = "timeout"
    ERROR = "error"
    COMPILE_ERROR = "compile_error"
    SANDBOX_VIOLATION = "sandbox_violation"


@dataclass
class ValidationResult:
    candidate: Candidate
    verdict: Verdict
    outcomes: list[TestOutcome] = field(default_factory=list)
    duration_s: float = 0.0
    detail: str = ""
    sandbox: str = ""  # the sandbox mode the tests ran in
    cpu_time_s: float | None = None  # all test processes together, where measurable
    peak_memory_bytes: int | None = None
    test_runs: int = 0  # test-command invocations it took (0: the verdict came from the cache)
    cached: bool = False  # the verdict of an identical (normalized) patch validated before


@dataclass
class RepairResult:
    """Everything a report needs; `patches` are the plausible candidates, best first."""

    job_id: int | None
    project: str
    reproduction: Reproduction
    locations: list[SuspiciousLocation]
    validations: list[ValidationResult]
    patches: list[ValidationResult]
    timings: dict[str, float]
    time_to_first_plausible_s: float | None
    # Why the job stopped looking: a plausible patch, the time budget spent during a stage, ...
    stopped: str = ""
    # Per patch (same order): signs that it overfits the tests (repairbot.overfitting).
    overfitting: list[list[str]] = field(default_factory=list)

    @property
    def candidates_tried(self) -> int:
        return len(self.validations)


def unified_diff(path: str, before: str, after: str) -> str:
    """A `git apply`-able diff (a/ b/ prefixes, trailing newline kept). Names are quoted as
    git quotes them and lines end at newlines only, so neither a file's name (a planted
    newline would forge header lines) nor its text (a form feed, a lone carriage return)
    can end a header or hunk line early."""
    lines = difflib.unified_diff(
        _lines(before),
        _lines(after),
        fromfile=git_quoted(f"a/{path}"),
        tofile=git_quoted(f"b/{path}"),
    )
    text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return text


# The escapes of git's quote_c_style; every other byte it quotes is written in octal.
_C_ESCAPES = {0x07: "a", 0x08: "b", 0x09: "t", 0x0A: "n", 0x0B: "v", 0x0C: "f", 0x0D: "r", 0x22: '"', 0x5C: "\\"}


def git_quoted(name: str) -> str:
    """`name` as git writes it in a diff header: as is when it has only printable ASCII
    (spaces included), else in double quotes with C escapes and non-ASCII bytes in octal,
    which `git apply` reads back byte for byte (a file name may even be non-UTF-8: its
    bytes come back from the surrogates `os.fsdecode` made of them)."""
    data = name.encode("utf-8", "surrogateescape")
    if not any(_needs_quoting(byte) for byte in data):
        return name
    quoted = "".join(
        "\\" + _C_ESCAPES[byte] if byte in _C_ESCAPES else f"\\{byte:03o}" if _needs_quoting(byte) else chr(byte)
        for byte in data
    )
    return f'"{quoted}"'


def _needs_quoting(byte: int) -> bool:
    return byte < 0x20 or byte >= 0x7F or byte in (0x22, 0x5C)


def _lines(text: str) -> list[str]:
    """`text` split after each newline, as git and patch count lines (`str.splitlines` also
    splits at form feeds, carriage returns, file separators..., breaking a line of code in two)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


@dataclass(frozen=True)
class StoredOutcome:
    """A candidate's verdict as the outcome cache keeps it (in the database), for the same
    program on the same project state: validating it again would give the same."""

    verdict: Verdict
    outcomes: list[TestOutcome]
    detail: str
    duration_s: float
