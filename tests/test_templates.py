"""Fix templates and the tree-sitter helpers they stand on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from repairbot.domain import Candidate, SuspiciousLocation
from repairbot.generate.describe import describe_change
from repairbot.generate.templates import MAX_IDENTIFIER_EDITS, TemplateGenerator
from repairbot.languages import python


def generate(
    tmp_path: Path, source: str, line: int, end_line: int | None = None, limit: int = 1000
) -> list[Candidate]:
    (tmp_path / "m.py").write_bytes(source.encode("utf-8"))
    location = SuspiciousLocation("m.py", line, end_line or line, 1.0)
    return TemplateGenerator().generate(tmp_path, [location], limit)


def patched(candidates: list[Candidate], generator: str | None = None) -> set[str]:
    wanted = f"template:{generator}"
    return {c.patched for c in candidates if generator is None or c.generator == wanted}


def assert_well_formed(candidates: list[Candidate]) -> None:
    texts = [c.patched for c in candidates]
    assert len(texts) == len(set(texts))
    for candidate in candidates:
        assert candidate.patched != candidate.original
        assert not python.has_syntax_error(candidate.patched)
        compile(candidate.patched, candidate.file, "exec")


# --- comparison -------------------------------------------------------------------------

def test_comparison_swaps_each_ordering_operator_to_every_other(tmp_path: Path) -> None:
    source = "def f(a, b):\n    if a < b:\n        return a\n    return b\n"
    candidates = generate(tmp_path, source, 2)
    expected = {source.replace("a < b", f"a {op} b") for op in ("<=", ">", ">=", "==", "!=")}
    assert patched(candidates, "comparison") == expected
    assert_well_formed(candidates)


def test_comparison_swaps_identity_and_membership(tmp_path: Path) -> None:
    source = "def f(x, xs):\n    return x is None or x not in xs\n"
    assert patched(generate(tmp_path, source, 2), "comparison") == {
        "def f(x, xs):\n    return x is not None or x not in xs\n",
        "def f(x, xs):\n    return x is None or x in xs\n",
    }


def test_description_names_the_line_and_the_change(tmp_path: Path) -> None:
    source = "def f(a, b):\n    if a < b:\n        return a\n"
    first = generate(tmp_path, source, 2)[0]
    assert first.description == "line 2: `<` -> `<=`"
    assert first.generator == "template:comparison"
    assert first.file == "m.py" and first.original == source


def test_different_edits_of_one_long_line_get_different_descriptions(tmp_path: Path) -> None:
    line = "    return compute_the_total(items, discount_rate, tax_rate, shipping_fee)"
    source = f"def f(items, discount_rate, tax_rate, shipping_fee):\n{line}\n"
    candidates = generate(tmp_path, source, 2)
    descriptions = [c.description for c in candidates]
    assert len(candidates) > 3 and len(set(descriptions)) == len(descriptions), descriptions
    # Each shows where its edit is, whole where both sides fit in the width.
    assert describe_change("a < b", "a <= b") == "`a < b` -> `a <= b`"
    long = describe_change(line, line.replace("tax_rate, shipping_fee", "shipping_fee, tax_rate"))
    assert long == "`…unt_rate, tax_rate, shipping_fee)` -> `…unt_rate, shipping_fee, tax_rate)`"
    for one, other in [(line + " + 1", line[:-1] + " + 1)"), (line + " # x", line + " # y"), (line + "1", line + "2")]:
        assert describe_change(line, one) != describe_change(line, other)


# --- arithmetic and boolean ---------------------------------------------------------------

def test_arithmetic_swaps_binary_and_augmented_operators(tmp_path: Path) -> None:
    source = "def f(a, b):\n    c = a + b\n    c -= a\n    return c\n"
    result = patched(generate(tmp_path, source, 2, 3), "arithmetic")
    assert "def f(a, b):\n    c = a - b\n    c -= a\n    return c\n" in result
    assert "def f(a, b):\n    c = a // b\n    c -= a\n    return c\n" in result
    assert "def f(a, b):\n    c = a + b\n    c += a\n    return c\n" in result
    assert "def f(a, b):\n    c = a + b\n    c %= a\n    return c\n" in result
    assert len(result) == 10


def test_boolean_swaps_and_or(tmp_path: Path) -> None:
    source = "def f(a, b):\n    return a and b\n"
    expected = {"def f(a, b):\n    return a or b\n"}
    assert patched(generate(tmp_path, source, 2), "boolean") == expected


# --- off by one -------------------------------------------------------------------------

def test_off_by_one_shifts_integer_literals(tmp_path: Path) -> None:
    source = "def f(a):\n    return a[0] + 3\n"
    assert patched(generate(tmp_path, source, 2), "off_by_one") == {
        "def f(a):\n    return a[1] + 3\n",
        "def f(a):\n    return a[-1] + 3\n",
        "def f(a):\n    return a[0] + 4\n",
        "def f(a):\n    return a[0] + 2\n",
    }


def test_off_by_one_counts_a_unary_minus_into_the_literal(tmp_path: Path) -> None:
    source = "def f(a, x):\n    return a[-1] - 0\n"
    assert patched(generate(tmp_path, source, 2), "off_by_one") == {
        "def f(a, x):\n    return a[0] - 0\n",
        "def f(a, x):\n    return a[-2] - 0\n",
        "def f(a, x):\n    return a[-1] - 1\n",
        "def f(a, x):\n    return a[-1] - (-1)\n",
    }


def test_off_by_one_shifts_indices_slice_bounds_and_range_arguments(tmp_path: Path) -> None:
    source = "def f(a, i, j, n):\n    return a[i], a[i:j:n], range(i, len(a))\n"
    result = patched(generate(tmp_path, source, 2), "off_by_one")
    head = "def f(a, i, j, n):\n    return "
    assert head + "a[i + 1], a[i:j:n], range(i, len(a))\n" in result
    assert head + "a[i - 1], a[i:j:n], range(i, len(a))\n" in result
    assert head + "a[i], a[i + 1:j:n], range(i, len(a))\n" in result
    assert head + "a[i], a[i:j - 1:n], range(i, len(a))\n" in result
    assert head + "a[i], a[i:j:n], range(i - 1, len(a))\n" in result
    assert head + "a[i], a[i:j:n], range(i, len(a) + 1)\n" in result
    assert not any("n + 1" in text or "n - 1" in text for text in result), "a step is no bound"


def test_off_by_one_does_not_stack_offsets_on_a_literal_offset(tmp_path: Path) -> None:
    """The literal shifts; shifted to 0, a term of a sum is written away, not kept as `+ 0`."""
    source = "def f(a, i):\n    return a[i + 1]\n"
    assert patched(generate(tmp_path, source, 2), "off_by_one") == {
        "def f(a, i):\n    return a[i + 2]\n",
        "def f(a, i):\n    return a[i]\n",
    }
    source = "def f(a, i):\n    return 1 + g(a) * i - 1\n"
    assert patched(generate(tmp_path, source, 2), "off_by_one") == {
        "def f(a, i):\n    return 2 + g(a) * i - 1\n", "def f(a, i):\n    return g(a) * i - 1\n",
        "def f(a, i):\n    return 1 + g(a) * i - 2\n", "def f(a, i):\n    return 1 + g(a) * i\n",
    }


def test_off_by_one_leaves_string_keys_and_annotations_alone(tmp_path: Path) -> None:
    source = 'def f(d, k):\n    x: list[int] = d["k"]\n'
    assert patched(generate(tmp_path, source, 2), "off_by_one") == set()


# --- argument swap ------------------------------------------------------------------------

def test_argument_moves_reorder_positional_arguments_only(tmp_path: Path) -> None:
    source = "def f(a, b, c, d):\n    return g(a, b, c, key=d)\n"
    assert patched(generate(tmp_path, source, 2), "swap_arguments") == {
        "def f(a, b, c, d):\n    return g(b, a, c, key=d)\n",  # neighbours swapped
        "def f(a, b, c, d):\n    return g(a, c, b, key=d)\n",
        "def f(a, b, c, d):\n    return g(b, c, a, key=d)\n",  # one moved two places
        "def f(a, b, c, d):\n    return g(c, a, b, key=d)\n",
    }


def test_argument_moves_come_nearest_first_and_keep_the_layout(tmp_path: Path) -> None:
    source = "def f(a, b, c, d):\n    return g(a,\n             b, c, d)\n"
    moved = [c.patched.split("g(")[1] for c in generate(tmp_path, source, 2) if c.generator == "template:swap_arguments"]
    assert moved[:3] == ["b,\n             a, c, d)\n", "a,\n             c, b, d)\n", "a,\n             b, d, c)\n"]
    assert len(moved) == len(set(moved)) == 3 + 4  # then each moved two places: 2 x 2 distinct orders


def test_the_indices_of_a_subscript_trade_places(tmp_path: Path) -> None:
    source = "def f(paths, i, j, k):\n    return paths[i, k] + paths[j, k]\n"
    assert patched(generate(tmp_path, source, 2), "swap_arguments") == {
        "def f(paths, i, j, k):\n    return paths[k, i] + paths[j, k]\n",
        "def f(paths, i, j, k):\n    return paths[i, k] + paths[k, j]\n",
    }


# --- member replacement -------------------------------------------------------------------

MEMBERS = (
    "class Node:\n"
    "    def successors(self):\n"
    "        return self.outgoing\n\n"
    "def order(nodes, done):\n"
    "    first = [n for n in nodes if not n.incoming and n.name and n.weight and n.label]\n"
    "    return [n for n in first if done.issuperset(n.outgoing)]\n"
)


def test_a_member_becomes_a_similar_member_the_file_uses_or_defines(tmp_path: Path) -> None:
    """A read member by the three most similar members read elsewhere (`outgoing` by
    `incoming` first), a called one by the methods called or defined (`successors`)."""
    candidates = [c for c in generate(tmp_path, MEMBERS, 7) if c.generator == "template:member"]
    lines = [c.patched.splitlines()[6].strip() for c in candidates]
    assert lines[0] == "return [n for n in first if done.issuperset(n.incoming)]"
    assert len(lines) == 3 + 1
    assert "return [n for n in first if done.successors(n.outgoing)]" in lines
    assert "return [n for n in first if done.issuperset(n.label)]" not in lines  # the least alike of four


# --- operand replacement ------------------------------------------------------------------

def test_a_computed_operand_becomes_a_variable_bound_before_it(tmp_path: Path) -> None:
    """`cost(heap, nxt) + w[nxt]` -> `dist + w[nxt]`: locals bound before the statement,
    the latest first, none the operand reads; a plain name or a later local is never one."""
    source = (
        "def relax(heap, w, start):\n"
        "    dist, node = pop(heap)\n"
        "    for nxt in node.succ:\n"
        "        push(heap, cost(heap, nxt) + w[nxt] + start)\n"
        "        later = 1\n"
    )
    candidates = [c for c in generate(tmp_path, source, 4) if c.generator == "template:operand"]
    assert [c.description for c in candidates] == [
        "line 4: `cost(heap, nxt)` -> `dist`", "line 4: `w[nxt]` -> `dist`",
        "line 4: `cost(heap, nxt)` -> `node`", "line 4: `w[nxt]` -> `node`",
        "line 4: `cost(heap, nxt)` -> `w`", "line 4: `w[nxt]` -> `heap`",
        "line 4: `cost(heap, nxt)` -> `start`", "line 4: `w[nxt]` -> `start`",
    ]
    assert candidates[0].patched == source.replace("cost(heap, nxt) + w", "dist + w")


# --- condition negation -------------------------------------------------------------------

def test_negation_of_if_while_elif_and_ternary_conditions(tmp_path: Path) -> None:
    source = (
        "def f(x, a, b, done):\n"
        "    if x:\n"
        "        pass\n"
        "    elif not done:\n"
        "        pass\n"
        "    while a < b:\n"
        "        a = 1 if x.ok else 2\n"
    )
    result = patched(generate(tmp_path, source, 2, 7), "negate_condition")
    assert result == {
        source.replace("if x:", "if not x:"),
        source.replace("elif not done:", "elif done:"),
        source.replace("while a < b:", "while not (a < b):"),
        source.replace("1 if x.ok else 2", "1 if not x.ok else 2"),
    }


# --- return value -----------------------------------------------------------------------

def test_return_value_tries_parameters_and_assigned_locals(tmp_path: Path) -> None:
    source = "def f(a, b):\n    c = a * b\n    for i in range(a):\n        pass\n    return a\n"
    assert patched(generate(tmp_path, source, 5), "return_value") == {
        source.replace("return a", "return b"),
        source.replace("return a", "return c"),
        source.replace("return a", "return i"),
    }


def test_return_value_flips_booleans(tmp_path: Path) -> None:
    source = "def f():\n    return True\n"
    expected = {"def f():\n    return False\n"}
    assert patched(generate(tmp_path, source, 2), "return_value") == expected


# --- identifier replacement ---------------------------------------------------------------

def test_identifier_replacement_touches_values_only(tmp_path: Path) -> None:
    source = "def f(a, b):\n    c = a\n    d = obj.a(b, key=a)\n"
    result = patched(generate(tmp_path, source, 3), "identifier")
    assert "def f(a, b):\n    c = a\n    d = obj.a(a, key=a)\n" in result
    assert "def f(a, b):\n    c = a\n    d = obj.a(b, key=c)\n" in result
    assert "def f(a, b):\n    c = a\n    d = a.a(b, key=a)\n" in result
    assert not any("obj.b(" in text or "obj.c(" in text for text in result), "attribute names stay"
    assert not any("b=a" in text or "c=a" in text for text in result), "keyword names stay"
    assert not any("\n    a = obj" in text for text in result), "assignment targets stay"


def test_identifier_replacement_is_capped_per_statement(tmp_path: Path) -> None:
    names = [f"v{i}" for i in range(20)]
    source = f"def f({', '.join(names)}):\n    return {' + '.join(names)}\n"
    candidates = generate(tmp_path, source, 2)
    assert len(patched(candidates, "identifier")) <= MAX_IDENTIFIER_EDITS
    # Rank by rank: the second value gets its first alternative before the first its second.
    assert "return v0 + v0 + v2" in " ".join(patched(candidates, "identifier"))


# --- the generator as a whole ------------------------------------------------------------

MIXED = (
    "import os\n"
    "\n"
    "def f(a, b, *rest, key=None):\n"
    "    total = 0\n"
    "    for i in range(len(a) - 1):\n"
    "        if a[i] < b and not key:\n"
    "            total += a[i] * 2\n"
    "    x = g(a, b, key=total) if total > 0 else -1\n"
    "    return total\n"
)


def test_candidates_are_valid_unique_and_ordered_by_prior(tmp_path: Path) -> None:
    candidates = generate(tmp_path, MIXED, 1, 9)
    assert len(candidates) > 50
    assert_well_formed(candidates)
    priors = [c.prior for c in candidates]
    assert priors == sorted(priors, reverse=True)


def test_limit_keeps_the_best_candidates(tmp_path: Path) -> None:
    everything = generate(tmp_path, MIXED, 1, 9)
    assert generate(tmp_path, MIXED, 1, 9, limit=3) == everything[:3]
    assert generate(tmp_path, MIXED, 1, 9, limit=0) == []


def test_better_locations_come_first_and_overlaps_are_deduplicated(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(MIXED, encoding="utf-8")
    locations = [
        SuspiciousLocation("m.py", 6, 6, 1.0),
        SuspiciousLocation("m.py", 8, 8, 0.5),
        SuspiciousLocation("m.py", 6, 7, 0.4),
    ]
    candidates = TemplateGenerator().generate(tmp_path, locations, 1000)
    assert_well_formed(candidates)
    assert candidates[0].location == locations[0]
    assert candidates[0].prior == pytest.approx(1.0)
    same_statement = [c for c in candidates if c.location == locations[2]]
    # Line 6's candidates were already made from the better location: only line 7's are new.
    assert all(c.description.startswith("line 7:") for c in same_statement)


def test_non_ascii_source_is_edited_at_the_right_bytes(tmp_path: Path) -> None:
    source = 'def f(año, límite):\n    s = "héllo ✓"\n    if año < límite:  # ñ\n        return s\n'
    candidates = generate(tmp_path, source, 3)
    assert source.replace("año < límite", "año <= límite") in patched(candidates, "comparison")
    assert source.replace("año < límite", "límite < límite") in patched(candidates, "identifier")
    assert candidates[0].description == "line 3: `<` -> `<=`"
    assert_well_formed(candidates)


def test_line_endings_are_kept(tmp_path: Path) -> None:
    source = "def f(a, b):\r\n    return a < b\r\n"
    candidates = generate(tmp_path, source, 2)
    assert "def f(a, b):\r\n    return a <= b\r\n" in patched(candidates)


def test_file_with_syntax_error_yields_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert generate(tmp_path, "def f(a:\n    return a < 1\n", 2) == []
    assert "syntax error" in caplog.text


def test_missing_files_and_files_of_no_language_yield_nothing(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("return 1 < 2\n")
    locations = [SuspiciousLocation("gone.py", 1, 1, 1.0), SuspiciousLocation("notes.txt", 1, 1, 1.0)]
    assert TemplateGenerator().generate(tmp_path, locations, 10) == []


# --- tree-sitter helpers ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("source", "broken"),
    [
        ("x = 1\n", False),
        (b"def f(a):\n    return a\n", False),
        ("s = 'é'\n", False),
        ("def f(:\n", True),
        ("x = (1 +\n", True),
        (b"print(a[1)\n", True),
        ("f(a b)\n", True),
    ],
)
def test_has_syntax_error(source: str | bytes, broken: bool) -> None:
    assert python.has_syntax_error(source) is broken


LINES = (
    "def f(a, b):\n"  # 1
    "    if a < b:\n"  # 2
    "        x = 1; y = 2\n"  # 3
    "    elif a:\n"  # 4
    "        g(a,\n"  # 5
    "          b)\n"  # 6
    "    for i in range(a):\n"  # 7
    "        pass\n"  # 8
    "    return a\n"  # 9
)


@pytest.mark.parametrize(
    ("start", "end", "texts"),
    [
        (1, 1, []),
        (2, 2, ["a < b"]),
        (3, 3, ["x = 1", "y = 2"]),
        (4, 4, ["a"]),
        (6, 6, ["g(a,\n          b)"]),
        (7, 7, ["i", "range(a)"]),
        (9, 9, ["return a"]),
        (7, 9, ["i", "range(a)", "pass", "return a"]),
    ],
)
def test_statement_nodes_on_lines(start: int, end: int, texts: list[str]) -> None:
    tree = python.parse(LINES.encode())
    nodes = python.statement_nodes_on_lines(tree, start, end)
    assert [node.text.decode() for node in nodes] == texts


def test_enclosing_function_and_local_names() -> None:
    tree = python.parse(LINES.encode() + b"z = 3\n")
    inner = python.statement_nodes_on_lines(tree, 9, 9)[0]
    function = python.enclosing_function(inner)
    assert function is not None and function.child_by_field_name("name").text == b"f"
    assert python.local_names(function) == ["a", "b", "x", "y", "i"]
    outer = python.statement_nodes_on_lines(tree, 10, 10)[0]
    assert python.enclosing_function(outer) is None
    assert python.local_names(tree.root_node) == ["z"]


# --- checkers: a guard against the exception a failing test shows ---------------------------

GUARDED = (
    "def f(items, table, key, n):\n"
    "    for item in items:\n"
    "        total = item.size + table[key] / n\n"
    "    print(items[0])\n"
    "    return table[key + 1]\n"
)


def guards(tmp_path: Path, line: int, message: str) -> dict[str, list[str]]:
    """Each checker's candidates for `line`, as the code from that line on."""
    (tmp_path / "m.py").write_text(GUARDED)
    generator = TemplateGenerator(failure_messages=["Traceback (most recent call last):", message])
    found: dict[str, list[str]] = {}
    for candidate in generator.generate(tmp_path, [SuspiciousLocation("m.py", line, line, 1.0)], 1000):
        if candidate.generator.endswith("_check"):
            rest = "\n".join(candidate.patched.splitlines()[line - 1 :])
            found.setdefault(candidate.generator.split(":")[1], []).append(rest)
    return found


