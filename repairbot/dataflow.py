"""Intra-procedural data flow to a function's outputs, the tie-breaker of fault localization.

Spectrum-based localization gives every statement of one basic block the same score (the
tests cannot tell them apart), and a failing assertion in the test file leaves no
traceback frame in the function either. What still tells them apart is how the failure
is observed: a test sees a function through what it returns (or writes to an object it
was given), so the statements that compute that value are the ones that can have made
it wrong, and those nearest to it are the likeliest.

`output_distances` computes, for each statement of a function, its distance in the
dependence graph from the function's outputs (a backward slice over tree-sitter, in the
function's own scope only):

- outputs (distance 0): `return` and `yield`, and writes to state the caller can see
  (`self.total = ...`, `items[i] = ...`, `self.items.append(x)` on a name the function
  did not bind itself);
- a statement that defines a name an already reached statement reads is one step further
  (a definition reaches a use that comes after it, or any use in the same loop; nothing
  is killed: a rough slice only orders ties, it decides nothing alone);
- the header of an `if`/`for`/`while`/... is as near as the nearest statement it
  controls: whether that statement runs is as direct a cause of the output as what it
  computes.

Statements that reach no output (logging, a dead store) are absent. `statement_prior`
orders statements at one distance by kind: a condition (`if`, `elif`, `while`: a wrong
condition is the most frequent single-statement fault in fix-pattern studies, e.g. Pan,
Kim and Whitehead, EMSE 2009), then another computation (return, assignment, loop
header), then a plain call, then what rarely holds a fault (logging, `pass`, imports).

Python and Java (where a write to a name the method does not declare is a write to a
field: an output too).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from repairbot.languages import java, python

# A statement that reaches no output sorts after every one that does.
UNREACHED = 1 << 20
# Scopes of their own: their statements are not the function's.
_NESTED = frozenset({"function_definition", "class_definition", "lambda"})
_LOOPS = frozenset({"for_statement", "while_statement", "enhanced_for_statement", "do_statement"})
_OUTPUT_CALL_NAMES = frozenset({"print"})
_LOGGERS = frozenset({"log", "logger", "logging", "LOG", "LOGGER", "_log", "_logger"})
_QUIET = frozenset(
    {"pass_statement", "import_statement", "import_from_statement", "future_import_statement",
     "global_statement", "nonlocal_statement", "print_statement"}
)
_CONDITIONS = frozenset({"if_statement", "elif_clause", "while_statement", "do_statement"})
_COMPUTATIONS = frozenset(
    {"return_statement", "for_statement",
     # Java's
     "local_variable_declaration", "enhanced_for_statement", "switch_expression"}
)
_ASSIGNMENTS = frozenset({"assignment", "augmented_assignment", "assignment_expression", "update_expression"})


@dataclass
class _Statement:
    node: Node
    defs: set[str] = field(default_factory=set)
    binds: set[str] = field(default_factory=set)  # the defs that rebind a name (not `a.b = ...`)
    uses: set[str] = field(default_factory=set)
    output: bool = False
    control: Node | None = None  # the nearest enclosing compound statement's node


def python_output_distances(function: Node) -> dict[int, int]:
    """Each statement of a Python `function_definition` that reaches one of its outputs, by
    its first line (1-based, as `line_statements` maps lines to statements): its distance
    from the nearest output (0: an output itself)."""
    statements = list(_statements(function))
    parameters = function.child_by_field_name("parameters")
    bound = {name for s in statements for name in s.binds} - set(_parameter_names(parameters))
    for statement in statements:
        statement.output = statement.output or _writes_outside(statement.node, bound)
    return _output_distances(statements)


def java_output_distances(function: Node) -> dict[int, int]:
    """`python_output_distances` of a Java method or constructor."""
    return _output_distances(list(_java_statements(function)))


def _output_distances(statements: list[_Statement]) -> dict[int, int]:
    by_node = {s.node.id: s for s in statements}
    distance: dict[int, int] = {}
    queue: deque[_Statement] = deque()
    for statement in statements:
        if statement.output:
            distance[statement.node.id] = 0
            queue.append(statement)
    done: set[int] = set()
    while queue:  # Dijkstra with edges of 0 (control) and 1 (data): a 0-1 BFS
        current = queue.popleft()
        if current.node.id in done:
            continue
        done.add(current.node.id)
        here = distance[current.node.id]
        control = by_node.get(current.control.id) if current.control is not None else None
        if control is not None and distance.get(control.node.id, UNREACHED) > here:
            distance[control.node.id] = here
            queue.appendleft(control)
        for source in statements:
            nearer = distance.get(source.node.id, UNREACHED) > here + 1
            if nearer and source.defs & current.uses and _reaches(source.node, current.node):
                distance[source.node.id] = here + 1
                queue.append(source)
    by_line: dict[int, int] = {}
    for statement in statements:  # of two statements on a line, the nearer counts
        if statement.node.id in distance:
            line = _first_line(statement.node)
            by_line[line] = min(by_line.get(line, UNREACHED), distance[statement.node.id])
    return by_line


# --- accessors ---

# What a plain move copies: a name, a member, a literal (Python's and Java's node types).
_PLAIN_VALUES = frozenset({
    "identifier", "attribute", "field_access", "this", "none", "true", "false", "integer", "float", "string",
    "null_literal", "decimal_integer_literal", "decimal_floating_point_literal", "string_literal",
    "character_literal",
})
# ... or what is built from nothing: `[]`, `{}`, a call with no arguments (`list()`, `new
# ArrayList<>()`).
_EMPTY_COLLECTIONS = frozenset({"list", "dictionary", "set", "tuple"})
# What a move can store into, and the values that are names, not constants.
_NAMES = frozenset({"identifier", "attribute", "field_access"})
# More moves than this is initialisation logic, not an accessor.
MAX_ACCESSOR_STATEMENTS = 8


def is_accessor(function: Node) -> bool:
    """A getter, setter or constructor that only moves values (Python or Java): each of its
    statements returns a plain value, assigns one to a name or member, or hands plain
    values to `super(...)`/`this(...)`. Every test that builds an object runs these, so
    when all tests fail they tie with the faulty statement; they rarely hold the fault."""
    return _accessor_values(function) is not None


def moves_a_name(function: Node) -> bool:
    """An accessor that hands on a named value (a parameter, a field: `this.next = next`,
    `return self.value`), not only constants (`return 'hello'`, a stub)."""
    values = _accessor_values(function)
    return values is not None and any(value.type in _NAMES for value in values)


def _accessor_values(function: Node) -> list[Node] | None:
    """The values an accessor's statements move; None for a function that does more."""
    body = function.child_by_field_name("body")
    statements = [child for child in body.named_children if "comment" not in child.type] if body else []
    if not 0 < len(statements) <= MAX_ACCESSOR_STATEMENTS:
        return None
    values: list[Node] = []
    for statement in statements:
        moved = _moved_values(statement)
        if moved is None:
            return None
        values += moved
    return values


