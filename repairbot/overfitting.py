"""Signs that a plausible patch passes the tests without fixing the bug (overfitting).

A test suite is a partial specification: a patch that makes the failing test pass by
testing for its very inputs (`if n == 7: return 13`), or by deleting the check that fired
(a `raise`, an `assert`), is plausible and wrong, the most common kinds of overfitting in
the APR literature (Smith et al., "Is the cure worse than the disease?"; Qi et al.'s Kali,
whose deletions pass weak suites). The signs, read from the patch and the failing tests:

* the patch adds a literal that the failing tests' code holds and the original file does
  not (0, 1 and empty strings aside): it mentions what the test feeds in or expects;
* the patch leaves fewer detection statements (the language's `raise`/`throw`/`assert`)
  than the original file had;
* a function the patch changes no longer mentions one of its parameters: it ignores an input
  (a setter that stops setting, a computation that returns what the tests expect whatever
  it is given), the deletion of functionality that passes weak suites (Kali again);
* the patch changes an accessor that hands on a named value (a getter, setter or
  constructor that only moves values, `repairbot.dataflow.is_accessor`, and not only
  constants, which a stub returns): every test that builds an object runs one, so a patch
  there reaches every caller at once, and storing a value in another field or returning
  another one can make the failing test's observation come out right while the algorithm
  the test exercises stays wrong (`this.predecessors = successors` in a setter);
* a function returns one of its parameters where it returned a local it still computes
  (`return length_by_edge` for `return length_by_path`): the input handed back, the
  computation dropped, which passes a test whose input is already the answer.

A sign is a warning for the person reading the report and a reason to prefer another
plausible patch, never a verdict: a real fix may add a constant the test also uses.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tree_sitter import Node

from repairbot.dataflow import moves_a_name
from repairbot.domain import Candidate
from repairbot.generate.failures import FailingTest
from repairbot.languages.python import walk
from repairbot.languages.registry import LanguageSupport, language_for

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
        language = language_for(edit.file)
        if language is None:
            continue
        before, after = _Reading.of(language, edit.original), _Reading.of(language, edit.patched)
        if after.checks < before.checks:
            found.append(f"{edit.file}: removes {before.checks - after.checks} check(s) (a raise, throw or assert)")
        for function, names in before.parameters_dropped_by(after):
            found.append(f"{edit.file}: {function} no longer uses its parameter(s) {', '.join(names)} (ignores an input?)")
        for function in before.accessors_changed_by(after):
            found.append(f"{edit.file}: changes {function}, which only moves values (the fault is rarely in an accessor)")
        for function, parameter, result in before.results_discarded_by(after):
            found.append(f"{edit.file}: {function} returns its parameter {parameter} instead of {result}, "
                         "which it still computes (discards its result?)")
    return found


@dataclass(frozen=True)
class _Reading:
    """What the signs read from one version of a file, in one walk of one parse."""

    checks: int  # detection statements (`raise`, `throw`, `assert`)
    # (qualified name, parameter list) -> the parameters its body mentions, per function.
    parameter_reads: dict[tuple[str, str], set[str]]
    # (qualified name, parameter list) -> its text, per function.
    function_texts: dict[tuple[str, str], str]
    accessors: frozenset[tuple[str, str]]  # the functions that only move values
    # (qualified name, parameter list) -> the names its return statements return whole
    # (`return total`), and the variables its body mentions.
    returned: dict[tuple[str, str], set[str]]
    mentioned: dict[tuple[str, str], set[str]]

    @classmethod
    def of(cls, language: LanguageSupport, text: str) -> _Reading:
        checks, reads, texts, accessors, returned, mentioned = 0, {}, {}, set(), {}, {}
        for node in walk(language.parse(text.encode("utf-8")).root_node):
            checks += node.type in language.detection_statements
            parameters, body = node.child_by_field_name("parameters"), node.child_by_field_name("body")
            if node.type not in language.functions or parameters is None or body is None:
                continue
            key = (language.qualified_name(node), _text(parameters))
            names = {_text(name) for name in map(_declared_name, parameters.named_children) if name is not None}
            mentioned[key] = {_text(n) for n in walk(body) if _names_a_variable(n)}
            reads[key] = mentioned[key] & names
            returned[key] = {_text(value) for value in map(_returned_value, walk(body)) if value is not None}
            texts[key] = _text(node)
            if language.is_accessor(node) and moves_a_name(node):
                accessors.add(key)
        return cls(checks, reads, texts, frozenset(accessors), returned, mentioned)

    def parameters_dropped_by(self, after: _Reading) -> Iterator[tuple[str, list[str]]]:
        """Functions (matched by name and parameter list) whose body mentions a parameter
        here and not in `after`."""
        for key, read_after in after.parameter_reads.items():
            dropped = [name for name in self.parameter_reads.get(key, ()) if name not in read_after]
            if dropped:
                yield key[0], dropped


    def results_discarded_by(self, after: _Reading) -> Iterator[tuple[str, str, str]]:
        """(function, parameter, local) where `after` returns a parameter that this version
        did not, and no longer returns a local it still mentions: the input handed back
        while the computed result is dropped (a plausible patch on a suite whose checks the
        input happens to pass: Kali's deletion, as a swapped name)."""
        for key, returned_after in after.returned.items():
            parameters = self.parameter_reads.get(key, set()) | after.parameter_reads.get(key, set())
            dropped = sorted(self.returned.get(key, set()) - returned_after - parameters)
            handed_back = sorted((returned_after & parameters) - self.returned.get(key, set()))
            if key in self.returned and handed_back and dropped and dropped[0] in after.mentioned[key]:
                yield key[0], handed_back[0], dropped[0]

    def accessors_changed_by(self, after: _Reading) -> Iterator[str]:
        """Accessors here (matched by name and parameter list) whose text differs in `after`."""
        for key in sorted(self.accessors):
            if key in after.function_texts and after.function_texts[key] != self.function_texts[key]:
                yield key[0]


def _returned_value(node: Node) -> Node | None:
    """The variable a return statement returns whole (`return total`), else None."""
    if node.type != "return_statement":
        return None
    values = [child for child in node.named_children if "comment" not in child.type]
    return values[0] if len(values) == 1 and values[0].type == "identifier" else None


def _names_a_variable(node: Node) -> bool:
    """An identifier that is not a member after a dot (`this.next`, `self.h`) or the
    keyword of an argument (`f(h=1)`)."""
    if node.type != "identifier":
        return False
    before = node.prev_sibling
    if before is not None and before.type == ".":
        return False
    parent = node.parent
    return not (parent is not None and parent.type == "keyword_argument" and parent.child_by_field_name("name") == node)


def _declared_name(parameter: Node) -> Node | None:
    """The name a parameter declares: itself, its `name` field (a default or a Java
    parameter), or its first identifier (a typed or splat parameter)."""
    if parameter.type == "identifier":
        return parameter
    name = parameter.child_by_field_name("name")
    if name is not None and name.type == "identifier":
        return name
    return next((n for n in walk(parameter) if n.type == "identifier"), None)


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8")


def _added_lines(before: str, after: str) -> Iterator[str]:
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            yield line[1:]
