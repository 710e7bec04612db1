"""Traceback frames from pytest failure messages, and the stack-trace evidence they give."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from repairbot.languages import python
from repairbot.languages.registry import register, unregister
from repairbot.localize import is_test_file
from repairbot.stacktrace import Frame, frame_weights, parse_tracebacks, relative_to

# pytest's default (--tb=auto) report of a failure, as the JUnit XML carries it: long style
# for the first and last entries, short style in between.
PYTEST_LONG = """\
rooms.schedule.BookingError: Aurora is taken at 09:00
def test_back_to_back():
>       room = booked_room(("10:00", "11:00"), ("09:00", "10:00"))

tests/test_schedule.py:51: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 
tests/test_schedule.py:9: in booked_room
    room.book(make_slot(start, end), "alice")
rooms/schedule.py:70: in book
    self.check(slot)
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 

self = <rooms.schedule.Room object at 0x7f2d4743de50>

    def check(self, slot):
        if not self.is_free(slot):
>           raise BookingError(f"{self.name} is taken at {slot}")
E           rooms.schedule.BookingError: Aurora is taken at 09:00

rooms/schedule.py:56: BookingError"""

# A chained exception in Python's own format, with a library frame outside the project.
NATIVE_CHAINED = """\
Traceback (most recent call last):
  File "/usr/lib/python3.11/json/decoder.py", line 355, in raw_decode
    raise JSONDecodeError("Expecting value", s, err.value) from None
  File "app/load.py", line 4, in parse
    return json.loads(text)
ValueError: bad

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "app/main.py", line 12, in run
    config = parse(text)
  File "app/load.py", line 6, in parse
    raise ConfigError(text) from error
app.load.ConfigError: bad"""


def test_pytest_long_and_short_frames_in_call_order() -> None:
    assert parse_tracebacks(PYTEST_LONG) == [[
        Frame("tests/test_schedule.py", 51),
        Frame("tests/test_schedule.py", 9, "booked_room"),
        Frame("rooms/schedule.py", 70, "book"),
        Frame("rooms/schedule.py", 56),
    ]]


def test_chained_exceptions_are_separate_tracebacks() -> None:
    assert parse_tracebacks(NATIVE_CHAINED) == [
        [Frame("/usr/lib/python3.11/json/decoder.py", 355, "raw_decode"), Frame("app/load.py", 4, "parse")],
        [Frame("app/main.py", 12, "run"), Frame("app/load.py", 6, "parse")],
    ]


@pytest.mark.parametrize("text", ["assert 1 == 2", "E   AssertionError: a.py:3: nope", "x = {'a.py:3': 1}", ""])
def test_text_without_locations_has_no_frames(text: str) -> None:
    assert parse_tracebacks(text) == []


def test_relative_to_keeps_project_files_only(tmp_path: Path) -> None:
    assert relative_to("pkg/a.py", tmp_path) == "pkg/a.py"
    assert relative_to(str(tmp_path / "pkg" / "a.py"), tmp_path) == "pkg/a.py"
    assert relative_to("../outside.py", tmp_path) is None
    assert relative_to("/usr/lib/python3.11/json/decoder.py", tmp_path) is None


def test_weights_are_one_over_depth_averaged_over_failing_tests(tmp_path: Path) -> None:
    weights = frame_weights([PYTEST_LONG, NATIVE_CHAINED, "assert 1 == 2"], tmp_path, lambda f: not is_test_file(f))
    assert weights == pytest.approx({
        # Test 1: test-file frames are skipped; schedule.py:56 is innermost, :70 its caller.
        ("rooms/schedule.py", 56): 1 / 3,
        ("rooms/schedule.py", 70): (1 / 2) / 3,
        # Test 2: each chained traceback has its own innermost frame (the library frame is
        # outside the project); main.py:12 is the caller in the second one.
        ("app/load.py", 4): 1 / 3,
        ("app/load.py", 6): 1 / 3,
        ("app/main.py", 12): (1 / 2) / 3,
        # Test 3 (an assertion in the test) has no frame: it only dilutes the others.
    })


def test_a_line_takes_its_best_depth_once_per_test(tmp_path: Path) -> None:
    recursion = "\n".join(f"lib/walk.py:{line}: in walk" for line in (3, 5, 3, 5, 3))
    assert frame_weights([recursion], tmp_path, lambda f: True) == {("lib/walk.py", 3): 1.0, ("lib/walk.py", 5): 0.5}


# Lua's stack traceback: innermost frame first, each `file:line: in function 'name'`.
LUA_TRACE = """\
lua: app/cart.lua:4: attempt to perform arithmetic on a nil value (local 'price')
stack traceback:
        app/cart.lua:4: in function 'total'
        app/main.lua:9: in main chunk
        [C]: in ?"""
_LUA_FRAME = re.compile(r"^\s+(?P<path>[^\s:]+\.lua):(?P<line>\d+): in (?:function '(?P<function>[^']+)'|main chunk)")


def _lua_frame(line: str) -> Frame | None:
    match = _LUA_FRAME.match(line)
    return Frame(match["path"], int(match["line"]), match["function"]) if match else None


def test_a_registered_language_reads_its_own_tracebacks() -> None:
    assert parse_tracebacks(LUA_TRACE) == []
    # Lua stands in with Python's parser: only how its tracebacks read matters here.
    lua = dataclasses.replace(
        python.SUPPORT, name="lua", title="Lua", suffixes=(".lua",),
        traceback_frame=_lua_frame, innermost_frame_first=True,
    )
    register(lua)
    try:
        assert parse_tracebacks(LUA_TRACE) == [[Frame("app/main.lua", 9), Frame("app/cart.lua", 4, "total")]]
    finally:
        unregister(lua.name)
