"""Signs that a plausible patch passes the tests without fixing the bug (overfitting).

A test suite is a partial specification: a patch that makes the failing test pass by
testing for its very inputs (`if n == 7: return 13`), or by deleting the check that fired
(a `raise`, an `assert`), is plausible and wrong, the most common kinds of overfitting in
the APR literature (Smith et al., "Is the cure worse than the disease?"; Qi et al.'s Kali,
whose deletions pass weak suites). Two signs, read from the patch and the failing tests:

* the patch adds a literal that the failing tests' code holds and the original file does
  not (0, 1 and empty strings aside): it mentions what the test feeds in or expects;
* the patch leaves fewer detection statements (the language's `raise`/`throw`/`assert`)
  than the original file had.

A sign is a warning for the person reading the report and a reason to prefer another
plausible patch, never a verdict: a real fix may add a constant the test also uses.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence

from repairbot.domain import Candidate
from repairbot.generate.failures import FailingTest
from repairbot.languages.registry import language_for

_LITERAL = re.compile(r"\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
TRIVIAL = frozenset({"0", "1", '""', "''", "0.0", "1.0"})


def signs(candidate: Candidate, tests: Sequence[FailingTest]) -> list[str]:
    """Why `candidate` may overfit the failing `tests`; empty when nothing suggests it."""
    found = []
    test_literals = {m for test in tests for m in _LITERAL.findall(test.code)}
    for edit in candidate.edits:
        known = set(_LITERAL.findall(edit.original))
        added = {m for line in _added_lines(edit.original, edit.patched) for m in _LITERAL.findall(line)}
        taken = sorted((added & test_literals) - known - TRIVIAL)
        if taken:
            found.append(f"{edit.file}: adds {', '.join(taken)}, which the failing tests use (special-cases their inputs?)")
        before, after = _checks(edit.file, edit.original), _checks(edit.file, edit.patched)
        if after < before:
            found.append(f"{edit.file}: removes {before - after} check(s) (a raise, throw or assert)")
    return found


def _added_lines(before: str, after: str) -> Iterator[str]:
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            yield line[1:]


def _checks(file: str, text: str) -> int:
    language = language_for(file)
    if language is None or not language.detection_statements:
        return 0
    stack = [language.parse(text.encode("utf-8")).root_node]
    count = 0
    while stack:
        node = stack.pop()
        count += node.type in language.detection_statements
        stack.extend(node.children)
    return count
