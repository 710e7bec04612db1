"""Masked fix templates (GAMMA): TBar's fix patterns with the fix ingredient left out.

A mechanical template must guess the new code itself (every other operator, every local
name); a masked template only says *where* a fix of a known shape goes — the condition, an
operator, an argument, the callee, the returned value, a guard before the statement — and
a code model fills the mask from the code around it (`repairbot.generate.masked`). So one
mask stands for every operator, or every condition, the model finds likely.

A mask is a byte span of the file replaced by `before + <mask> + after` (tree-sitter byte
offsets, as in `templates`). Templates are enumerated per language from its syntax tree
(Python, Java), one statement at a time: a simple statement whole, a compound statement's
header only (its body holds statements of their own).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node, Tree

from repairbot.languages import java, python
from repairbot.languages.registry import language_for
from repairbot.languages.python import walk


@dataclass(frozen=True)
class Template:
    name: str
    weight: float


# Weights are per-mask priors, hand-set like `templates.TEMPLATES` rather than fitted: the
# shapes most one-statement fixes take first (a condition, an operator, a returned value),
# discounted where a statement yields many masks of the kind (every operand, every name)
# or where the fix is rarer (guards, inserted lines).
CONDITION = Template("condition", 0.9)
OPERATOR = Template("operator", 0.8)
RETURN_VALUE = Template("return_value", 0.7)
CALLEE = Template("callee", 0.6)
ARGUMENT = Template("argument", 0.6)
RIGHT_SIDE = Template("right_side", 0.6)
ARGUMENTS = Template("arguments", 0.5)
OPERAND = Template("operand", 0.5)
LITERAL = Template("literal", 0.5)
AND_CLAUSE = Template("and_clause", 0.5)  # `cond and <mask>`
OR_CLAUSE = Template("or_clause", 0.5)  # `cond or <mask>`
LEADING_CLAUSE = Template("leading_clause", 0.4)  # `<mask> or cond`: a check that must come first
VARIABLE = Template("variable", 0.4)
INSERT_BEFORE = Template("insert_before", 0.4)
GUARD = Template("guard", 0.4)  # `if <mask>` before the statement: condition and body by the model
INSERT_AFTER = Template("insert_after", 0.3)
NULL_CHECK = Template("null_check", 0.3)  # `if x is None: <mask>` / `if (x == null) { <mask> }`
REMOVE = Template("remove", 0.3)  # no mask: the statement deleted
MAX_NULL_CHECKS = 2  # per statement: the first dereferenced names


@dataclass(frozen=True)
class OneOf:
    """A filling that must be one of `options` (an operator mask is filled by an operator,
    not by `is None or x.next is`)."""

    options: frozenset[str]

    def allows(self, code: str, final: bool) -> bool:
        return code in self.options if final else any(option.startswith(code) for option in self.options)


_NAME = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*")
_NAME_START = re.compile(r"([A-Za-z_$][\w$]*\.)*([A-Za-z_$][\w$]*)?")


@dataclass(frozen=True)
class Name:
    """A filling that must be a (dotted) name: a callee or a variable mask stands for a
    name, and a call or an expression written there is a different template's fix."""

    def allows(self, code: str, final: bool) -> bool:
        return bool(_NAME.fullmatch(code) if final else _NAME_START.fullmatch(code))


@dataclass(frozen=True)
class Mask:
    """Bytes `start..end` of the file become `before + <mask> + after`; without a `hole`,
    just `before + after` (a deletion, no model needed).

    `multi_line`: the filling may span lines (a guard's condition and body), else it ends at
    the line's end. `placeholder` is a filling that makes the file parse as the template
    stands (the original code, or `pass` where a statement goes): the completion engine
    reads the file's names from it. `shape`: what the filling must be beyond code that
    parses (an operator, a name); None: any code."""

    template: Template
    start: int
    end: int
    before: str = ""
    after: str = ""
    hole: bool = True
    multi_line: bool = False
    placeholder: str | None = None
    shape: OneOf | Name | None = None

    @property
    def key(self) -> tuple[int, int, str, str, bool]:
        return (self.start, self.end, self.before, self.after, self.hole)