def test_each_checker_guards_against_its_own_exception_only(tmp_path: Path) -> None:
    none = guards(tmp_path, 3, "AttributeError: 'NoneType' object has no attribute 'size'")
    assert list(none) == ["null_check"]
    assert [rest.splitlines()[:3] for rest in none["null_check"]] == [
        ["        if item is None:", "            return", "        total = item.size + table[key] / n"],
        ["        if item is not None:", "            total = item.size + table[key] / n", "    print(items[0])"],
        ["        if table is None:", "            return", "        total = item.size + table[key] / n"],
        ["        if table is not None:", "            total = item.size + table[key] / n", "    print(items[0])"],
    ]
    assert [rest.splitlines()[0] for rest in guards(tmp_path, 3, "KeyError: 'b'")["key_check"]] == [
        "        if key not in table:", "        if key in table:"
    ]
    assert [rest.splitlines()[0] for rest in guards(tmp_path, 3, "ZeroDivisionError: division by zero")["zero_check"]] == [
        "        if n == 0:", "        if n != 0:"
    ]
    assert guards(tmp_path, 3, "AssertionError: assert 3 == 4") == {}


def test_a_guard_returns_the_empty_value_of_what_the_function_returns(tmp_path: Path) -> None:
    """A function that answers `True`/`False` returns `False` before a statement its guard
    stops, as Java's checkers return the declared type's default; a nested function's
    returns are its own."""
    source = (
        "def has_cycle(node):\n"
        "    def step(n):\n"
        "        return [n]\n"
        "    while True:\n"
        "        if node.successor is None:\n"
        "            return False\n"
        "        node = node.successor\n"
        "    return True\n"
    )
    (tmp_path / "m.py").write_text(source)
    generator = TemplateGenerator(failure_messages=["AttributeError: 'NoneType' object has no attribute 'successor'"])
    guarded = [c.patched for c in generator.generate(tmp_path, [SuspiciousLocation("m.py", 5, 5, 1.0)], 100)
               if c.generator == "template:null_check"]
    assert guarded == [source.replace(
        "        if node.successor is None:",
        "        if node is None:\n            return False\n        if node.successor is None:",
    )]


