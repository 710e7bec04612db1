"""Java's fix templates (`repairbot/generate/templates_java.py`): the mechanical rewrites a
Java statement gets before any model is asked, each one a file that still parses."""

from __future__ import annotations

from pathlib import Path

from repairbot.domain import Candidate, SuspiciousLocation
from repairbot.generate.templates import TemplateGenerator
from repairbot.languages import java

SOURCE = """\
package shop;

public class Cart {
    public int total(int[] prices, int count, String label) {
        int sum = 0;
        int start = 1;
        for (int i = start; i < count; i++) {
            sum += prices[i];
        }
        if (!label.isEmpty() && sum > 100) {
            sum = sum - 10;
        }
        String shown = label + ": " + sum;
        int max = Math.max(sum, count);
        return label.charAt(0) == '-' ? -sum : max;
    }

    public boolean empty(int count) {
        return false;
    }
}
"""


def generate(tmp_path: Path, line: int, source: str = SOURCE) -> list[Candidate]:
    (tmp_path / "Cart.java").write_text(source)
    return TemplateGenerator().generate(tmp_path, [SuspiciousLocation("Cart.java", line, line, 1.0)], 1000)


def changed(candidates: list[Candidate], template: str) -> set[str]:
    """The patched lines of one template's candidates."""
    found = set()
    for candidate in candidates:
        if candidate.generator == f"template:{template}":
            [line] = [new for old, new in zip(SOURCE.splitlines(), candidate.patched.splitlines()) if old != new]
            found.add(line.strip())
    return found


def test_every_candidate_parses_and_differs(tmp_path: Path) -> None:
    for line in range(5, 20):
        candidates = generate(tmp_path, line)
        assert len({c.patched for c in candidates}) == len(candidates)
        for candidate in candidates:
            assert candidate.patched != SOURCE and not java.has_syntax_error(candidate.patched)


def test_a_loop_header_gets_comparison_swaps_and_off_by_ones_not_its_body(tmp_path: Path) -> None:
    candidates = generate(tmp_path, 7)
    assert "for (int i = start; i <= count; i++) {" in changed(candidates, "comparison")
    assert changed(candidates, "off_by_one") == set()  # no literal, no index in the header
    assert all(c.description.startswith("line 7:") for c in candidates)
    assert candidates[0].generator == "template:comparison"  # the heaviest template first


def test_literals_and_indices_shift_by_one(tmp_path: Path) -> None:
    assert changed(generate(tmp_path, 6), "off_by_one") == {"int start = 2;", "int start = 0;"}
    assert changed(generate(tmp_path, 8), "off_by_one") == {"sum += prices[i + 1];", "sum += prices[i - 1];"}
    indexed = changed(generate(tmp_path, 15), "off_by_one")
    assert "return label.charAt(1) == '-' ? -sum : max;" in indexed
    assert "return label.charAt(-1) == '-' ? -sum : max;" in indexed
    # Shifted to 0, a term of a sum is written away; in a string's sum it stays a digit.
    source = SOURCE.replace("String shown = label + \": \" + sum;", "String shown = label + 1 + (sum - 1);")
    assert changed(generate(tmp_path, 13, source), "off_by_one") == {
        "String shown = label + 2 + (sum - 1);", "String shown = label + 0 + (sum - 1);",
        "String shown = label + 1 + (sum - 2);", "String shown = label + 1 + (sum);",
    }


def test_operators_swap_within_their_kind_and_strings_are_not_subtracted(tmp_path: Path) -> None:
    assert "sum -= prices[i];" in changed(generate(tmp_path, 8), "arithmetic")
    assert "sum = sum + 10;" in changed(generate(tmp_path, 11), "arithmetic")
    assert changed(generate(tmp_path, 13), "arithmetic") == set()  # concatenation, not arithmetic
    assert changed(generate(tmp_path, 10), "boolean") == {"if (!label.isEmpty() || sum > 100) {"}


def test_conditions_are_negated_and_a_negation_dropped(tmp_path: Path) -> None:
    assert changed(generate(tmp_path, 10), "negate_condition") == {"if (!(!label.isEmpty() && sum > 100)) {"}
    assert changed(generate(tmp_path, 15), "negate_condition") == {"return !(label.charAt(0) == '-') ? -sum : max;"}


def test_boolean_return_values_flip(tmp_path: Path) -> None:
    assert changed(generate(tmp_path, 19), "return_value") == {"return true;"}


def test_adjacent_arguments_swap(tmp_path: Path) -> None:
    assert changed(generate(tmp_path, 14), "swap_arguments") == {"int max = Math.max(count, sum);"}


def test_an_argument_moves_two_places(tmp_path: Path) -> None:
    source = SOURCE.replace("Math.max(sum, count)", "clamp(sum, count, start)")
    moved = [c.patched.splitlines()[13].strip() for c in generate(tmp_path, 14, source)
             if c.generator == "template:swap_arguments"]
    assert moved == [
        "int max = clamp(count, sum, start);", "int max = clamp(sum, start, count);",
        "int max = clamp(count, start, sum);", "int max = clamp(start, sum, count);",
    ]


