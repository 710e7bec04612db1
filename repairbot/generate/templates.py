"""Fix templates: small, mechanical rewrites of one suspicious statement.

Most bugs that a single-statement fix repairs fall in a handful of classes (a wrong
operator, an off-by-one, a wrong variable or member, swapped arguments, an inverted condition), so
enumerating those rewrites around the most suspicious lines finds many real fixes without
a model, in milliseconds. A missing check is one more class, worth trying only where a
failing test raised what it guards against (TBar's checkers: `Template.evidence`).

Each template is a function `(statement node, local names) -> edits`; an edit replaces one
byte span of the file. Spans are tree-sitter byte offsets into the UTF-8 file, so edits are
applied to bytes, never to `str` indices, which differ as soon as a line has non-ASCII text.

The sources are the untrusted project's: the work is bounded by file size and line length
(a 6 MB one-line file once kept this running past a 300 s job budget) and by a deadline
checked between edits, so the job's time budget holds inside generation too.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import itertools
import logging
import math
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from tree_sitter import Node, Tree

from repairbot.domain import Candidate, SuspiciousLocation
from repairbot.generate.describe import describe_change
from repairbot.languages import python
from repairbot.languages.registry import LanguageSupport, language_for
from validators import safe_files

logger = logging.getLogger(__name__)


class Edit(NamedTuple):
    start_byte: int
    end_byte: int
    text: str
    description: str


TemplateFn = Callable[[Node, Sequence[str]], Iterator[Edit]]

ORDERING = ("<", "<=", ">", ">=", "==", "!=")  # Java's comparisons too
_COMPARISON_GROUPS = (ORDERING, ("is", "is not"), ("in", "not in"))
_ARITHMETIC = ("+", "-", "*", "/", "//", "%")
# Bitwise and shift operators swap among their own kind; Java's too (and its `>>>`).
BITWISE = (("&", "|", "^"), ("<<", ">>", ">>>"))
_OPERATOR_GROUPS = (_ARITHMETIC, *BITWISE)
_AUGMENTED = tuple(tuple(op + "=" for op in group) for group in _OPERATOR_GROUPS)
# Functions a call may have confused with its twin: `min`/`max`, `any`/`all`, `floor`/`ceil`.
TWINS = {"min": "max", "max": "min", "any": "all", "all": "any", "floor": "ceil", "ceil": "floor"}
# Operators whose operands cannot trade places freely (`+` joins strings and lists too).
_ORDERED_OPERATORS = frozenset({"-", "/", "//", "%", "**", "+", "<<", ">>"})
# Expressions that can hold a number and that `+ 1` can follow without parentheses.
_NUMERIC_OPERANDS = frozenset(
    {"identifier", "attribute", "call", "subscript", "parenthesized_expression"}
)
_BINDS_AT_LEAST_AS_PLUS = frozenset({"+", "-", "*", "/", "//", "%", "**"})
# Operands that `not` can prefix without changing what it applies to.
_ATOMIC_CONDITIONS = frozenset(
    {"identifier", "call", "attribute", "subscript", "parenthesized_expression"}
)
# Parent type -> field whose identifier is a name being defined or looked up by name,
# not a value: replacing it by a local variable is not an "identifier used" fix.
_NAME_FIELDS = {
    "call": "function",
    "attribute": "attribute",
    "keyword_argument": "name",
    "named_expression": "name",
    "default_parameter": "name",
    "typed_default_parameter": "name",
    "assignment": "left",
    "for_statement": "left",
    "for_in_clause": "left",
}
_NAME_PARENTS = python.TARGET_CONTAINERS | {
    "dotted_name",
    "aliased_import",
    "global_statement",
    "nonlocal_statement",
    "lambda_parameters",
    "keyword_pattern",
}
# A statement with 8 values and 20 locals would yield 160 near-random candidates; the
# first few alternatives of every identifier are worth more than all of the first one's.
MAX_IDENTIFIER_EDITS = 30
# A member's alternatives: the few most similar names; the rest of a large class's members
# would be near-random guesses.
MAX_MEMBER_EDITS = 3
# A checker's guard is as likely a fix as a replaced variable; it guards this many values of
# one statement at most.
CHECK_WEIGHT = 0.3
MAX_CHECKS = 3
# Every candidate re-parses its whole file (about a second per MiB): beyond this a file is
# generated or hostile, not a repair target (the largest modules of CPython's stdlib are
# about 250 KiB).
MAX_SOURCE_BYTES = 512 * safe_files.KiB
# A suspicious line longer than this is minified or data: its statements would yield
# thousands of edits, none a plausible one-statement fix.
MAX_LINE_BYTES = 2000


def swap_comparison(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    for comparison in _of_type(node, "comparison_operator"):
        for operator in comparison.children_by_field_name("operators"):
            for group in _COMPARISON_GROUPS:
                yield from swaps(operator, group)


def swap_arithmetic(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    for binary in _of_type(node, "binary_operator"):
        for group in _OPERATOR_GROUPS:
            yield from swaps(binary.child_by_field_name("operator"), group)
    for augmented in _of_type(node, "augmented_assignment"):
        for group in _AUGMENTED:
            yield from swaps(augmented.child_by_field_name("operator"), group)


def swap_operands(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """`a - b` -> `b - a`, `s + t` -> `t + s`: where the order of the operands matters."""
    for binary in _of_type(node, "binary_operator"):
        if _operator(binary) in _ORDERED_OPERATORS:
            yield exchange_operands(binary, ("binary_operator", "boolean_operator", "comparison_operator",
                                              "conditional_expression", "not_operator", "lambda"))


def swap_twin_function(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """`min(...)` -> `max(...)`, `any` -> `all`, `math.floor` -> `math.ceil`, and back."""
    for call in _of_type(node, "call"):
        function = call.child_by_field_name("function")
        name = function.child_by_field_name("attribute") if function.type == "attribute" else function
        if name is not None and name.type == "identifier" and _text(name) in TWINS:
            yield replace_node(name, TWINS[_text(name)])


def swap_boolean(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    for boolean in _of_type(node, "boolean_operator"):
        yield from swaps(boolean.child_by_field_name("operator"), ("and", "or"))


def off_by_one(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """Literals n -> n+1, n-1; indices, slice bounds and range() bounds e -> e + 1, e - 1."""
    for literal in _of_type(node, "integer"):
        yield from _shift_literal(literal)
    for bound in _bounds(node):
        if _shiftable(bound):
            yield from shift_by_one(bound)


def swap_arguments(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """A call's positional arguments, and the indices of a subscript with several
    (`paths[j, k]` -> `paths[k, j]`: the same mistake in a key or a matrix index)."""
    for call in _of_type(node, "call"):
        arguments = [child for child in _arguments(call) if child.type != "comment"]
        for positional, run in itertools.groupby(arguments, _is_positional):
            if positional:
                yield from move_arguments(call, list(run))
    for subscript in _of_type(node, "subscript"):
        yield from move_arguments(subscript, subscript.children_by_field_name("subscript"))


def negate_condition(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """`c` -> `not c`; `not c` -> `c` only, as `not (not c)` tests the same as `not c`."""
    conditions = [node] if _is_loop_or_branch_condition(node) else []
    conditions += [_ternary_condition(expr) for expr in _of_type(node, "conditional_expression")]
    for condition in conditions:
        if condition.type == "not_operator":
            yield replace_node(condition, _text(condition.child_by_field_name("argument")))
        elif condition.type in _ATOMIC_CONDITIONS:
            yield replace_node(condition, f"not {_text(condition)}")
        else:
            yield replace_node(condition, f"not ({_text(condition)})")


def fix_return_value(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    if node.type != "return_statement" or not node.named_children:
        return
    value = node.named_children[0]
    if value.type == "comment":
        return
    if value.type in ("true", "false"):
        yield replace_node(value, "False" if value.type == "true" else "True")
    for name in names:
        yield replace_node(value, name)


def replace_identifier(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """Each value identifier -> each other local."""
    values = [identifier for identifier in _of_type(node, "identifier") if _is_value(identifier)]
    yield from rank_by_rank(values, [[name for name in names if name != _text(value)] for value in values])


def replace_operand(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """`get(heap, n) + w` -> `distance + w`: an arithmetic operand computed by a call or a
    lookup where the code already holds the value in a variable (TBar's "mutate variable",
    PraPR's expression-to-local replacement). The alternatives: the locals bound before the
    statement, the latest first, none that the operand itself reads."""
    bound = python.names_bound_before(node)
    operands = [
        operand
        for binary in _of_type(node, "binary_operator") if _operator(binary) in _ARITHMETIC
        for operand in (binary.child_by_field_name("left"), binary.child_by_field_name("right"))
        if operand is not None and operand.type in ("call", "subscript")
    ]
    yield from rank_by_rank(operands, [[name for name in bound if name not in read_names(o)] for o in operands])


def read_names(expression: Node) -> set[str]:
    return {_text(n) for n in _of_type(expression, "identifier")}


def rank_by_rank(targets: Sequence[Node], alternatives: Sequence[Sequence[str]]) -> Iterator[Edit]:
    """Each target replaced by each of its alternatives, every target's first alternative
    before any second one (so that every target gets a turn), MAX_IDENTIFIER_EDITS in all."""
    edits = (
        replace_node(target, others[rank])
        for rank in range(max(map(len, alternatives), default=0))
        for target, others in zip(targets, alternatives)
        if rank < len(others)
    )
    return itertools.islice(edits, MAX_IDENTIFIER_EDITS)


def replace_member(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """`obj.a` -> `obj.b` where `b` is another member the file uses or defines, a called one
    only where a member is called: a wrong field or method (PySStuBs' and ManySStuBs4J's
    "wrong attribute" and "wrong function name"). The most similar names first
    (`outgoing_nodes` -> `incoming_nodes`), MAX_MEMBER_EDITS per member."""
    members = _file_members(python.root_of(node))
    renames = []
    for attribute in _of_type(node, "attribute"):
        renames.append((attribute.child_by_field_name("attribute"), members[_is_called(attribute)]))
    yield from most_similar_first(renames)


def _is_called(attribute: Node) -> bool:
    """`obj.a` is the function of a call (`obj.a(...)`), not a value."""
    parent = attribute.parent
    return parent is not None and parent.type == "call" and parent.child_by_field_name("function") == attribute


def most_similar_first(renames: Iterable[tuple[Node, Collection[str]]]) -> Iterator[Edit]:
    """Each name node renamed to the MAX_MEMBER_EDITS of its alternatives most like it
    (difflib's ratio), all of them ordered by that likeness: the likeliest slip first."""
    scored = []
    for node, names in renames:
        old = _text(node)
        ratios = sorted((-difflib.SequenceMatcher(None, old, other).ratio(), other) for other in set(names) - {old})
        scored += [(ratio, replace_node(node, other)) for ratio, other in ratios[:MAX_MEMBER_EDITS]]
    scored.sort(key=lambda pair: pair[0])
    return (edit for _, edit in scored)


@functools.lru_cache(maxsize=8)
def _file_members(root: Node) -> dict[bool, frozenset[str]]:
    """Called (True) and other (False) member names of a parsed Python file: the attributes
    it reads or writes, and the methods its classes define. Cached per tree: every
    statement of a location asks (tree-sitter nodes compare equal only within one tree)."""
    members: dict[bool, set[str]] = {True: set(), False: set()}
    for node in python.walk(root):
        if node.type == "attribute":
            members[_is_called(node)].add(_text(node.child_by_field_name("attribute")))
        elif node.type == "function_definition" and node.parent is not None and node.parent.type == "block":
            owner = node.parent.parent
            if owner is not None and owner.type == "class_definition":
                members[True].add(_text(node.child_by_field_name("name")))
    return {called: frozenset(names) for called, names in members.items()}


def check_none(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """A name the statement reads an attribute or an item of may be None."""
    return _guards(node, ((f"{name} is None", f"{name} is not None") for name in _read_through(node)))


def check_index(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """A sequence the statement indexes may be too short: empty for `a[0]` or `a[-1]`,
    shorter than a computed index."""
    return _guards(node, _index_checks(node))


def _index_checks(node: Node) -> Iterator[tuple[str, str]]:
    for subscript in _of_type(node, "subscript"):
        sequence, index = subscript.child_by_field_name("value"), subscript.child_by_field_name("subscript")
        if sequence is None or index is None or sequence.type != "identifier":
            continue
        if _text(index) in ("0", "-1"):
            yield f"not {_text(sequence)}", _text(sequence)
        elif index.type not in ("integer", "slice", "unary_operator"):
            bound = f"len({_text(sequence)})"
            shown = _text(index) if index.type in _ATOMIC_CONDITIONS else f"({_text(index)})"
            yield f"{shown} >= {bound}", f"{shown} < {bound}"


def check_key(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """A mapping the statement looks a key up in may not have it."""
    checks = (
        (f"{_text(key)} not in {_text(mapping)}", f"{_text(key)} in {_text(mapping)}")
        for subscript in _of_type(node, "subscript")
        if (mapping := subscript.child_by_field_name("value")) is not None and mapping.type == "identifier"
        and (key := subscript.child_by_field_name("subscript")) is not None and key.type in ("identifier", "string")
    )
    return _guards(node, checks)


def check_divisor(node: Node, names: Sequence[str]) -> Iterator[Edit]:
    """A divisor the statement uses may be zero."""
    checks = (
        (f"{_text(divisor)} == 0", f"{_text(divisor)} != 0")
        for division in _of_type(node, "binary_operator")
        if _operator(division) in ("/", "//", "%")
        and (divisor := division.child_by_field_name("right")).type in ("identifier", "attribute", "call")
    )
    return _guards(node, checks)


def _read_through(node: Node) -> Iterator[str]:
    """Names whose attribute or item the statement reads (`x` of `x.f`, `x[i]`), not `self`
    or `cls`, nor a capitalized name (a class or a constant)."""
    for reading in python.walk(node):
        field = {"attribute": "object", "subscript": "value"}.get(reading.type)
        target = reading.child_by_field_name(field) if field else None
        if target is not None and target.type == "identifier":
            name = _text(target)
            if name not in ("self", "cls") and not name[:1].isupper():
                yield name


def _guards(node: Node, checks: Iterable[tuple[str, str]]) -> Iterator[Edit]:
    """The checkers' edits (TBar's): for each (failing, passing) condition, return before the
    statement when the condition fails; a one-line expression statement also runs only
    when it passes. `node` is a statement or a compound statement's header."""
    statement = node if node.type in python.SIMPLE_STATEMENTS else node.parent
    function = python.enclosing_function(statement) if statement is not None else None
    if statement is None or function is None:
        return
    indent, code = statement_indent(statement), _text(statement)
    if indent is None:  # `if x: return y`: the statement does not start its line
        return
    default = _default_return(function)
    for failing, passing in itertools.islice(dict.fromkeys(checks), MAX_CHECKS):
        yield replace_node(statement, f"if {failing}:\n{indent}    {default}\n{indent}{code}")
        if statement.type == "expression_statement" and "\n" not in code:
            yield replace_node(statement, f"if {passing}:\n{indent}    {code}")


# The empty value of each kind of literal a function returns: what its guard returns, as
# Java's checkers return the declared type's default (`false`, `0`, `null`).
_EMPTY_OF_KIND = {"true": "False", "false": "False", "integer": "0", "float": "0.0", "list": "[]",
                  "dictionary": "{}", "tuple": "()"}


def _default_return(function: Node) -> str:
    """The early return of a guard in `function`: the empty value of the first literal kind
    its own return statements give (a function answering `True`/`False` answers `False`),
    a bare `return` where none does."""
    for node in python.walk(function):
        if node.type == "return_statement" and python.enclosing_function(node) == function:
            value = next(iter(node.named_children), None)
            if value is not None and value.type in _EMPTY_OF_KIND:
                return f"return {_EMPTY_OF_KIND[value.type]}"
    return "return"


def statement_indent(statement: Node) -> str | None:
    """The whitespace before `statement` on its line; None when code is there."""
    root = statement
    while root.parent is not None:
        root = root.parent
    data, start = root.text, statement.start_byte - root.start_byte
    before = data[data.rfind(b"\n", 0, start) + 1 : start].decode("utf-8")
    return before if not before or before.isspace() else None


@dataclass(frozen=True)
class Template:
    name: str
    weight: float
    apply: TemplateFn
    # A regular expression one of the failures' messages must match for the template to
    # apply ("": always): a guard against an exception is worth a candidate only where that
    # exception was raised.
    evidence: str = ""


# Weights are per-candidate priors, hand-set rather than fitted: roughly how often the
# template's bug class is the fix of a single-statement bug (QuixBugs, BugsInPy, PySStuBs:
# wrong comparison/arithmetic operator and off-by-one are the most frequent), discounted by
# how many candidates the template emits per statement. Identifier replacement covers a
# frequent class too but emits the most guesses, so each one is the least likely; an
# operand computed where a variable holds the value is rarer still.
TEMPLATES: tuple[Template, ...] = (
    Template("comparison", 1.0, swap_comparison),
    Template("off_by_one", 0.9, off_by_one),
    Template("arithmetic", 0.8, swap_arithmetic),
    Template("boolean", 0.8, swap_boolean),
    Template("negate_condition", 0.7, negate_condition),
    Template("return_value", 0.6, fix_return_value),
    Template("swap_arguments", 0.5, swap_arguments),
    Template("twin_function", 0.5, swap_twin_function),
    Template("swap_operands", 0.3, swap_operands),
    Template("identifier", 0.3, replace_identifier),
    Template("member", 0.3, replace_member),
    Template("operand", 0.2, replace_operand),
    # TBar's checkers: a guard against the exception a failing test shows (its evidence, in
    # either language's words), so a job without it pays nothing for them.
    Template("null_check", CHECK_WEIGHT, check_none, evidence=r"NullPointerException|'NoneType' object"),
    Template("range_check", CHECK_WEIGHT, check_index, evidence=r"IndexOutOfBoundsException|IndexError"),
    Template("key_check", CHECK_WEIGHT, check_key, evidence=r"KeyError"),
    Template("zero_check", CHECK_WEIGHT, check_divisor, evidence=r"ArithmeticException: / by zero|ZeroDivisionError"),
)


class TemplateEdit(NamedTuple):
    """One rewrite a language's rules propose: what `LanguageSupport.fix_templates` yields."""

    template: Template
    edit: Edit


class _Source(NamedTuple):
    language: LanguageSupport
    data: bytes
    text: str
    tree: Tree
    line_bytes: list[int]  # the length of each line


class _Proposal(NamedTuple):
    prior: float
    source: _Source
    location: SuspiciousLocation
    template: str
    edit: Edit


@dataclass
class TemplateStats:
    """What the last `generate` left out: `skipped` files and locations (with why), and
    whether the deadline cut it short."""

    skipped: dict[str, str] = field(default_factory=dict)
    out_of_time: bool = False


class TemplateGenerator:
    name = "templates"

    def __init__(self, time_limit_s: float = math.inf, failure_messages: Sequence[str] = ()) -> None:
        """`time_limit_s` from now on (the job's remaining budget; 0 or less: nothing);
        `failure_messages`: the failing tests', what a template's `evidence` is looked for in."""
        self._deadline = time.monotonic() + time_limit_s
        failures = "\n".join(failure_messages)
        # Whether a template's evidence is in the failures: a few patterns, asked per edit.
        self._evident: Callable[[str], bool] = functools.cache(lambda pattern: bool(re.search(pattern, failures)))
        self.stats = TemplateStats()

    def generate(
        self, project_root: Path, locations: list[SuspiciousLocation], limit: int
    ) -> list[Candidate]:
        """The `limit` best candidates by prior, ties in location-then-template order, or
        those found by the deadline.

        Edits are cheap to enumerate, a syntax check costs a parse: so all edits are ranked
        first and only the top ones are applied and checked.
        """
        self.stats = TemplateStats()
        sources: dict[str, _Source | None] = {}
        proposals: list[_Proposal] = []
        for location in locations:
            if self._out_of_time():
                break
            if location.file not in sources:
                sources[location.file] = self._load(project_root, location.file)
            source = sources[location.file]
            if source is not None and self._lines_fit(source, location):
                proposed = _propose(source, project_root, location, self._evident)
                proposals.extend(itertools.takewhile(lambda _: not self._out_of_time(), proposed))
        proposals.sort(key=lambda proposal: -proposal.prior)
        candidates = itertools.takewhile(lambda _: not self._out_of_time(), _candidates(proposals))
        return list(itertools.islice(candidates, max(limit, 0)))

    def _out_of_time(self) -> bool:
        if time.monotonic() >= self._deadline:
            self.stats.out_of_time = True
        return self.stats.out_of_time

    def _load(self, project_root: Path, file: str) -> _Source | None:
        language = language_for(file)
        if language is None or language.fix_templates is None:
            return None
        try:
            data = safe_files.read_bytes(project_root, file, limit=MAX_SOURCE_BYTES)
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self._skip(file, str(error))
            return None
        if language.has_syntax_error(data):
            self._skip(file, "it has a syntax error")
            return None
        line_bytes = [len(line) for line in data.split(b"\n")]
        return _Source(language, data, text, language.parse(data), line_bytes)

    def _lines_fit(self, source: _Source, location: SuspiciousLocation) -> bool:
        lengths = source.line_bytes[max(location.start_line - 1, 0) : location.end_line]
        if max(lengths, default=0) > MAX_LINE_BYTES:
            where = f"{location.file}:{location.start_line}-{location.end_line}"
            self._skip(where, f"a line is longer than {MAX_LINE_BYTES} bytes (minified code or data)")
            return False
        return True

    def _skip(self, what: str, reason: str) -> None:
        logger.warning("templates: skipping %s: %s", what, reason)
        self.stats.skipped[what] = reason


def _propose(
    source: _Source, project_root: Path, location: SuspiciousLocation, evident: Callable[[str], bool]
) -> Iterator[_Proposal]:
    assert source.language.fix_templates is not None  # _load keeps no other source
    proposed = source.language.fix_templates(
        source.data, source.tree, location.start_line, location.end_line, project_root, location.file
    )
    for template, edit in proposed:
        if template.evidence and not evident(template.evidence):
            continue
        if source.data[edit.start_byte : edit.end_byte] != edit.text.encode("utf-8"):
            yield _Proposal(location.score * template.weight, source, location, template.name, edit)


def python_edits(
    data: bytes, tree: Tree, start_line: int, end_line: int, project_root: Path | None = None, file: str | None = None
) -> Iterator[TemplateEdit]:
    """Python's rewrites of the statements on lines `start_line..end_line` of a parsed file;
    the project (`file` in `project_root`) is not asked: Python declares no types to check
    a rewrite against."""
    names: dict[tuple[int, int], list[str]] = {}  # once per scope: a line of many statements
    for node in python.statement_nodes_on_lines(tree, start_line, end_line):
        scope = python.enclosing_function(node) or tree.root_node
        key = (scope.start_byte, scope.end_byte)
        if key not in names:
            names[key] = python.local_names(scope)
        for template in TEMPLATES:
            yield from (TemplateEdit(template, edit) for edit in template.apply(node, names[key]))


def _candidates(proposals: list[_Proposal]) -> Iterator[Candidate]:
    seen: set[tuple[str, bytes]] = set()  # digests: thousands of copies of a large file would not fit
    for proposal in proposals:
        data, edit = proposal.source.data, proposal.edit
        patched = data[: edit.start_byte] + edit.text.encode("utf-8") + data[edit.end_byte :]
        key = (proposal.location.file, hashlib.blake2b(patched, digest_size=16).digest())
        if key in seen:
            continue
        seen.add(key)
        if proposal.source.language.has_syntax_error(patched):
            continue
        line = data.count(b"\n", 0, edit.start_byte) + 1
        yield Candidate(
            file=proposal.location.file,
            original=proposal.source.text,
            patched=patched.decode("utf-8"),
            generator=f"template:{proposal.template}",
            description=f"line {line}: {edit.description}",
            location=proposal.location,
            prior=proposal.prior,
        )


def _of_type(node: Node, node_type: str) -> Iterator[Node]:
    return (descendant for descendant in python.walk(node) if descendant.type == node_type)


def _text(node: Node) -> str:
    return node.text.decode("utf-8")


def _operator(expression: Node) -> str:
    return _text(expression.child_by_field_name("operator"))


def _source(node: Node, start_byte: int, end_byte: int) -> str:
    """The file's text between two byte offsets inside `node`."""
    return node.text[start_byte - node.start_byte : end_byte - node.start_byte].decode("utf-8")


def move_arguments(container: Node, arguments: Sequence[Node], reach: int = 2) -> Iterator[Edit]:
    """Each of `arguments` (consecutive, in `container`) moved up to `reach` places, nearest
    first: two neighbours swapped, then `f(b, c, a)` -> `f(a, b, c)` (TBar's argument
    reordering); what lies between them (commas, line breaks) stays in place. Each order once."""
    if len(arguments) < 2:
        return
    texts = [_text(argument) for argument in arguments]
    gaps = [_source(container, first.end_byte, second.start_byte) for first, second in itertools.pairwise(arguments)]
    start, end = arguments[0].start_byte, arguments[-1].end_byte
    old = _source(container, start, end)
    seen = {old}
    for distance in range(1, reach + 1):
        for source in range(len(arguments)):
            for target in (source + distance, source - distance):
                if not 0 <= target < len(arguments):
                    continue
                order = list(range(len(arguments)))
                order.insert(target, order.pop(source))
                new = texts[order[0]] + "".join(gap + texts[k] for gap, k in zip(gaps, order[1:]))
                if new not in seen:
                    seen.add(new)
                    yield _edit(start, end, old, new)


def _edit(start_byte: int, end_byte: int, old: str, new: str) -> Edit:
    return Edit(start_byte, end_byte, new, describe_change(old, new))


def replace_node(node: Node, new: str) -> Edit:
    return _edit(node.start_byte, node.end_byte, _text(node), new)


def shift_by_one(expression: Node) -> Iterator[Edit]:
    """`e` -> `e + 1`, `e - 1`: an index or a bound one off."""
    yield replace_node(expression, f"{_text(expression)} + 1")
    yield replace_node(expression, f"{_text(expression)} - 1")


def exchange_operands(binary: Node, compound: Collection[str]) -> Edit:
    """`binary`'s operands trade places, what lies between them staying; an operand of a
    `compound` type is parenthesized where it lands (`a - (b - c)`, never `a - b - c`)."""
    left, right = binary.child_by_field_name("left"), binary.child_by_field_name("right")

    def moved(operand: Node) -> str:
        return f"({_text(operand)})" if operand.type in compound else _text(operand)

    between = _source(binary, left.end_byte, right.start_byte)
    return replace_node(binary, moved(right) + between + moved(left))


def swaps(operator: Node | None, group: Sequence[str]) -> Iterator[Edit]:
    if operator is not None and operator.type in group:
        yield from (replace_node(operator, other) for other in group if other != operator.type)


def _shift_literal(literal: Node) -> Iterator[Edit]:
    """Shift the literal's value, counting a unary minus in, so `-1` -> `0`, never `--1`."""
    try:
        value = int(_text(literal), 0)
    except ValueError:  # complex (`1j`) or Python 2 (`1L`, `017`) literals
        return
    target = literal
    parent = literal.parent
    if parent is not None and parent.type == "unary_operator" and _operator(parent) == "-":
        target, value = parent, -value
    # `2 ** -1` and `x - -1` parse, but `-1 ** 2` is -(1 ** 2): keep the number whole.
    inside_operator = target.parent is not None and target.parent.type == "binary_operator"
    for shifted in (value + 1, value - 1):
        dropped = without_zero_term(target, shifted, "binary_operator")
        yield dropped or replace_node(target, f"({shifted})" if shifted < 0 and inside_operator else str(shifted))


def without_zero_term(literal: Node, shifted: int, binary_type: str) -> Edit | None:
    """`1 + f(x)` shifted to `0 + f(x)` is `f(x)`: the term written away, as a developer
    writes it (and a reference fix reads), not a zero kept in the code. None unless the
    shifted literal is 0 and a term of a sum, or what a difference subtracts."""
    binary = literal.parent
    if shifted != 0 or binary is None or binary.type != binary_type:
        return None
    operator, left, right = (binary.child_by_field_name(field) for field in ("operator", "left", "right"))
    if operator is None or left is None or right is None:
        return None
    if _text(operator) == "+" and literal == left:
        return replace_node(binary, _text(right))
    if _text(operator) in ("+", "-") and literal == right:
        return replace_node(binary, _text(left))
    return None


def _bounds(node: Node) -> Iterator[Node]:
    """Subscript indices, slice start/stop and range() start/stop: where off-by-ones live."""
    for subscript in _of_type(node, "subscript"):
        if _in_annotation(subscript):
            continue
        for index in subscript.children_by_field_name("subscript"):
            yield from _slice_bounds(index) if index.type == "slice" else (index,)
    for call in _of_type(node, "call"):
        function = call.child_by_field_name("function")
        if function is not None and _text(function) == "range":
            yield from [argument for argument in _arguments(call) if _is_positional(argument)][:2]


def _slice_bounds(slice_node: Node) -> Iterator[Node]:
    colons = 0
    for child in slice_node.children:
        if child.type == ":":
            colons += 1
        elif colons < 2 and child.is_named and child.type != "comment":
            yield child


def _shiftable(expression: Node) -> bool:
    """Numeric-looking, and not `-1` or `i + 1`: their literal already gets shifted, so
    `i + 1 - 1` would only repeat `i + 0`."""
    if expression.type == "unary_operator":
        return expression.child_by_field_name("argument").type != "integer"
    if expression.type == "binary_operator":
        operator = _operator(expression)
        right = expression.child_by_field_name("right")
        literal_offset = operator in ("+", "-") and right.type == "integer"
        return operator in _BINDS_AT_LEAST_AS_PLUS and not literal_offset
    return expression.type in _NUMERIC_OPERANDS


def _arguments(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    if arguments is None or arguments.type != "argument_list":
        return []
    return arguments.named_children


def _is_positional(argument: Node) -> bool:
    return argument.type not in ("keyword_argument", "list_splat", "dictionary_splat", "comment")


def _is_loop_or_branch_condition(node: Node) -> bool:
    parent = node.parent
    return (
        parent is not None
        and parent.type in ("if_statement", "elif_clause", "while_statement")
        and parent.child_by_field_name("condition") == node
    )


def _ternary_condition(ternary: Node) -> Node:
    """`a if c else b` has no fields: the condition is the named child after `if`."""
    after_if = itertools.dropwhile(lambda child: child.type != "if", ternary.children)
    return next(child for child in after_if if child.is_named and child.type != "comment")


def _is_value(identifier: Node) -> bool:
    parent = identifier.parent
    if parent is None or parent.type in _NAME_PARENTS or _in_annotation(identifier):
        return False
    field = _NAME_FIELDS.get(parent.type)
    return field is None or parent.child_by_field_name(field) != identifier


def _in_annotation(node: Node) -> bool:
    parent = node.parent
    while parent is not None and parent.type != "type":
        parent = parent.parent
    return parent is not None
