"""Python through tree-sitter rather than `ast`.

tree-sitter keeps the byte span of every token, operators included, so a patch can rewrite
one token and leave the rest of the file byte-for-byte as the developer wrote it; and it
parses broken code without raising, which checking thousands of candidates needs.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Collection, Iterator
from pathlib import PurePath

import tree_sitter_python
from tree_sitter import Language, Node, Query, QueryCursor, Tree

from repairbot.languages import ThreadParser, ends_its_line, own_line_indentation
from repairbot.languages.registry import Frame, InsertionPoint, LanguageSupport, lazy

LANGUAGE = Language(tree_sitter_python.language())
_PARSER = ThreadParser(LANGUAGE)
_MISSING = Query(LANGUAGE, "(MISSING) @missing")
SUFFIX = ".py"

SIMPLE_STATEMENTS = frozenset(
    {
        "expression_statement",
        "return_statement",
        "delete_statement",
        "raise_statement",
        "pass_statement",
        "break_statement",
        "continue_statement",
        "assert_statement",
        "global_statement",
        "nonlocal_statement",
        "import_statement",
        "import_from_statement",
        "future_import_statement",
        "print_statement",
        "exec_statement",
        "type_alias_statement",
    }
)
# Compound statements whose header (the code before the colon) runs each time control
# passes through them, so a fault there shows up on the header's line in coverage.
# def/class headers are left out: they run once, at import.
HEADED_STATEMENTS = frozenset(
    {
        "if_statement",
        "elif_clause",
        "while_statement",
        "for_statement",
        "with_statement",
        "match_statement",
        "case_clause",
        "except_clause",
    }
)
# Statements that report a failure the program detected (see repairbot.localize).
DETECTION_STATEMENTS = frozenset({"raise_statement", "assert_statement"})


def is_inert(statement: Node) -> bool:
    """A bare string statement (a docstring): running it does nothing, so it cannot be the
    fault. A failing doctest's traceback points at its docstring, and the doctest runs it."""
    return (
        statement.type == "expression_statement"
        and statement.named_child_count == 1
        and statement.named_children[0].type in ("string", "concatenated_string")
    )
# Scopes of their own: names bound inside them are not the enclosing function's locals.
_NESTED_SCOPES = frozenset(
    {
        "function_definition",
        "class_definition",
        "lambda",
        "list_comprehension",
        "set_comprehension",
        "dictionary_comprehension",
        "generator_expression",
    }
)
TARGET_CONTAINERS = frozenset(
    {
        "parameters",
        "typed_parameter",
        "list_splat_pattern",
        "dictionary_splat_pattern",
        "pattern_list",
        "tuple_pattern",
        "list_pattern",
        "as_pattern_target",
    }
)


def parse(source: bytes) -> Tree:
    return _PARSER.parse(source)


