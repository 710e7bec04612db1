"""Multi-hunk patches from single-hunk candidates, guided by test outcomes (MultiMend).

A bug whose fix needs two hunks defeats every single-hunk generator: no one candidate makes
all failing tests pass. But with several failing tests, a candidate that fixes one hunk
usually makes *some* of them pass, and validation records which (with several failing
tests, all of them run: `validators.validate`). Two such partial fixes at different
locations whose fixed tests together cover every failing test are the likeliest pair, so
pairs come in greedy set-cover order (those covering all failing tests, then those covering
more), then by the product of their priors.

One failing test may need both hunks, and then no candidate of either hunk fixes it alone.
So, as MultiMend does, the likeliest candidate of each of the `BLIND_LOCATIONS` most
suspicious locations whose candidates fixed nothing takes part too: a bounded few
pairs, tried after the pairs the evidence points to.

Both candidates hold the whole original and patched text of their file. Two candidates of
one file are merged by applying both changed line ranges (difflib) to the original, and
refused when the ranges overlap; candidates of two files make one candidate that changes
both (`Candidate.other_files`). Pairs only: a third hunk would need a pair's partial verdict
first, so combined candidates are never combined again.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from repairbot.domain import Candidate, FileEdit, SuspiciousLocation, ValidationResult, Verdict
from repairbot.rank import program_key

GENERATOR = "combine"
BLIND_LOCATIONS = 3


@dataclass(frozen=True)
class Hunk:
    """Lines `start..end` (0-based, end exclusive) of the original became `lines`."""

    start: int
    end: int
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Member:
    """A validated single-hunk candidate that may take part in a pair, with the failing
    tests it made pass (none for a blind member) and its one changed region."""

    candidate: Candidate
    fixed: frozenset[str]
    hunk: Hunk


def fixed_tests(validation: ValidationResult, failing: Iterable[str]) -> frozenset[str]:
    """The target failing tests this candidate made pass."""
    passed = {o.test_id for o in validation.outcomes if o.ok}
    return frozenset(test for test in failing if test in passed)


def changed_hunk(candidate: Candidate) -> Hunk | None:
    """The one changed region of a candidate; None when nothing, or several separate
    regions, or several files changed (already a multi-hunk candidate)."""
    if candidate.other_files:
        return None
    old = candidate.original.splitlines(keepends=True)
    new = candidate.patched.splitlines(keepends=True)
    opcodes = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    changed = [index for index, (tag, *_) in enumerate(opcodes) if tag != "equal"]
    if not changed or any(opcodes[i][0] == "equal" for i in range(changed[0], changed[-1])):
        return None
    _, start, _, new_start, _ = opcodes[changed[0]]
    _, _, end, _, new_end = opcodes[changed[-1]]
    return Hunk(start, end, tuple(new[new_start:new_end]))


def merged_text(original: str, first: Hunk, second: Hunk) -> str | None:
    """`original` with both hunks applied; None when they change a common line or insert
    at the same point (then neither order of the two edits is the obvious one). Adjacent
    hunks are fine: each replaces its own lines."""
    low, high = sorted((first, second), key=lambda hunk: (hunk.start, hunk.end))
    if low.end > high.start or (low.start, low.end) == (high.start, high.end):
        return None
    old = original.splitlines(keepends=True)
    return "".join([*old[: low.start], *low.lines, *old[low.end : high.start], *high.lines, *old[high.end :]])


def combined(first: Member, second: Member) -> Candidate | None:
    """Both members' changes in one candidate; None when their locations or changed lines
    overlap. In one file the hunks are listed top to bottom; across files the more
    suspicious member's file is the candidate's `file` (the description names the other)."""
    a, b = first.candidate, second.candidate
    if _overlap(a.location, b.location):
        return None
    location = max((a.location, b.location), key=lambda loc: loc.score)
    if a.file == b.file:
        if a.original != b.original or (patched := merged_text(a.original, first.hunk, second.hunk)) is None:
            return None
        low, high = (a, b) if first.hunk.start < second.hunk.start else (b, a)
        return Candidate(
            a.file, a.original, patched, f"{GENERATOR}:{low.generator}+{high.generator}",
            f"{low.description}; {high.description}", location, a.prior * b.prior,
        )
    main, other = (a, b) if a.location is location else (b, a)
    return Candidate(
        main.file, main.original, main.patched, f"{GENERATOR}:{main.generator}+{other.generator}",
        f"{main.description}; {other.file} {other.description}", location, a.prior * b.prior,
        other_files=(FileEdit(other.file, other.original, other.patched),),
    )


def members(validations: list[ValidationResult], failing: list[str]) -> list[Member]:
    """Partial fixes (a non-empty proper subset of the failing tests pass), and the blind
    members: per location, the likeliest candidate that fixed nothing, at the most
    suspicious `BLIND_LOCATIONS` locations."""
    partial: list[Member] = []
    blind: dict[SuspiciousLocation, Member] = {}
    for validation in validations:
        candidate = validation.candidate
        if validation.verdict is not Verdict.FAILS or candidate.generator.startswith(f"{GENERATOR}:"):
            continue
        fixed = fixed_tests(validation, failing)
        if len(fixed) == len(failing) or (hunk := changed_hunk(candidate)) is None:
            continue
        if fixed:
            partial.append(Member(candidate, fixed, hunk))
        elif (best := blind.get(candidate.location)) is None or _likelier(candidate, best.candidate):
            blind[candidate.location] = Member(candidate, fixed, hunk)
    top = sorted(blind, key=lambda location: -location.score)[:BLIND_LOCATIONS]
    return partial + [blind[location] for location in top]


def combine(validations: list[ValidationResult], failing: list[str], complete_only: bool = False) -> Iterator[Candidate]:
    """Two-hunk candidates from the validated ones, best first, without repeats: pairs whose
    fixed tests cover every failing test, then by how many they cover, then by the product
    of priors (`complete_only`: only the first kind). Lazy: pairs are scored by their tests
    and priors, and only as many are built as the caller takes."""
    pairs = []
    for first, second in itertools.combinations(members(validations, failing), 2):
        if first.fixed and second.fixed and (first.fixed <= second.fixed or second.fixed <= first.fixed):
            continue  # the pair is not known to fix anything the better one alone does not
        covered = len(first.fixed | second.fixed)
        if complete_only and covered < len(failing):
            continue
        prior = first.candidate.prior * second.candidate.prior
        pairs.append(((covered == len(failing), covered, prior), first, second))
    pairs.sort(key=lambda pair: pair[0], reverse=True)
    seen: set[tuple[str, str]] = set()
    for _, first, second in pairs:
        candidate = combined(first, second)
        if candidate is not None and (key := program_key(candidate)) not in seen:
            seen.add(key)
            yield candidate


def _likelier(candidate: Candidate, other: Candidate) -> bool:
    return (candidate.prior, -candidate.size) > (other.prior, -other.size)


def _overlap(a: SuspiciousLocation, b: SuspiciousLocation) -> bool:
    return a.file == b.file and a.start_line <= b.end_line and b.start_line <= a.end_line