def _moved_values(statement: Node) -> list[Node] | None:
    """What a statement that only moves values moves; None for another statement."""
    if statement.type == "pass_statement":
        return []
    if statement.type == "return_statement":
        moved = statement.named_children
    elif statement.type == "explicit_constructor_invocation":
        arguments = statement.child_by_field_name("arguments")
        if arguments is None:
            return None
        moved = arguments.named_children
    elif statement.type != "expression_statement" or statement.named_child_count != 1:
        return None
    elif (expression := statement.named_children[0]).type == "string":  # a docstring
        return []
    elif expression.type not in ("assignment", "assignment_expression"):
        return None
    else:
        operator = expression.child_by_field_name("operator")
        left, right = expression.child_by_field_name("left"), expression.child_by_field_name("right")
        if operator is not None and operator.type != "=" or left is None or left.type not in _NAMES or right is None:
            return None
        moved = [right]
    return moved if all(map(_is_plain_value, moved)) else None


def _is_plain_value(node: Node) -> bool:
    if node.type in _PLAIN_VALUES:
        return True
    if node.type in ("call", "object_creation_expression"):
        arguments = node.child_by_field_name("arguments")
        return arguments is not None and not arguments.named_children
    return node.type in _EMPTY_COLLECTIONS and not node.named_children


