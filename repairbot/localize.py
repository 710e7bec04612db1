"""Spectrum-based fault localization from per-test coverage, boosted by stack traces.

Each executed source statement gets a spectrum: how many failing (ef) and passing (ep)
tests executed it, out of F failing and P passing tests. A formula turns the spectrum into
a suspiciousness score; Ochiai is the default because it is the most accurate single
formula across the empirical SBFL studies, DStar, Tarantula and Op2 are there to compare.

The failing tests' tracebacks add evidence the spectrum lacks: a statement that a failing
test crashed in (or called down from) is likelier to be the fault than one it merely ran.
See `score` for the weighting. A loop header that threw because the collection it iterates
changed meanwhile (a ConcurrentModificationException) shares its evidence with the loop's
body, where the change was made.

Test code is never a suspect: a failing assertion is the symptom, not the fault.

Granularity: generation rewrites one statement at a time, so it gets statements by
default; a hunk is a run of adjacent, equally suspicious statements of one function (the
spectrum cannot tell them apart); a method or file takes its best statement's score.

Ties: the statements of one basic block share a spectrum, so all of a function's
statements often share a score, and when a test fails on an assertion in the test file
no traceback frame separates them. The score stays the first key (scores equal to
TIE_DIGITS decimals are equal); among equal scores (see `tie_breakers`):
0. accessors last: when every test fails, every getter, setter and plain constructor the
   tests run ties with the fault (`repairbot.dataflow.is_accessor`: a function that only
   moves values), and such a function rarely holds it;
1. data flow: a statement the function's returned value (or a write the caller
   sees) depends on comes first, the nearer that output in the dependence graph the
   earlier (`repairbot.dataflow.output_distances`: the return itself, what defines the
   names it reads, the conditions controlling those, ...); statements that reach no
   output (logging, dead stores) come last;
2. statement kind (`repairbot.dataflow.statement_prior`): a condition, then another
   computation (return, assignment, loop header), then a call, then logging, `pass` or
   an import;
3. file, then line: rankings are deterministic.
`tie_sizes` says how many entries share each entry's score, for the reader.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path, PurePath
from typing import Literal

from tree_sitter import Node

from repairbot import dataflow
from repairbot.domain import Reproduction, SuspiciousLocation
from repairbot.errors import BadInput
from repairbot.languages.registry import for_suffix, is_test_file, language_for, languages
from repairbot.stacktrace import frame_lines, frame_weights
from validators import safe_files
from validators.runner import LineCoverage

Formula = Callable[[int, int, int, int], float]
FormulaName = Literal["ochiai", "dstar", "tarantula", "op2"]
Granularity = Literal["statement", "hunk", "method", "file"]
MODULE = "<module>"
# How much a statement's score grows with full stack-trace evidence: x(1 + TRACE_WEIGHT);
# see `score`.
TRACE_WEIGHT = 0.5
# Scores equal to this many decimals are a tie (the same spectrum through a formula can
# differ in the last bits by the order of float operations).
TIE_DIGITS = 9
# Tie-breakers of a statement no rule knows anything about: after every one that
# reaches an output, with a plain statement's prior.
NO_TIE_BREAKERS = (0, dataflow.UNREACHED, -1)


def ochiai(ef: int, ep: int, failing: int, passing: int) -> float:
    if ef == 0:
        return 0.0
    return ef / math.sqrt(failing * (ef + ep))


def dstar(ef: int, ep: int, failing: int, passing: int, star: int = 2) -> float:
    """ef^* / (ep + nf). A statement run by every failing test and no passing test divides
    by zero; it gets ef^* + 1, above what any non-zero denominator can give (at most F^*)."""
    denominator = ep + (failing - ef)
    if denominator == 0:
        return float(ef**star + 1)
    return ef**star / denominator


def tarantula(ef: int, ep: int, failing: int, passing: int) -> float:
    """With no passing test every executed statement has the same evidence: 1 (or 0)."""
    failed_share = ef / failing if failing else 0.0
    passed_share = ep / passing if passing else 0.0
    if failed_share == 0.0:
        return 0.0
    return failed_share / (failed_share + passed_share)


def op2(ef: int, ep: int, failing: int, passing: int) -> float:
    """Naish et al.'s formula, optimal for single faults in their model: ef decides, ep
    (divided by P + 1, so always below 1) only orders statements with equal ef."""
    return ef - ep / (passing + 1)


FORMULAS: dict[FormulaName, Formula] = {"ochiai": ochiai, "dstar": dstar, "tarantula": tarantula, "op2": op2}


# Stack-trace evidence of a statement that is the innermost project frame of at least half
# the failing tests' tracebacks (see `score`).
CRASH_SITE_EVIDENCE = 0.5


def score(sbfl: float, evidence: float, trace_weight: float = TRACE_WEIGHT) -> float:
    """The spectrum score scaled by stack-trace evidence: sbfl * (1 + trace_weight * evidence).

    `evidence` (`repairbot.stacktrace.frame_weights`) is the mean over failing tests of
    1/depth of the statement's frame, 1 for the innermost project frame. Multiplying keeps
    the boost independent of each formula's scale, and a statement no failing test ran
    stays at 0 whatever a traceback says.

    With the default weight 0.5, the statement every failing test crashed in scores 1.5x
    and its caller 1.25x. That decides between statements with equal spectra (one basic
    block: the usual case, where the crash site is usually the fault) and lifts a crash
    site over a moderately better spectrum. It stays small because a crash site is often
    only the symptom of a fault one frame up: in QuixBugs' kth the faulty recursive call
    (Ochiai 1.0, depth 2) must stay above the IndexError it causes in its callee (0.76,
    depth 1): 1.25 against 1.13, where a weight of 1 would give 1.5 against 1.51.
    """
    return sbfl * (1.0 + trace_weight * evidence)


@dataclass(frozen=True)
class Spectrum:
    ef: int
    ep: int


@dataclass(frozen=True)
class Suspect:
    """A ranked location and the statement that earned its score (`line`, in `function`)."""

    location: SuspiciousLocation
    function: str
    line: int
    spectrum: Spectrum | None  # None for a location given by the user
    evidence: float
    tie_breakers: tuple[int, int, int] = NO_TIE_BREAKERS  # see `SourceMap.tie_breakers`


class SourceMap:
    """Statements and functions of one source file, by line.

    Coverage and tracebacks name lines, but a statement can span several (each gets line
    events): both are mapped to the statement's first line so a statement is ranked once.
    A compound statement (`if`, `for`, ...) is its header: the code up to its colon in
    Python, its condition (or loop control, `catch (...)`) in Java.

    `suffix` (".py", ".java") picks the language (`repairbot.languages.registry`); a file of
    no known language has no statements, and its lines stand for themselves. `for_file`
    takes the file's name instead.
    """

    def __init__(self, text: str | None, suffix: str) -> None:
        self._language = for_suffix(suffix)
        self._statements: dict[int, Node] = {}
        # By the function's first byte: whether it is an accessor, and its output distances.
        self._functions: dict[int, tuple[bool, dict[int, int]]] = {}
        if text is not None and self._language is not None:
            self._statements = self._language.line_statements(self._language.parse(text.encode("utf-8")).root_node)

    @classmethod
    def for_file(cls, text: str | None, file: str | PurePath) -> SourceMap:
        return cls(text, PurePath(file).suffix)

    @classmethod
    def read(cls, path: Path, root: Path | None = None) -> SourceMap:
        """`path` lies in `root` (its own dir when None), reached without a link (the tests
        ran there); a file that cannot be read so, or decoded, has no statements."""
        root = path.parent if root is None else root
        try:
            text = read_source(root, path.relative_to(root).as_posix())
        except (OSError, ValueError):
            text = None
        return cls.for_file(text, path)

    def statement_lines(self) -> set[int]:
        return {node.start_point.row + 1 for node in self._statements.values()}

    def statement_line(self, line: int) -> int:
        node = self._statements.get(line)
        return line if node is None else node.start_point.row + 1

    def is_detection(self, line: int) -> bool:
        node = self._statements.get(line)
        return node is not None and self._language is not None and node.type in self._language.detection_statements

    def guard(self, line: int) -> int | None:
        """The first line of the condition that decides whether the statement on `line`
        runs (the nearest `if`, `elif` or loop around it, in its function); None outside one."""
        node = self._statements.get(line)
        parent = node.parent if node is not None else None
        while parent is not None and self._language is not None and parent.type not in self._language.functions:
            condition = parent.child_by_field_name("condition")
            if condition is not None and not condition.start_byte <= node.start_byte < condition.end_byte:
                return self.statement_line(condition.start_point.row + 1)
            parent = parent.parent
        return None

    def body_statements(self, line: int) -> list[int]:
        """The statements inside the body of the compound statement on `line` (a loop's),
        nested ones included; none for a simple statement."""
        node = self._statements.get(line)
        body = node.child_by_field_name("body") if node is not None else None
        if body is None:
            return []
        return sorted(
            {s.start_point.row + 1 for s in self._statements.values() if body.start_byte <= s.start_byte < body.end_byte}
        )

    def is_inert(self, line: int) -> bool:
        """A statement that does nothing when run (Python: a docstring); never a suspect."""
        node = self._statements.get(line)
        return node is not None and self._language is not None and self._language.is_inert(node)

    def is_generated(self, line: int) -> bool:
        """A Java line of no statement: what JaCoCo reports there is code the compiler
        generated (a default constructor on the class line, a constructor's implicit
        `super()`, a void method's return on its closing brace). No fault can be there, and
        it would tie with the statements it always runs with. (coverage.py reports only
        lines Python itself gives line events, so a Python line is always kept.)"""
        return self._language is not None and self._language.generated_lines and line not in self._statements

    def tie_breakers(self, line: int) -> tuple[int, int, int]:
        """What orders statements of equal score, smallest first (see the module docstring):
        whether its function is an accessor (1) or not (0), the statement's distance from
        its function's outputs, then its kind's prior, negated. A line of no statement
        (another language, code Java generated) has none."""
        node = self._statements.get(line)
        if node is None or self._language is None:
            return NO_TIE_BREAKERS
        function = self._language.enclosing_function(node)
        if function is None:
            return 0, dataflow.UNREACHED, -dataflow.statement_prior(node)
        if function.start_byte not in self._functions:
            self._functions[function.start_byte] = (
                self._language.is_accessor(function), self._language.output_distances(function)
            )
        accessor, distances = self._functions[function.start_byte]
        return int(accessor), distances.get(node.start_point.row + 1, dataflow.UNREACHED), -dataflow.statement_prior(node)

    def function(self, line: int) -> tuple[str, int, int]:
        """Qualified name (`Class.method`, `outer.inner`) and 1-based span of the innermost
        function (Java: method or constructor) holding `line`; MODULE and the line itself
        outside any function (Java: a field initializer)."""
        node = self._statements.get(line)
        if node is None or self._language is None:
            return MODULE, line, line
        function = self._language.enclosing_function(node)
        if function is None:
            return MODULE, line, line
        return self._language.qualified_name(function), function.start_point.row + 1, function.end_point.row + 1


@dataclass
class Evidence:
    """Everything localization knows about one failure: spectra per statement (file,
    first line) and stack-trace evidence per statement."""

    workdir: Path
    failing: int
    passing: int
    spectra: dict[tuple[str, int], Spectrum]
    trace: dict[tuple[str, int], float]

    _sources: dict[str, SourceMap] = field(default_factory=dict, repr=False)

    def source(self, file: str) -> SourceMap:
        if file not in self._sources:
            self._sources[file] = SourceMap.read(self.workdir / file, self.workdir)
        return self._sources[file]


def collect(reproduction: Reproduction, workdir: Path, coverage: LineCoverage) -> Evidence:
    """Combine the per-test coverage and the failing tests' tracebacks of `reproduction`.
    A traceback also completes its test's coverage: the lines of its frames ran, whatever
    the coverage tool saw (see `repairbot.stacktrace.frame_lines`)."""
    failing = {o.test_id for o in reproduction.failing}
    passing = set(reproduction.passing)
    evidence = Evidence(workdir, len(failing), len(passing), {}, {})
    messages = {o.test_id: o.message for o in reproduction.failing}
    ran = frame_lines(messages, workdir, lambda f: not is_test_file(f))
    for file, by_line in _with_frames(coverage, ran).items():
        if is_test_file(file):
            continue
        source = evidence.source(file)
        contexts: dict[int, set[str]] = {}
        for line, tests in by_line.items():
            if not source.is_generated(line) and not source.is_inert(line):
                contexts.setdefault(source.statement_line(line), set()).update(tests)
        for line, tests in contexts.items():
            evidence.spectra[(file, line)] = Spectrum(len(tests & failing), len(tests & passing))
    raw = frame_weights((o.message for o in reproduction.failing), workdir, lambda f: not is_test_file(f))
    for (file, line), weight in raw.items():
        source = evidence.source(file)
        if not source.is_detection(line) and not source.is_inert(line):
            _add_trace(evidence, file, source.statement_line(line), weight)
    _invalidated_iterations_blame_the_body(reproduction, evidence)
    return evidence


def _add_trace(evidence: Evidence, file: str, line: int, weight: float) -> None:
    evidence.trace[(file, line)] = max(evidence.trace.get((file, line), 0.0), weight)


def _invalidated_iterations_blame_the_body(reproduction: Reproduction, evidence: Evidence) -> None:
    """A loop header that threw because its collection changed during the iteration
    (`LanguageSupport.iteration_invalidated`) is only where the change was noticed: a
    statement of the loop's body made it (an `update` into the set being iterated, a
    `remove` from the list). The body's statements get the header's stack-trace evidence
    from those tests, as if each had crashed; the header keeps its own, since copying the
    collection there is a fix too."""
    invalidated = [
        o.message for o in reproduction.failing if any(lang.iteration_invalidated(o.message) for lang in languages())
    ]
    if not invalidated:
        return
    share = len(invalidated) / evidence.failing
    for (file, line), weight in frame_weights(invalidated, evidence.workdir, lambda f: not is_test_file(f)).items():
        source = evidence.source(file)
        for inside in source.body_statements(source.statement_line(line)):
            if not source.is_detection(inside) and not source.is_inert(inside):
                _add_trace(evidence, file, inside, weight * share)


def _with_frames(coverage: LineCoverage, ran: dict[tuple[str, int], set[str]]) -> LineCoverage:
    merged = {file: {line: set(tests) for line, tests in by_line.items()} for file, by_line in coverage.items()}
    for (file, line), tests in ran.items():
        merged.setdefault(file, {}).setdefault(line, set()).update(tests)
    return merged


@dataclass(frozen=True)
class GivenLines:
    """Exact lines (`file:12`, `file:12-14`): perfect fault localization, no ranking."""

    file: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class Scope:
    """A file (`file`) or function (`file::name`, `file::Class.method`) the fault is in:
    the ranking keeps only its statements."""

    file: str
    function: str | None = None

    def covers(self, file: str, function: str) -> bool:
        if file != self.file:
            return False
        return self.function is None or self.function in (function, function.rsplit(".", 1)[-1])


def parse_given(spec: str) -> GivenLines | Scope:
    """`path.py`, `path.py:12`, `path.py:12-14` or `path.py::func`."""
    if "::" in spec:
        file, function = spec.split("::", 1)
        return Scope(file, function)
    file, _, lines = spec.rpartition(":")
    if not file:
        return Scope(spec)
    start, dash, end = lines.partition("-")
    end = end if dash else start
    if not (start.isdigit() and end.isdigit() and 1 <= int(start) <= int(end)):
        raise BadInput(f"bad location {spec!r}: expected FILE, FILE:LINE, FILE:START-END or FILE::FUNCTION")
    return GivenLines(file, int(start), int(end))


def rank(
    evidence: Evidence,
    formula: FormulaName = "ochiai",
    granularity: Granularity = "statement",
    trace_weight: float = TRACE_WEIGHT,
    scopes: Sequence[Scope] = (),
) -> list[Suspect]:
    """Every location the failing tests executed, most suspicious first; with `scopes`,
    only those inside one of them."""
    compute = FORMULAS[formula]
    statements: list[Suspect] = []
    for (file, line), spectrum in evidence.spectra.items():
        if spectrum.ef == 0:
            continue
        source = evidence.source(file)
        function = source.function(line)[0]
        if scopes and not any(scope.covers(file, function) for scope in scopes):
            continue
        trace = evidence.trace.get((file, line), 0.0)
        value = score(compute(spectrum.ef, spectrum.ep, evidence.failing, evidence.passing), trace, trace_weight)
        location = SuspiciousLocation(file, line, line, value, formula)
        statements.append(Suspect(location, function, line, spectrum, trace, source.tie_breakers(line)))
    statements = _guards_share_detections(statements, evidence, compute, trace_weight)
    statements.sort(key=_order)
    if granularity == "statement":
        return statements
    if granularity == "hunk":
        return sorted(_hunks(statements, evidence), key=_order)
    return sorted(_groups(statements, evidence, by_function=granularity == "method"), key=_order)


def _guards_share_detections(
    statements: list[Suspect], evidence: Evidence, compute: Formula, trace_weight: float
) -> list[Suspect]:
    """A statement that reports a failure the program detected (`raise ValueError(...)`)
    is where the check fires, not where it goes wrong: when the failing tests reach it, the
    condition that let them is at least as suspicious (a `>` written `>=`): the guard gets
    the detection's score where its own is lower. The condition around the statement most
    failing tests crashed in (an IndexError in a loop whose bound is off by one, a
    `removeFirst` on an empty queue under `while (true)`) is suspicious too, but the crash
    site itself is the likelier fault: the guard scores as that statement's caller would,
    its spectrum with half its stack-trace evidence (one frame further, `score`).

    A guard the coverage never names (javac emits no code for `while (true)`) ran all the
    same, since what it guards ran: it joins the ranking with the statement's spectrum."""
    raised: dict[tuple[str, int], float] = {}
    guarded: dict[tuple[str, int], Suspect] = {}  # a statement each guard holds
    for suspect in statements:
        file = suspect.location.file
        source = evidence.source(file)
        guard = source.guard(suspect.line)
        if guard is None:
            continue
        if source.is_detection(suspect.line):
            shared = suspect.location.score
        elif suspect.evidence >= CRASH_SITE_EVIDENCE and suspect.spectrum is not None:
            spectrum = suspect.spectrum
            shared = score(
                compute(spectrum.ef, spectrum.ep, evidence.failing, evidence.passing), suspect.evidence / 2, trace_weight
            )
        else:
            continue
        raised[(file, guard)] = max(raised.get((file, guard), 0.0), shared)
        guarded.setdefault((file, guard), suspect)
    ranked = {(s.location.file, s.line) for s in statements}
    unnamed = [
        Suspect(replace(inside.location, start_line=line, end_line=line, score=0.0), inside.function, line,
                inside.spectrum, 0.0, evidence.source(file).tie_breakers(line))
        for (file, line), inside in guarded.items() if (file, line) not in ranked
    ]
    return [
        replace(s, location=replace(s.location, score=raised[(s.location.file, s.line)]))
        if raised.get((s.location.file, s.line), 0.0) > s.location.score else s
        for s in [*statements, *unnamed]
    ]


def _order(suspect: Suspect) -> tuple[float, int, int, str, int]:
    """Score first; equal scores by the tie-breakers, then file and line."""
    location = suspect.location
    return (-round(location.score, TIE_DIGITS), *suspect.tie_breakers, location.file, location.start_line)


def tie_sizes(ranked: Sequence[Suspect]) -> list[int]:
    """For each entry of `ranked`, how many entries (itself included) share its score: 1
    where the score alone put it there, N where tie-breakers ordered N equal scores. A
    given location (no spectrum) is in no tie: it is where it was given."""
    keys = [None if s.spectrum is None else round(s.location.score, TIE_DIGITS) for s in ranked]
    counts: dict[float | None, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return [1 if key is None else counts[key] for key in keys]


def _groups(statements: list[Suspect], evidence: Evidence, by_function: bool) -> Iterable[Suspect]:
    """One suspect per function (or file) with its best statement's score. `statements` is
    sorted best first, so the first of each group is its best; a function's span is the
    whole definition, a file's (or top-level code's) the span of its executed statements.
    Functions are told apart by name and start line: Java overloads share a name."""
    best: dict[tuple[str, str, int], Suspect] = {}
    lines: dict[tuple[str, str, int], list[int]] = {}
    for suspect in statements:
        file = suspect.location.file
        key = (file, "", 0)
        if by_function:
            name, start, _ = evidence.source(file).function(suspect.line)
            key = (file, name, 0 if name == MODULE else start)
        best.setdefault(key, suspect)
        lines.setdefault(key, []).append(suspect.line)
    for key, top in best.items():
        file, function, _ = key
        if by_function and function != MODULE:
            _, start, end = evidence.source(file).function(top.line)
        else:
            start, end = min(lines[key]), max(lines[key])
        yield _span(top, start, end)


def _hunks(statements: list[Suspect], evidence: Evidence) -> Iterable[Suspect]:
    """Runs of adjacent statements of one function with equal scores: the spectrum cannot
    tell them apart (usually one basic block), so generation may as well see them together.
    Statements are adjacent when no other executed statement lies between them."""
    executed: dict[str, list[int]] = {}
    for file, line in sorted(evidence.spectra):
        executed.setdefault(file, []).append(line)
    by_line = {(s.location.file, s.line): s for s in statements}
    for file, lines in executed.items():
        in_order = [by_line.get((file, line)) for line in lines]
        for key, run in groupby(in_order, key=lambda s: None if s is None else (s.function, s.location.score)):
            if key is not None:
                members = list(run)
                hunk = _span(members[0], members[0].line, members[-1].line)
                yield replace(hunk, tie_breakers=min(member.tie_breakers for member in members))


def _span(suspect: Suspect, start: int, end: int) -> Suspect:
    location = suspect.location
    return Suspect(
        SuspiciousLocation(location.file, start, end, location.score, location.formula),
        suspect.function, suspect.line, suspect.spectrum, suspect.evidence, suspect.tie_breakers,
    )


def suspects(
    reproduction: Reproduction,
    workdir: Path,
    coverage: LineCoverage,
    *,
    formula: FormulaName = "ochiai",
    granularity: Granularity = "statement",
    trace_weight: float = TRACE_WEIGHT,
    given: Sequence[str] = (),
) -> list[Suspect]:
    """All suspicious locations, best first.

    `given` locations (see `parse_given`) come from a benchmark's perfect fault
    localization or a user who knows where to look: exact lines come first, as given, with
    score 1 (and no spectrum); files and functions restrict the ranking that follows them,
    less what the exact lines already cover. With exact lines only, no ranking is computed.
    """
    parsed = check_given(given, workdir)
    exact = [_given(item, workdir) for item in parsed if isinstance(item, GivenLines)]
    scopes = [item for item in parsed if isinstance(item, Scope)]
    if exact and not scopes:
        return exact
    ranked = rank(collect(reproduction, workdir, coverage), formula, granularity, trace_weight, scopes)
    return exact + [suspect for suspect in ranked if not any(_within(suspect, given) for given in exact)]


def localize(
    reproduction: Reproduction,
    workdir: Path,
    coverage: LineCoverage,
    limit: int,
    *,
    formula: FormulaName = "ochiai",
    granularity: Granularity = "statement",
    trace_weight: float = TRACE_WEIGHT,
    given: Sequence[str] = (),
) -> list[SuspiciousLocation]:
    """The `limit` most suspicious locations, best first: what generation works on."""
    ranked = suspects(
        reproduction, workdir, coverage,
        formula=formula, granularity=granularity, trace_weight=trace_weight, given=given,
    )
    return [suspect.location for suspect in ranked[:limit]]


def _within(suspect: Suspect, given: Suspect) -> bool:
    inner, outer = suspect.location, given.location
    return inner.file == outer.file and outer.start_line <= inner.start_line and inner.end_line <= outer.end_line


def _given(lines: GivenLines, workdir: Path) -> Suspect:
    source = SourceMap.for_file(read_source(workdir, lines.file), lines.file)
    location = SuspiciousLocation(lines.file, lines.start_line, lines.end_line, 1.0, "given")
    return Suspect(location, source.function(lines.start_line)[0], lines.start_line, None, 0.0)


def check_given(specs: Sequence[str], root: Path) -> list[GivenLines | Scope]:
    """Parse the given locations and check each against the project at `root`: a regular
    file inside it, reached without a symlink, readable as source, its lines within the file.

    Locations come from the command line or the environment and name files of an untrusted
    tree: checked on the user's tree before any test runs (so a typo costs no baseline run
    and `/etc/passwd:1` never gets near a generator), and again on the work dir, which the
    tests may have changed. Files are normalized (`./a.py` is `a.py`) to match coverage."""
    parsed = [parse_given(spec) for spec in specs]
    return [_checked(item, root) for item in parsed]


def _checked(given: GivenLines | Scope, root: Path) -> GivenLines | Scope:
    try:
        file = safe_files.inside(root, given.file)
        if isinstance(given, Scope):
            os.close(safe_files.open_regular(root, file))
            return Scope(file, given.function)
        lines = len(read_source(root, file).splitlines())
    except FileNotFoundError:
        raise BadInput(f"given location {given.file!r} is not a file of the project") from None
    except OSError as exc:  # outside the project, through a symlink, not a regular file, too large
        raise BadInput(f"given location {given.file!r} is not a file of the project: {exc}") from None
    except ValueError as exc:
        raise BadInput(f"given location {given.file!r} cannot be read as source: {exc}") from None
    if given.end_line > lines:
        raise BadInput(f"given location {given.file}:{given.end_line} is past the end of the file ({lines} lines)")
    return GivenLines(file, given.start_line, given.end_line)


def read_source(root: Path, relative: str) -> str:
    """The text of the source file `root/relative`, read as `safe_files` reads (no symlink,
    regular files only, bounded). Python files are decoded as Python does (PEP 263: a BOM
    or a coding line, else UTF-8), others as UTF-8. Raises OSError when the file cannot be
    read safely and ValueError when it cannot be decoded."""
    data = safe_files.read_bytes(root, relative)
    language = language_for(relative)
    encoding = language.source_encoding(data, relative) if language is not None else "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{relative} is not valid {encoding}: {exc.reason} at byte {exc.start}") from exc