def masks(file: str, data: bytes, tree: Tree, start_line: int, end_line: int) -> list[Mask]:
    """Every masked template over the statements on lines `start_line..end_line` (1-based)
    of a Python or Java file, best weight first; of two templates that mask the same span
    the same way, the heavier one."""
    language = language_for(file)
    if language is None:
        return []
    found = language.masks(data, tree, start_line, end_line)
    best: dict[tuple[int, int, str, str, bool], Mask] = {}
    for mask in found:
        if mask.key not in best or best[mask.key].template.weight < mask.template.weight:
            best[mask.key] = mask
    return sorted(best.values(), key=lambda mask: (-mask.template.weight, mask.start))


# --- shared shapes ----------------------------------------------------------------------

def _replace(template: Template, node: Node) -> Mask:
    return Mask(template, node.start_byte, node.end_byte)


def _operator(operator: Node, style: _Style) -> Mask:
    return Mask(OPERATOR, operator.start_byte, operator.end_byte, shape=style.operators)


def _name(template: Template, node: Node) -> Mask:
    return Mask(template, node.start_byte, node.end_byte, shape=Name())


def _inside(template: Template, brackets: Node) -> Mask:
    """What is between a node's first and last characters: a call's `(` and `)`."""
    return Mask(template, brackets.start_byte + 1, brackets.end_byte - 1)


@dataclass(frozen=True)
class _Style:
    """How a language writes what a template adds: its clause operators, the start of a
    guard, a null check around a masked body (formatted with the checked `name`, the body's
    and the statement's indentation), a statement that stands anywhere one may."""

    comment: bytes
    and_: str
    or_: str
    guard: tuple[str, str]  # the guard's start, and a filling that completes it
    null_check: tuple[str, str]
    empty_statement: str
    operators: OneOf


_PYTHON_BINARY = ("+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^")
_PYTHON = _Style(
    b"#", "and", "or", ("if ", "True: pass"), ("if {name} is None:\n{body}", ""), "pass",
    OneOf(frozenset((*_PYTHON_BINARY, *(op + "=" for op in _PYTHON_BINARY), "<", "<=", ">", ">=", "==", "!=",
                     "is", "is not", "in", "not in", "and", "or"))),
)
_JAVA_BINARY = ("+", "-", "*", "/", "%", "<<", ">>", ">>>", "&", "|", "^")
_JAVA = _Style(
    b"//", "&&", "||", ("if (", "true) ;"), ("if ({name} == null) {{\n{body}", "\n{indentation}}}"), ";",
    OneOf(frozenset((*_JAVA_BINARY, *(op + "=" for op in _JAVA_BINARY), "<", "<=", ">", ">=", "==", "!=", "&&", "||"))),
)


@dataclass(frozen=True)
class _Line:
    """Where a statement stands on its lines: what an inserted or deleted line needs."""

    indentation: str
    line_start: int  # byte offset of the first line
    line_end: int | None  # offset of the last line's newline (or the file's end); None: code follows

    @property
    def step(self) -> str:
        """One more level of indentation, in the file's own style."""
        return "\t" if "\t" in self.indentation else "    "


def _line_of(data: bytes, statement: Node, comment: bytes) -> _Line | None:
    """The statement's line layout, or None when code precedes it on its first line."""
    line_start = data.rfind(b"\n", 0, statement.start_byte) + 1
    indentation = data[line_start : statement.start_byte]
    if indentation.strip():
        return None
    newline = data.find(b"\n", statement.end_byte)
    end = len(data) if newline < 0 else newline
    rest = data[statement.end_byte : end].strip()
    return _Line(indentation.decode("utf-8"), line_start, end if not rest or rest.startswith(comment) else None)


def _lines(
    data: bytes, statement: Node, style: _Style, insert_after: bool, removable: bool, checked: list[str]
) -> Iterator[Mask]:
    """Insertions around a statement that starts its line: a masked line before it (and,
    with `insert_after`, after it), a guard, null checks on the first names it
    dereferences, and, when `removable`, the statement's deletion."""
    line = _line_of(data, statement, style.comment)
    if line is None:
        return
    start, indentation = statement.start_byte, line.indentation
    empty = style.empty_statement
    yield Mask(INSERT_BEFORE, start, start, after="\n" + indentation, placeholder=empty)
    guard, completed = style.guard
    yield Mask(GUARD, start, start, before=guard, after="\n" + indentation, multi_line=True, placeholder=completed)
    for name in checked[:MAX_NULL_CHECKS]:
        values = dict(name=name, body=indentation + line.step, indentation=indentation)
        before, after = (part.format(**values) for part in style.null_check)
        yield Mask(NULL_CHECK, start, start, before=before, after=after + "\n" + indentation, placeholder=empty)
    if line.line_end is None:
        return
    if insert_after:
        yield Mask(INSERT_AFTER, line.line_end, line.line_end, before="\n" + indentation, placeholder=empty)
    if removable:
        yield Mask(REMOVE, line.line_start, min(line.line_end + 1, len(data)), hole=False)


