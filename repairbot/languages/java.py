"""Java through tree-sitter, the counterpart of `python` for localization: parse, statements
by line, and the method holding a statement; and finding a class's source file in a
project, which Java names only by package path (`JavaSources`).

Statements are what a line of JaCoCo coverage or a stack-trace frame can be pinned to:
simple statements (field initializers included: they run in every constructor), and the
header of compound ones (an `if`'s condition, a `for`'s `(init; condition; update)`, a
`catch (...)`), whose bytecode javac attributes to the header's lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePath, PurePosixPath

import tree_sitter_java
from tree_sitter import Language, Node, Query, QueryCursor, Tree

from repairbot.languages import ThreadParser, ends_its_line, own_line_indentation
from repairbot.languages.registry import Frame, InsertionPoint, LanguageSupport, lazy

LANGUAGE = Language(tree_sitter_java.language())
_PARSER = ThreadParser(LANGUAGE)
_MISSING = Query(LANGUAGE, "(MISSING) @missing")
SUFFIX = ".java"

SIMPLE_STATEMENTS = frozenset(
    {
        "expression_statement",
        "local_variable_declaration",
        "field_declaration",
        "explicit_constructor_invocation",
        "return_statement",
        "throw_statement",
        "break_statement",
        "continue_statement",
        "yield_statement",
        "assert_statement",
    }
)
# Compound statements and the last child of their header (a field name, or a node type):
# javac puts the header's bytecode (condition, loop update, resource setup, exception
# store) on its lines.
HEADED_STATEMENTS = {
    "if_statement": "condition",
    "while_statement": "condition",
    "switch_expression": "condition",
    "synchronized_statement": "parenthesized_expression",
    "for_statement": ")",
    "enhanced_for_statement": ")",
    "catch_clause": ")",
    "try_with_resources_statement": "resources",
}
# A do loop's header is its trailing `while (condition);`.
DO_STATEMENT = "do_statement"
# `switch` is a statement only where a statement may stand; elsewhere it is part of the
# expression holding it (`int y = switch (x) { ... };`).
_STATEMENT_PARENTS = frozenset(
    {
        "block", "constructor_body", "switch_block_statement_group", "labeled_statement",
        "if_statement", "while_statement", "for_statement", "enhanced_for_statement", "do_statement",
    }
)
FUNCTIONS = frozenset({"method_declaration", "constructor_declaration", "compact_constructor_declaration"})
TYPES = frozenset(
    {"class_declaration", "interface_declaration", "enum_declaration", "record_declaration", "annotation_type_declaration"}
)
# Statements that report a failure the program detected (see repairbot.localize).
DETECTION_STATEMENTS = frozenset({"throw_statement", "assert_statement"})


def is_inert(statement: Node) -> bool:
    """Java has no statement that does nothing when run (`;` alone is no line of coverage)."""
    return False


def parse(source: bytes) -> Tree:
    return _PARSER.parse(source)


def line_statements(root: Node) -> dict[int, Node]:
    """1-based line -> the statement it belongs to, for lines holding (part of) one.

    A statement in a lambda body or an anonymous class is its own statement even though
    the statement holding the lambda or class spans its lines; otherwise a line belongs to
    the first statement on it (`if (x) return;` is the `if`). Lines of no statement
    (declarations, braces, `else`, `case` labels) are absent: what JaCoCo reports there
    is code the compiler generated (a default constructor on the class line, the implicit
    `super()` on a constructor's, a void method's return on its closing brace).
    """
    lines: dict[int, Node] = {}
    pending = [root]
    while pending:
        node = pending.pop()
        rows, header = statement_rows(node)
        # A do loop's statement, as ranked, is its condition: the first line of the header.
        statement = header[0] if node.type == DO_STATEMENT and header else node
        for row in rows:
            current = lines.get(row + 1)
            if current is None or (current.type in SIMPLE_STATEMENTS and _contains(current, node)):
                lines[row + 1] = statement
        pending.extend(reversed([child for child in node.named_children if child not in header]))
    return lines


def statements_on_lines(tree: Tree, start_line: int, end_line: int) -> list[Node]:
    """The statements of lines `start_line..end_line` (1-based, as `line_statements` assigns
    them), each once, in source order: what the templates and masks rewrite."""
    lines = line_statements(tree.root_node)
    found = {lines[line].id: lines[line] for line in range(start_line, end_line + 1) if line in lines}
    return sorted(found.values(), key=lambda statement: statement.start_byte)


def enclosing_function(node: Node) -> Node | None:
    parent = node.parent
    while parent is not None and parent.type not in FUNCTIONS:
        parent = parent.parent
    return parent


def qualified_name(function: Node) -> str:
    """`Class.method`, with every enclosing type and method: `Outer.Inner.method`, and
    `Outer.method.run` for `run` of an anonymous class inside `Outer.method`. Constructors
    are named after their class (`Cart.Cart`)."""
    names = []
    node: Node | None = function
    while node is not None:
        if node.type in FUNCTIONS or node.type in TYPES:
            name = node.child_by_field_name("name")
            names.append(name.text.decode("utf-8") if name is not None and name.text is not None else "?")
        node = node.parent
    return ".".join(reversed(names))


def statement_rows(node: Node) -> tuple[range, list[Node]]:
    """0-based rows of `node` as a statement (empty when it is none) and the children that
    make up its header: those hold no statements of their own (a `for`'s `int i = 0`)."""
    if node.type in SIMPLE_STATEMENTS:
        return range(node.start_point.row, node.end_point.row + 1), []
    if node.type == DO_STATEMENT:
        condition = node.child_by_field_name("condition")
        if condition is None:
            return range(0), []
        return range(condition.start_point.row, node.end_point.row + 1), [condition]
    last = HEADED_STATEMENTS.get(node.type)
    if last is None or (node.type == "switch_expression" and _in_expression(node)):
        return range(0), []
    header: list[Node] = []
    end = node
    for index, child in enumerate(node.children):
        if child.is_named:
            header.append(child)
        end = child
        if last in (child.type, node.field_name_for_child(index)):
            break
    return range(node.start_point.row, end.end_point.row + 1), header


def _in_expression(switch: Node) -> bool:
    return switch.parent is None or switch.parent.type not in _STATEMENT_PARENTS


def _contains(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


# Where a statement stands among others, so a line may go before or after it (not a field
# in a class body, nor the body of an `if` without braces, which a new line would replace).
_BLOCKS = frozenset({"block", "constructor_body", "switch_block_statement_group"})
# Code after them is unreachable, which javac rejects.
_JUMPS = frozenset({"return_statement", "throw_statement", "break_statement", "continue_statement", "yield_statement"})
_COMPOUNDS = frozenset({"if_statement", "while_statement", "for_statement", "enhanced_for_statement"})
_COMMENTS = (b"//", b"/*")


def insertion_points(data: bytes, tree: Tree, start_line: int, end_line: int) -> list[InsertionPoint]:
    """Lines a fix may insert around the statements on lines `start_line..end_line`: before
    a statement (not before `super(...)`, which must come first), after a simple one that is
    no jump, after each loop or branch a simple one ends, and first in the braced body of a compound statement whose header is there (a
    missing `i++` at the top of a loop). A `switch` body holds cases: it gets none."""
    lines = line_statements(tree.root_node)
    statements = {lines[line].id: lines[line] for line in range(start_line, end_line + 1) if line in lines}
    points: list[InsertionPoint] = []
    for statement in sorted(statements.values(), key=lambda node: node.start_byte):
        simple = statement.type in SIMPLE_STATEMENTS
        if not simple and statement.type not in HEADED_STATEMENTS:
            continue  # a do loop's condition
        indentation = own_line_indentation(data, statement)
        in_block = statement.parent is not None and statement.parent.type in _BLOCKS
        if indentation is not None and in_block and statement.type != "explicit_constructor_invocation":
            points.append(InsertionPoint(statement.start_point.row + 1, indentation, "before"))
        if simple:
            if indentation is not None and in_block and statement.type not in _JUMPS \
                    and ends_its_line(data, statement, _COMMENTS):
                points.append(InsertionPoint(statement.end_point.row + 2, indentation, "after"))
            points.extend(_closing_points(data, statement))
            continue
        body = statement.child_by_field_name("body") or statement.child_by_field_name("consequence")
        first = None if body is None or body.type != "block" else next(
            (child for child in body.named_children if "comment" not in child.type), None
        )
        body_indentation = None if first is None else own_line_indentation(data, first)
        if first is not None and body_indentation is not None:
            points.append(InsertionPoint(first.start_point.row + 1, body_indentation, "body"))
    return points


def _closing_points(data: bytes, statement: Node) -> Iterator[InsertionPoint]:
    """After each loop or branch that `statement` ends (the last statement of their last
    braced body): a line missing at the end of the block around them, such as
    `opstack.push(token)` after the inner `while` that pops, at its indentation, which no
    statement's own points reach."""
    while (compound := _owner(statement)) is not None:
        indentation = own_line_indentation(data, compound)
        if indentation is None or compound.parent is None or compound.parent.type not in _BLOCKS \
                or not ends_its_line(data, compound, _COMMENTS):
            return
        yield InsertionPoint(compound.end_point.row + 2, indentation, "after")
        statement = compound


def _owner(statement: Node) -> Node | None:
    """The loop or branch whose last braced body ends with `statement` (the outermost of an
    `else if` chain), or None."""
    block = statement.parent
    if block is None or block.type != "block":
        return None
    last = [child for child in block.named_children if "comment" not in child.type][-1]
    owner = block.parent
    if last != statement or owner is None or owner.type not in _COMPOUNDS or owner.end_byte != block.end_byte:
        return None
    while owner.parent is not None and owner.parent.type == "if_statement" and owner.parent.end_byte == owner.end_byte:
        owner = owner.parent
    return owner


class JavaSources:
    """A project's Java files by their path below a source root (`pkg/Cls.java`), as
    JaCoCo and stack traces name them. Found by suffix, so any directory may be a source
    root (`src/main/java`, `src`, or the project root itself, as in QuixBugs), and `roots`
    (directories relative to `workdir`) only narrow the search. When several files match
    (copies of a source tree), the one nearest the project root counts, then the first by
    name. Files under hidden directories (build output in `.repairbot/`) never do."""

    def __init__(self, workdir: Path, roots: list[str] | None = None) -> None:
        found: set[str] = set()
        for root in roots if roots is not None else ["."]:
            for path in (workdir / root).rglob(f"*{SUFFIX}"):
                relative = path.relative_to(workdir)
                if path.is_file() and not any(part.startswith(".") for part in relative.parts[:-1]):
                    found.add(relative.as_posix())
        self._files = sorted(found, key=lambda relative: (relative.count("/"), relative))

    def find(self, package_path: str) -> str | None:
        """The project file (POSIX, relative to the work dir) for `pkg/Cls.java`; None for
        a class of the JDK or a library."""
        wanted = PurePosixPath(package_path).parts
        return next((file for file in self._files if PurePosixPath(file).parts[-len(wanted):] == wanted), None)


def has_syntax_error(source: str | bytes) -> bool:
    """True for ERROR and MISSING nodes: a recovered parse can insert a missing `;` silently."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    root = parse(data).root_node
    return root.has_error or bool(QueryCursor(_MISSING).captures(root))


def program(source: str) -> str | None:
    """The file's tokens without comments or layout: two texts that differ only there are
    the same program (the Java counterpart of comparing Python ASTs); None when it does
    not parse."""
    data = source.encode("utf-8")
    if has_syntax_error(data):
        return None
    tokens: list[str] = []
    stack = [parse(data).root_node]
    while stack:
        node = stack.pop()
        if node.type in ("line_comment", "block_comment"):
            continue
        if node.child_count == 0 or node.type in ("string_literal", "character_literal"):
            tokens.append(data[node.start_byte : node.end_byte].decode("utf-8"))
        else:
            stack.extend(reversed(node.children))
    return " ".join(tokens)


def code_lines(text: str) -> dict[int, str]:
    """1-based line -> its code, whitespace collapsed, of the lines `code` keeps."""
    lines = code(text).splitlines()
    return {number: " ".join(line.split()) for number, line in enumerate(lines, start=1) if line.strip()}


def code(text: str) -> str:
    """`text` with comments, the package declaration and imports blanked (newlines kept):
    QuixBugs' correct programs live in another package, so they import the helper classes
    the buggy ones share a package with."""
    data = bytearray(text.encode("utf-8"))
    pending = [parse(bytes(data)).root_node]
    while pending:
        node = pending.pop()
        if node.type in ("line_comment", "block_comment", "package_declaration", "import_declaration"):
            data[node.start_byte:node.end_byte] = bytes(b if b == ord("\n") else ord(" ") for b in data[node.start_byte:node.end_byte])
        else:
            pending.extend(node.children)
    return data.decode("utf-8")


def reference_program(text: str) -> str | None:
    """`program` without the package and imports, as `code_lines` reads the text."""
    return program(code(text))


def is_test_class(path: PurePath) -> bool:
    """Maven Surefire's test classes: `*Test`, `*Tests`, `*TestCase`, and `Test*` where
    `Test` is a word of its own (not `Testament`)."""
    name = path.stem
    return name.endswith(("Test", "Tests", "TestCase")) or (name.startswith("Test") and not name[4:5].islower())


# `at [module@version/]pkg.Cls$Inner.method(Cls.java:12)`; a class loader's name may come
# first (`app//pkg.Cls...`).
_FRAME = re.compile(
    r"^\s*at (?:[^\s(/]*/)*(?P<cls>[\w$.]+)\.(?P<function>[\w$<>]+)\((?P<file>[\w$]+\.java):(?P<line>\d+)\)"
)
_CHAINED = re.compile(r"^\s*(?:Caused by|Suppressed): ")


def traceback_frame(line: str) -> Frame | None:
    """The frame of a JVM stack trace line. It names its source only by class and file
    name, so the frame's file is the package path (`pkg/Cls.java`), which `JavaSources`
    finds below some source root."""
    match = _FRAME.match(line)
    if match is None:
        return None
    return Frame(_package_path(match["cls"], match["file"]), int(match["line"]), match["function"])


def iteration_invalidated(message: str) -> bool:
    """A collection changed while an iterator (a for-each loop's) walked it."""
    return "java.util.ConcurrentModificationException" in message


def chains_traceback(line: str) -> bool:
    """A chained exception's cause (`Caused by:`) or one it suppressed (`Suppressed:`)."""
    return _CHAINED.match(line) is not None


def _package_path(cls: str, file: str) -> str:
    """`pkg.sub.Cls$Inner` in `Cls.java` -> `pkg/sub/Cls.java` (nested classes share their
    top-level class's file, which the frame names)."""
    package = cls.rpartition(".")[0]
    return f"{package.replace('.', '/')}/{file}" if package else file


SUPPORT = LanguageSupport.of_module(
    __name__,
    name="java",
    title="Java",
    suffixes=(SUFFIX,),
    line_comment="//",
    grammar=LANGUAGE,
    functions=FUNCTIONS,
    completion_engine=lazy("repairbot.generate.completion_java", "java_engine"),
    unbalanced=lazy("repairbot.generate.completion_java", "unbalanced"),
    types=TYPES,
    imports=frozenset({"package_declaration", "import_declaration"}),
    detection_statements=DETECTION_STATEMENTS,
    is_inert=is_inert,
    output_distances=lazy("repairbot.dataflow", "java_output_distances"),
    is_accessor=lazy("repairbot.dataflow", "is_accessor"),
    generated_lines=True,
    overloads=True,
    atoms=frozenset({
        "identifier", "type_identifier", "string_literal", "character_literal",
        "decimal_integer_literal", "hex_integer_literal", "octal_integer_literal",
        "binary_integer_literal", "decimal_floating_point_literal", "hex_floating_point_literal",
    }),
    is_test_name=is_test_class,
    traceback_frame=traceback_frame,
    chains_traceback=chains_traceback,
    iteration_invalidated=iteration_invalidated,
    innermost_frame_first=True,
    source_index=lambda workdir: JavaSources(workdir).find,
    masks=lazy("repairbot.generate.masks", "java_masks"),
    fix_templates=lazy("repairbot.generate.templates_java", "java_edits"),
    insertion_points=insertion_points,
    empty_statement=";",
)