def test_an_index_check_guards_an_empty_sequence_or_a_computed_index(tmp_path: Path) -> None:
    # An expression statement is also run only when the guard passes.
    assert guards(tmp_path, 4, "IndexError: list index out of range")["range_check"] == [
        "    if not items:\n        return\n    print(items[0])\n    return table[key + 1]",
        "    if items:\n        print(items[0])\n    return table[key + 1]",
    ]
    assert guards(tmp_path, 5, "IndexError: list index out of range")["range_check"] == [
        "    if (key + 1) >= len(table):\n        return\n    return table[key + 1]"
    ]


# --- bitwise operators, twin functions, operand order ------------------------------------------

def test_bitwise_and_shift_operators_swap_within_their_kind(tmp_path: Path) -> None:
    source = "def f(n, m):\n    n ^= n - 1\n    return (n | m) << 2\n"
    assert patched(generate(tmp_path, source, 2), "arithmetic") == {
        source.replace("n ^= n - 1", "n &= n - 1"), source.replace("n ^= n - 1", "n |= n - 1"),
        source.replace("n ^= n - 1", "n ^= n + 1"), source.replace("n ^= n - 1", "n ^= n * 1"),
        source.replace("n ^= n - 1", "n ^= n / 1"), source.replace("n ^= n - 1", "n ^= n // 1"),
        source.replace("n ^= n - 1", "n ^= n % 1"),
    }
    assert patched(generate(tmp_path, source, 3), "arithmetic") == {
        source.replace("(n | m) << 2", "(n & m) << 2"), source.replace("(n | m) << 2", "(n ^ m) << 2"),
        source.replace("(n | m) << 2", "(n | m) >> 2"),
    }


def test_twin_functions_trade_names(tmp_path: Path) -> None:
    source = "import math\n\ndef f(xs):\n    return any(x > 0 for x in xs) and max(xs) < math.floor(3.5)\n"
    assert patched(generate(tmp_path, source, 4), "twin_function") == {
        source.replace("any(", "all("), source.replace("max(", "min("), source.replace("math.floor", "math.ceil"),
    }


def test_operands_trade_places_where_their_order_matters(tmp_path: Path) -> None:
    source = "def f(a, b, c, s):\n    return (a - b - c) * s + a[0]\n"
    assert patched(generate(tmp_path, source, 2), "swap_operands") == {
        source.replace("(a - b - c) * s + a[0]", "a[0] + ((a - b - c) * s)"),  # `+`: strings, lists
        source.replace("a - b - c", "c - (a - b)"),
        source.replace("a - b - c", "b - a - c"),
    }  # `*` commutes: left alone