GRAPH = """\
package graph;

public class Order {
    private Order next;
    private Order previous;
    private int weight;

    public static boolean ready(java.util.List<Node> done, Node node) {
        return done.containsAll(node.getSuccessors()) && node.getPredecessors().size() > 0;
    }

    public Order after() {
        return this.next;
    }
}
"""


def test_a_member_becomes_a_similar_member_the_file_calls_or_declares(tmp_path: Path) -> None:
    """A method by one called on an object with as many arguments (never a static method
    of the file), most similar first; a field by another field."""
    (tmp_path / "Order.java").write_text(GRAPH)
    located = [SuspiciousLocation("Order.java", line, line, 1.0) for line in (9, 13)]
    found = {}
    for candidate in TemplateGenerator().generate(tmp_path, located, 1000):
        if candidate.generator == "template:member":
            [line] = [new for old, new in zip(GRAPH.splitlines(), candidate.patched.splitlines()) if old != new]
            found.setdefault(candidate.location.start_line, []).append(line.strip())
    assert found[9][0] == "return done.containsAll(node.getPredecessors()) && node.getPredecessors().size() > 0;"
    assert not any("ready(" in line for line in found[9])
    assert not any("containsAll(node.getSuccessors()) && node.getPredecessors().size() > 0" in line
                   and "containsAll" not in line for line in found[9])
    assert sorted(found[13]) == ["return this.previous;", "return this.weight;"]


ROUTES = """\
package graph;

import java.util.*;

public class Routes {
    public static int shortest(Map<Node, Integer> distance, List<Node> queue, Node node, Thing thing) {
        queue.add(node);
        node.setWeight(distance.get(node));
        if (distance.containsKey(node)) { queue.remove(node); }
        node.setName("a");
        thing.put(node);
        return queue.size();
    }
}
"""

NODE = """\
package graph;

public class Node {
    private int weight;
    public void setWeight(int weight) { this.weight = weight; }
    public void setName(String name) { }
}
"""


def test_a_member_is_renamed_only_to_one_its_receivers_type_has(tmp_path: Path) -> None:
    """Of the methods the file calls with one argument, a `List`'s `add` may become `get`
    or `remove`, a `Map`'s `get` `containsKey`, `remove` or `put`, the project's `Node`'s
    `setWeight` only `setName`: the JDK's classes read by javap, the project's from its
    other files. A receiver of a type nobody declares (`Thing`) keeps every rename (the
    three most similar, as always)."""
    (tmp_path / "Routes.java").write_text(ROUTES)
    (tmp_path / "Node.java").write_text(NODE)
    located = [SuspiciousLocation("Routes.java", line, line, 1.0) for line in (7, 8, 11)]
    renamed: dict[str, set[str]] = {}
    for candidate in TemplateGenerator().generate(tmp_path, located, 1000):
        if candidate.generator == "template:member":
            old, new = candidate.description.split(": ", 1)[1].split(" -> ")
            renamed.setdefault(old.strip("`"), set()).add(new.strip("`"))
    assert renamed["add"] == {"get", "remove"}
    assert renamed["get"] == {"containsKey", "remove", "put"}
    assert renamed["setWeight"] == {"setName"}
    # Unfiltered, the three most like `put` of all six (`Node` has no `get`, `Map` no `setName`).
    assert renamed["put"] == {"get", "setName", "setWeight"}


def test_a_computed_operand_becomes_a_numeric_local_declared_before_it(tmp_path: Path) -> None:
    """`prices[i] + count` -> `sum + count`: the numeric locals declared before the
    statement, the latest first, none the operand reads; string concatenation is no sum."""
    source = SOURCE.replace("int max = Math.max(sum, count);", "int max = prices[start] + label.length();")
    candidates = [c for c in generate(tmp_path, 14, source) if c.generator == "template:operand"]
    assert [c.description for c in candidates][:4] == [
        "line 14: `prices[start]` -> `sum`", "line 14: `label.length()` -> `start`",
        "line 14: `prices[start]` -> `count`", "line 14: `label.length()` -> `sum`",
    ]
    assert candidates[0].patched == source.replace("prices[start] + label", "sum + label")
    assert not [c for c in generate(tmp_path, 13) if c.generator == "template:operand"]


def test_a_variable_is_replaced_only_by_a_visible_local_of_its_declared_type(tmp_path: Path) -> None:
    replaced = changed(generate(tmp_path, 14), "identifier")
    # `int` locals and parameters declared before line 14 (`i` is the loop's, out of scope).
    assert replaced == {
        "int max = Math.max(count, count);", "int max = Math.max(start, count);",
        "int max = Math.max(sum, sum);", "int max = Math.max(sum, start);",
    }
    assert not any("label" in line or "shown" in line for line in replaced)


def test_a_lambdas_parameter_is_no_local_outside_the_lambda(tmp_path: Path) -> None:
    source = (
        "class A {\n    int f(int a, int b) {\n        java.util.function.IntUnaryOperator g = (int q) -> q;\n"
        "        return a;\n    }\n}\n"
    )
    candidates = [c for c in generate(tmp_path, 4, source) if c.generator == "template:identifier"]
    assert {c.patched.splitlines()[3].strip() for c in candidates} == {"return b;"}


