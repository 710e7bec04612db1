"""Multi-hunk patches from single-hunk partial fixes, guided by test outcomes (MultiMend).

A bug whose fix needs two hunks defeats every single-hunk generator: no one candidate makes
all failing tests pass. But with several failing tests, a candidate that fixes one hunk
usually makes *some* of them pass, and validation records which. Two such candidates at
different hunks whose fixed tests together cover every failing test are the likeliest
pair, so they are combined first; pairs that only enlarge the fixed set come after.

Both candidates hold the whole original and patched text of one file, so combining is
applying both changed line ranges to the original; candidates of different files, or
whose ranges overlap, are not combined (a `Candidate` changes one file). Pairs only: three
hunks would need a pair's partial verdict first, which a later round could use.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from repairbot.domain import Candidate, ValidationResult, Verdict


@dataclass(frozen=True)
class Hunk:
    """Lines `start..end` (0-based, end exclusive) of the original became `lines`."""

    start: int
    end: int
    lines: tuple[str, ...]


def fixed_tests(validation: ValidationResult, failing: Iterable[str]) -> frozenset[str]:
    """The target failing tests this candidate made pass."""
    passed = {o.test_id for o in validation.outcomes if o.ok}
    return frozenset(test for test in failing if test in passed)


def changed_hunk(candidate: Candidate) -> Hunk | None:
    """The one changed region of a candidate; None when nothing, or several separate
    regions, changed (already a multi-hunk candidate)."""
    old = candidate.original.splitlines(keepends=True)
    new = candidate.patched.splitlines(keepends=True)
    opcodes = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    changed = [index for index, (tag, *_) in enumerate(opcodes) if tag != "equal"]
    if not changed or any(opcodes[i][0] == "equal" for i in range(changed[0], changed[-1])):
        return None
    _, start, _, new_start, _ = opcodes[changed[0]]
    _, _, end, _, new_end = opcodes[changed[-1]]
    return Hunk(start, end, tuple(new[new_start:new_end]))


def combined(first: Candidate, second: Candidate) -> Candidate | None:
    """Both candidates' changes applied to their common original; None when they are in
    different files or their changed lines overlap or touch."""
    if first.file != second.file or first.original != second.original:
        return None
    hunks = [changed_hunk(first), changed_hunk(second)]
    if None in hunks:
        return None
    (low, low_candidate), (high, high_candidate) = sorted(zip(hunks, (first, second)), key=lambda pair: pair[0].start)
    if low.end >= high.start:  # sharing or touching lines: the two edits may interfere
        return None
    old = first.original.splitlines(keepends=True)
    patched = "".join([*old[: low.start], *low.lines, *old[low.end : high.start], *high.lines, *old[high.end :]])
    location = max((first.location, second.location), key=lambda loc: loc.score)
    return Candidate(
        file=first.file,
        original=first.original,
        patched=patched,
        generator=f"combine:{low_candidate.generator}+{high_candidate.generator}",
        description=f"{low_candidate.description}; {high_candidate.description}",
        location=location,
        prior=first.prior * second.prior,
    )


def combine_partial_fixes(validations: list[ValidationResult], failing: list[str]) -> list[Candidate]:
    """Two-hunk candidates from validated partial fixes, best first: pairs
    whose fixed tests cover every failing test, then by how many they cover, then by the
    product of priors."""
    partial = []
    for validation in validations:
        fixed = fixed_tests(validation, failing)
        if validation.verdict is Verdict.FAILS and 0 < len(fixed) < len(failing):
            partial.append((validation.candidate, fixed))
    scored = []
    for (first, first_fixed), (second, second_fixed) in itertools.combinations(partial, 2):
        if first_fixed <= second_fixed or second_fixed <= first_fixed:
            continue  # the pair fixes nothing the better one alone does not
        candidate = combined(first, second)
        if candidate is not None:
            covered = len(first_fixed | second_fixed)
            scored.append(((covered == len(failing), covered, candidate.prior), candidate))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    unique: dict[str, Candidate] = {}
    for _, candidate in scored:
        unique.setdefault(candidate.patched, candidate)
    return list(unique.values())
