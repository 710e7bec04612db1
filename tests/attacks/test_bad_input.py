"""Attack: project files and suites shaped to stall generation or to mislead the operator
(issue 12, hole 7: a 6 MB one-line file kept template generation running past 600 s with a
300 s budget; hole 8: a newline in a file name forges diff header lines, and a slow but
finite suite was reported as "a hanging test?").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from repairbot.domain import SuspiciousLocation, unified_diff
from repairbot.errors import BadInput
from repairbot.generate.templates import MAX_LINE_BYTES, MAX_SOURCE_BYTES, TemplateGenerator
from repairbot.reproduce import reproduce

from tests.attacks.hostile import SANDBOXES, sandboxed_runner
from tests.files import write_files

CALC = "def add(a, b):\n    return a - b\n"
CALC_AT = SuspiciousLocation("calc.py", 2, 2, 1.0)
# A plausible repair target: functions of a few statements, comparisons and arithmetic.
FUNCTION = "def f{i}(a, b):\n    if a < b:\n        return a + b - {i}\n    return a * b\n"


def one_line_module(size: int) -> str:
    """A valid module of one line of `size` bytes or more: many small statements."""
    statement = "v = v + 1 if v < 2 else v - 1; "
    return "v = 0; " + statement * (size // len(statement) + 1) + "\n"


# --- template generation: bounded per file, and by the job's deadline ------------------------


def test_a_6_mb_one_line_file_is_skipped_and_the_rest_still_repaired(tmp_path: Path) -> None:
    project = write_files(tmp_path, {"big.py": one_line_module(6 * 1024 * 1024), "calc.py": CALC})
    generator = TemplateGenerator(time_limit_s=600)
    candidates = generator.generate(project, [SuspiciousLocation("big.py", 1, 1, 1.0), CALC_AT], 50)
    assert candidates and {c.file for c in candidates} == {"calc.py"}
    assert any("a + b" in c.patched for c in candidates)
    assert f"larger than {MAX_SOURCE_BYTES} bytes" in generator.stats.skipped["big.py"]
    assert not generator.stats.out_of_time


def test_a_long_line_in_a_file_under_the_size_cap_is_skipped(tmp_path: Path) -> None:
    module = one_line_module(MAX_SOURCE_BYTES // 2) + "def g(x):\n    return x < 1\n"
    project = write_files(tmp_path, {"wide.py": module})
    generator = TemplateGenerator(time_limit_s=600)
    locations = [SuspiciousLocation("wide.py", 1, 1, 1.0), SuspiciousLocation("wide.py", 3, 3, 0.5)]
    candidates = generator.generate(project, locations, 50)
    assert candidates and {c.location.start_line for c in candidates} == {3}
    assert f"longer than {MAX_LINE_BYTES} bytes" in generator.stats.skipped["wide.py:1-1"]


@pytest.mark.parametrize("time_limit_s", [0, -30])
def test_a_deadline_already_past_generates_nothing(tmp_path: Path, time_limit_s: float) -> None:
    project = write_files(tmp_path, {"calc.py": CALC})
    generator = TemplateGenerator(time_limit_s=time_limit_s)
    assert generator.generate(project, [CALC_AT], 50) == []
    assert generator.stats.out_of_time


def test_the_deadline_cuts_generation_short_on_a_large_file(tmp_path: Path) -> None:
    """Under both caps, but each candidate re-parses 400 KB: 200 of them take seconds even on
    a fast machine, so half a second runs out; what was found by then comes back."""
    functions = "".join(FUNCTION.format(i=i) for i in range(400 * 1024 // len(FUNCTION)))
    project = write_files(tmp_path, {"many.py": functions})
    locations = [SuspiciousLocation("many.py", 4 * i + 2, 4 * i + 3, 1.0 - i / 100) for i in range(40)]
    generator = TemplateGenerator(time_limit_s=0.5)
    candidates = generator.generate(project, locations, 200)
    assert generator.stats.out_of_time
    assert len(candidates) < 200
    assert not generator.stats.skipped


def test_a_symlinked_source_is_not_read(tmp_path: Path) -> None:
    outside = write_files(tmp_path / "host", {"secret.py": "def key():\n    return 4242 + 1\n"})
    project = write_files(tmp_path / "project", {"calc.py": CALC})
    (project / "key.py").symlink_to(outside / "secret.py")
    generator = TemplateGenerator(time_limit_s=600)
    candidates = generator.generate(project, [SuspiciousLocation("key.py", 2, 2, 1.0), CALC_AT], 50)
    assert candidates and all("4242" not in c.original + c.patched for c in candidates)
    assert "symlink" in generator.stats.skipped["key.py"]


# --- diff headers: file names quoted as git quotes them -------------------------------------

HOSTILE_NAMES = [
    "evil.py\n+++ b/etc/passwd",  # a newline forging a second header
    "tab\there.py",
    'quote".py',
    "back\\slash.py",
    "bell\x07\x1b[31mred.py",
    "café.py",
    os.fsdecode(b"latin\xe9.py"),  # not UTF-8: the bytes os.fsdecode keeps as surrogates
    "with space.py",
]


def git_repo(root: Path) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_hostile_file_names_give_a_diff_git_applies_to_those_files_only(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "repo")
    before, after = "a = 1\nb = 2\n", "a = 1\nb = 3\n"
    for name in HOSTILE_NAMES:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(before.encode())
    diff = "".join(unified_diff(name, before, after) for name in HOSTILE_NAMES)
    header_lines = [line for line in diff.split("\n") if line.startswith(("--- ", "+++ "))]
    assert len(header_lines) == 2 * len(HOSTILE_NAMES)  # no forged header
    assert '--- "a/evil.py\\n+++ b/etc/passwd"' in header_lines
    assert all(ch.isprintable() for line in header_lines for ch in line)  # no raw ESC or BEL

    subprocess.run(["git", "apply", "--check", "-"], input=diff.encode(), cwd=repo, check=True)
    summary = subprocess.run(["git", "apply", "--numstat", "-z", "-"], input=diff.encode(), cwd=repo,
                             check=True, capture_output=True).stdout
    named = [entry.split(b"\t", 2)[2] for entry in summary.split(b"\0") if entry]
    assert named == [os.fsencode(name) for name in HOSTILE_NAMES]
    subprocess.run(["git", "apply", "-"], input=diff.encode(), cwd=repo, check=True)
    assert all((repo / name).read_bytes() == after.encode() for name in HOSTILE_NAMES)
    assert not (repo / "etc").exists()


def test_line_breaks_other_than_newline_stay_inside_their_line(tmp_path: Path) -> None:
    """Form feeds (old Python files have them) and lone carriage returns are line breaks to
    `str.splitlines`, not to git: the diff must still apply and give the exact text."""
    repo = git_repo(tmp_path / "repo")
    before = "import os\n\x0c\ndef f():\n    return 'a\rb' \x1c\n"
    after = before.replace("return", "return not")
    (repo / "m.py").write_bytes(before.encode())
    diff = unified_diff("m.py", before, after)
    subprocess.run(["git", "apply", "--check", "-"], input=diff.encode(), cwd=repo, check=True)
    subprocess.run(["git", "apply", "-"], input=diff.encode(), cwd=repo, check=True)
    assert (repo / "m.py").read_bytes() == after.encode()


# --- a slow but finite suite: said as it is, with the fix ------------------------------------

SLOW_TEST = "import time\n\nimport calc\n\n\ndef test_add():\n    time.sleep(4)\n    assert calc.add(1, 2) == 3\n"


@pytest.mark.parametrize("mode", SANDBOXES)
def test_a_slow_suite_is_not_called_hanging_and_the_message_says_how_to_wait_longer(
    tmp_path: Path, mode: str
) -> None:
    work = write_files(tmp_path / "work", {"calc.py": CALC, "tests/test_calc.py": SLOW_TEST})
    runner = sandboxed_runner(mode)
    runner.prepare(work)
    with pytest.raises(BadInput) as caught:
        reproduce(runner, work, 1, reruns=0)
    message = str(caught.value)
    assert "did not finish within 1s (test_timeout_s)" in message
    assert "hanging test?" not in message
    assert "needs longer" in message and "REPAIRBOT_TEST_TIMEOUT_S" in message
    # Following the advice works: the suite was finite, the failure is reproduced.
    reproduction = reproduce(runner, work, 300, reruns=0)
    assert [o.test_id for o in reproduction.failing] == ["tests/test_calc.py::test_add"]


def test_a_report_written_by_the_tests_cannot_bloat_or_crash_the_job(tmp_path: Path) -> None:
    # The JUnit XML is the tests' own output: a megabyte failure message is stored with every
    # candidate (kept: its start and its innermost frames), and a bad `time` is no crash.
    from validators.junit_xml import MAX_MESSAGE_CHARS, parse_junit_xml

    message = "AssertionError: summary\n" + "noise\n" * 200_000 + "calc.py:3: in add"
    report = tmp_path / "report.xml"
    report.write_text(
        '<testsuite><testcase classname="tests.test_calc" name="test_add" file="tests/test_calc.py" time="soon">'
        f"<failure message=\"boom\">{message}</failure></testcase></testsuite>"
    )
    [outcome] = parse_junit_xml(report, tmp_path)
    assert outcome.duration_s == 0.0 and not outcome.ok
    assert len(outcome.message) < MAX_MESSAGE_CHARS + 100
    assert outcome.message.startswith("boom\nAssertionError: summary") and outcome.message.endswith("calc.py:3: in add")
