"""A benchmark bug as every adapter describes it, and what its reference fix tells us: where
the fault is (for perfect fault localization) and whether a patch is the same program.

A fix that only inserts code has no buggy line of its own: the statements just before and
after the insertion stand for it, the convention of the fault-localization literature.
"""

from __future__ import annotations

import ast
import difflib
import io
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Bug:
    """`project` is a ready-to-repair copy (never the user's checkout); `fixed` maps each
    file the reference fix changes to its fixed text."""

    name: str
    language: str  # "python" or "java"
    project: Path
    fixed: dict[str, str]
    test_command: list[str] | None = None


def code_lines(text: str) -> dict[int, str]:
    """1-based line -> its code with comments dropped and whitespace collapsed, for lines
    holding code: not blank, not comments, not docstrings or other bare string statements
    (QuixBugs' correct programs keep alternative fixes in such strings)."""
    strings: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            strings.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    lines = text.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column]
    return {
        number: " ".join(line.split())
        for number, line in enumerate(lines, start=1)
        if line.strip() and number not in strings
    }


def changed_lines(buggy: str, fixed: str, statements: set[int]) -> set[int]:
    """Buggy-side code lines the fix replaces or deletes; around a pure insertion, the
    statements (of `statements`, their first lines) just before and after it."""
    before, after = code_lines(buggy), code_lines(fixed)
    old = list(before)
    matcher = difflib.SequenceMatcher(a=list(before.values()), b=list(after.values()), autojunk=False)
    lines: set[int] = set()
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            lines.update(old[i1:i2])
        elif tag == "insert":
            lines.update([line for line in reversed(old[:i1]) if line in statements][:1])
            lines.update([line for line in old[i1:] if line in statements][:1])
    return lines


def line_ranges(lines: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted lines as inclusive runs: {3, 4, 5, 9} -> [(3, 5), (9, 9)]."""
    runs: list[tuple[int, int]] = []
    for line in sorted(lines):
        if runs and line == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], line)
        else:
            runs.append((line, line))
    return runs


def given_locations(bug: Bug) -> list[str]:
    """Perfect fault localization: `FILE:START-END` for each run of faulty lines."""
    from repairbot.localize import SourceMap

    specs = []
    for file, fixed in sorted(bug.fixed.items()):
        buggy = (bug.project / file).read_text(encoding="utf-8")
        source = SourceMap(buggy, Path(file).suffix)
        lines = {source.statement_line(line) for line in changed_lines(buggy, fixed, source.statement_lines())}
        specs += [f"{file}:{start}" if start == end else f"{file}:{start}-{end}" for start, end in line_ranges(lines)]
    return specs


def same_program(patched: str, reference: str, file: str) -> bool:
    """Whether a patch is the reference fix up to layout and comments (and, in Python,
    docstrings and other bare strings, where QuixBugs keeps alternative fixes)."""
    if file.endswith(".py"):
        try:
            return _python_program(patched) == _python_program(reference)
        except SyntaxError:
            return False
    return _tokens(patched) == _tokens(reference)


def _python_program(text: str) -> str:
    tree = ast.parse(text)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [
                s for s in body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))
            ]
            node.body = kept or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree)


def _tokens(text: str) -> list[str]:
    """Java (or any C-like source) as its tokens without comments; good enough to compare two
    versions of one file, which share their string literals."""
    import re

    without_comments = re.sub(r"//[^\n]*|/\*.*?\*/", " ", text, flags=re.DOTALL)
    return re.findall(r"\w+|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|\S", without_comments)
