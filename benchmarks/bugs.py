"""A benchmark bug as every adapter describes it, and what its reference fix tells us: where
the fault is (for fault-localization accuracy and perfect fault localization) and whether a
patch is the same program.

The fault is the buggy file's code lines that differ from the fixed file's, compared with
comments dropped (and, in Python, docstrings and other bare strings, where QuixBugs' correct
programs keep alternative fixes; in Java, the package and import lines, which follow from
the folder QuixBugs keeps each version in). A fix that only inserts code has no buggy line of
its own: the statements just before and after the insertion stand for it, the convention of
the fault-localization literature. In Java only statements count: what else a fix touches (a
declaration, a closing brace) is no line that coverage ranks or a template rewrites.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from repairbot.domain import SuspiciousLocation, unified_diff
from repairbot.languages.registry import language_for
from repairbot.localize import SourceMap


@dataclass(frozen=True)
class Bug:
    """`project` is a ready-to-repair copy (never the user's checkout); `fixed` maps each
    file the reference fix changes to its fixed text."""

    name: str
    language: str  # "python" or "java"
    project: Path
    fixed: dict[str, str]
    test_command: list[str] | None = None
    # A javac project whose code is not in a layout the runner knows (QuixBugs' own folders).
    main_roots: list[str] | None = None
    test_roots: list[str] | None = None


@dataclass(frozen=True)
class Fault:
    """The statements (file, first line) a reference fix touches, and the functions (file,
    qualified name) holding them."""

    statements: frozenset[tuple[str, int]]
    functions: frozenset[tuple[str, str]]


def code_lines(text: str, file: str) -> dict[int, str]:
    """1-based line -> its code with comments dropped and whitespace collapsed, for the lines
    of `text` (the text of `file`) that hold code (the language's `code_lines`)."""
    language = language_for(file)
    if language is None:
        return {n: " ".join(line.split()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()}
    return language.code_lines(text)


def changed_lines(buggy: str, fixed: str, statements: set[int], file: str) -> set[int]:
    """Buggy-side code lines the fix replaces or deletes; around a pure insertion, the
    statements (of `statements`, their first lines) just before and after it."""
    before, after = code_lines(buggy, file), code_lines(fixed, file)
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


def fault_of(bug: Bug) -> Fault:
    """Statements of `bug`'s files that its reference fix changes (see the module's docstring)."""
    statements, functions = set(), set()
    for file, fixed in bug.fixed.items():
        buggy = (bug.project / file).read_text(encoding="utf-8")
        source = SourceMap.for_file(buggy, file)
        for line in changed_lines(buggy, fixed, source.statement_lines(), file):
            if not source.is_generated(line):
                statements.add((file, source.statement_line(line)))
                functions.add((file, source.function(line)[0]))
    return Fault(frozenset(statements), frozenset(functions))


def fault_rank(fault: Fault, locations: Sequence[SuspiciousLocation]) -> int | None:
    """1-based rank of the first location (as localization handed them to generation) whose
    lines hold a faulty statement; None when none of them does."""
    for index, location in enumerate(locations, start=1):
        if any(file == location.file and location.start_line <= line <= location.end_line
               for file, line in fault.statements):
            return index
    return None


def reference_diff(bug: Bug) -> str:
    """The reference fix as a unified diff of the buggy files: what a report shows beside a patch."""
    return "".join(
        unified_diff(file, (bug.project / file).read_text(encoding="utf-8"), fixed)
        for file, fixed in sorted(bug.fixed.items())
    )


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
    """Perfect fault localization: `FILE:START-END` for each run of faulty statements."""
    statements = fault_of(bug).statements
    specs = []
    for file in sorted({file for file, _ in statements}):
        runs = line_ranges(line for f, line in statements if f == file)
        specs += [f"{file}:{start}" if start == end else f"{file}:{start}-{end}" for start, end in runs]
    return specs


def matches_fix(bug: Bug, patched: dict[str, str]) -> bool:
    """The benchmarks' one judge of a patch (file -> its patched text): whether it changes
    the files `bug`'s reference fix changes, each into the same program (`same_program`)."""
    return set(patched) == set(bug.fixed) and all(
        same_program(text, bug.fixed[file], file) for file, text in patched.items()
    )


def patch_id(patched: dict[str, str]) -> str:
    """A patch's name that quotes none of its code (a published run keeps it): the hash of
    the programs it makes (file -> its patched text), as `same_program` reads them, so two
    patches that differ only in layout or comments share it."""
    digest = hashlib.sha256()
    for file, text in sorted(patched.items()):
        language = language_for(file)
        program = language.reference_program(text) if language is not None else None
        digest.update(f"{file}\0{program if program is not None else ' '.join(text.split())}\0".encode("utf-8"))
    return digest.hexdigest()[:16]


def same_program(patched: str, reference: str, file: str) -> bool:
    """Whether a patch is the reference fix up to layout and what `code_lines` drops: in
    Python comments, docstrings and other bare strings; in Java comments, the package and
    imports (QuixBugs' correct programs live in another package). A patch that does not
    parse is no program."""
    language = language_for(file)
    if language is None:
        return patched.split() == reference.split()
    program = language.reference_program(patched)
    return program is not None and program == language.reference_program(reference)


def git_apply(cwd: Path, diff: str, *options: str) -> subprocess.CompletedProcess[str]:
    """`git apply` of `diff` with paths relative to `cwd`: no repository above it is looked
    for (one would make them relative to its root). The caller reads the return code."""
    return subprocess.run(
        ["git", "apply", *options, "-"], cwd=cwd, input=diff, text=True, capture_output=True,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(cwd.parent)},
    )