def _first_line(statement: Node) -> int:
    """The line a statement is ranked at: a Java do loop's is its condition's."""
    condition = statement.child_by_field_name("condition") if statement.type == java.DO_STATEMENT else None
    return (condition or statement).start_point.row + 1


def statement_prior(statement: Node) -> int:
    """3: a condition; 2: another computation (return, assignment, loop header); 1: another
    statement (a call, raise, with); 0 (Python): what rarely holds a fault (pass, import, print, logging)."""
    if statement.type in _QUIET or _is_logging(statement):
        return 0
    if statement.type in _CONDITIONS:
        return 3
    if statement.type in _COMPUTATIONS or _assignment(statement) is not None:
        return 2
    return 1


def _statements(function: Node) -> Iterator[_Statement]:
    """The function's own statements (not those of nested functions, classes, lambdas),
    in source order, with what each defines and reads."""
    body = function.child_by_field_name("body")
    if body is None:
        return
    for node in python.walk(body, skip=_NESTED):
        if node.type in python.SIMPLE_STATEMENTS or node.type in python.HEADED_STATEMENTS:
            yield _analyse(node, _control(node, function))



def _analyse(node: Node, control: Node | None) -> _Statement:
    statement = _Statement(node, control=control)
    header = _header_parts(node)
    targets: list[Node] = []
    assignment = _assignment(node)
    if assignment is not None:
        left = assignment.child_by_field_name("left")
        if left is not None:
            targets.append(left)
            if assignment.type == "augmented_assignment":
                statement.uses |= _identifiers(left)
    elif node.type == "for_statement":
        left = node.child_by_field_name("left")
        if left is not None:
            targets.append(left)
    for part in header:
        for target in part.named_children if part.type == "with_clause" else ():
            targets.extend(_as_targets(target))
    receiver = _receiver(node)
    if receiver is not None and (base := _base(receiver)) is not None:
        statement.defs.add(base)  # `items.append(x)` changes what `items` names
    for target in targets:
        statement.binds |= set(python.bound_names(target))  # the language's own binding rules
        statement.defs |= statement.binds | _base_names(target)
    target_ids = {n.id for target in targets for n in python.walk(target) if _is_plain_target(n, target)}
    for part in header:
        statement.uses |= {name for name, node_id in _identifier_nodes(part) if node_id not in target_ids}
    statement.output = node.type == "return_statement" or _yields(node)
    return statement


def _header_parts(node: Node) -> list[Node]:
    """The parts of a statement that run as it (a compound statement's header)."""
    if node.type in python.SIMPLE_STATEMENTS:
        return [node]
    return python.statement_header(node)  # the same header the line map uses


def _assignment(node: Node) -> Node | None:
    if node.type != "expression_statement" or node.named_child_count != 1:
        return None
    child = node.named_children[0]
    return child if child.type in _ASSIGNMENTS else None


def _as_targets(item: Node) -> Iterator[Node]:
    for node in python.walk(item):
        if node.type == "as_pattern_target":
            yield node


def _is_plain_target(node: Node, target: Node) -> bool:
    """An identifier the target binds (not one it reads, as `i` in `a[i] = ...`)."""
    if node.type != "identifier":
        return False
    parent = node.parent
    while parent is not None and parent.id != target.id:
        if parent.type not in python.TARGET_CONTAINERS:
            return False
        parent = parent.parent
    return True


def _base_names(target: Node) -> set[str]:
    """`a[i] = ...` and `a.b = ...` change the object `a` names: a (weak) definition of a."""
    names: set[str] = set()
    for node in python.walk(target):
        if node.type in ("subscript", "attribute"):
            base = _base(node)
            if base is not None:
                names.add(base)
    return names


