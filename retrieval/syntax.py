"""The little syntax retrieval needs, for every registered language, through tree-sitter.

Two questions only: where are the functions of a file (mining pairs function by function),
and where are the identifiers and literals of a snippet (token merging averages their
subtokens). tree-sitter answers both for broken code and for snippets that are not whole
files, which mined hunks and suspicious lines usually are.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

from tree_sitter import Node, Tree

from repairbot.languages import registry
from repairbot.languages.python import walk
from repairbot.languages.registry import LanguageSupport

_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})


@dataclass(frozen=True)
class Function:
    """A function's identity and extent; rows are 0-based and inclusive.

    `key` qualifies the name with its enclosing classes and functions (and, in Java, the
    parameter list, since overloads share a name), so the same function can be found in the
    file before and after a commit.
    """

    key: str
    start_row: int
    end_row: int
    start_byte: int
    end_byte: int


def language_for(path: str) -> str | None:
    """The name of `path`'s language (corpus pairs store names), None for no known language."""
    language = registry.language_for(path)
    return language.name if language is not None else None


def supported(language: str | None) -> bool:
    return language is not None and registry.by_name(language) is not None


def _language(name: str) -> LanguageSupport:
    language = registry.by_name(name)
    if language is None:
        raise ValueError(f"no language {name!r} (known: {', '.join(l.name for l in registry.languages())})")
    return language


def parse(source: bytes, language: str) -> Tree:
    return _language(language).parse(source)


def functions(source: bytes, language: str) -> list[Function]:
    """Every function, method and constructor, nested ones included, in source order."""
    found: list[Function] = []
    seen: dict[str, int] = {}
    for node in walk(parse(source, language).root_node):
        if node.type not in _language(language).functions:
            continue
        key = _qualified_name(node, language)
        # Same key twice (a redefinition, conditional defs): number them in source order.
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        found.append(Function(key, node.start_point.row, node.end_point.row, node.start_byte, node.end_byte))
    return found


def code_rows(source: bytes, language: str) -> set[int]:
    """0-based rows holding code: some token outside comments and docstrings."""
    rows: set[int] = set()
    pending = [parse(source, language).root_node]
    while pending:
        node = pending.pop()
        if node.type in _COMMENTS or _is_docstring(node):
            continue
        if node.child_count == 0:
            rows.update(range(node.start_point.row, node.end_point.row + 1))
        pending.extend(node.children)
    return rows


def likeliest_language(text: str) -> str:
    """The name of the registered language under whose grammar `text` parses with the
    fewest error nodes: the language of a snippet that comes without a file name (a model's
    prompt). Ties go to the language registered first."""

    def errors(language: LanguageSupport) -> int:
        pending, count = [language.parse(text.encode("utf-8")).root_node], 0
        while pending:
            node = pending.pop()
            count += node.is_error or node.is_missing
            if node.has_error:
                pending.extend(node.children)
        return count

    return min(registry.languages(), key=errors).name


def atom_spans(text: str, language: str | None) -> list[tuple[int, int]]:
    """Character spans [start, end) of the identifiers and literals in `text`, outermost
    first. An f-string with interpolations is not one atom: its parts are."""
    if not supported(language):
        return []
    assert language is not None
    data = text.encode("utf-8")
    atoms = _language(language).atoms
    spans: list[tuple[int, int]] = []
    pending = [parse(data, language).root_node]
    while pending:
        node = pending.pop()
        if node.type in atoms and node.start_byte < node.end_byte and not _interpolated(node):
            spans.append((node.start_byte, node.end_byte))
            continue
        pending.extend(reversed(node.children))
    if len(data) == len(text):
        return spans
    starts = list(itertools.accumulate((len(ch.encode("utf-8")) for ch in text), initial=0))
    return [(bisect.bisect_left(starts, s), bisect.bisect_left(starts, e)) for s, e in spans]


def _is_docstring(node: Node) -> bool:
    """A bare string statement: Python's docstrings (and string "comments"), which change
    documentation, not behaviour."""
    children = node.named_children
    return node.type == "expression_statement" and len(children) == 1 and children[0].type == "string"


def _interpolated(node: Node) -> bool:
    return any(child.type == "interpolation" for child in node.children)


def _qualified_name(node: Node, language: str) -> str:
    support = _language(language)
    parts = [_own_name(node, support)]
    parent = node.parent
    while parent is not None:
        if parent.type in support.types or parent.type in support.functions:
            parts.append(_own_name(parent, support))
        parent = parent.parent
    return ".".join(reversed(parts))


def _own_name(node: Node, language: LanguageSupport) -> str:
    name = node.child_by_field_name("name")
    text = name.text.decode("utf-8", "replace") if name is not None and name.text is not None else "?"
    if language.overloads and node.type in language.functions:
        parameters = node.child_by_field_name("parameters")
        if parameters is not None and parameters.text is not None:
            text += "".join(parameters.text.decode("utf-8", "replace").split())
    return text
