"""Benchmark adapters and batch evaluation, on a checkout with QuixBugs' layout whose
programs are written here (no QuixBugs code in the repo)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.bugs import given_locations, line_ranges, same_program
from benchmarks.evaluate import evaluate, read_results
from benchmarks.quixbugs import python_bugs
from repairbot.cli import app

PROGRAMS = {
    # One wrong operator: the templates' kind of bug.
    "count_evens": (
        "def count_evens(numbers):\n    count = 0\n    for n in numbers:\n        if n % 2 == 1:\n"
        "            count += 1\n    return count\n",
        '"""Counts even numbers.\n\nAlternative fix: n % 2 != 1\n"""\n'
        "def count_evens(numbers):\n    count = 0\n    for n in numbers:\n        if n % 2 == 0:\n"
        "            count += 1\n    return count\n",
    ),
}
TESTS = {
    "count_evens": textwrap.dedent("""\
        from python_programs.count_evens import count_evens


        def test_none():
            assert count_evens([]) == 0


        def test_mixed():
            assert count_evens([1, 2, 3, 4]) == 2


        def test_all_even():
            assert count_evens([2, 4]) == 2
        """),
}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "quixbugs-layout"
    for folder in ("python_programs", "correct_python_programs", "python_testcases", "json_testcases"):
        (root / folder).mkdir(parents=True)
    (root / "conftest.py").write_text("")
    (root / "python_testcases" / "node.py").write_text("class Node:\n    pass\n")
    (root / "python_testcases" / "load_testdata.py").write_text("")
    for name, (buggy, fixed) in PROGRAMS.items():
        (root / "python_programs" / f"{name}.py").write_text(buggy)
        (root / "correct_python_programs" / f"{name}.py").write_text(fixed)
        (root / "python_testcases" / f"test_{name}.py").write_text(TESTS[name])
    return root


def test_same_program_ignores_layout_comments_and_bare_strings() -> None:
    buggy, fixed = PROGRAMS["count_evens"]
    without_docstring = fixed[fixed.index("def "):]
    assert same_program(without_docstring.replace("== 0:", "==0:  # fixed"), fixed, "p.py")
    assert not same_program(buggy, fixed, "p.py")
    assert same_program("int f() { return a+b; } // x", "int f() {\n  return a + b;\n}", "F.java")
    assert not same_program("return a - b;", "return a + b;", "F.java")


def test_line_ranges() -> None:
    assert line_ranges([9, 3, 5, 4]) == [(3, 5), (9, 9)]


def test_quixbugs_layout_becomes_one_project_per_program_with_its_fault(checkout: Path, tmp_path: Path) -> None:
    [bug] = python_bugs(checkout, tmp_path / "scratch")
    assert bug.name == "count_evens" and bug.language == "python"
    assert (bug.project / "python_programs" / "count_evens.py").read_text() == PROGRAMS["count_evens"][0]
    assert (bug.project / "python_testcases" / "test_count_evens.py").is_file()
    assert bug.test_command is not None and "--timeout=5" in bug.test_command
    assert given_locations(bug) == ["python_programs/count_evens.py:4"]
    with pytest.raises(ValueError, match="not a QuixBugs checkout"):
        python_bugs(tmp_path, tmp_path / "scratch")


def test_batch_evaluation_judges_against_the_reference_and_resumes(checkout: Path, tmp_path: Path) -> None:
    bugs = python_bugs(checkout, tmp_path / "scratch")
    out = tmp_path / "results"
    overrides = {"generators": ["templates"], "time_budget_s": 120}
    rows = evaluate("fake", bugs, ["given", "localized"], out, overrides)
    by_mode = {row.mode: row for row in rows}
    for row in rows:
        assert row.plausible and not row.error, row
        # The verdict against the reference is the patch applied and compared as a program.
        patched = apply_diff(bugs[0].project, row.top_patch, tmp_path / row.mode)
        assert row.top_matches_reference is same_program(patched, PROGRAMS["count_evens"][1], "p.py")
    # Each mode is measured on its own: no verdict reused from the other through the cache.
    assert not by_mode["localized"].error and by_mode["localized"].candidates_tried >= 1
    assert "-        if n % 2 == 1:" in by_mode["given"].top_patch

    lines = (out / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["mode"] for line in lines] == ["given", "localized"]
    again = evaluate("fake", bugs, ["given", "localized"], out, overrides)
    assert again == rows and (out / "results.jsonl").read_text().splitlines() == lines  # nothing rerun
    assert read_results(out / "results.jsonl") == rows


def apply_diff(project: Path, diff: str, destination: Path) -> str:
    copy = Path(shutil.copytree(project, destination))
    subprocess.run(["git", "apply", "-"], input=diff, text=True, cwd=copy, check=True)
    return (copy / "python_programs" / "count_evens.py").read_text()


def test_bench_command_prints_the_summary_table(checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPAIRBOT_GENERATORS", "templates")
    result = CliRunner().invoke(
        app, ["bench", "quixbugs", "--path", str(checkout), "--mode", "given", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    assert "| QuixBugs Python | given | 1 | 1 |" in result.stdout
    unknown = CliRunner().invoke(app, ["bench", "quixbugs", "--path", str(checkout), "--bugs", "nope"])
    assert unknown.exit_code == 2 and "no such QuixBugs program: nope" in unknown.output
