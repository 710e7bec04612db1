"""Benchmark adapters and batch evaluation, on a checkout with QuixBugs' layout whose
programs are written here (no QuixBugs code in the repo)."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.bugs import Bug, given_locations, line_ranges, matches_fix, same_program
from benchmarks.evaluate import bug_table, evaluate, job_settings, read_results
from benchmarks.prepared import prepared
from benchmarks.examples import example_bugs, example_language
from benchmarks.quixbugs import java_bugs, python_bugs
from repairbot.cli import app
from repairbot.domain import Candidate, Verdict
from repairbot.errors import BadInput
from repairbot.pipeline import make_runner
from repairbot.reproduce import reproduce
from validators.junit_runner import JavacJUnitRunner

from tests.budgets import NEVER_S

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

# QuixBugs' Java layout: the buggy program in package java_programs, the correct one in
# correct_java_programs (importing what it needs from java_programs), JUnit 4 tests in
# java_testcases.junit. The bug is on line 7.
JAVA_BUGGY = """\
package java_programs;

public class COUNT_EVENS {
    public static int count_evens(int[] numbers) {
        int count = 0;
        for (int n : numbers) {
            if (n % 2 == 1) {
                count++;
            }
        }
        return count;
    }
}
"""
JAVA_FIXED = JAVA_BUGGY.replace("package java_programs;\n", "package correct_java_programs;\n\nimport java_programs.*;\n").replace(
    "if (n % 2 == 1) {", "if (n % 2 == 0) { // alternative: n % 2 != 1"
)
JAVA_TEST = """\
package java_testcases.junit;

import static org.junit.Assert.assertEquals;

public class COUNT_EVENS_TEST {
    @org.junit.Test(timeout = 3000)
    public void none() {
        assertEquals(0, java_programs.COUNT_EVENS.count_evens(new int[] {}));
    }

