"""What a model is shown of a failure: each failing test's code and its failure message,
trimmed to what fits a prompt.

A one-line hole shows the model the code around the fault and nothing of what the tests
expect; a fix that needs the expected value (an off-by-one against an assertion, an
exception the test wants) is a guess without it. ChatRepair and Agentless put the failing
test and its error in the prompt. The test's code is found from the failure's own traceback
(`repairbot.stacktrace`): the frames in test files, their enclosing functions, so no test
id format needs knowing. The message comes first line first: JUnit XML (pytest's and the
JVM runners') puts the short message (`assert 3 == 4`, `expected:<3> but was:<4>`) there,
the long report after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from repairbot.domain import TestOutcome
from repairbot.languages import function_at
from repairbot.languages.registry import is_test_file, language_for
from repairbot.stacktrace import frame_lines
from validators import safe_files

MESSAGE_LINES = 12
MESSAGE_CHARS = 1000
TEST_CODE_LINES = 30


@dataclass(frozen=True)
class FailingTest:
    test_id: str
    message: str  # trimmed
    code: str  # the test function's code, trimmed; "" when no traceback frame shows it


def failing_tests(root: Path, outcomes: Sequence[TestOutcome], limit: int = 2) -> list[FailingTest]:
    """The first `limit` failing tests of `outcomes`, with their code read from `root`."""
    chosen = [o for o in outcomes if not o.ok][:limit]
    ran = frame_lines({o.test_id: o.message for o in chosen}, root, is_test_file)
    found = []
    for outcome in chosen:
        places = [place for place, tests in ran.items() if outcome.test_id in tests]
        code = next((c for c in (_function_code(root, file, line) for file, line in places) if c), "")
        found.append(FailingTest(outcome.test_id, trim_message(outcome.message), code))
    return found


def trim_message(message: str, max_lines: int = MESSAGE_LINES, max_chars: int = MESSAGE_CHARS) -> str:
    lines = [line.rstrip() for line in message.strip().splitlines() if line.strip()]
    text = "\n".join(lines[:max_lines])
    if len(lines) > max_lines or len(text) > max_chars:
        text = text[:max_chars].rstrip() + "\n..."
    return text


def _function_code(root: Path, file: str, line: int) -> str:
    """The function around `line` of `file` (1-based), its first TEST_CODE_LINES lines."""
    language = language_for(file)
    if language is None:
        return ""
    try:
        data = safe_files.read_bytes(root, file)
    except OSError:
        return ""
    function = function_at(language.parse(data), data, line, language.enclosing_function)
    if function is None:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    body = lines[function.start_point[0] : function.end_point[0] + 1]
    shown = "\n".join(body[:TEST_CODE_LINES])
    return shown + ("\n..." if len(body) > TEST_CODE_LINES else "")
