"""Per-test outcomes from JUnit XML, the one report format that pytest, Maven, Gradle and
plain JUnit runners all write.

pytest is asked for the `xunit1` family because it records each test's `file`, which lets
us rebuild the exact pytest node id (`tests/test_x.py::TestA::test_b[1]`) that selection
and coverage contexts use.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from repairbot.domain import TestOutcome, TestStatus


class JUnitParseError(Exception):
    pass


def parse_junit_xml(path: Path) -> list[TestOutcome]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise JUnitParseError(f"unreadable JUnit XML {path}: {exc}") from exc
    return [_outcome(case) for case in root.iter("testcase")]


def _outcome(case: ET.Element) -> TestOutcome:
    status, message = TestStatus.PASSED, ""
    for tag, tag_status in (
        ("failure", TestStatus.FAILED),
        ("error", TestStatus.ERROR),
        ("skipped", TestStatus.SKIPPED),
    ):
        element = case.find(tag)
        if element is not None:
            status = tag_status
            # The attribute is the one-line summary, the text the traceback: keep both.
            parts = (element.get("message"), element.text)
            message = "\n".join(p.strip() for p in parts if p and p.strip())
            break
    return TestOutcome(
        test_id=_test_id(case),
        status=status,
        message=message,
        duration_s=float(case.get("time") or 0.0),
    )


def _test_id(case: ET.Element) -> str:
    """A pytest node id where the report has a `file` (a bare file for a module that
    failed to import), else `classname.name` (JUnit style)."""
    classname, name, file = case.get("classname", ""), case.get("name", ""), case.get("file")
    if file and not classname:  # pytest's report of a module that failed to import
        return file
    if not file:
        return f"{classname}.{name}" if classname else name
    module = file.removesuffix(".py").replace("/", ".")
    inner = classname.removeprefix(module).lstrip(".")
    return "::".join([file, *filter(None, inner.split(".")), name])
