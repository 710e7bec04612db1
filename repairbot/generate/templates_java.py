"""Java's fix templates: the rewrites of `repairbot.generate.templates`, read off Java's
syntax tree, so that a Java project gets its cheap mechanical candidates before any model
is asked (TBar's mutators: operators, literals, conditions, arguments, variables; and its
checkers, which guard a statement against the exception a failing test shows).

Java declares types, which Python's rules cannot use: a variable is replaced only by
another local of the same declared type, and string concatenation is never made a
subtraction, so fewer candidates fail to compile (on a Defects4J project each failed
compile is a second or two of the budget).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

from tree_sitter import Node, Tree

from repairbot.generate.masks import is_java_value, java_statement_parts
from repairbot.generate.templates import (
    BITWISE, CHECK_WEIGHT, MAX_CHECKS, ORDERING, TEMPLATES, TWINS, Edit, Template,
    TemplateEdit, exchange_operands, most_similar_first, move_arguments, rank_by_rank, read_names, replace_node,
    shift_by_one, statement_indent, swaps, without_zero_term,
)
from repairbot.languages import java, java_symbols
from repairbot.languages.python import root_of, walk

_ARITHMETIC = ("+", "-", "*", "/", "%")
_OPERATOR_GROUPS = (_ARITHMETIC, *BITWISE)
_COMPOUND = tuple(tuple(op + "=" for op in group) for group in _OPERATOR_GROUPS)
_ORDERED_OPERATORS = frozenset({"-", "/", "%", "<<", ">>", ">>>"})
_INTEGERS = frozenset({"decimal_integer_literal"})
_NUMBERS = frozenset({"int", "long", "short", "byte", "char", "double", "float",
                      "Integer", "Long", "Short", "Byte", "Character", "Double", "Float"})
# Calls whose first argument is an index or a bound: where Java's off-by-ones live besides
# array subscripts (`s.charAt(i)`, `list.get(i)`, `s.substring(a, b)`).
_INDEXED_CALLS = frozenset({"charAt", "get", "set", "substring", "subList", "deleteCharAt", "codePointAt"})
_NUMERIC_OPERANDS = frozenset({"identifier", "field_access", "method_invocation", "array_access"})
_CONDITIONED = frozenset({"if_statement", "while_statement", "do_statement"})
_ATOMIC_CONDITIONS = frozenset(
    {"identifier", "method_invocation", "field_access", "parenthesized_expression", "true", "false"}
)
_DECLARATIONS = frozenset({"formal_parameter", "local_variable_declaration", "enhanced_for_statement"})


def java_edits(
    data: bytes, tree: Tree, start_line: int, end_line: int, project_root: Path | None = None, file: str | None = None
) -> Iterator[TemplateEdit]:
    """Java's rewrites of the statements on lines `start_line..end_line` of a parsed file
    (`file`, relative to `project_root`, whose other classes tell a receiver's members):
    each statement's own code (a compound statement's header, not its body)."""
    receivers = _Receivers(tree.root_node, project_root, file)
    for statement in java.statements_on_lines(tree, start_line, end_line):
        parts, typed = java_statement_parts(statement), Declared(_typed_locals(statement), receivers)
        for template in _TEMPLATES:
            for part in parts:
                yield from (TemplateEdit(template, edit) for edit in template.apply(part, typed))
        for checker in _CHECKERS:
            yield from (TemplateEdit(checker, edit) for edit in checker.apply(statement, typed))


class _Receivers:
    """The members of what a name before a dot is, as the completion engine reads them
    (`java_symbols.receiver_members`: the file's and the project's classes, the JDK's by
    javap); the parsed file's symbols are read only when a template asks."""

    def __init__(self, root: Node, project_root: Path | None, file: str | None) -> None:
        self._root, self._project_root, self._file = root, project_root, file
        self._project: java_symbols.Project | None = None

    def members(self, receiver: Node) -> frozenset[str] | None:
        if receiver.type not in ("identifier", "this"):
            return None  # a call's or a field's result: its type is not modelled
        if self._project is None:
            path = self._project_root / self._file if self._project_root and self._file else None
            self._project = java_symbols.Project(java_symbols.symbols_of(self._root), path, self._project_root)
        scope = java_symbols.scope_at(self._root, self._project.current, receiver.start_byte)
        return java_symbols.receiver_members(self._project, scope, _text(receiver))