    @org.junit.Test(timeout = 3000)
    public void mixed() {
        assertEquals(1, java_programs.COUNT_EVENS.count_evens(new int[] {1, 3, 4}));
    }
}
"""
needs_jdk = pytest.mark.skipif(shutil.which("javac") is None, reason="needs a JDK")


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
    for folder in ("java_programs", "correct_java_programs", "java_testcases/junit"):
        (root / folder).mkdir(parents=True)
    (root / "java_programs" / "COUNT_EVENS.java").write_text(JAVA_BUGGY)
    (root / "correct_java_programs" / "COUNT_EVENS.java").write_text(JAVA_FIXED)
    (root / "java_testcases" / "junit" / "COUNT_EVENS_TEST.java").write_text(JAVA_TEST)
    return root


def test_same_program_ignores_layout_comments_and_bare_strings() -> None:
    buggy, fixed = PROGRAMS["count_evens"]
    without_docstring = fixed[fixed.index("def "):]
    assert same_program(without_docstring.replace("== 0:", "==0:  # fixed"), fixed, "p.py")
    assert not same_program(buggy, fixed, "p.py")
    assert same_program("int f() { return a+b; } // x", "int f() {\n  return a + b;\n}", "F.java")
    assert not same_program("return a - b;", "return a + b;", "F.java")


def test_same_java_program_ignores_package_and_imports() -> None:
    """QuixBugs' correct Java programs differ from the buggy ones in package and imports: a
    patch of the buggy file that makes the fix is the reference fix."""
    file = "java_programs/COUNT_EVENS.java"
    assert not same_program(JAVA_BUGGY, JAVA_FIXED, file)
    assert same_program(JAVA_BUGGY.replace("n % 2 == 1", "n%2==0 /* fixed */"), JAVA_FIXED, file)
    assert not same_program(JAVA_BUGGY.replace("n % 2 == 1", "n % 2 != 1"), JAVA_FIXED, file)
    assert not same_program(JAVA_BUGGY.replace("n % 2 == 1) {", "n % 2 == 0) {{"), JAVA_FIXED, file)  # no program


def test_a_patch_matches_the_fix_when_it_makes_each_fixed_file_the_same_program(tmp_path: Path) -> None:
    bug = Bug("two_files", "python", tmp_path, {"a.py": "def f(n):\n    return n + 1\n", "b.py": "LIMIT = 2\n"})
    assert matches_fix(bug, {"a.py": "def f(n):\n    return n+1  # fixed\n", "b.py": "LIMIT = 2\n"})
    assert not matches_fix(bug, {"a.py": "def f(n):\n    return n + 1\n"})  # one file of the two
    assert not matches_fix(bug, {"a.py": "def f(n):\n    return n - 1\n", "b.py": "LIMIT = 2\n"})


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


def test_a_prepared_bug_validates_against_its_reproduced_failure_in_a_copy(checkout: Path, tmp_path: Path) -> None:
    [bug] = python_bugs(checkout, tmp_path / "scratch")
    buggy = PROGRAMS["count_evens"][0]
    with prepared(bug) as ready:
        assert ready.root != bug.project
        assert [(l.file, l.start_line, l.end_line) for l in ready.locations] == [("python_programs/count_evens.py", 4, 4)]
        file = ready.locations[0].file
        patches = {
            "reference": buggy.replace("n % 2 == 1", "n % 2 == 0"),
            "no fix": buggy.replace("count = 0", "count = 0  # a comment"),
        }
        candidates = [Candidate(file, buggy, text, "test", name, ready.locations[0]) for name, text in patches.items()]
        verdicts = {r.candidate.description: r.verdict for r in ready.pool.run(candidates, should_stop=lambda: False)}
    assert verdicts == {"reference": Verdict.PLAUSIBLE, "no fix": Verdict.FAILS}
    assert (bug.project / file).read_text() == buggy  # the bug's own project is untouched


def test_quixbugs_java_layout_becomes_one_project_per_program_with_its_fault(checkout: Path, tmp_path: Path) -> None:
    [bug] = java_bugs(checkout, tmp_path / "scratch", names={"count_evens"})  # any case
    assert bug.name == "COUNT_EVENS" and bug.language == "java"
    assert sorted(p.relative_to(bug.project).as_posix() for p in bug.project.rglob("*") if p.is_file()) == [
        "java_programs/COUNT_EVENS.java", "java_testcases/junit/COUNT_EVENS_TEST.java",
    ]
    assert (bug.project / "java_programs" / "COUNT_EVENS.java").read_text() == JAVA_BUGGY
    assert bug.fixed == {"java_programs/COUNT_EVENS.java": JAVA_FIXED}
    assert bug.test_command is None
    assert given_locations(bug) == ["java_programs/COUNT_EVENS.java:7"]
    assert java_bugs(checkout, tmp_path / "other", names={"nope"}) == []
    with pytest.raises(ValueError, match="no java_programs/"):
        java_bugs(tmp_path / "scratch", tmp_path / "other")


@needs_jdk
def test_quixbugs_java_bug_is_tested_in_its_own_source_roots(checkout: Path, tmp_path: Path) -> None:
    """A repair job of the bug gets QuixBugs' folders as javac roots (no layout the runner
    detects): its tests compile, run and fail as the bug makes them."""
    [bug] = java_bugs(checkout, tmp_path / "scratch")
    settings = job_settings(bug, "given", {})
    assert settings.locations == ["java_programs/COUNT_EVENS.java:7"]
    runner = make_runner(settings, bug.project)
    assert isinstance(runner, JavacJUnitRunner)
    assert (runner.main_roots, runner.test_roots) == (["java_programs"], ["java_testcases/junit"])
    workdir = Path(shutil.copytree(bug.project, tmp_path / "work"))
    runner.prepare(workdir)
    reproduction = reproduce(runner, workdir, 120, reruns=0)
    assert [o.test_id for o in reproduction.failing] == ["java_testcases.junit.COUNT_EVENS_TEST#mixed"]
    assert reproduction.passing == ["java_testcases.junit.COUNT_EVENS_TEST#none"]


def test_a_fix_of_no_statement_gives_no_location_rather_than_none(checkout: Path, tmp_path: Path) -> None:
    """No location would make a "given" row a "localized" one without saying so."""
    [bug] = python_bugs(checkout, tmp_path / "scratch")
    untouched = replace(bug, fixed={"python_programs/count_evens.py": "# a comment\n" + PROGRAMS["count_evens"][0]})
    with pytest.raises(BadInput, match="changes no statement"):
        job_settings(untouched, "given", {})
    assert job_settings(untouched, "localized", {}).locations == []


def test_examples_are_bugs_in_both_languages(tmp_path: Path) -> None:
    bugs = {bug.name: bug for bug in example_bugs(tmp_path)}
    assert {bug.language for bug in bugs.values()} == {"python", "java"}
    assert all(bug.language == example_language(bug.project) for bug in bugs.values())
    assert [bug.name for bug in example_bugs(tmp_path / "java", "java")] == ["ring_buffer", "stock_levels"]
    assert given_locations(bugs["ring_buffer"]) == ["src/main/java/buffers/RingBuffer.java:54"]


def test_batch_evaluation_judges_against_the_reference_and_resumes(checkout: Path, tmp_path: Path) -> None:
    bugs = python_bugs(checkout, tmp_path / "scratch")
    out = tmp_path / "results"
    overrides = {"generators": ["templates"], "time_budget_s": NEVER_S}  # a count ends each job, not the clock
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


def test_a_repeated_evaluation_reports_each_bugs_median_timings(checkout: Path, tmp_path: Path) -> None:
    bugs = python_bugs(checkout, tmp_path / "scratch")
    overrides = {"generators": ["templates"], "time_budget_s": NEVER_S}
    [row] = evaluate("fake", bugs, ["given"], tmp_path / "results", overrides, repeat=2)
    assert row.runs == 2 and row.plausible and row.time_to_first_plausible_s is not None
    assert f"| fake | {bugs[0].name} | given | True | {row.top_matches_reference} | {row.candidates_tried} |" in bug_table([row])
    never = CliRunner().invoke(app, ["bench", "examples", "--repeat", "0"])
    assert never.exit_code == 2 and "--repeat" in never.output


def apply_diff(project: Path, diff: str, destination: Path) -> str:
    copy = Path(shutil.copytree(project, destination))
    subprocess.run(["git", "apply", "-"], input=diff, text=True, cwd=copy, check=True)
    return (copy / "python_programs" / "count_evens.py").read_text()


def test_bench_command_prints_the_summary_table(checkout: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "bench", "quixbugs", "--path", str(checkout), "--mode", "given", "--out", str(tmp_path / "r"),
        "--generators", "templates", "--time-budget", f"{NEVER_S:g}",
    ])
    assert result.exit_code == 0, result.output
    assert "| QuixBugs Python | given | 1 | 1 |" in result.stdout
    typo = CliRunner().invoke(app, ["bench", "quixbugs", "--path", str(checkout), "--generators", "templates,masks"])
    assert typo.exit_code == 2 and "not a list of generators" in typo.output
    unknown = CliRunner().invoke(app, ["bench", "quixbugs", "--path", str(checkout), "--bugs", "nope"])
    assert unknown.exit_code == 2 and "no such QuixBugs program: nope" in unknown.output
    # A name of either language's spelling is known when both languages are asked for.
    both = CliRunner().invoke(
        app, ["bench", "quixbugs", "--path", str(checkout), "--language", "both", "--bugs", "COUNT_EVENS,nope"]
    )
    assert both.exit_code == 2 and "no such QuixBugs program: nope" in both.output
    wrong = CliRunner().invoke(app, ["bench", "quixbugs", "--path", str(checkout), "--language", "go"])
    assert wrong.exit_code == 2 and "use python, java or both" in wrong.output
