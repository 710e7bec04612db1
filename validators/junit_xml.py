"""Per-test outcomes from JUnit XML, the one report format that pytest, Maven Surefire and
the JUnit Platform console launcher (the javac runner's) all write.

pytest is asked for the `xunit1` family because it records each test's `file`, which lets
us rebuild the exact pytest node id (`tests/test_x.py::TestA::test_b[1]`) that selection
and coverage contexts use.

Java reports (JUnit Platform console launcher, Maven Surefire) are read by
`parse_java_junit_xml` into Java test ids, `pkg.Class#method`: the form the console
launcher's `--select-method` and Surefire's `-Dtest` accept back. A JUnit 5 method that takes
parameters keeps its parameter types (`pkg.Class#add(int, int)`), because
`--select-method pkg.Class#add` finds only a method without parameters. Invocations of a
parameterized test are merged into one outcome per method: every invocation runs whenever the
method is selected, so nothing finer could be selected anyway.

The tests write their own report, so it is read as untrusted: through `safe_files` (never
through a link, never from a FIFO or device, at most MAX_REPORT_BYTES) relative to the work
dir, and parsed from those bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from repairbot.domain import TestOutcome, TestStatus
from repairbot.languages import python
from validators import safe_files

# A report of tens of thousands of tests with long tracebacks stays well below this.
MAX_REPORT_BYTES = 64 * safe_files.MiB


# Enough for any real traceback; a test printing megabytes into its failure is capped.
MAX_MESSAGE_CHARS = 64 * 1024


class JUnitParseError(Exception):
    pass


def parse_junit_xml(report: Path, workdir: Path | None = None) -> list[TestOutcome]:
    """`report` lies in `workdir` (its own dir when None): no part of it between the two
    may be a link; the tests' files are found in `workdir` (see `_test_id`)."""
    root = report.parent if workdir is None else workdir
    return [_outcome(case, _test_id(case, root)) for case in _testcases(report, workdir)]


def _testcases(report: Path, workdir: Path | None) -> list[ET.Element]:
    root = report.parent if workdir is None else workdir
    try:
        data = safe_files.read_bytes(root, report.relative_to(root), MAX_REPORT_BYTES)
        tree = ET.fromstring(data)
    except (ET.ParseError, OSError, ValueError) as exc:
        raise JUnitParseError(f"unreadable JUnit XML {report.name}: {exc}") from exc
    return list(tree.iter("testcase"))


def _outcome(case: ET.Element, test_id: str) -> TestOutcome:
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
    return TestOutcome(test_id=test_id, status=status, message=bounded_message(message), duration_s=report_seconds(case.get("time")))


def bounded_message(message: str) -> str:
    """A failure message is written by the tests and stored with every candidate: keep its
    start (the summary) and its end (the innermost frames, what localization reads)."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    head, tail = MAX_MESSAGE_CHARS // 4, MAX_MESSAGE_CHARS * 3 // 4
    return f"{message[:head]}\n... ({len(message) - head - tail} characters left out) ...\n{message[-tail:]}"


def report_seconds(text: str | None) -> float:
    """A duration the tests' own report states; 0 where it is missing or malformed."""
    try:
        return float(text or 0.0)
    except ValueError:  # the report is the tests' own output: a bad attribute is no crash
        return 0.0


def _test_id(case: ET.Element, root: Path) -> str:
    """A pytest node id where the report has a `file` (a bare file for a module that
    failed to import), else `classname.name` (JUnit style).

    `file` is where the test function is defined; the node id names the module the test
    was collected from, which `classname` starts with. The two differ for a test method a
    class inherits from another file (cachetools' tests inherit theirs from a mixin in
    `tests/__init__.py`): then the module is the longest start of `classname` that is a
    file in `root`."""
    classname, name, file = case.get("classname", ""), case.get("name", ""), case.get("file")
    if file and not classname:  # pytest's report of a module that failed to import
        return file
    if not file:
        return f"{classname}.{name}" if classname else name
    module = file.removesuffix(python.SUFFIX).replace("/", ".")
    if classname != module and not classname.startswith(module + "."):
        module = _collecting_module(classname, root) or module
        file = module.replace(".", "/") + python.SUFFIX
    inner = classname.removeprefix(module).lstrip(".")
    return "::".join([file, *filter(None, inner.split(".")), name])


