"""Signs that a plausible patch overfits the tests (issue 17): literals taken from the
failing tests, deleted checks; such a patch is ranked after one without signs and flagged
in the JSON report and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repairbot import pipeline
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.domain import Candidate, SuspiciousLocation
from repairbot.generate.failures import FailingTest
from repairbot.generate.registry import GeneratorKind, register, unregister
from repairbot.overfitting import signs
from repairbot.report import to_json
from tests.budgets import UNHURRIED

LOCATION = SuspiciousLocation("m.py", 2, 2, 1.0)
ORIGINAL = "def area(w, h):\n    return w + h\n"
SPECIAL = "def area(w, h):\n    if w == 7 and h == 6:\n        return 42\n    return w + h\n"
FIXED = "def area(w, h):\n    return w * h\n"
TESTS = [FailingTest("tests/test_m.py::test_area", "assert 13 == 42", "def test_area():\n    assert area(7, 6) == 42")]


def candidate(patched: str, original: str = ORIGINAL, file: str = "m.py", prior: float = 0.5) -> Candidate:
    return Candidate(file, original, patched, "test", "a patch", LOCATION, prior)


def test_literals_of_the_failing_tests_in_a_patch_are_a_sign() -> None:
    [sign] = signs(candidate(SPECIAL), TESTS)
    assert sign == "m.py: adds 42, 6, 7, which the failing tests use (special-cases their inputs?)"
    assert signs(candidate(FIXED), TESTS) == []
    # A literal the file already held is no sign: the patch reuses the code's own constant.
    assert signs(candidate("def area(w, h):\n    return w * h * 1\n", "LIMIT = 42\n" + ORIGINAL), TESTS) == []


def test_a_deleted_check_is_a_sign_in_python_and_java() -> None:
    guarded = "def area(w, h):\n    if w < 0:\n        raise ValueError(w)\n    return w + h\n"
    assert signs(candidate("def area(w, h):\n    return w + h\n", guarded), []) == [
        "m.py: removes 1 check(s) (a raise, throw or assert)"
    ]
    java = "class A {\n  int f(int x) {\n    if (x < 0) throw new IllegalArgumentException();\n    return x;\n  }\n}\n"
    unguarded = java.replace("    if (x < 0) throw new IllegalArgumentException();\n", "")
    assert signs(candidate(unguarded, java, "A.java"), []) == ["A.java: removes 1 check(s) (a raise, throw or assert)"]


def test_a_function_that_stops_using_a_parameter_is_a_sign_in_python_and_java() -> None:
    """An ignored input: the setter that stops setting, the function that returns a constant."""
    assert signs(candidate("def area(w, h):\n    return w * w\n"), []) == [
        "m.py: area no longer uses its parameter(s) h (ignores an input?)"
    ]
    assert signs(candidate(FIXED), []) == []
    java = ("class Node {\n  void setNext(Node next) {\n    this.next = next;\n  }\n"
            "  void setNext(Node next, int n) {\n    this.next = next;\n  }\n}\n")
    cleared = java.replace("this.next = next;\n  }\n  void", "this.next = null;\n  }\n  void", 1)
    assert signs(candidate(cleared, java, "Node.java"), [])[0] == (
        "Node.java: Node.setNext no longer uses its parameter(s) next (ignores an input?)"
    )
    # A parameter renamed along with its uses, or dropped from the signature, is another
    # function: nothing to compare with.
    assert signs(candidate("def area(width, h):\n    return width * h\n"), []) == []


def test_a_function_that_hands_back_its_input_instead_of_its_result_is_a_sign() -> None:
    """`return paths` -> `return edges`: the parameter returned, the local it computed from
    it dropped; returning another local (a wrong variable fixed) is no sign."""
    original = ("def shortest(edges, n):\n    paths = dict(edges)\n    for k in range(n):\n"
                "        paths[k] = min(paths.get(k, 0), k)\n    return paths\n")
    assert signs(candidate(original.replace("return paths", "return edges"), original), []) == [
        "m.py: shortest returns its parameter edges instead of paths, which it still computes (discards its result?)"
    ]
    assert signs(candidate(original.replace("return paths", "return dict(paths)"), original), []) == []
    java = ("class P {\n  static int[] f(int[] xs) {\n    int[] out = xs.clone();\n"
            "    int[] tmp = out;\n    out[0] = 1;\n    return out;\n  }\n}\n")
    assert signs(candidate(java.replace("return out;", "return xs;"), java, "P.java"), []) == [
        "P.java: P.f returns its parameter xs instead of out, which it still computes (discards its result?)"
    ]
    assert signs(candidate(java.replace("return out;", "return tmp;"), java, "P.java"), []) == []


def test_a_changed_accessor_is_a_sign_in_python_and_java() -> None:
    """A setter that stores into another field passes a test that reads that field."""
    java = ("class Node {\n  Node(String v) {\n    this.value = v;\n  }\n"
            "  void setSuccessors(List<Node> successors) {\n    this.successors = successors;\n  }\n"
            "  int degree() {\n    return successors.size() + 1;\n  }\n}\n")
    renamed = java.replace("this.successors = successors", "this.predecessors = successors")
    assert signs(candidate(renamed, java, "Node.java"), []) == [
        "Node.java: changes Node.setSuccessors, which only moves values (the fault is rarely in an accessor)"
    ]
    # A method that computes is no accessor: a change there is what repairs do.
    computed = java.replace("size() + 1", "size() - 1")
    assert signs(candidate(computed, java, "Node.java"), []) == []
    python = "class Node:\n    def __init__(self, value):\n        self.value = value\n\n    def get(self):\n        return self.value\n"
    assert signs(candidate(python.replace("return self.value", "return self.key"), python, "node.py"), []) == [
        "node.py: changes Node.get, which only moves values (the fault is rarely in an accessor)"
    ]
    # A stub that returns a constant hands on no value: filling it in is a repair.
    stub = "def greet(name):\n    return 'hello'\n"
    assert signs(candidate("def greet(name):\n    return f'Hi, {name}!'\n", stub, "greet.py"), []) == []


class TwoPatches:
    """The special-cased patch first (likelier), the real fix second."""

    name = "two"

    def generate(self, project_root: Path, locations: list[SuspiciousLocation], limit: int) -> list[Candidate]:
        location = SuspiciousLocation("m.py", 2, 2, locations[0].score)
        return [
            Candidate("m.py", ORIGINAL, SPECIAL, self.name, "special-cases", location, 0.9),
            Candidate("m.py", ORIGINAL, FIXED, self.name, "multiplies", location, 0.1),
        ]


@pytest.fixture
def two() -> Iterator[None]:
    register(GeneratorKind("two", needs_model=False, per_location=False, reads_past_fixes=False,
                           build=lambda settings, context: TwoPatches()))
    yield
    unregister("two")


def test_a_flagged_patch_does_not_end_the_search_and_is_ranked_after_one_without_signs(tmp_path: Path, two: None) -> None:
    """`max_plausible` is 1, and the special-cased patch is validated first: the job looks
    on, finds the real fix, and ranks it first."""
    root = tmp_path / "p"
    (root / "tests").mkdir(parents=True)
    (root / "m.py").write_text(ORIGINAL)
    (root / "tests" / "test_m.py").write_text("from m import area\n\n\ndef test_area():\n    assert area(7, 6) == 42\n")
    settings = load_settings(root, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", generators=["two"],
                             max_plausible=1, validation_workers=1, locations=["m.py:2"], **UNHURRIED)
    messages: list[str] = []
    result = pipeline.repair(root, settings, JobStore(settings.database_url), messages.append)
    assert [p.candidate.description for p in result.patches] == ["multiplies", "special-cases"]
    assert [v.candidate.description for v in result.validations] == ["special-cases", "multiplies"]
    assert any(m.startswith("plausible, but it may overfit the tests (m.py: adds 42") for m in messages)
    assert result.stopped == "found 2 plausible patch(es) (max_plausible)"
    report = to_json(result)
    assert report["patches"][0]["overfitting"] == []
    assert report["patches"][1]["overfitting"] == [
        "m.py: adds 42, 6, 7, which the failing tests use (special-cases their inputs?)"
    ]
