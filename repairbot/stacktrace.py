"""Frames of the failing tests' tracebacks, as evidence for fault localization.

The tracebacks come from the failure messages the test runner reports (pytest's text in the
JUnit XML). Both pytest's layout (`path/file.py:12: in func`, `path/file.py:12: ValueError`)
and Python's own (`File "path/file.py", line 12, in func`) are read, since pytest prints the
latter for errors raised in subprocesses or quoted by plugins.

A chained exception (`raise X from Y`, or an error while handling another) prints one
traceback per exception; they are kept apart because each has its own innermost frame, the
place closest to where that exception arose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

_PYTEST_LOCATION = re.compile(r"^(?P<path>[^\s:][^\s:]*\.py):(?P<line>\d+):(?: in (?P<function>\S+)|\s|$)")
_PYTHON_LOCATION = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<function>\S+))?')
_CHAIN_SEPARATORS = (
    "The above exception was the direct cause of the following exception",
    "During handling of the above exception, another exception occurred",
)


@dataclass(frozen=True)
class Frame:
    """One traceback entry; `file` is as printed (relative to the run's directory or absolute)."""

    file: str
    line: int
    function: str | None = None


def parse_tracebacks(text: str) -> list[list[Frame]]:
    """The tracebacks in a failure message, each outermost frame first.

    pytest prints a location line for each frame, after the frame's code in its long style
    and before it in its short style; either way the order of location lines is call order.
    """
    tracebacks: list[list[Frame]] = [[]]
    for line in text.splitlines():
        if any(separator in line for separator in _CHAIN_SEPARATORS):
            tracebacks.append([])
            continue
        match = _PYTEST_LOCATION.match(line) or _PYTHON_LOCATION.match(line)
        if match:
            tracebacks[-1].append(Frame(match["path"], int(match["line"]), match["function"]))
    return [frames for frames in tracebacks if frames]


def relative_to(file: str, workdir: Path) -> str | None:
    """`file` as a POSIX path inside `workdir`, or None for code outside it (libraries)."""
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
    totals: dict[tuple[str, int], float] = {}
    for message in messages:
        for key, weight in _test_weights(message, workdir, is_suspect_file).items():
            totals[key] = totals.get(key, 0.0) + weight
    return {key: total / len(messages) for key, total in totals.items()}


def _test_weights(
    message: str, workdir: Path, is_suspect_file: Callable[[str], bool]
) -> dict[tuple[str, int], float]:
    """One failing test's evidence: a line's best (smallest) depth over all its tracebacks."""
    weights: dict[tuple[str, int], float] = {}
    for frames in parse_tracebacks(message):
        suspects = [
            (relative, frame.line)
            for frame in frames
            if (relative := relative_to(frame.file, workdir)) is not None and is_suspect_file(relative)
        ]
        for depth, key in enumerate(reversed(suspects), start=1):
            weights[key] = max(weights.get(key, 0.0), 1.0 / depth)
    return weights
