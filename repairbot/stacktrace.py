"""Frames of the failing tests' tracebacks, as evidence for fault localization.

The tracebacks come from the failure messages the test runner reports (the text in the
JUnit XML). Python: both pytest's layout (`path/file.py:12: in func`,
`path/file.py:12: ValueError`) and Python's own (`File "path/file.py", line 12, in func`)
are read, since pytest prints the latter for errors raised in subprocesses or quoted by
plugins. Java: the JVM's `at pkg.Cls.method(Cls.java:12)` lines, innermost first; a frame
names its source file only by class and file name, so it is found in the project by its
package path (`pkg/Cls.java` under some source root).

A chained exception (`raise X from Y`, an error while handling another; Java's
`Caused by:` and `Suppressed:`) prints one traceback per exception; they are kept apart
because each has its own innermost frame, the place closest to where that exception arose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from repairbot.languages.registry import language_for

_PYTEST_LOCATION = re.compile(r"^(?P<path>[^\s:][^\s:]*\.py):(?P<line>\d+):(?: in (?P<function>\S+)|\s|$)")
_PYTHON_LOCATION = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<function>\S+))?')
# `at [module@version/]pkg.Cls$Inner.method(Cls.java:12)`; a class loader's name may come
# first (`app//pkg.Cls...`).
_JAVA_FRAME = re.compile(
    r"^\s*at (?:[^\s(/]*/)*(?P<cls>[\w$.]+)\.(?P<function>[\w$<>]+)\((?P<file>[\w$]+\.java):(?P<line>\d+)\)"
)
_CHAIN_SEPARATORS = (
    "The above exception was the direct cause of the following exception",
    "During handling of the above exception, another exception occurred",
)
_JAVA_CHAIN = re.compile(r"^\s*(?:Caused by|Suppressed): ")


@dataclass(frozen=True)
class Frame:
    """One traceback entry. `file`: Python's as printed (relative to the run's directory
    or absolute); Java's is the source's path below its source root, from the class's
    package and the file name (`pkg/sub/Cls.java`)."""

    file: str
    line: int
    function: str | None = None


def parse_tracebacks(text: str) -> list[list[Frame]]:
    """The tracebacks in a failure message, each outermost frame first.

    pytest prints a location line for each frame, after the frame's code in its long style
    and before it in its short style; either way the order of location lines is call order.
    The JVM prints the innermost frame first: Java tracebacks are reversed.
    """
    tracebacks: list[list[Frame]] = [[]]
    for line in text.splitlines():
        if any(separator in line for separator in _CHAIN_SEPARATORS) or _JAVA_CHAIN.match(line):
            tracebacks.append([])
            continue
        match = _PYTEST_LOCATION.match(line) or _PYTHON_LOCATION.match(line)
        if match:
            tracebacks[-1].append(Frame(match["path"], int(match["line"]), match["function"]))
        elif java := _JAVA_FRAME.match(line):
            tracebacks[-1].append(Frame(_java_path(java["cls"], java["file"]), int(java["line"]), java["function"]))
    return [_call_order(frames) for frames in tracebacks if frames]


def _java_path(cls: str, file: str) -> str:
    """`pkg.sub.Cls$Inner` in `Cls.java` -> `pkg/sub/Cls.java` (nested classes share their
    top-level class's file, which the frame names)."""
    package = cls.rpartition(".")[0]
    return f"{package.replace('.', '/')}/{file}" if package else file


def _call_order(frames: list[Frame]) -> list[Frame]:
    language = language_for(frames[0].file)
    return frames[::-1] if language is not None and language.innermost_frame_first else frames


def relative_to(file: str, workdir: Path) -> str | None:
    """`file` as a POSIX path inside `workdir`, or None for code outside it (libraries) and
    for names of no file: `<doctest pkg.mod.func[0]>`, `<string>`, `<frozen ...>`."""
    if file.startswith("<"):
        return None
    path = Path(file)
    if not path.is_absolute():
        path = workdir / path
    try:
        return path.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return None


def frame_weights(
    messages: Iterable[str], workdir: Path, is_suspect_file: Callable[[str], bool]
) -> dict[tuple[str, int], float]:
    """Stack-trace evidence per (file, line): the mean over failing tests of 1/depth.

    depth 1 is the innermost frame in a suspect file (project code, not tests) of a
    traceback, depth 2 its caller, and so on: the closer a frame is to where the exception
    arose, the likelier its line is the fault (the weighting of stack-trace fault
    localization studies, e.g. Zou et al., TSE 2019). Averaging over all failing tests,
    with 0 for a test whose traceback has no such frame (a wrong value caught by an
    assertion in the test), keeps the evidence in [0, 1] and proportional to how many
    failures point at the line.
    """
    messages = list(messages)
    resolve = _Resolver(workdir)
    totals: dict[tuple[str, int], float] = {}
    for message in messages:
        for key, weight in _test_weights(message, resolve, is_suspect_file).items():
            totals[key] = totals.get(key, 0.0) + weight
    return {key: total / len(messages) for key, total in totals.items()}


def frame_lines(
    messages: Mapping[str, str], workdir: Path, is_suspect_file: Callable[[str], bool]
) -> dict[tuple[str, int], set[str]]:
    """The lines (file, line) in suspect files that each failing test's tracebacks show it
    ran, by test id (`messages`: test id -> failure message).

    Coverage can miss exactly these lines: JaCoCo counts a line only once a probe after its
    last call has run, so a line whose call threw (often the fault: `return kth(above, k)`
    recursing into an IndexOutOfBoundsException, `gcd` overflowing the stack) is absent from
    the coverage of the very tests that crashed through it. coverage.py records a line
    before running it, so for Python this adds nothing."""
    resolve = _Resolver(workdir)
    ran: dict[tuple[str, int], set[str]] = {}
    for test, message in messages.items():
        for frames in parse_tracebacks(message):
            for frame in frames:
                relative = resolve(frame)
                if relative is not None and is_suspect_file(relative):
                    ran.setdefault((relative, frame.line), set()).add(test)
    return ran


class _Resolver:
    """A frame's file in the project, or None. A language whose frames do not name a path
    (Java's name `pkg/Cls.java` below a source root) has an index of the project's files,
    built once, if needed."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._indexes: dict[str, Callable[[str], str | None]] = {}

    def __call__(self, frame: Frame) -> str | None:
        language = language_for(frame.file)
        if language is None or language.source_index is None:
            return relative_to(frame.file, self._workdir)
        if language.name not in self._indexes:
            self._indexes[language.name] = language.source_index(self._workdir)
        return self._indexes[language.name](frame.file)


def _test_weights(
    message: str, resolve: Callable[[Frame], str | None], is_suspect_file: Callable[[str], bool]
) -> dict[tuple[str, int], float]:
    """One failing test's evidence: a line's best (smallest) depth over all its tracebacks."""
    weights: dict[tuple[str, int], float] = {}
    for frames in parse_tracebacks(message):
        suspects = [
            (relative, frame.line)
            for frame in frames
            if (relative := resolve(frame)) is not None and is_suspect_file(relative)
        ]
        for depth, key in enumerate(reversed(suspects), start=1):
            weights[key] = max(weights.get(key, 0.0), 1.0 / depth)
    return weights