def _base(node: Node) -> str | None:
    while node.type in ("subscript", "attribute", "call"):
        inner = node.child_by_field_name("value") or node.child_by_field_name("object") or node.child_by_field_name(
            "function")
        if inner is None:
            return None
        node = inner
    return node.text.decode("utf-8") if node.type == "identifier" and node.text is not None else None


def _writes_outside(node: Node, bound: set[str]) -> bool:
    """A write the caller can see: to an attribute or item of an object the function did
    not create (`self.x = ...`, `param[i] = ...`), or a mutating method call on one
    (`self.items.append(x)`: any method call on an attribute of such an object, or on
    a parameter)."""
    assignment = _assignment(node)
    if assignment is not None:
        left = assignment.child_by_field_name("left")
        return left is not None and any(base not in bound for base in _base_names(left))
    receiver = _receiver(node)
    base = _base(receiver) if receiver is not None and not _is_logging(node) else None
    return base is not None and base not in bound


def _receiver(statement: Node) -> Node | None:
    """`a.b` of a statement that is a method call `a.b.m(...)`."""
    if statement.type != "expression_statement" or statement.named_child_count != 1:
        return None
    call = statement.named_children[0]
    function = call.child_by_field_name("function") if call.type == "call" else None
    return function.child_by_field_name("object") if function is not None and function.type == "attribute" else None


def _yields(node: Node) -> bool:
    return node.type == "expression_statement" and any(n.type == "yield" for n in python.walk(node, skip=_NESTED))


def _is_logging(statement: Node) -> bool:
    """`print(...)`, `logger.info(...)`, `logging.debug(...)`, `self.log.warning(...)`."""
    if statement.type != "expression_statement" or statement.named_child_count != 1:
        return False
    call = statement.named_children[0]
    function = call.child_by_field_name("function") if call.type == "call" else None
    if function is None:
        return False
    if function.type == "identifier":
        return function.text is not None and function.text.decode("utf-8") in _OUTPUT_CALL_NAMES
    receiver = function.child_by_field_name("object") if function.type == "attribute" else None
    while receiver is not None and receiver.type == "attribute":
        name = receiver.child_by_field_name("attribute")
        if name is not None and name.text is not None and name.text.decode("utf-8") in _LOGGERS:
            return True
        receiver = receiver.child_by_field_name("object")
    return receiver is not None and receiver.text is not None and receiver.text.decode("utf-8") in _LOGGERS


def _identifiers(node: Node) -> set[str]:
    return {name for name, _ in _identifier_nodes(node)}


def _identifier_nodes(node: Node) -> Iterator[tuple[str, int]]:
    """Names read in `node` (`b` of `a.b` and keyword names are no variables)."""
    for current in python.walk(node, skip=("function_definition", "class_definition")):
        if current.type != "identifier" or current.text is None:
            continue
        parent = current.parent
        if parent is not None and parent.type == "attribute" and parent.child_by_field_name("attribute") == current:
            continue
        if parent is not None and parent.type == "keyword_argument" and parent.child_by_field_name("name") == current:
            continue
        yield current.text.decode("utf-8"), current.id


def _parameter_names(parameters: Node | None) -> Iterator[str]:
    if parameters is not None:
        yield from python.bound_names(parameters)


def _control(node: Node, function: Node) -> Node | None:
    """The compound statement whose header decides whether `node` runs, inside `function`."""
    parent = node.parent
    while parent is not None and parent.id != function.id:
        if parent.type in python.HEADED_STATEMENTS:
            return parent
        parent = parent.parent
    return None


def _reaches(definition: Node, use: Node) -> bool:
    """A definition can reach a use after it, or any use in a loop holding both."""
    if definition.start_byte < use.start_byte:
        return True
    loop: Node | None = use
    while loop is not None:
        if loop.type in _LOOPS and loop.start_byte <= definition.start_byte and definition.end_byte <= loop.end_byte:
            return True
        loop = loop.parent
    return False


# --- Java ---

_JAVA_NESTED = frozenset({"class_body", "lambda_expression", "method_declaration", "constructor_declaration"})
_JAVA_HEADED = frozenset(java.HEADED_STATEMENTS) | {java.DO_STATEMENT}