NPE = "java.lang.NullPointerException\n\tat shop.Cart.total(Cart.java:6)"
NULLABLE = """\
package shop;

public class Cart {
    private Item last;

    public int total(Item item, int count) {
        int sum = item.price() * count + Math.max(count, 1);
        this.last.touch();
        Runnable later = () -> { item.touch(); };
        return sum;
    }

    public String name(Item item) {
        return item.name();
    }
}
"""


def null_checks(tmp_path: Path, line: int, messages: tuple[str, ...] = (NPE,), source: str = NULLABLE) -> list[str]:
    (tmp_path / "Cart.java").write_text(source)
    generator = TemplateGenerator(failure_messages=messages)
    candidates = generator.generate(tmp_path, [SuspiciousLocation("Cart.java", line, line, 1.0)], 1000)
    return ["\n".join(c.patched.splitlines()[line - 1 : line + 3]) for c in candidates if c.generator == "template:null_check"]


def test_a_null_check_returns_the_methods_default_or_guards_the_statement(tmp_path: Path) -> None:
    # Not `Math` (a class) nor `count` (an int).
    assert null_checks(tmp_path, 7) == [
        "        if (item == null) {\n            return 0;\n        }\n"
        "        int sum = item.price() * count + Math.max(count, 1);"
    ]
    assert null_checks(tmp_path, 8) == [
        "        if (this.last == null) {\n            return 0;\n        }\n        this.last.touch();",
        "        if (this.last != null) {\n            this.last.touch();\n        }\n        Runnable later = () -> { item.touch(); };",
    ]
    assert null_checks(tmp_path, 14)[0].startswith("        if (item == null) {\n            return null;\n")


def test_a_null_check_needs_a_null_pointer_exception_and_a_method_of_its_own(tmp_path: Path) -> None:
    assert null_checks(tmp_path, 7, messages=("expected:<3> but was:<4>",)) == []
    assert null_checks(tmp_path, 9) == []  # `item.touch()` returns from the lambda, not the method
    # A guard would split a braceless body from its condition (`if (c) if (x == null) ...`).
    braceless = NULLABLE.replace("        this.last.touch();", "        if (count > 0) this.last.touch();")
    assert null_checks(tmp_path, 8, source=braceless) == []


CHECKED = """\
package shop;

public class Codes {
    public char pick(String code, int[] table, int i, Object item) {
        int slot = table[i + 1] + table[0];
        String name = (String) item;
        return code.charAt(slot);
    }
}
"""


def checks(tmp_path: Path, line: int, message: str, source: str = CHECKED) -> list[str]:
    (tmp_path / "Codes.java").write_text(source)
    generator = TemplateGenerator(failure_messages=[message])
    candidates = generator.generate(tmp_path, [SuspiciousLocation("Codes.java", line, line, 1.0)], 1000)
    return [" ".join(part.strip() for part in c.patched.splitlines()[line - 1 : line + 1])
            for c in candidates if c.generator.endswith("_check")]


def test_index_and_cast_checks_guard_against_the_exception_seen(tmp_path: Path) -> None:
    out_of_bounds = "java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 3"
    # A literal index is left alone; a char method returns 0 by default.
    assert checks(tmp_path, 5, out_of_bounds) == ["if ((i + 1) < 0 || (i + 1) >= table.length) { return 0;"]
    assert checks(tmp_path, 7, "java.lang.StringIndexOutOfBoundsException: index 9, length 3") == [
        "if (slot < 0 || slot >= code.length()) { return 0;"
    ]
    assert checks(tmp_path, 6, "java.lang.ClassCastException: class Integer cannot be cast") == [
        "if (!(item instanceof String)) { return 0;"
    ]
    assert checks(tmp_path, 6, out_of_bounds) == []  # each checker needs its own exception
    divided = CHECKED.replace("table[0];", "table[0] / i;")
    assert checks(tmp_path, 5, "java.lang.ArithmeticException: / by zero", divided) == ["if (i == 0) { return 0;"]


def test_bitwise_twins_and_operand_order(tmp_path: Path) -> None:
    source = SOURCE.replace("int max = Math.max(sum, count);", "int max = Math.max(sum ^ count, count - 1);")
    candidates = generate(tmp_path, 14, source)
    line = {c.patched.splitlines()[13].strip() for c in candidates if c.generator == "template:arithmetic"}
    assert {"int max = Math.max(sum & count, count - 1);", "int max = Math.max(sum | count, count - 1);"} <= line
    assert [c.patched.splitlines()[13].strip() for c in candidates if c.generator == "template:twin_function"] == [
        "int max = Math.min(sum ^ count, count - 1);"
    ]
    assert [c.patched.splitlines()[13].strip() for c in candidates if c.generator == "template:swap_operands"] == [
        "int max = Math.max(sum ^ count, 1 - count);"  # `^` commutes
    ]
    concatenated = {c.patched.splitlines()[12].strip() for c in generate(tmp_path, 13) if c.generator == "template:swap_operands"}
    assert concatenated == {'String shown = sum + (label + ": ");', 'String shown = ": " + label + sum;'}