class Declared(dict[str, str]):
    """The parameters and locals visible at a statement with their declared types' text,
    which most templates ask; and `receivers`, for the one that renames members."""

    def __init__(self, types: dict[str, str], receivers: _Receivers) -> None:
        super().__init__(types)
        self.receivers = receivers


def swap_comparison(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    for binary in _binaries(part):
        yield from swaps(binary.child_by_field_name("operator"), ORDERING)


def swap_arithmetic(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    for binary in _binaries(part):
        if not _is_string(binary, typed):  # `label + ": "` is no arithmetic
            for group in _OPERATOR_GROUPS:
                yield from swaps(binary.child_by_field_name("operator"), group)
    for assignment in _of_type(part, "assignment_expression"):
        for group in _COMPOUND:
            yield from swaps(assignment.child_by_field_name("operator"), group)


def swap_operands(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """`a - b` -> `b - a`; a string concatenation's parts trade places too."""
    for binary in _binaries(part):
        operator = _text(binary.child_by_field_name("operator"))
        if operator in _ORDERED_OPERATORS or (operator == "+" and _is_string(binary, typed)):
            yield exchange_operands(binary, ("binary_expression", "ternary_expression", "lambda_expression",
                                             "assignment_expression", "instanceof_expression"))


def swap_twin_function(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """`Math.min(...)` -> `Math.max(...)`, `floor` -> `ceil`, and back."""
    for call in _of_type(part, "method_invocation"):
        name = call.child_by_field_name("name")
        if _text(name) in TWINS:
            yield replace_node(name, TWINS[_text(name)])


def swap_boolean(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    for binary in _binaries(part):
        yield from swaps(binary.child_by_field_name("operator"), ("&&", "||"))


def off_by_one(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """Integer literals n -> n+1, n-1; array indices and the index of an indexed call
    (`charAt`, `get`, `substring`) e -> e + 1, e - 1."""
    for literal in _of_type(part, "decimal_integer_literal"):
        yield from _shift_literal(literal, typed)
    for bound in _bounds(part):
        if _shiftable(bound):
            yield from shift_by_one(bound)


def negate_condition(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """`c` -> `!c` (or `!(c)`); `!c` -> `c` only."""
    for condition in _conditions(part):
        if condition.type == "unary_expression" and _text(condition.child_by_field_name("operator")) == "!":
            yield replace_node(condition, _text(condition.child_by_field_name("operand")))
        elif condition.type in _ATOMIC_CONDITIONS:
            yield replace_node(condition, f"!{_text(condition)}")
        else:
            yield replace_node(condition, f"!({_text(condition)})")


def fix_return_value(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    if part.type != "return_statement":
        return
    value = next((child for child in part.named_children if "comment" not in child.type), None)
    if value is not None and value.type in ("true", "false"):
        yield replace_node(value, "false" if value.type == "true" else "true")


def swap_arguments(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    for call in _calls(part):
        arguments = call.child_by_field_name("arguments")
        listed = [child for child in arguments.named_children if "comment" not in child.type]
        yield from move_arguments(arguments, listed)


def replace_identifier(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """Each local variable used -> each other local of its declared type."""
    values = [node for node in _of_type(part, "identifier") if is_java_value(node) and _text(node) in typed]
    yield from rank_by_rank(values, [_same_type(typed, _text(value)) for value in values])


def replace_operand(part: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """`map.get(next) + w` -> `distance + w` (`templates.replace_operand`): a call's or an
    array element's operand of arithmetic, replaced by a numeric local declared before the
    statement, the latest first."""
    numeric = [name for name, kind in reversed(typed.items()) if kind in _NUMBERS]
    operands = [
        operand
        for binary in _binaries(part)
        if binary.child_by_field_name("operator").type in _ARITHMETIC and not _is_string(binary, typed)
        for operand in (binary.child_by_field_name("left"), binary.child_by_field_name("right"))
        if operand is not None and operand.type in ("method_invocation", "array_access")
    ]
    yield from rank_by_rank(operands, [[name for name in numeric if name not in read_names(o)] for o in operands])


def replace_member(part: Node, typed: Declared) -> Iterator[Edit]:
    """`obj.a()` -> `obj.b()` where `b` is another method the file calls on an object or
    declares (not static), with as many arguments; `obj.f` -> `obj.g`, another field the file reads or
    declares: the wrong member (`templates.replace_member`), most similar names first. Where
    the receiver's type is known, only its members: any other name cannot compile, and on a
    Defects4J project each failed compile costs a second or two."""
    methods, fields = _file_members(root_of(part))
    calls = [
        (call.child_by_field_name("name"), _members_of(call.child_by_field_name("object"), methods.get(_arity(call), frozenset()), typed))
        for call in _of_type(part, "method_invocation") if call.child_by_field_name("object") is not None
    ]
    accesses = [
        (access.child_by_field_name("field"), _members_of(access.child_by_field_name("object"), fields, typed))
        for access in _of_type(part, "field_access")
    ]
    yield from most_similar_first(calls + accesses)


def _members_of(receiver: Node, names: frozenset[str], typed: Declared) -> frozenset[str]:
    """Those of `names` the receiver has, all of them when its members cannot be told."""
    members = typed.receivers.members(receiver)
    return names if members is None else names & members


@functools.lru_cache(maxsize=8)
def _file_members(root: Node) -> tuple[dict[int, frozenset[str]], frozenset[str]]:
    """Methods by number of arguments (those called on an object, those declared) and
    fields (those accessed, those declared) of a parsed Java file; cached per tree."""
    methods: dict[int, set[str]] = {}
    fields: set[str] = set()
    for node in walk(root):
        if node.type == "method_invocation" and node.child_by_field_name("object") is not None:
            methods.setdefault(_arity(node), set()).add(_text(node.child_by_field_name("name")))
        elif node.type == "method_declaration" and not _is_static(node):
            parameters = node.child_by_field_name("parameters")
            count = sum(1 for child in parameters.named_children if "parameter" in child.type) if parameters else 0
            methods.setdefault(count, set()).add(_text(node.child_by_field_name("name")))
        elif node.type == "field_access":
            fields.add(_text(node.child_by_field_name("field")))
        elif node.type == "field_declaration":
            fields.update(_text(d.child_by_field_name("name")) for d in node.children_by_field_name("declarator"))
    return {count: frozenset(names) for count, names in methods.items()}, frozenset(fields)


def _is_static(declaration: Node) -> bool:
    """Not called on an object: no alternative to an instance method's name."""
    modifiers = next((child for child in declaration.children if child.type == "modifiers"), None)
    return modifiers is not None and any(child.type == "static" for child in modifiers.children)


def _arity(call: Node) -> int:
    arguments = call.child_by_field_name("arguments")
    return sum(1 for child in arguments.named_children if "comment" not in child.type) if arguments else 0


def check_null(statement: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """A variable or field the statement dereferences may be null."""
    checks = ((f"{name} == null", f"{name} != null") for name in _dereferenced(statement, typed))
    return _guards(statement, checks)


def check_range(statement: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """An index the statement uses may be out of its array's, string's or list's range."""
    checks = (
        (f"{index} < 0 || {index} >= {size}", f"{index} >= 0 && {index} < {size}")
        for index, size in _indexed(statement)
    )
    return _guards(statement, checks)


def check_cast(statement: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """A variable the statement casts may not be of the type cast to."""
    checks = (
        (f"!({value} instanceof {kind})", f"{value} instanceof {kind}") for value, kind in _casts(statement)
    )
    return _guards(statement, checks)


def check_divisor(statement: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """An integer divisor the statement uses may be zero."""
    checks = (
        (f"{_text(divisor)} == 0", f"{_text(divisor)} != 0")
        for division in _own_nodes(statement)
        if division.type == "binary_expression" and _text(division.child_by_field_name("operator")) in ("/", "%")
        and (divisor := division.child_by_field_name("right")).type in _NUMERIC_OPERANDS - {"array_access"}
        and typed.get(_text(divisor)) not in ("double", "float")
    )
    return _guards(statement, checks)


def _guards(statement: Node, checks: Iterable[tuple[str, str]]) -> Iterator[Edit]:
    """TBar's checkers: for each (failing, passing) condition, the method returns its
    default before the statement when the condition fails; an expression statement also
    runs only when it passes. Only for a statement of a block (a braceless `if (c) s;`
    would guard only the guard), not in a lambda (a `return` there is the lambda's)."""
    method = _method_around(statement)
    if method is None or statement.parent is None or statement.parent.type not in _BLOCKS:
        return
    indent = statement_indent(statement) or " " * statement.start_point[1]  # after code: as wide
    default, code = _default_return(method), _text(statement)
    for failing, passing in itertools.islice(dict.fromkeys(checks), MAX_CHECKS):
        yield replace_node(statement, f"if ({failing}) {{\n{indent}    {default}\n{indent}}}\n{indent}{code}")
        if statement.type == "expression_statement":
            yield replace_node(statement, f"if ({passing}) {{\n{indent}    {code}\n{indent}}}")


def _template(name: str, apply) -> Template:
    """Java's rule for the template of that name: its weight and evidence are the bug
    class's, in both languages."""
    [template] = [template for template in TEMPLATES if template.name == name]
    return dataclasses.replace(template, apply=apply)


_TEMPLATES = (
    _template("comparison", swap_comparison),
    _template("off_by_one", off_by_one),
    _template("arithmetic", swap_arithmetic),
    _template("boolean", swap_boolean),
    _template("negate_condition", negate_condition),
    _template("return_value", fix_return_value),
    _template("swap_arguments", swap_arguments),
    _template("twin_function", swap_twin_function),
    _template("swap_operands", swap_operands),
    _template("identifier", replace_identifier),
    _template("member", replace_member),
    _template("operand", replace_operand),
)


# The checkers guard the whole statement (before it, around it), the rules above a part.
_CHECKERS = (
    _template("null_check", check_null),
    _template("range_check", check_range),
    _template("zero_check", check_divisor),
    Template("cast_check", CHECK_WEIGHT, check_cast, evidence=r"ClassCastException"),  # Java's own
)
# Indexed calls whose first argument must be below the receiver's size.
_SIZES = {"charAt": "length()", "codePointAt": "length()", "deleteCharAt": "length()", "get": "size()", "set": "size()"}
# Where a node keeps the value it dereferences: `x` of `x.f()`, `x.f`, `x[i]`.
_DEREFERENCED_FIELDS = {"method_invocation": "object", "field_access": "object", "array_access": "array"}
_BLOCKS = frozenset({"block", "constructor_body", "switch_block_statement_group"})
_PRIMITIVES = frozenset({"boolean", "byte", "char", "short", "int", "long", "float", "double"})
_DEFAULTS = {"void": "return;", "boolean": "return false;"} | dict.fromkeys(_PRIMITIVES - {"boolean"}, "return 0;")


def _method_around(statement: Node) -> Node | None:
    """The method or constructor whose own body holds `statement`; None inside a lambda
    (whose return is the lambda's) or outside any method."""
    node = statement.parent
    while node is not None and node.type not in java.FUNCTIONS:
        if node.type == "lambda_expression":
            return None
        node = node.parent
    return node


def _default_return(method: Node) -> str:
    kind = method.child_by_field_name("type")
    return "return;" if kind is None else _DEFAULTS.get(_text(kind), "return null;")  # a constructor: none


def _own_nodes(statement: Node) -> Iterator[Node]:
    """The nodes of the statement's own code (a compound statement's header)."""
    for part in java_statement_parts(statement):
        yield from walk(part)


def _indexed(statement: Node) -> Iterator[tuple[str, str]]:
    """(index, size) of each `a[i]` (`a.length`) and `s.charAt(i)`/`list.get(i)` (`s.length()`,
    `list.size()`) whose index is not a literal."""
    for node in _own_nodes(statement):
        if node.type == "array_access":
            owner, index, size = node.child_by_field_name("array"), node.child_by_field_name("index"), "length"
        elif node.type == "method_invocation" and _text(node.child_by_field_name("name")) in _SIZES:
            arguments = [child for child in node.child_by_field_name("arguments").named_children
                         if "comment" not in child.type]
            owner, index = node.child_by_field_name("object"), arguments[0] if arguments else None
            size = _SIZES[_text(node.child_by_field_name("name"))]
        else:
            continue
        if owner is not None and index is not None and index.type not in _INTEGERS and _is_plain(owner):
            shown = _text(index) if index.type in _ATOMIC_CONDITIONS else f"({_text(index)})"
            yield shown, f"{_text(owner)}.{size}"


def _casts(statement: Node) -> Iterator[tuple[str, str]]:
    """(variable, type) of each `(T) x`; not a generic type (no `instanceof List<String>`)."""
    for node in _own_nodes(statement):
        if node.type == "cast_expression":
            kind, value = node.child_by_field_name("type"), node.child_by_field_name("value")
            if kind is not None and value is not None and _is_plain(value) and "<" not in _text(kind):
                yield _text(value), _text(kind)


def _is_plain(node: Node) -> bool:
    """A variable or `this.field`."""
    return node.type == "identifier" or (
        node.type == "field_access" and _text(node.child_by_field_name("object")) == "this"
    )


def _dereferenced(statement: Node, typed: dict[str, str]) -> Iterator[str]:
    """The variables and fields the statement calls a method on, reads a field of or
    indexes, in order: `x` of `x.f()`, `x.f` and `x[i]`, `this.x` of `this.x.f()`; not a
    class (`Math.max`: capitalized) nor a local of a primitive type."""
    for node in _own_nodes(statement):
        field = _DEREFERENCED_FIELDS.get(node.type)
        target = node.child_by_field_name(field) if field else None
        if target is None:
            continue
        name = _text(target)
        if _is_plain(target) and not name.split(".")[-1][:1].isupper() and typed.get(name) not in _PRIMITIVES:
            yield name


def _same_type(typed: dict[str, str], name: str) -> list[str]:
    """The other locals declared with `name`'s type."""
    return [other for other, kind in typed.items() if kind == typed[name] and other != name]


def _typed_locals(statement: Node) -> dict[str, str]:
    """The parameters and locals visible at `statement` (declared before it in a block
    around it), each with its declared type's text."""
    method = java.enclosing_function(statement)
    if method is None:
        return {}
    typed: dict[str, str] = {}
    for declaration in _of_type(method, *_DECLARATIONS):
        # A parameter is seen in its method's or lambda's body; a local, in its block.
        scope = declaration.parent.parent if declaration.type == "formal_parameter" else declaration.parent
        visible = scope.start_byte <= statement.start_byte and statement.end_byte <= scope.end_byte
        if not visible or (declaration.type != "formal_parameter" and declaration.start_byte >= statement.start_byte):
            continue
        kind = declaration.child_by_field_name("type")
        if kind is None or _text(kind) == "var":
            continue
        names = (
            [declarator.child_by_field_name("name") for declarator in declaration.children_by_field_name("declarator")]
            if declaration.type == "local_variable_declaration"
            else [declaration.child_by_field_name("name")]
        )
        typed.update({_text(name): _text(kind) for name in names if name is not None and name.type == "identifier"})
    return typed


def _is_string(expression: Node, typed: dict[str, str]) -> bool:
    """Whether `expression` is surely a String: a literal, a local declared one, or a `+`
    with a String on either side (concatenation)."""
    if expression.type == "parenthesized_expression":
        return any(_is_string(child, typed) for child in expression.named_children)
    if expression.type == "binary_expression" and _text(expression.child_by_field_name("operator")) == "+":
        return any(_is_string(expression.child_by_field_name(side), typed) for side in ("left", "right"))
    return expression.type == "string_literal" or typed.get(_text(expression)) == "String"


def _binaries(part: Node) -> Iterator[Node]:
    return _of_type(part, "binary_expression")


def _calls(part: Node) -> Iterator[Node]:
    return (
        call for call in _of_type(part, "method_invocation", "object_creation_expression")
        if call.child_by_field_name("arguments") is not None
    )


def _conditions(part: Node) -> Iterator[Node]:
    """The conditions in `part`: a branch's or loop's (inside its parentheses), a `for`'s,
    and each ternary's."""
    parent = part.parent
    if part.type == "parenthesized_expression" and parent is not None and parent.type in _CONDITIONED:
        inner = next((child for child in part.named_children if "comment" not in child.type), None)
        if inner is not None:
            yield inner
    elif parent is not None and parent.type == "for_statement" and parent.child_by_field_name("condition") == part:
        yield part
    for ternary in _of_type(part, "ternary_expression"):
        yield ternary.child_by_field_name("condition")


def _bounds(part: Node) -> Iterator[Node]:
    for access in _of_type(part, "array_access"):
        yield access.child_by_field_name("index")
    for call in _of_type(part, "method_invocation"):
        arguments = call.child_by_field_name("arguments")
        if _text(call.child_by_field_name("name")) in _INDEXED_CALLS and arguments is not None:
            yield from [child for child in arguments.named_children if "comment" not in child.type][:2]


def _shiftable(expression: Node) -> bool:
    """Numeric-looking, and not a literal or `i + 1`: a literal is shifted already, so
    `i + 1 - 1` would only repeat `i + 0`."""
    if expression.type == "binary_expression":
        operator = _text(expression.child_by_field_name("operator"))
        literal_offset = operator in ("+", "-") and expression.child_by_field_name("right").type in _INTEGERS
        return operator in ("+", "-", "*", "/", "%") and not literal_offset
    return expression.type in _NUMERIC_OPERANDS


def _shift_literal(literal: Node, typed: dict[str, str]) -> Iterator[Edit]:
    """Shift the literal's value, a unary minus counted in (`-1` -> `0`, never `--1`); a
    `L` suffix stays; octal-looking and underscored literals are left alone. A sum's term
    shifted to 0 is written away, unless the sum is a string's (`s + 0` is no `s`)."""
    text = _text(literal)
    digits, suffix = (text[:-1], text[-1]) if text[-1:] in "lL" else (text, "")
    if not digits.isdigit() or (len(digits) > 1 and digits.startswith("0")):
        return
    value, target = int(digits), literal
    parent = literal.parent
    negated = parent is not None and parent.type == "unary_expression"
    if negated and _text(parent.child_by_field_name("operator")) == "-":
        target, value = parent, -value
    inside_operator = target.parent is not None and target.parent.type == "binary_expression"
    summed = inside_operator and not _is_string(target.parent, typed)
    for shifted in (value + 1, value - 1):
        text = f"{shifted}{suffix}"
        dropped = without_zero_term(target, shifted, "binary_expression") if summed else None
        yield dropped or replace_node(target, f"({text})" if shifted < 0 and inside_operator else text)


def _of_type(node: Node, *types: str) -> Iterator[Node]:
    return (descendant for descendant in walk(node) if descendant.type in types)


def _text(node: Node) -> str:
    return node.text.decode("utf-8")