def _clauses(condition: Node, style: _Style, group_for_and: bool, group_for_or: bool) -> Iterator[Mask]:
    """`c and <mask>`, `c or <mask>`, `<mask> or c`, with `c` in parentheses where the new
    operator would otherwise bind into it."""
    text = _text(condition)
    start, end = condition.start_byte, condition.end_byte
    kept_and = f"({text})" if group_for_and else text
    kept_or = f"({text})" if group_for_or else text
    yield Mask(AND_CLAUSE, start, end, before=f"{kept_and} {style.and_} ")
    yield Mask(OR_CLAUSE, start, end, before=f"{kept_or} {style.or_} ")
    yield Mask(LEADING_CLAUSE, start, end, after=f" {style.or_} {kept_or}")


def _text(node: Node) -> str:
    return node.text.decode("utf-8") if node.text is not None else ""


def _first_named(node: Node) -> Node | None:
    return next((child for child in node.named_children if "comment" not in child.type), None)


# --- Python -----------------------------------------------------------------------------

_PY_LITERALS = frozenset({"integer", "float", "string", "true", "false", "none"})
_PY_NOT_VALUES = {  # parent type -> the field whose identifier is no value to replace
    "call": "function", "attribute": "attribute", "keyword_argument": "name",
    "assignment": "left", "augmented_assignment": "left", "for_statement": "left",
    "for_in_clause": "left", "named_expression": "name",
}
_PY_NAME_PARENTS = python.TARGET_CONTAINERS | {  # every identifier in them is a name, not a value
    "dotted_name", "aliased_import", "global_statement", "nonlocal_statement", "lambda_parameters",
}
_PY_LOOSE = ("conditional_expression", "lambda", "named_expression")  # bind looser than `or`
_PY_NOT_INSERTABLE = frozenset({"elif_clause", "except_clause", "case_clause"})
_PY_JUMPS = frozenset({"return_statement", "raise_statement", "break_statement", "continue_statement"})


def python_masks(data: bytes, tree: Tree, start_line: int, end_line: int) -> Iterator[Mask]:
    for node in python.statement_nodes_on_lines(tree, start_line, end_line):
        simple = node.type in python.SIMPLE_STATEMENTS
        statement = node if simple else node.parent
        yield from _python_expressions(node)
        if statement is not None and statement.type not in _PY_NOT_INSERTABLE:
            checked = _dereferenced(node, "attribute", "object") + _dereferenced(node, "subscript", "value")
            checked = [name for name in dict.fromkeys(checked) if name not in ("self", "cls")]
            after = simple and node.type not in _PY_JUMPS  # code after a jump never runs
            yield from _lines(data, statement, _PYTHON, insert_after=after, removable=simple, checked=checked)


def _python_expressions(node: Node) -> Iterator[Mask]:
    parent = node.parent
    if parent is not None and parent.type in ("if_statement", "elif_clause", "while_statement") \
            and parent.child_by_field_name("condition") == node:
        yield from _python_condition(node)
    if node.type == "return_statement":
        value = _first_named(node)
        return_keyword = node.children[0]
        yield _replace(RETURN_VALUE, value) if value is not None else Mask(
            RETURN_VALUE, return_keyword.end_byte, return_keyword.end_byte, before=" ", placeholder=""
        )
    for descendant in walk(node):
        kind = descendant.type
        if kind == "conditional_expression":
            yield from _python_condition(_ternary_condition(descendant))
        elif kind == "comparison_operator":
            operators = descendant.children_by_field_name("operators")
            yield from (_operator(operator, _PYTHON) for operator in operators)
            yield from (_replace(OPERAND, child) for child in descendant.named_children if child not in operators)
        elif kind in ("binary_operator", "boolean_operator"):
            yield _operator(descendant.child_by_field_name("operator"), _PYTHON)
            yield from (_replace(OPERAND, descendant.child_by_field_name(side)) for side in ("left", "right"))
        elif kind in ("assignment", "augmented_assignment"):
            if kind == "augmented_assignment":
                yield _operator(descendant.child_by_field_name("operator"), _PYTHON)
            right = descendant.child_by_field_name("right")
            if right is not None:
                yield _replace(RIGHT_SIDE, right)
        elif kind == "call":
            yield from _python_call(descendant)
        elif kind == "subscript":
            yield from (_replace(OPERAND, index) for index in descendant.children_by_field_name("subscript")
                        if index.type != "slice")
        elif kind in _PY_LITERALS:
            yield _replace(LITERAL, descendant)
        elif kind == "identifier" and _python_value(descendant):
            yield _name(VARIABLE, descendant)