def has_syntax_error(source: str | bytes) -> bool:
    """True for ERROR and MISSING nodes: a recovered parse can insert a missing `)` silently."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    root = parse(data).root_node
    return root.has_error or bool(QueryCursor(_MISSING).captures(root))


def statement_nodes_on_lines(tree: Tree, start_line: int, end_line: int) -> list[Node]:
    """The smallest statements touching lines `start_line..end_line` (1-based), in source order.

    A compound statement contributes only its header, the code before its colon (an `if`'s
    condition, a `for`'s target and iterable): its body is statements of its own, found on
    their own lines.
    """
    found: list[Node] = []
    pending = [tree.root_node]
    while pending:
        node = pending.pop()
        if not _touches(node, start_line, end_line):
            continue
        if node.type in SIMPLE_STATEMENTS:
            found.append(node)
            continue
        header = statement_header(node)
        found.extend(part for part in header if _touches(part, start_line, end_line))
        pending.extend(reversed([child for child in node.named_children if child not in header]))
    return found


def line_statements(root: Node) -> dict[int, Node]:
    """1-based line -> the statement it belongs to, for lines holding (part of) one: a
    simple statement's lines, a compound statement's header (up to its colon). Of two
    statements on one line (`if x: return`), the first."""
    lines: dict[int, Node] = {}
    for node in walk(root):
        for row in _statement_rows(node):
            lines.setdefault(row + 1, node)
    return lines


def enclosing_function(node: Node) -> Node | None:
    parent = node.parent
    while parent is not None and parent.type != "function_definition":
        parent = parent.parent
    return parent


def qualified_name(function: Node) -> str:
    """`Class.method`, `outer.inner`: the names of every enclosing class and function."""
    names = []
    node: Node | None = function
    while node is not None:
        if node.type in ("function_definition", "class_definition"):
            name = node.child_by_field_name("name")
            names.append(name.text.decode("utf-8") if name is not None and name.text is not None else "?")
        node = node.parent
    return ".".join(reversed(names))


def local_names(scope: Node) -> list[str]:
    """Parameters, then names assigned in `scope` (a function or module), in source order.

    These are the names a one-identifier fix can plausibly switch to; names bound in nested
    functions, classes or comprehensions are not visible at the statement, so they are left out.
    """
    return list(dict.fromkeys(name for name, _ in _bindings(scope)))


def names_bound_before(statement: Node) -> list[str]:
    """The parameters and locals of `statement`'s function (or module) bound before it,
    the most recently bound first: the values the code already holds when it runs."""
    scope = enclosing_function(statement) or root_of(statement)
    latest: dict[str, int] = {}
    for name, position in _bindings(scope):
        if position < statement.start_byte:
            latest[name] = position
    return sorted(latest, key=lambda name: -latest[name])


def _bindings(scope: Node) -> Iterator[tuple[str, int]]:
    """Each name `scope` binds and the first byte of what binds it, in source order."""
    parameters = scope.child_by_field_name("parameters")
    if parameters is not None:
        yield from ((name, parameters.start_byte) for name in bound_names(parameters))
    body = scope.child_by_field_name("body") or scope
    for node in walk(body, skip=_NESTED_SCOPES):
        if node.type in ("assignment", "augmented_assignment", "for_statement"):
            target = node.child_by_field_name("left")
        elif node.type == "named_expression":
            target = node.child_by_field_name("name")
        elif node.type == "as_pattern_target":
            target = node
        else:
            continue
        yield from ((name, node.start_byte) for name in bound_names(target))


def root_of(node: Node) -> Node:
    while node.parent is not None:
        node = node.parent
    return node


def walk(node: Node, skip: Collection[str] = ()) -> Iterator[Node]:
    """`node` and its named descendants in source order, not entering nodes of a `skip` type."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        if current is node or current.type not in skip:
            pending.extend(reversed(current.named_children))


def _touches(node: Node, start_line: int, end_line: int) -> bool:
    return node.start_point.row + 1 <= end_line and node.end_point.row + 1 >= start_line


def _statement_rows(node: Node) -> range:
    """0-based rows of a statement, of a compound statement's header only; none otherwise."""
    if node.type in SIMPLE_STATEMENTS:
        return range(node.start_point.row, node.end_point.row + 1)
    if node.type in HEADED_STATEMENTS:
        colon = next((child for child in node.children if child.type == ":"), None)
        return range(node.start_point.row, (colon or node).start_point.row + 1)
    return range(0)


def statement_header(node: Node) -> list[Node]:
    if node.type not in HEADED_STATEMENTS:
        return []
    header: list[Node] = []
    for child in node.children:
        if child.type == ":":
            break
        if child.is_named and child.type != "comment":
            header.append(child)
    return header


def bound_names(target: Node | None) -> Iterator[str]:
    """Names a binding target binds: `a, *b = ...` binds a and b; `a[i] = ...` binds none."""
    if target is None:
        return
    if target.type == "identifier":
        yield target.text.decode("utf-8")
    elif target.type in ("default_parameter", "typed_default_parameter"):
        yield from bound_names(target.child_by_field_name("name"))
    elif target.type in TARGET_CONTAINERS:
        for child in target.named_children:
            yield from bound_names(child)


# Where a statement stands among others, so a line may go before or after it.
_BLOCKS = frozenset({"block", "module"})
# Clauses continue the statement before them: no line may come between.
_CLAUSES = frozenset({"elif_clause", "else_clause", "except_clause", "finally_clause", "case_clause"})
# Code after them never runs.
_JUMPS = frozenset({"return_statement", "raise_statement", "break_statement", "continue_statement"})
_COMPOUNDS = frozenset({"if_statement", "for_statement", "while_statement", "with_statement", "try_statement"})
_COMMENTS = (b"#",)


def insertion_points(data: bytes, tree: Tree, start_line: int, end_line: int) -> list[InsertionPoint]:
    """Lines a fix may insert around the statements on lines `start_line..end_line`: before
    a statement, after a simple one that is no jump, after each loop or branch a simple one
    ends, and first in the body of a compound statement whose header is there (a missing
    `i += 1` at the top of a loop). A `match`'s body holds cases, not statements: it gets none."""
    points: list[InsertionPoint] = []
    statements = dict.fromkeys(
        node if node.type in SIMPLE_STATEMENTS else node.parent for node in statement_nodes_on_lines(tree, start_line, end_line)
    )
    for statement in statements:
        if statement is None:
            continue
        indentation = own_line_indentation(data, statement)
        in_block = statement.parent is not None and statement.parent.type in _BLOCKS
        if indentation is not None and in_block and statement.type not in _CLAUSES:
            points.append(InsertionPoint(statement.start_point.row + 1, indentation, "before"))
        if statement.type in SIMPLE_STATEMENTS:
            if indentation is not None and in_block and statement.type not in _JUMPS \
                    and ends_its_line(data, statement, _COMMENTS):
                points.append(InsertionPoint(statement.end_point.row + 2, indentation, "after"))
            points.extend(_closing_points(data, statement))
            continue
        body = next((child for child in statement.children if child.type == "block"), None)
        first = None if body is None or statement.type == "match_statement" else next(
            (child for child in body.named_children if child.type != "comment"), None
        )
        body_indentation = None if first is None else own_line_indentation(data, first)
        if first is not None and body_indentation is not None:
            points.append(InsertionPoint(first.start_point.row + 1, body_indentation, "body"))
    return points


def _closing_points(data: bytes, statement: Node) -> Iterator[InsertionPoint]:
    """After each loop or branch that `statement` ends (it is the last line of their body):
    a line missing at the end of the block around them, such as `opstack.append(token)`
    after the inner `while` that pops, at its indentation, which no statement's own
    points reach."""
    while (compound := _owner(statement)) is not None and compound.end_byte == statement.end_byte:
        indentation = own_line_indentation(data, compound)
        if indentation is None or compound.parent is None or compound.parent.type not in _BLOCKS \
                or not ends_its_line(data, compound, _COMMENTS):
            return
        yield InsertionPoint(compound.end_point.row + 2, indentation, "after")
        statement = compound


def _owner(statement: Node) -> Node | None:
    """The compound statement whose body (or clause's body) holds `statement`."""
    block = statement.parent
    owner = block.parent if block is not None and block.type == "block" else None
    if owner is not None and owner.type in _CLAUSES:
        owner = owner.parent
    return owner if owner is not None and owner.type in _COMPOUNDS else None


def program(text: str) -> str | None:
    """The AST without layout and comments; None when tree-sitter or `ast` finds an error
    (tree-sitter also catches what `ast` lets through: a MISSING token)."""
    if has_syntax_error(text):
        return None
    try:
        return ast.dump(ast.parse(text))
    except (SyntaxError, ValueError):
        return None


def code_lines(text: str) -> dict[int, str]:
    """1-based line -> its code, whitespace collapsed: blank lines, comments, docstrings and
    other bare string statements hold no code. Raises SyntaxError."""
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




def reference_program(text: str) -> str | None:
    """`program` without docstrings and other bare strings, as `code_lines` reads the
    text; None when `ast` cannot parse it."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [
                s for s in body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))
            ]
            node.body = kept or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree)


def is_test_name(path: PurePath) -> bool:
    """pytest's test modules (`test_*.py`, `*_test.py`) and its `conftest.py` of fixtures."""
    return path.name.startswith("test_") or path.stem.endswith("_test") or path.name == "conftest.py"


# pytest's location lines (`path/file.py:12: in func`, `path/file.py:12: ValueError`) and
# Python's own (`File "path/file.py", line 12, in func`), which pytest prints for errors
# raised in subprocesses or quoted by plugins.
_PYTEST_LOCATION = re.compile(r"^(?P<path>[^\s:][^\s:]*\.py):(?P<line>\d+):(?: in (?P<function>\S+)|\s|$)")
_PYTHON_LOCATION = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<function>\S+))?')
_CHAIN_SEPARATORS = (
    "The above exception was the direct cause of the following exception",
    "During handling of the above exception, another exception occurred",
)


