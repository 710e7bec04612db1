"""A language is one registered object (`repairbot/languages/registry.py`): a third one,
defined in this module alone, flows through intake, localization and infill."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path, PurePath

import pytest

from repairbot.errors import BadInput
from repairbot.languages import python
from repairbot.languages.registry import CompletionRequest, LanguageSupport, language_for, register, unregister
from repairbot.models import Completion
from repairbot.pipeline import check_project
from retrieval.syntax import likeliest_language
from tests.files import write_files
from tests.test_infill import FakeModel, run, use_model


class ParsesGuide:
    """Starlark's completion engine here: a finished filling must leave a file that parses."""

    requests: list[CompletionRequest] = []

    def __init__(self, request: CompletionRequest) -> None:
        self.requests.append(request)
        self._request = request

    def allows(self, text: str, final: bool) -> bool:
        return not final or not STARLARK.has_syntax_error(self._request.prefix + text + self._request.suffix)

    def forced(self, text: str) -> str:
        return ""

    def code_end(self, text: str) -> int | None:
        return None


def _tokens(text: str) -> str | None:
    """Starlark's program: its tokens, comments left out."""
    tree = STARLARK.parse(text.encode("utf-8"))
    if tree.root_node.has_error:
        return None
    leaves, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "comment":
            continue
        if node.child_count == 0 or node.type == "string":
            leaves.append(node.text.decode("utf-8"))
        else:
            stack.extend(reversed(node.children))
    return " ".join(leaves)


# Starlark (Bazel's build language) is a dialect of Python: its syntax is Python's, so the
# tree-sitter grammar and the statement map are Python's; all else is its own.
STARLARK = LanguageSupport(
    name="starlark",
    title="Starlark",
    suffixes=(".star", ".bzl"),
    line_comment="#",
    grammar=python.LANGUAGE,
    parse=python.parse,
    has_syntax_error=python.has_syntax_error,
    program=lambda text: _tokens(text),
    reference_program=lambda text: _tokens(text),
    code_lines=lambda text: {n: " ".join(line.split()) for n, line in enumerate(text.splitlines(), 1) if line.strip()},
    line_statements=python.line_statements,
    enclosing_function=python.enclosing_function,
    qualified_name=python.qualified_name,
    functions=frozenset({"function_definition"}),
    completion_engine=ParsesGuide,
    unbalanced=lambda text: False,
    is_test_name=lambda path: PurePath(path).stem.endswith("_test"),
)

RULES = """\
def total(prices):
    s = 0
    for p in prices:
        s -= p
    return s
"""
# The tests load the rules as Bazel would: the file is run, not imported.
TESTS = """\
import pathlib

RULES = pathlib.Path(__file__).parent.parent / "rules.star"


def rules():
    namespace = {}
    exec(compile(RULES.read_text(), str(RULES), "exec"), namespace)
    return namespace


def test_total():
    assert rules()["total"]([1, 2]) == 3


def test_nothing_costs_nothing():
    assert rules()["total"]([]) == 0
"""


@pytest.fixture
def starlark() -> Iterator[LanguageSupport]:
    ParsesGuide.requests.clear()
    register(STARLARK)
    yield STARLARK
    unregister(STARLARK.name)


def test_a_registered_language_is_found_by_its_suffixes(starlark: LanguageSupport) -> None:
    assert language_for("build/defs.bzl") is starlark
    assert language_for("rules.star") is starlark
    assert language_for("rules.py") is python.SUPPORT
    with pytest.raises(ValueError, match="suffix .py belongs to python"):
        register(dataclasses.replace(STARLARK, name="other", suffixes=(".py",)))


def test_a_snippet_without_a_file_name_is_read_in_the_grammar_it_parses_under() -> None:
    assert likeliest_language("def total(xs):\n    return sum(xs)\n") == "python"
    assert likeliest_language("int total(int[] xs) { return xs.length; }") == "java"


def test_intake_accepts_a_project_of_only_a_registered_language(tmp_path: Path, starlark: LanguageSupport) -> None:
    project = write_files(tmp_path / "p", {"rules.star": RULES})
    check_project(project)
    unregister(starlark.name)
    try:
        with pytest.raises(BadInput, match="holds no Python or Java sources"):
            check_project(project)
    finally:
        register(starlark)


def test_a_registered_language_is_localized_and_repaired_by_infill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, starlark: LanguageSupport
) -> None:
    model = FakeModel({4: [Completion("s -= p  # unchanged", -0.1), Completion("s += p", -0.2)]})
    use_model(monkeypatch, model)
    project = write_files(tmp_path / "p", {"rules.star": RULES, "tests/test_rules.py": TESTS})
    result, _ = run(project, tmp_path, runner="pytest", generators=["infill"])
    # Localization: coverage of the .star file, its statements from the language's map.
    top = result.locations[0]
    assert (top.file, top.start_line) == ("rules.star", 4)
    # Infill: the hole's prompt, the language's own engine, its program for dedupe (the
    # first filling is the buggy program again, comment aside: no candidate).
    assert [request.path.name for request in ParsesGuide.requests] == ["rules.star"]
    [patch] = result.patches
    assert patch.candidate.patched == RULES.replace("s -= p", "s += p")
    assert [v.candidate.patched for v in result.validations] == [patch.candidate.patched]
