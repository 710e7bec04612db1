"""Language support through tree-sitter: parsing, syntax checks and statement lookup.

One module per language, each building the `LanguageSupport` that `registry.py` finds by
file suffix, so the stages stay language-agnostic and a new language is a new module, not
a new branch in every stage.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from tree_sitter import Language, Node, Parser, Tree


class ThreadParser:
    """One tree-sitter parser per thread and language: a parser is not safe to share
    between threads (parallel validation and generation run in threads)."""

    def __init__(self, language: Language) -> None:
        self._language = language
        self._local = threading.local()

    def parse(self, source: bytes) -> Tree:
        parser = getattr(self._local, "parser", None)
        if parser is None:
            parser = self._local.parser = Parser(self._language)
        return parser.parse(source)


def own_line_indentation(data: bytes, node: Node) -> str | None:
    """The whitespace before `node` on its first line, or None when code precedes it there
    (`if x: return`, `} else if`): a line inserted before it would have no line of its own."""
    line_start = data.rfind(b"\n", 0, node.start_byte) + 1
    indentation = data[line_start : node.start_byte]
    return None if indentation.strip() else indentation.decode("utf-8")


def ends_its_line(data: bytes, node: Node, comments: tuple[bytes, ...]) -> bool:
    """Whether only a comment, or nothing, follows `node` on its last line: a line inserted
    after it then goes after that line."""
    newline = data.find(b"\n", node.end_byte)
    rest = data[node.end_byte : len(data) if newline < 0 else newline].strip()
    return not rest or rest.startswith(comments)


def function_at(tree: Tree, data: bytes, line: int, enclosing: Callable[[Node], Node | None]) -> Node | None:
    """The innermost function (the language's `enclosing_function`) holding `line` (1-based)
    of the parsed `data`, found from the line's first non-blank byte: a point inside its
    statement, not in the indentation, which belongs to the block around it. None for a line
    out of range or outside every function."""
    rows = data.split(b"\n")
    if not 1 <= line <= len(rows):
        return None
    column = len(rows[line - 1]) - len(rows[line - 1].lstrip())
    node = tree.root_node.descendant_for_point_range((line - 1, column), (line - 1, column))
    return enclosing(node) if node is not None else None
