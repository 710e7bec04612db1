"""Infill's insertion holes: where a missing line may go (before and after a suspicious
statement, first in the body it heads), the candidates a line written there makes, and the
setting that turns them off."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from repairbot.config import load_settings
from repairbot.domain import SuspiciousLocation
from repairbot.generate import infill as infill_module
from repairbot.generate.infill import (
    INSERT_WEIGHT,
    InfillBudget,
    InfillGenerator,
    NovelEndings,
)
from repairbot.languages import java, python
from repairbot.languages.registry import InsertionPoint
from repairbot.models import Completion
from tests.budgets import ModelClock

HOLE = "<hole>"

# A loop that never moves on: the fix is a missing `i += 1` after line 5.
LOOP = (
    "def total(xs):\n"
    "    s = 0\n"
    "    i = 0\n"
    "    while i < len(xs):\n"
    "        s += xs[i]\n"
    "    return s\n"
)
# The first match is overwritten by later ones: the fix is a missing `break;` after line 6.
FIND = (
    "public class Find {\n"
    "    static int first(int[] xs, int x) {\n"
    "        int found = -1;\n"
    "        for (int i = 0; i < xs.length; i++) {\n"
    "            if (xs[i] == x) {\n"
    "                found = i;\n"
    "            }\n"
    "        }\n"
    "        return found;\n"
    "    }\n"
    "}\n"
)


def replaced(text: str, line: int, indentation: str) -> str:
    """The file as a replacement hole over `line` shows it: the line is the hole."""
    lines = text.splitlines(keepends=True)
    return "".join(lines[: line - 1]) + indentation + HOLE + "\n" + "".join(lines[line:])


def inserted(text: str, line: int, indentation: str) -> str:
    """The file as an insertion hole shows it: a new line `line`, the hole, at `indentation`."""
    lines = text.splitlines(keepends=True)
    return "".join(lines[: line - 1]) + indentation + HOLE + "\n" + "".join(lines[line - 1 :])


@dataclass
class HoleModel:
    """Answers a hole by the file it is cut from, the hole marked (`replaced`, `inserted`):
    a replacement hole and an insertion hole may start on the same line. Records every
    hole it is asked to fill, with its samples and guide."""

    answers: dict[str, list[Completion]] = field(default_factory=dict)
    seconds: float = 0.0
    name: str = "fake"
    holes: list[str] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    guides: list[object] = field(default_factory=list)
    clock: ModelClock = field(default_factory=ModelClock)

    def infill(self, prefix, suffix, n, max_tokens, stop=(), deadline=None, guide=None) -> list[Completion]:
        shape = prefix + HOLE + "\n" + suffix
        self.holes.append(shape)
        self.samples.append(n)
        self.guides.append(guide)
        self.clock.now += self.seconds
        return self.answers.get(shape, [])[:n]


def at(line: int, file: str = "m.py", score: float = 1.0) -> SuspiciousLocation:
    return SuspiciousLocation(file, line, line, score)


def generate(
    tmp_path: Path, model: HoleModel, file: str, text: str, lines: list[int], budget: InfillBudget | None = None
):
    (tmp_path / file).write_text(text)
    return InfillGenerator(model, budget or InfillBudget()).generate(tmp_path, [at(line, file) for line in lines], 100)


def changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


# --- where the holes are -----------------------------------------------------------------

def test_python_holes_before_and_after_a_statement_and_first_in_a_loop_body(tmp_path: Path) -> None:
    model = HoleModel()
    generate(tmp_path, model, "m.py", LOOP, [4, 5])
    assert model.holes == [
        replaced(LOOP, 4, "    "),  # the loop header's own hole, then its insertions
        inserted(LOOP, 4, "    "),  # before the loop
        inserted(LOOP, 5, "        "),  # first in its body
        replaced(LOOP, 5, "        "),
        # before line 5 is the body's first line: asked once
        inserted(LOOP, 6, "        "),  # after line 5, at its indentation
        inserted(LOOP, 6, "    "),  # after the loop line 5 ends
    ]
    assert model.samples == [4, 2, 2, 4, 2, 2]  # the replacement hole's samples; greedy + one for an insertion
    after = model.guides[-1]  # the Python engine: it reads the file's names around the new line
    assert isinstance(after, NovelEndings) and after.allows("i += 1", final=True)
    assert not after.allows("", final=True) and not after.allows("pass", final=True)
    assert not after.allows("s += xs[i]", final=True)  # the line above, written again
    assert not after.allows("i = advance(i)", final=False)  # a function defined nowhere
    assert after.allows("i = total(i)", final=False)


def test_java_holes_before_and_after_a_statement_and_first_in_a_loop_body(tmp_path: Path) -> None:
    model = HoleModel()
    generate(tmp_path, model, "Find.java", FIND, [4, 6, 9])
    assert model.holes == [
        replaced(FIND, 4, "        "),
        inserted(FIND, 4, "        "),  # before the loop
        inserted(FIND, 5, "            "),  # first in its braced body
        replaced(FIND, 6, "                "),
        inserted(FIND, 6, "                "),
        inserted(FIND, 7, "                "),  # after `found = i;`, inside the `if`
        inserted(FIND, 8, "            "),  # after the `if` it ends (after the loop: before line 9, below)
        replaced(FIND, 9, "        "),
        inserted(FIND, 9, "        "),  # a return: a line before it, none after (unreachable)
    ]
    guide = model.guides[5]
    assert isinstance(guide, NovelEndings)
    assert guide.allows("break;", final=True) and not guide.allows("", final=True)
    assert not guide.allows("found = i;", final=True)  # the line above, written again
    assert not guide.allows("break", final=True)  # does not parse


def test_the_languages_put_no_line_where_a_statement_cannot_stand() -> None:
    source = (
        b"def f(x, y):\n"
        b"    if x: return 1\n"
        b"    if y:\n"
        b"        pass\n"
        b"    elif x:\n"
        b"        return 2\n"
        b"    match x:\n"
        b"        case 1:\n"
        b"            pass\n"
    )
    tree = python.parse(source)

    def python_points(line: int) -> list[InsertionPoint]:
        return python.insertion_points(source, tree, line, line)

    # No line of its own for `return 1`; after the one-line `if` it ends, one.
    assert python_points(2) == [InsertionPoint(2, "    ", "before"), InsertionPoint(3, "    ", "after")]
    assert python_points(5) == [InsertionPoint(6, "        ", "body")]  # nothing between `if` and `elif`
    # Nothing after a return; after the `if` it ends, where the `match` is.
    assert python_points(6) == [InsertionPoint(6, "        ", "before"), InsertionPoint(7, "    ", "after")]
    assert python_points(7) == [InsertionPoint(7, "    ", "before")]  # a match's body holds cases
    source = (
        b"class A extends B {\n"
        b"    int n = 1;\n"
        b"    A(int x) {\n"
        b"        super(x);\n"
        b"        if (x > 0)\n"
        b"            n = x;\n"
        b"        if (x < 0) {\n"
        b"            n = 0;\n"
        b"        } else if (x == 0) {\n"
        b"            n = 2;\n"
        b"        }\n"
        b"    }\n"
        b"}\n"
    )
    tree = java.parse(source)

    def java_points(line: int) -> list[InsertionPoint]:
        return java.insertion_points(source, tree, line, line)

    assert java_points(2) == []  # a field
    assert java_points(4) == [InsertionPoint(5, "        ", "after")]  # `super(...)` comes first
    assert java_points(5) == [InsertionPoint(5, "        ", "before")]  # a body without braces
    assert java_points(6) == []
    assert java_points(9) == [InsertionPoint(10, "            ", "body")]  # `} else if`: no line before


def test_a_line_may_go_after_the_loops_and_branches_a_statement_ends() -> None:
    """`rpn.append(ops.pop())` ends the inner loop, the `else` and the `for`: a missing line
    may go after each of them, at its indentation (after the loop, in the `else`; after the
    `if`, in the `for`; after the `for`, before the `return`)."""
    source = (
        b"def f(tokens, ops, rpn):\n"
        b"    for token in tokens:\n"
        b"        if token > 0:\n"
        b"            rpn.append(token)\n"
        b"        else:\n"
        b"            while ops:\n"
        b"                rpn.append(ops.pop())\n"
        b"    return rpn\n"
    )
    assert python.insertion_points(source, python.parse(source), 7, 7) == [
        InsertionPoint(7, "                ", "before"), InsertionPoint(8, "                ", "after"),
        InsertionPoint(8, "            ", "after"), InsertionPoint(8, "        ", "after"),
        InsertionPoint(8, "    ", "after"),
    ]
    # Line 4 ends the `if` body, not the `if`: no point after the branch.
    assert python.insertion_points(source, python.parse(source), 4, 4) == [
        InsertionPoint(4, "            ", "before"), InsertionPoint(5, "            ", "after"),
    ]
    source = (
        b"class S {\n"
        b"    void f(Deque<Integer> ops, List<Integer> rpn, int token) {\n"
        b"        if (token > 0) {\n"
        b"            rpn.add(token);\n"
        b"        } else if (token < 0) {\n"
        b"            while (!ops.isEmpty()) {\n"
        b"                rpn.add(ops.pop());\n"
        b"            }\n"
        b"        }\n"
        b"        rpn.add(0);\n"
        b"    }\n"
        b"}\n"
    )
    assert java.insertion_points(source, java.parse(source), 7, 7) == [
        InsertionPoint(7, "                ", "before"), InsertionPoint(8, "                ", "after"),
        InsertionPoint(9, "            ", "after"), InsertionPoint(10, "        ", "after"),
    ]
    assert java.insertion_points(source, java.parse(source), 4, 4) == [
        InsertionPoint(4, "            ", "before"), InsertionPoint(5, "            ", "after"),
    ]


# --- the candidates ----------------------------------------------------------------------

def test_a_line_written_into_an_insertion_hole_is_a_candidate_that_adds_it(tmp_path: Path) -> None:
    model = HoleModel({
        inserted(LOOP, 6, "        "): [Completion("i += 1", -0.1)],
        replaced(LOOP, 5, "        "): [Completion("s += xs[i + 0]", -0.5)],
    })
    rewrite, insertion = generate(tmp_path, model, "m.py", LOOP, [5])
    assert changed_lines(insertion.diff) == ["+        i += 1"]
    assert insertion.patched == LOOP.replace("        s += xs[i]\n", "        s += xs[i]\n        i += 1\n")
    assert insertion.description == "inserts a line after line 5: `i += 1`"
    assert insertion.generator == "infill:fake" and insertion.location == at(5)
    # Ranked after the suspicious line's own rewrite, though the model liked it better.
    assert insertion.prior == pytest.approx(INSERT_WEIGHT * 2.718281828 ** -0.1)
    assert rewrite.description.startswith("line 5: ") and rewrite.prior > insertion.prior


def test_a_java_line_inserted_first_in_a_loop_body(tmp_path: Path) -> None:
    guard = "if (xs[i] == x && found >= 0) continue;"
    model = HoleModel({
        inserted(FIND, 5, "            "): [Completion(guard, -0.2)],
        inserted(FIND, 7, "                "): [Completion("break;", -0.3)],
    })
    candidates = generate(tmp_path, model, "Find.java", FIND, [4, 6])
    assert [changed_lines(c.diff) for c in candidates] == [
        [f"+            {guard}"], ["+                break;"],
    ]
    assert candidates[0].description == f"inserts a line first in the body, line 5: `{guard}`"


def test_an_empty_or_idle_line_makes_no_candidate(tmp_path: Path) -> None:
    hole = inserted(LOOP, 6, "        ")
    model = HoleModel({hole: [
        Completion("", -0.1), Completion("   ", -0.1), Completion("pass", -0.1),  # nothing, or nothing done
        Completion("s += xs[i]", -0.1),  # the line above again
        Completion("i +=", -0.1),  # does not parse
    ]})
    assert generate(tmp_path, model, "m.py", LOOP, [5], InfillBudget(samples=5, insert_samples=5)) == []
    assert hole in model.holes


# --- the budget and the setting ------------------------------------------------------------

def test_insertion_holes_stay_within_the_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = HoleModel(seconds=1.0)
    monkeypatch.setattr(infill_module, "time", model.clock)
    generate(tmp_path, model, "m.py", LOOP, [5], InfillBudget(time_limit_s=2.0))
    assert model.holes == [replaced(LOOP, 5, "        "), inserted(LOOP, 5, "        ")]


def test_with_the_setting_off_no_insertion_hole_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = HoleModel()
    monkeypatch.setattr(infill_module, "load_code_model", lambda settings: model)
    assert load_settings(tmp_path).infill.insert_holes
    settings = load_settings(tmp_path, infill_insert_holes=False)
    (tmp_path / "m.py").write_text(LOOP)
    infill_module.infill_generator(settings.infill, 60.0).generate(tmp_path, [at(4), at(5)], 100)
    assert model.holes == [replaced(LOOP, 4, "    "), replaced(LOOP, 5, "        ")]