def _python_condition(condition: Node) -> Iterator[Mask]:
    yield _replace(CONDITION, condition)
    loose = condition.type in _PY_LOOSE
    binds_or = condition.type == "boolean_operator" and _text(condition.child_by_field_name("operator")) == "or"
    yield from _clauses(condition, _PYTHON, group_for_and=loose or binds_or, group_for_or=loose)


def _python_call(call: Node) -> Iterator[Mask]:
    function = call.child_by_field_name("function")
    if function is not None and function.type == "identifier":
        yield _name(CALLEE, function)
    elif function is not None and function.type == "attribute":
        yield _name(CALLEE, function.child_by_field_name("attribute"))
    arguments = call.child_by_field_name("arguments")
    if arguments is None:
        return
    yield _inside(ARGUMENTS, arguments)
    if arguments.type == "argument_list":
        listed = [child for child in arguments.named_children if child.type != "comment"]
        if len(listed) > 1:
            yield from (_replace(ARGUMENT, argument) for argument in listed)


def _ternary_condition(ternary: Node) -> Node:
    """`a if c else b` has no fields: the condition is the named child after `if`."""
    seen_if = False
    for child in ternary.children:
        if seen_if and child.is_named and child.type != "comment":
            return child
        seen_if = seen_if or child.type == "if"
    raise ValueError("a conditional expression without a condition")


def _python_value(identifier: Node) -> bool:
    parent = identifier.parent
    if parent is None or parent.type in _PY_NAME_PARENTS:
        return False
    field = _PY_NOT_VALUES.get(parent.type)
    return field is None or parent.child_by_field_name(field) != identifier


def _dereferenced(node: Node, kind: str, field: str) -> list[str]:
    """Names the statement dereferences (`x.a`, `x[i]`, `x.f()`): where a null check goes."""
    names = []
    for descendant in walk(node):
        if descendant.type == kind:
            target = descendant.child_by_field_name(field)
            if target is not None and target.type == "identifier":
                names.append(_text(target))
    return names


# --- Java -------------------------------------------------------------------------------

_JAVA_LITERALS = frozenset({
    "decimal_integer_literal", "hex_integer_literal", "octal_integer_literal", "binary_integer_literal",
    "decimal_floating_point_literal", "hex_floating_point_literal", "string_literal", "character_literal",
    "true", "false", "null_literal",
})
_JAVA_NOT_VALUES = {  # parent type -> the field whose identifier is no value to replace
    "method_invocation": "name", "field_access": "field", "variable_declarator": "name",
    "assignment_expression": "left", "enhanced_for_statement": "name", "formal_parameter": "name",
    "catch_formal_parameter": "name", "lambda_expression": "parameters", "labeled_statement": None,
    "break_statement": None, "continue_statement": None, "scoped_identifier": None, "inferred_parameters": None,
    "method_reference": None,
}
_JAVA_LOOSE = ("ternary_expression", "assignment_expression", "lambda_expression")  # bind looser than `||`
_JAVA_CONDITIONED = frozenset({"if_statement", "while_statement", "do_statement"})
# Without a declaration its later uses do not compile; without its jump, nor does a method
# that must return a value. Code after a jump is unreachable, which javac rejects.
_JAVA_NOT_REMOVABLE = frozenset({"local_variable_declaration", "field_declaration", "return_statement"})
_JAVA_JUMPS = frozenset(
    {"return_statement", "throw_statement", "break_statement", "continue_statement", "yield_statement"}
)