def _java_statements(method: Node) -> Iterator[_Statement]:
    """The method's own statements (not those of lambdas or anonymous classes), with what
    each defines and reads; outputs are returns and writes to fields (a name the method
    does not declare, `this.x`, `other.x`, `items[i]` of a parameter) or calls on them."""
    body = method.child_by_field_name("body")
    if body is None:
        return
    statements = [
        _java_analyse(node, _java_control(node, method))
        for node in python.walk(body, skip=_JAVA_NESTED)
        if node.type in java.SIMPLE_STATEMENTS or node.type in _JAVA_HEADED
    ]
    parameters = method.child_by_field_name("parameters")
    local = {name for s in statements for name in s.binds}
    params = {n.text.decode("utf-8") for n in python.walk(parameters) if _is_declared_name(n)} if parameters else set()
    for statement in statements:
        statement.output = statement.output or bool(statement.defs - local) or bool(statement.defs & params)
        yield statement


def _java_analyse(node: Node, control: Node | None) -> _Statement:
    statement = _Statement(node, control=control)
    if node.type in _JAVA_HEADED:
        parts = java.statement_rows(node)[1]  # the header the line map uses
    else:
        parts = [node]
    targets: set[int] = set()
    for part in parts:
        for current in python.walk(part, skip=_JAVA_NESTED):
            if _is_declared_name(current):
                statement.binds.add(current.text.decode("utf-8"))
                targets.add(current.id)
            elif current.type in ("assignment_expression", "update_expression"):
                target = current.child_by_field_name("left") or current.named_children[0]
                name = _java_base(target)
                if name is not None:
                    statement.defs.add(name)
                if target.type == "identifier" and current.type == "assignment_expression":
                    operator = current.child_by_field_name("operator")
                    if operator is not None and operator.type == "=":
                        targets.add(target.id)
    statement.defs |= statement.binds
    if node.type == "expression_statement" and node.named_child_count == 1:
        call = node.named_children[0]
        receiver = call.child_by_field_name("object") if call.type == "method_invocation" else None
        base = _java_base(receiver) if receiver is not None else None
        if base is not None:
            statement.defs.add(base)  # `items.add(x)` changes what `items` names
    for part in parts:
        statement.uses |= {
            n.text.decode("utf-8") for n in python.walk(part, skip=("class_body",))
            if n.type == "identifier" and n.id not in targets and _is_java_variable(n)
        }
    statement.output = node.type == "return_statement"
    return statement


def _is_declared_name(node: Node) -> bool:
    parent = node.parent
    return (
        node.type == "identifier" and parent is not None
        and parent.type in ("variable_declarator", "formal_parameter", "catch_formal_parameter",
                            "enhanced_for_statement", "spread_parameter")
        and parent.child_by_field_name("name") == node
    )


def _is_java_variable(node: Node) -> bool:
    """Not a field name after a dot, a method name, or a label."""
    parent = node.parent
    if parent is None:
        return True
    if parent.type == "field_access":
        return parent.child_by_field_name("field") != node
    if parent.type == "method_invocation":
        return parent.child_by_field_name("name") != node
    return parent.type not in ("labeled_statement", "break_statement", "continue_statement")


def _java_base(node: Node | None) -> str | None:
    """The variable an lvalue or receiver starts from: `this` for `this.x`, `a` for
    `a.b[i]`, `x` for `x`."""
    while node is not None and node.type in ("field_access", "array_access", "method_invocation",
                                             "parenthesized_expression"):
        node = (node.child_by_field_name("object") or node.child_by_field_name("array")
                or (node.named_children[0] if node.type == "parenthesized_expression" else None))
    if node is None:
        return None
    if node.type == "this":
        return "this"
    return node.text.decode("utf-8") if node.type == "identifier" and node.text is not None else None


def _java_control(node: Node, method: Node) -> Node | None:
    parent = node.parent
    while parent is not None and parent.id != method.id:
        if parent.type in _JAVA_HEADED:
            return parent
        parent = parent.parent
    return None