def _collecting_module(classname: str, root: Path) -> str | None:
    parts = classname.split(".")
    for end in range(len(parts) - 1, 0, -1):
        if safe_files.exists_regular(root, "/".join(parts[:end]) + python.SUFFIX):
            return ".".join(parts[:end])
    return None


# --- Java ---------------------------------------------------------------------------------

# The JUnit Platform's legacy XML report names each test's node in its <system-out>.
_UNIQUE_ID = re.compile(r"^unique-id: (.+)$", re.MULTILINE)
_DISPLAY_NAME = re.compile(r"^display-name: (.+)$", re.MULTILINE)
# A Jupiter method node: [method:add(int, int)], or the template of a parameterized or
# repeated test, or a test factory.
_JUPITER_METHOD = re.compile(r"\[(?:method|test-template|test-factory):([^\]]+)\]")
# Report names without a unique id: `add` (JUnit 4), `add[0]` (JUnit 4 Parameterized),
# `add()` or `add(int)[1]` (JUnit 5 through Surefire).
_REPORTED_NAME = re.compile(r"^(?P<method>[^(\[]+)(?P<params>\([^)]*\))?(?P<invocation>\[.*\])?$")

# Merging invocations: the outcome of a method is its worst invocation's.
_SEVERITY = {TestStatus.SKIPPED: 0, TestStatus.PASSED: 1, TestStatus.FAILED: 2, TestStatus.ERROR: 3}


def parse_java_junit_xml(report: Path, workdir: Path | None = None) -> list[TestOutcome]:
    """One outcome per test method, ids `pkg.Class#method` (see the module docstring);
    `report` and `workdir` as for `parse_junit_xml`."""
    invocations: dict[str, list[tuple[str, TestOutcome]]] = {}
    for case in _testcases(report, workdir):
        test_id, label = java_test_id(case)
        invocations.setdefault(test_id, []).append((label, _outcome(case, test_id)))
    return [merge_invocations(runs) for runs in invocations.values()]


def java_test_id(case: ET.Element) -> tuple[str, str]:
    """(test id, the invocation's label: its display name, "" for a plain test)."""
    classname, name = case.get("classname", ""), case.get("name", "")
    out = case.findtext("system-out") or ""
    unique_id = _UNIQUE_ID.search(out)
    display = _DISPLAY_NAME.search(out)
    jupiter = _JUPITER_METHOD.findall(unique_id.group(1)) if unique_id else []
    if jupiter:
        method = jupiter[-1].removesuffix("()")
        is_invocation = "-invocation:" in unique_id.group(1) if unique_id else False
        label = display.group(1).strip() if display and is_invocation else ""
    else:
        match = _REPORTED_NAME.match(name)
        if match is None:  # a display name with brackets or parentheses: keep it whole
            method, label = name, ""
        else:
            params = match["params"] if match["params"] not in (None, "()") else ""
            method, label = match["method"] + params, match["invocation"] or ""
    return (f"{classname}#{method}" if classname else method), label


def merge_invocations(runs: list[tuple[str, TestOutcome]]) -> TestOutcome:
    if len(runs) == 1:
        return runs[0][1]
    worst = max((outcome for _, outcome in runs), key=lambda o: _SEVERITY[o.status])
    failed = [f"{label}: {outcome.message}" for label, outcome in runs if not outcome.ok]
    return TestOutcome(
        test_id=worst.test_id,
        status=worst.status,
        message="\n".join(failed),
        duration_s=sum(outcome.duration_s for _, outcome in runs),
    )