def traceback_frame(line: str) -> Frame | None:
    """The frame a line of a pytest report or a Python traceback names: pytest prints a
    location line for each frame, after the frame's code in its long style and before it
    in its short style, so either way their order is call order."""
    match = _PYTEST_LOCATION.match(line) or _PYTHON_LOCATION.match(line)
    return Frame(match["path"], int(match["line"]), match["function"]) if match else None


_ITERATION_INVALIDATED = re.compile(r"RuntimeError: .*\b(?:changed size|changed|mutated) during iteration")


def iteration_invalidated(message: str) -> bool:
    """A dict, set, deque or OrderedDict changed while a `for` iterated over it."""
    return _ITERATION_INVALIDATED.search(message) is not None


def chains_traceback(line: str) -> bool:
    """`raise X from Y` and an error while handling another print one traceback each."""
    return any(separator in line for separator in _CHAIN_SEPARATORS)


def source_encoding(data: bytes, relative: str) -> str:
    """As Python decodes a source file (PEP 263): a BOM or a coding line, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown coding, or bad UTF-8 where no coding line is
        raise ValueError(f"{relative}: {exc.msg}") from exc
    return encoding


SUPPORT = LanguageSupport.of_module(
    __name__,
    name="python",
    title="Python",
    suffixes=(SUFFIX,),
    line_comment="#",
    grammar=LANGUAGE,
    functions=frozenset({"function_definition"}),
    completion_engine=lazy("repairbot.generate.completion", "python_engine"),
    unbalanced=lazy("repairbot.generate.completion", "unbalanced"),
    types=frozenset({"class_definition"}),
    imports=frozenset({"import_statement", "import_from_statement", "future_import_statement"}),
    detection_statements=DETECTION_STATEMENTS,
    is_inert=is_inert,
    output_distances=lazy("repairbot.dataflow", "python_output_distances"),
    is_accessor=lazy("repairbot.dataflow", "is_accessor"),
    significant_indentation=True,
    atoms=frozenset({"identifier", "string", "integer", "float", "string_content"}),
    is_test_name=is_test_name,
    traceback_frame=traceback_frame,
    chains_traceback=chains_traceback,
    iteration_invalidated=iteration_invalidated,
    source_encoding=source_encoding,
    masks=lazy("repairbot.generate.masks", "python_masks"),
    insertion_points=insertion_points,
    empty_statement="pass",
    fix_templates=lazy("repairbot.generate.templates", "python_edits"),
)
