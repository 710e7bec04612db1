"""Frames of the failing tests' tracebacks, as evidence for fault localization.

The tracebacks come from the failure messages the test runner reports (the text in the
JUnit XML). How a traceback reads is each language's (`LanguageSupport.traceback_frame`,
`chains_traceback`, `innermost_frame_first`): a line is read by every registered language
in turn, so a report that quotes another runtime's traceback is read too.

A chained exception (`raise X from Y`, an error while handling another; Java's
`Caused by:` and `Suppressed:`) prints one traceback per exception; they are kept apart
because each has its own innermost frame, the place closest to where that exception arose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from repairbot.languages.registry import Frame, language_for, languages

def parse_tracebacks(text: str) -> list[list[Frame]]:
    """The tracebacks in a failure message, each outermost frame first (a language whose
    runtime prints the innermost first has its tracebacks reversed)."""
    known = list(languages())
    tracebacks: list[list[Frame]] = [[]]
    for line in text.splitlines():
        if any(language.chains_traceback(line) for language in known):
            tracebacks.append([])
            continue
        frame = next((frame for language in known if (frame := language.traceback_frame(line)) is not None), None)
        if frame is not None:
            tracebacks[-1].append(frame)
    return [_call_order(frames) for frames in tracebacks if frames]


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