def java_masks(data: bytes, tree: Tree, start_line: int, end_line: int) -> Iterator[Mask]:
    for node in java.statements_on_lines(tree, start_line, end_line):
        parts = java_statement_parts(node)
        for part in parts:
            yield from _java_expressions(part)
        if node.type in java.SIMPLE_STATEMENTS or node.type in java.HEADED_STATEMENTS:
            checked = list(dict.fromkeys(name for part in parts for name in _java_dereferenced(part)))
            simple = node.type in java.SIMPLE_STATEMENTS
            after, removable = simple and node.type not in _JAVA_JUMPS, simple and node.type not in _JAVA_NOT_REMOVABLE
            yield from _lines(data, node, _JAVA, insert_after=after, removable=removable, checked=checked)


def java_statement_parts(node: Node) -> list[Node]:
    """The parts of a statement that are its own code: a simple statement whole, a compound
    statement's header (a do loop's condition is already what `line_statements` gives)."""
    if node.type in java.SIMPLE_STATEMENTS or node.type == "parenthesized_expression":
        return [node]
    body = node.child_by_field_name("body") or node.child_by_field_name("consequence")
    parts = []
    for child in node.named_children:
        if child == body or child.type in ("block", "catch_formal_parameter") or "comment" in child.type:
            break
        parts.append(child)
    return parts


def _java_expressions(part: Node) -> Iterator[Mask]:
    parent = part.parent
    if part.type == "parenthesized_expression" and parent is not None and parent.type in _JAVA_CONDITIONED:
        inner = _first_named(part)
        if inner is not None:
            yield from _java_condition(inner)
    elif parent is not None and parent.type == "for_statement" and parent.child_by_field_name("condition") == part:
        yield from _java_condition(part)
    if part.type == "return_statement":
        value = _first_named(part)
        return_keyword = part.children[0]
        yield _replace(RETURN_VALUE, value) if value is not None else Mask(
            RETURN_VALUE, return_keyword.end_byte, return_keyword.end_byte, before=" ", placeholder=""
        )
    for descendant in walk(part):
        kind = descendant.type
        if kind == "ternary_expression":
            yield from _java_condition(descendant.child_by_field_name("condition"))
        elif kind == "binary_expression":
            yield _operator(descendant.child_by_field_name("operator"), _JAVA)
            yield from (_replace(OPERAND, descendant.child_by_field_name(side)) for side in ("left", "right"))
        elif kind == "assignment_expression":
            operator = descendant.child_by_field_name("operator")
            if operator is not None and operator.type != "=":
                yield _operator(operator, _JAVA)
            yield _replace(RIGHT_SIDE, descendant.child_by_field_name("right"))
        elif kind == "variable_declarator" and descendant.child_by_field_name("value") is not None:
            yield _replace(RIGHT_SIDE, descendant.child_by_field_name("value"))
        elif kind in ("method_invocation", "object_creation_expression", "explicit_constructor_invocation"):
            yield from _java_call(descendant)
        elif kind == "array_access":
            yield _replace(OPERAND, descendant.child_by_field_name("index"))
        elif kind in _JAVA_LITERALS:
            yield _replace(LITERAL, descendant)
        elif kind == "identifier" and is_java_value(descendant):
            yield _name(VARIABLE, descendant)


def _java_condition(condition: Node) -> Iterator[Mask]:
    yield _replace(CONDITION, condition)
    loose = condition.type in _JAVA_LOOSE
    binds_or = condition.type == "binary_expression" and _text(condition.child_by_field_name("operator")) == "||"
    yield from _clauses(condition, _JAVA, group_for_and=loose or binds_or, group_for_or=loose)


def _java_call(call: Node) -> Iterator[Mask]:
    if call.type == "method_invocation":
        yield _name(CALLEE, call.child_by_field_name("name"))
    arguments = call.child_by_field_name("arguments")
    if arguments is None:
        return
    yield _inside(ARGUMENTS, arguments)
    listed = [child for child in arguments.named_children if "comment" not in child.type]
    if len(listed) > 1:
        yield from (_replace(ARGUMENT, argument) for argument in listed)


def is_java_value(identifier: Node) -> bool:
    parent = identifier.parent
    if parent is None:
        return False
    if parent.type not in _JAVA_NOT_VALUES:
        return True
    field = _JAVA_NOT_VALUES[parent.type]
    return field is not None and parent.child_by_field_name(field) != identifier


def _java_dereferenced(node: Node) -> list[str]:
    names = []
    for descendant in walk(node):
        field = {"method_invocation": "object", "field_access": "object", "array_access": "array"}.get(descendant.type)
        target = descendant.child_by_field_name(field) if field is not None else None
        if target is not None and target.type == "identifier":
            names.append(_text(target))
    return names
