"""What a model reads around a hole: the enclosing function and its neighbourhood, not the
whole file.

Reading the prompt is most of a model call's cost on a CPU (10-40 tokens/s with one
thread, against a few tokens to fill a hole), and it grows with the file: a 3,500-token
file read in full took minutes on a loaded machine before the first token. What a fix
needs is mostly the function it is in (function-level repair works from that alone), the
file's imports (which names exist) and, for a method, the class it belongs to. So the
prompt is those, in file order, with a `# ...` line (the language's comment) where lines
were left out, its prefix and suffix each capped in characters (about 4.3 characters a
token for the default model's tokenizer on Python code). A short file is read whole.

Only the model's prompt is cut: the completion engine (`repairbot.generate.completion`)
still checks every filling against the whole file, where the names and the parse live.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node, Tree

from repairbot.generate.sources import SourceFile
from repairbot.languages.registry import LanguageSupport


@dataclass(frozen=True)
class PromptLimits:
    """Caps of one prompt. 3,000 + 800 characters are about 900 tokens: 25 s to read on one
    idle core, a minute or so on a loaded one, well inside the model's default time limit."""

    prefix_chars: int = 3000
    suffix_chars: int = 800
    neighbour_lines: int = 10  # kept above and below the enclosing function
    head_share: float = 0.25  # of the prefix, at most, for the file's imports


@dataclass(frozen=True)
class _Scope:
    """Rows (0-based) of the code around a hole that the prompt keeps whole or in part."""

    start: int  # first row of the outermost enclosing function (decorators included)
    end: int  # its last row
    outside: tuple[int, ...]  # rows worth keeping above the window: imports, class and function headers


def bounded_prompt(source: SourceFile, prefix: str, suffix: str, limits: PromptLimits = PromptLimits()) -> tuple[str, str]:
    """The model's `prefix` and `suffix` for a hole of `source`, where `prefix` holds the
    file's rows up to the hole's start and `suffix` ends with the file's last rows (a mask's
    own text may sit at either end of the hole). A file within both caps together, or a side
    within its own, is kept whole: more of the file costs little then, and says more."""
    if len(prefix) + len(suffix) <= limits.prefix_chars + limits.suffix_chars:
        return prefix, suffix
    row = prefix.count("\n")
    column = len(prefix[prefix.rfind("\n") + 1 :].encode("utf-8"))
    end_row = source.data.count(b"\n") - suffix.count("\n")
    scope = _scope(source.language.parse(source.data), source.language, row, column, max(row, end_row))
    marker = f"{source.language.line_comment} ...\n"
    return (
        prefix if len(prefix) <= limits.prefix_chars else _prefix(prefix, scope, marker, limits),
        suffix if len(suffix) <= limits.suffix_chars else _suffix(suffix, scope.end - end_row, limits),
    )


def _scope(tree: Tree, language: LanguageSupport, row: int, column: int, end_row: int) -> _Scope:
    """The outermost function holding the hole, its header and those of the classes around
    it, and the file's imports; a hole outside any function is its own scope."""
    node: Node | None = tree.root_node.descendant_for_point_range((row, column), (row, column))
    function: Node | None = None
    while node is not None:
        if node.type in language.functions:
            function = node
        node = node.parent
    if function is None:
        start, end, classes = row, end_row, []
    else:
        decorated = function.parent if function.parent is not None and function.parent.type == "decorated_definition" else None
        start, end = (decorated or function).start_point[0], function.end_point[0]
        classes = [_name_row(node) for node in _ancestors(function) if node.type in language.types]
        classes.append(_name_row(function))  # its signature, should the window start inside it
    imports = [
        r for child in tree.root_node.children if child.type in language.imports
        for r in range(child.start_point[0], child.end_point[0] + 1)
    ]
    return _Scope(start, max(end, end_row), tuple(sorted({*imports, *classes})))


def _ancestors(node: Node) -> list[Node]:
    found = []
    parent = node.parent
    while parent is not None:
        found.append(parent)
        parent = parent.parent
    return found


def _name_row(node: Node) -> int:
    """The row with a class's or function's name (`class Cart(Base):`), past its
    decorators or annotations."""
    name = node.child_by_field_name("name")
    return (name or node).start_point[0]


def _prefix(prefix: str, scope: _Scope, marker: str, limits: PromptLimits) -> str:
    """The file's imports and class headers (up to `head_share` of the cap), then the window
    from `neighbour_lines` above the function to the hole, cut from its start to fit."""
    lines = prefix.split("\n")  # the last one is the hole's row up to the hole
    hole_row = len(lines) - 1
    head, used = [], 0
    for row in scope.outside:
        if row < hole_row and used + len(lines[row]) + 1 + len(marker) <= limits.prefix_chars * limits.head_share:
            head.append(row)
            used += len(lines[row]) + 1 + len(marker)
    room = limits.prefix_chars - used - len(marker)
    first = _first_row(lines, max(0, min(scope.start, hole_row) - limits.neighbour_lines), room)
    parts, previous = [], -1
    for row in (row for row in head if row < first):
        parts.append(_gap(lines[previous + 1 : row], marker) + lines[row] + "\n")
        previous = row
    window = "\n".join(lines[first:])
    return "".join(parts) + _gap(lines[previous + 1 : first], marker) + window[max(0, len(window) - room) :]


def _first_row(lines: list[str], start: int, room: int) -> int:
    """The first row, from `start` on, from which the rows to the last fit in `room` characters."""
    first, size = len(lines) - 1, len(lines[-1])
    while first > start and size + len(lines[first - 1]) + 1 <= room:
        first -= 1
        size += len(lines[first]) + 1
    return first


def _gap(skipped: list[str], marker: str) -> str:
    """What stands for rows left out: nothing; themselves when they are one or two blank lines
    (between groups of imports, before a definition); else the marker line."""
    if len(skipped) <= 2 and all(not line.strip() for line in skipped):
        return "".join(line + "\n" for line in skipped)
    return marker


def _suffix(suffix: str, rows_left: int, limits: PromptLimits) -> str:
    """The rest of the function (`rows_left` rows after the hole's) and `neighbour_lines`
    more, cut at a line end to fit."""
    lines = suffix.split("\n")  # the first one is the rest of the hole's row
    keep = max(rows_left, 0) + limits.neighbour_lines + 1
    window = "\n".join(lines[:keep]) + ("\n" if keep < len(lines) else "")
    if len(window) <= limits.suffix_chars:
        return window
    cut = window.rfind("\n", 0, limits.suffix_chars)
    return window[: cut + 1] if cut >= 0 else window[: limits.suffix_chars]
