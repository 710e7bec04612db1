"""Fault localization: formulas on a hand-computed spectrum, stack-trace weighting,
granularities, given locations, and real per-test coverage runs (examples included)."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.examples import EXAMPLES_DIR, example_projects
from repairbot import dataflow
from repairbot.db.store import JobStore
from repairbot.domain import Reproduction, SuspiciousLocation
from repairbot.errors import BadInput
from repairbot.languages import java, python
from repairbot.localize import (
    MODULE,
    Evidence,
    GivenLines,
    Scope,
    SourceMap,
    Spectrum,
    collect,
    dstar,
    is_test_file,
    localize,
    ochiai,
    op2,
    parse_given,
    rank,
    score,
    suspects,
    tarantula,
    tie_sizes,
)
from repairbot.reproduce import reproduce
from validators.pytest_runner import PytestRunner

from tests.test_validators import PROJECT
from tests.files import write_files

EXAMPLES = [p.name for p in example_projects("python")]
# Rank of the statement expected.patch changes, with the default settings.
EXAMPLE_RANKS = {
    # Before data-flow tie-breaking: log_summary 5, payment_cards 2.
    "color_palette": 1, "log_summary": 1, "meeting_rooms": 1, "payment_cards": 3, "shopping_cart": 2, "word_stats": 2,
}


# --- formulas on a small spectrum: F = 2 failing and P = 3 passing tests ---

@pytest.mark.parametrize(
    ("formula", "ef", "ep", "expected"),
    [
        (ochiai, 2, 0, 1.0),
        (ochiai, 1, 3, 1 / math.sqrt(8)),
        (ochiai, 0, 3, 0.0),
        (dstar, 2, 1, 4.0),  # 2^2 / (1 + 0)
        (dstar, 1, 3, 0.25),  # 1 / (3 + 1)
        (dstar, 1, 0, 1.0),  # 1 / (0 + 1)
        (dstar, 2, 0, 5.0),  # zero denominator: ef^2 + 1
        (tarantula, 2, 1, 0.75),  # 1 / (1 + 1/3)
        (tarantula, 1, 3, 1 / 3),  # 0.5 / (0.5 + 1)
        (tarantula, 0, 3, 0.0),
        (op2, 2, 1, 1.75),  # 2 - 1/4
        (op2, 1, 3, 0.25),  # 1 - 3/4
    ],
)
def test_formulas_match_hand_computed_values(formula, ef: int, ep: int, expected: float) -> None:
    assert formula(ef, ep, 2, 3) == pytest.approx(expected)


def test_tarantula_without_passing_tests() -> None:
    assert tarantula(1, 0, 2, 0) == 1.0


def test_stack_trace_evidence_scales_the_score() -> None:
    assert score(0.4, 0.0) == pytest.approx(0.4)
    assert score(0.4, 1.0) == pytest.approx(0.6)  # innermost frame of every failing test: x1.5
    assert score(0.4, 0.25, trace_weight=2.0) == pytest.approx(0.6)
    assert score(0.0, 1.0) == 0.0


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_a.py", True),
        ("pkg/tests/helpers.py", True),
        ("conftest.py", True),
        ("pkg/util_test.py", True),
        ("python_testcases/node.py", True),
        ("unit_tests/helpers.py", True),
        ("pkg/testing_utils.py", False),
        ("pkg/contest.py", False),
        ("src/latest.py", False),
        ("latest/app.py", False),
    ],
)
def test_test_files_are_never_suspects(path: str, expected: bool) -> None:
    assert is_test_file(path) is expected


# --- statements and functions by line ---

LIB = """\
def area(w, h):
    if w < 0:
        w = -w
    return w * h


class Box:
    def volume(self, d):
        total = (
            self.w
            * d
        )
        assert total >= 0
        return total


LIMIT = 3
"""


def test_source_map_maps_lines_to_statements_and_functions() -> None:
    source = SourceMap(LIB, ".py")
    assert [source.statement_line(line) for line in (2, 9, 10, 11, 12, 17)] == [2, 9, 9, 9, 9, 17]
    assert source.function(3) == ("area", 1, 4)
    assert source.function(11) == ("Box.volume", 8, 14)
    assert source.function(17) == (MODULE, 17, 17)
    assert source.is_detection(13) and not source.is_detection(14)
    assert source.statement_lines() == {2, 3, 4, 9, 13, 14, 17}


def hand_evidence(tmp_path: Path) -> Evidence:
    (tmp_path / "lib.py").write_text(LIB)
    spectra = {
        ("lib.py", 2): Spectrum(2, 3),
        ("lib.py", 3): Spectrum(1, 0),
        ("lib.py", 4): Spectrum(2, 1),
        ("lib.py", 9): Spectrum(1, 2),
        ("lib.py", 14): Spectrum(1, 2),
        ("lib.py", 17): Spectrum(0, 3),
    }
    return Evidence(tmp_path, failing=2, passing=3, spectra=spectra, trace={("lib.py", 14): 0.5})


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        # Line 14 has stack-trace evidence 0.5: its score is x1.25. Line 17 no failing test ran.
        ("ochiai", [(4, 2 / math.sqrt(6)), (3, 1 / math.sqrt(2)), (2, 2 / math.sqrt(10)),
                    (14, 1.25 / math.sqrt(6)), (9, 1 / math.sqrt(6))]),
        ("dstar", [(4, 4.0), (2, 4 / 3), (3, 1.0), (14, 1.25 / 3), (9, 1 / 3)]),
        ("tarantula", [(3, 1.0), (4, 0.75), (14, 1.25 * 3 / 7), (2, 0.5), (9, 3 / 7)]),
        ("op2", [(4, 1.75), (2, 1.25), (3, 1.0), (14, 0.625), (9, 0.5)]),
    ],
)
def test_statement_ranking_per_formula(tmp_path: Path, formula: str, expected: list[tuple[int, float]]) -> None:
    ranked = rank(hand_evidence(tmp_path), formula)
    assert [s.location.start_line for s in ranked] == [line for line, _ in expected]
    assert [s.location.score for s in ranked] == pytest.approx([value for _, value in expected])
    assert {s.location.formula for s in ranked} == {formula}


def test_method_file_and_hunk_granularity(tmp_path: Path) -> None:
    evidence = hand_evidence(tmp_path)

    def spans(granularity: str, **kwargs: float) -> list[tuple[int, int, str]]:
        ranked = rank(evidence, "ochiai", granularity, **kwargs)  # type: ignore[arg-type]
        return [(s.location.start_line, s.location.end_line, s.function) for s in ranked]

    assert spans("method") == [(1, 4, "area"), (8, 14, "Box.volume")]
    assert rank(evidence, "ochiai", "method")[1].location.score == pytest.approx(1.25 / math.sqrt(6))
    assert spans("file") == [(2, 14, "area")]
    # Equal scores on adjacent statements of one function form a hunk; line 14's trace
    # evidence sets it apart from line 9 unless the stack trace is ignored.
    assert spans("hunk") == [(4, 4, "area"), (3, 3, "area"), (2, 2, "area"), (14, 14, "Box.volume"),
                             (9, 9, "Box.volume")]
    assert spans("hunk", trace_weight=0.0)[-1] == (9, 14, "Box.volume")


def test_ties_are_ordered_by_file_then_line(tmp_path: Path) -> None:
    spectra = {("b.py", 1): Spectrum(1, 1), ("a.py", 9): Spectrum(1, 1), ("a.py", 5): Spectrum(1, 1)}
    ranked = rank(Evidence(tmp_path, 1, 1, spectra, {}))
    assert [(s.location.file, s.location.start_line) for s in ranked] == [("a.py", 5), ("a.py", 9), ("b.py", 1)]


def test_scopes_keep_only_their_statements(tmp_path: Path) -> None:
    evidence = hand_evidence(tmp_path)
    for scope in (Scope("lib.py", "volume"), Scope("lib.py", "Box.volume")):
        assert [s.line for s in rank(evidence, scopes=[scope])] == [14, 9]
    assert len(rank(evidence, scopes=[Scope("lib.py")])) == 5
    assert rank(evidence, scopes=[Scope("other.py")]) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("pkg/a.py:12", GivenLines("pkg/a.py", 12, 12)),
        ("pkg/a.py:12-14", GivenLines("pkg/a.py", 12, 14)),
        ("pkg/a.py", Scope("pkg/a.py")),
        ("pkg/a.py::Cart.total", Scope("pkg/a.py", "Cart.total")),
    ],
)
def test_parse_given(spec: str, expected: GivenLines | Scope) -> None:
    assert parse_given(spec) == expected


@pytest.mark.parametrize("spec", ["a.py:0", "a.py:5-3", "a.py:x", "a.py:3-"])
def test_bad_given_locations_are_rejected(spec: str) -> None:
    with pytest.raises(BadInput, match="bad location"):
        parse_given(spec)


# --- real runs ---

STATS = {
    "stats.py": """\
        def middle(items):
            half = len(items) // 2
            return items[half + 1]


        def median(values):
            ordered = sorted(values)
            return middle(ordered)


        def spread(values):
            if not values:
                raise ValueError("no values")
            return max(values) - min(values)
        """,
    "tests/test_stats.py": """\
        from stats import median, spread

        def test_single():  # IndexError in middle (line 3), called from median (line 8)
            assert median([1]) == 1

        def test_odd():  # a wrong value: no frame outside the test
            assert median([3, 1, 2]) == 2

        def test_constant():
            assert median([2, 2, 2]) == 2

        def test_spread():
            assert spread([1, 5]) == 4

        def test_spread_empty():  # ValueError raised on purpose (line 13)
            assert spread([]) == 0
        """,
}


def reproduce_in(project: Path) -> tuple[Reproduction, Path, Path]:
    """The baseline run with per-test coverage, as the pipeline does it: what localize takes."""
    runner = PytestRunner()
    runner.prepare(project)
    return reproduce(runner, project, 120), project, runner.line_coverage(project)


@pytest.fixture(scope="module")
def stats_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Reproduction, Path, Path]:
    return reproduce_in(write_files(tmp_path_factory.mktemp("stats") / "p", STATS, dedent=True))


def test_crash_site_and_its_caller_rise_but_a_raise_does_not(stats_run) -> None:
    # F = 3, P = 2. Lines 2, 3, 7, 8: ef = 2, ep = 1, Ochiai 2/3. Line 3 is the innermost
    # frame of 1 of 3 failing tests (evidence 1/3, x(1 + 0.5/3)), line 8 its caller
    # (evidence 1/6, x(1 + 0.5/6)). Line 13 (ef = 1, ep = 0: 1/sqrt(3)) is the innermost
    # frame of test_spread_empty but a raise: unboosted, else it would pass lines 2 and 7.
    # Its guard, line 12 (1/sqrt(6) of its own), shares the raise's score and, a condition,
    # comes first of the two.
    reproduction, project, coverage_file = stats_run
    ranked = localize(reproduction, project, coverage_file, limit=10)
    assert [(loc.file, loc.start_line) for loc in ranked] == [
        ("stats.py", 3), ("stats.py", 8), ("stats.py", 2), ("stats.py", 7), ("stats.py", 12), ("stats.py", 13),
    ]
    assert [loc.score for loc in ranked] == pytest.approx(
        [2 / 3 * (1 + 0.5 / 3), 2 / 3 * (1 + 0.5 / 6), 2 / 3, 2 / 3, 1 / math.sqrt(3), 1 / math.sqrt(3)]
    )
    assert collect(reproduction, project, coverage_file).trace == pytest.approx(
        {("stats.py", 3): 1 / 3, ("stats.py", 8): 1 / 6}
    )


def test_the_guard_of_a_raise_the_failing_tests_reach_is_as_suspicious_as_the_raise(tmp_path: Path) -> None:
    """`Cache.__setitem__` of cachetools with `>` written `>=`: only failing tests reach the
    raise; the condition, run by every test that stores a value, would rank far below."""
    project = write_files(tmp_path / "p", {
        "box.py": """\
            def store(box, size, limit):
                if size >= limit:
                    raise ValueError("too large")
                box.append(size)
                return len(box)
            """,
        "tests/test_box.py": """\
            from box import store

            def test_fits_exactly():
                assert store([], 3, 3) == 1

            def test_small():
                assert store([], 1, 3) == 1

            def test_smaller():
                assert store([1], 2, 3) == 2
            """,
    }, dedent=True)
    ranked = localize(*reproduce_in(project), limit=3)
    assert [(loc.start_line, loc.score) for loc in ranked[:2]] == [(2, pytest.approx(1.0)), (3, pytest.approx(1.0))]


def test_the_guard_of_the_statement_the_failing_tests_crash_in_shares_its_score(tmp_path: Path) -> None:
    """A search that loops `while True` and pops an empty queue when the goal is missing:
    every test runs the loop header, the failing one crashes in the pop under it."""
    project = write_files(tmp_path / "p", {
        "search.py": """\
            def reachable(graph, start, goal):
                queue, seen = [start], {start}
                while True:
                    node = queue.pop(0)
                    if node == goal:
                        return True
                    for succ in graph.get(node, ()):
                        if succ not in seen:
                            seen.add(succ)
                            queue.append(succ)
            """,
        "tests/test_search.py": """\
            from search import reachable

            GRAPH = {1: [2], 2: [3]}

            def test_direct():
                assert reachable(GRAPH, 1, 2)

            def test_two_steps():
                assert reachable(GRAPH, 1, 3)

            def test_unreachable():
                assert not reachable(GRAPH, 3, 1)
            """,
    }, dedent=True)
    ranked = localize(*reproduce_in(project), limit=4)
    # The pop, Ochiai 1/sqrt(3) with the whole trace's boost, then its guard, as the pop's
    # caller would score: half the boost (the loop's own spectrum is the pop's).
    assert [(loc.start_line, loc.score) for loc in ranked[:2]] == [
        (4, pytest.approx(3 ** -0.5 * 1.5)), (3, pytest.approx(3 ** -0.5 * 1.25))]


def test_a_guard_the_coverage_never_names_joins_the_ranking(tmp_path: Path) -> None:
    """javac emits no code for `while (true)`: JaCoCo names the pop under it, never the
    loop; the loop ranks all the same, as the pop's caller would."""
    (tmp_path / "Search.java").write_text(
        "class Search {\n"
        "    static boolean reachable(java.util.Deque<Integer> queue, int goal) {\n"
        "        while (true) {\n"
        "            int node = queue.removeFirst();\n"
        "            if (node == goal) {\n"
        "                return true;\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
    spectra = {("Search.java", 4): Spectrum(1, 2), ("Search.java", 5): Spectrum(0, 2), ("Search.java", 6): Spectrum(0, 2)}
    ranked = rank(Evidence(tmp_path, 1, 2, spectra, {("Search.java", 4): 1.0}))
    assert [(s.line, s.location.score) for s in ranked] == [
        (4, pytest.approx(3 ** -0.5 * 1.5)), (3, pytest.approx(3 ** -0.5 * 1.25))]
    assert ranked[1].function == ranked[0].function and ranked[1].spectrum == Spectrum(1, 2)


def test_a_set_changed_during_its_iteration_blames_the_loop_body(tmp_path: Path) -> None:
    """Python stops the `for` at its header ("Set changed size during iteration"), but the
    body's `update` of the set being iterated is the fault: it crashed as much as the header."""
    project = write_files(tmp_path / "p", {
        "groups.py": """\
            def merge(groups, pairs):
                for u, v in pairs:
                    if groups[u] is not groups[v]:
                        for node in groups[v]:
                            groups[node].update(groups[u])
                return groups
            """,
        "tests/test_groups.py": """\
            from groups import merge

            def test_merge():
                groups = merge({1: {1}, 2: {2}}, [(1, 2)])
                assert groups[1] is groups[2]

            def test_merged_already():
                both = {1, 2}
                assert merge({1: both, 2: both}, [(1, 2)])[1] == {1, 2}
            """,
    }, dedent=True)
    reproduction, workdir, coverage = reproduce_in(project)
    assert "Set changed size during iteration" in reproduction.failing[0].message
    evidence = collect(reproduction, workdir, coverage)
    assert {key: weight for key, weight in evidence.trace.items() if key[0] == "groups.py"} == {
        ("groups.py", 4): 1.0, ("groups.py", 5): 1.0}
    ranked = rank(evidence)
    assert sorted(s.line for s in ranked[:2]) == [4, 5]
    assert [s.location.score for s in ranked[:2]] == [pytest.approx(1.5)] * 2


def test_without_stack_traces_ties_go_to_data_flow_then_line_order(stats_run) -> None:
    # Lines 2, 3, 7, 8 tie; the returns (3, 8) are the functions' outputs, the assignments
    # they read (2, 7) one step away; equal distances in line order.
    reproduction, project, coverage_file = stats_run
    ranked = localize(reproduction, project, coverage_file, limit=4, trace_weight=0.0)
    assert [loc.start_line for loc in ranked] == [3, 8, 2, 7]
    hunks = localize(reproduction, project, coverage_file, limit=10, granularity="hunk", trace_weight=0.0)
    assert [(loc.start_line, loc.end_line) for loc in hunks] == [(2, 3), (7, 8), (12, 13)]


def test_method_level_on_a_real_run(stats_run) -> None:
    reproduction, project, coverage_file = stats_run
    ranked = suspects(reproduction, project, coverage_file, granularity="method")
    assert [(s.function, s.location.start_line, s.location.end_line) for s in ranked] == [
        ("middle", 1, 3), ("median", 6, 8), ("spread", 11, 14),
    ]


def test_given_lines_replace_the_ranking_and_scopes_restrict_it(stats_run, tmp_path: Path) -> None:
    reproduction, project, coverage_file = stats_run
    # Exact lines need no coverage at all.
    assert localize(reproduction, project, tmp_path / "no-coverage", 10, given=["stats.py:7-8"]) == [
        SuspiciousLocation("stats.py", 7, 8, 1.0, "given")
    ]
    scoped = localize(reproduction, project, coverage_file, 10, given=["stats.py:3", "stats.py::median"])
    assert [(loc.start_line, loc.formula) for loc in scoped] == [(3, "given"), (8, "ochiai"), (7, "ochiai")]
    # What the exact lines cover is not ranked again.
    whole_file = localize(reproduction, project, coverage_file, 10, given=["stats.py:2-3", "stats.py"])
    assert [(loc.start_line, loc.formula) for loc in whole_file] == [
        (2, "given"), (8, "ochiai"), (7, "ochiai"), (12, "ochiai"), (13, "ochiai"),
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [("nope.py:1", "is not a file"), ("stats.py:99", "past the end"), ("tests", "is not a file")],
)
def test_given_locations_must_exist(stats_run, spec: str, message: str) -> None:
    reproduction, project, coverage_file = stats_run
    with pytest.raises(BadInput, match=message):
        localize(reproduction, project, coverage_file, 10, given=[spec])


def test_faulty_line_ranks_first(tmp_path: Path) -> None:
    locations = localize(*reproduce_in(write_files(tmp_path / "p", PROJECT, dedent=True)), limit=10)
    # calc.py:2 `return a - b` runs in the 1 failing and 2 of the passing tests: 1/sqrt(1*3).
    # calc.py:5 runs only in a passing test, so it is not a suspect; test files never are.
    assert [(loc.file, loc.start_line) for loc in locations] == [("calc.py", 2)]
    assert locations[0].score == pytest.approx(1 / math.sqrt(3))


def removed_lines(patch: str) -> set[tuple[str, int]]:
    """Old-side lines a unified diff removes or replaces (the examples' fixes replace lines)."""
    removed, file, line = set(), "", 0
    for text in patch.splitlines():
        if text.startswith("--- "):
            file = text.removeprefix("--- a/")
        elif hunk := re.match(r"@@ -(\d+)", text):
            line = int(hunk[1])
        elif text.startswith("-"):
            removed.add((file, line))
            line += 1
        elif text.startswith(" "):
            line += 1
    return removed


@pytest.mark.parametrize("example", EXAMPLES)
def test_faulty_statement_of_each_example_ranks_as_expected(example: str, tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLES_DIR / example, tmp_path / example))
    faulty = {
        (file, SourceMap.read(project / file).statement_line(line))
        for file, line in removed_lines((project / "expected.patch").read_text())
    }
    ranked = localize(*reproduce_in(project), limit=10)
    position = next(
        (i for i, loc in enumerate(ranked, start=1) if (loc.file, loc.start_line) in faulty), None
    )
    # Examples added without an entry must at least be within generation's default window.
    if example in EXAMPLE_RANKS:
        assert position == EXAMPLE_RANKS[example]
    else:
        assert position is not None


# --- the command line ---

def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "repairbot", *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "REPAIRBOT_DATABASE_URL": database_url},
    )


def test_localize_command_prints_the_ranking(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", STATS, dedent=True)
    result = run_cli("localize", str(project), "--top", "2", database_url=f"sqlite:///{tmp_path / 'db'}")
    assert result.returncode == 0, result.stderr
    assert [" ".join(line.split()) for line in result.stdout.splitlines()] == [
        "rank score tie location function code",
        "1 0.7778 stats.py:3 middle return items[half + 1]",
        "2 0.7222 stats.py:8 median return middle(ordered)",
    ]
    assert not (tmp_path / "db").exists()  # localizing records no job


def test_repair_with_a_given_location_stores_it(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", PROJECT, dedent=True)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    result = run_cli("repair", str(project), "--location", "calc.py:2", database_url=url)
    assert result.returncode == 0, result.stderr
    assert "+    return a + b" in result.stdout
    [job] = JobStore(url).list_jobs()
    assert JobStore(url).get_job(job.id).locations == [SuspiciousLocation("calc.py", 2, 2, 1.0, "given")]


DOCTESTS = {
    "pyproject.toml": """\
        [tool.pytest.ini_options]
        addopts = "--doctest-modules"
        """,
    "pkg/__init__.py": "",
    "pkg/mathx.py": '''\
        def double(x):
            """Twice x.

            >>> double(2)
            4
            """
            return x + x + 1


        def parse(text):
            """An int.

            >>> parse("12")
            12
            """
            return int(text) * undefined_name


        def half(x):
            return x / 2
        ''',
    "tests/test_half.py": """\
        from pkg.mathx import half

        def test_half():
            assert half(4) == 2
        """,
}


def test_failing_doctests_point_at_their_function_not_their_docstring(tmp_path: Path) -> None:
    # A wrong value (double) and an exception raised through a doctest's own pseudo-file
    # (`<doctest pkg.mathx.parse[0]>`, frame of parse's example): neither the pseudo-file
    # nor a docstring line may be a suspect; the functions' bodies are.
    reproduction, project, coverage = reproduce_in(write_files(tmp_path / "p", DOCTESTS, dedent=True))
    assert sorted(o.test_id for o in reproduction.failing) == [
        "pkg/mathx.py::pkg.mathx.double", "pkg/mathx.py::pkg.mathx.parse",
    ]
    ranked = suspects(reproduction, project, coverage)
    assert {(s.location.file, s.location.start_line) for s in ranked} == {("pkg/mathx.py", 7), ("pkg/mathx.py", 16)}
    assert [s.function for s in ranked] == ["parse", "double"]  # parse's line is also its traceback's


def test_localize_command_on_failing_doctests(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", DOCTESTS, dedent=True)
    result = run_cli("localize", str(project), database_url=f"sqlite:///{tmp_path / 'db'}")
    assert result.returncode == 0, result.stderr
    assert "<doctest" not in result.stdout and '"""' not in result.stdout


# --- ties: data flow to the returned value, then statement kind ---

INVOICE = {
    "invoice.py": """\
        AUDIT = []


        def invoice_total(items, coupon):
            count = len(items)
            AUDIT.append(f"pricing {count} items")
            subtotal = sum(price for price, _ in items)
            weight = sum(grams for _, grams in items)
            shipping = 500 if weight > 1000 else 0
            print("weight", weight)
            unused = subtotal * 2
            discount = min(coupon, subtotal)
            label = "big" if count > 3 else "small"
            return subtotal + shipping + discount
        """,
    "tests/test_invoice.py": """\
        from invoice import invoice_total

        def test_no_coupon():
            assert invoice_total([(1000, 200), (500, 900)], 0) == 2000

        def test_light_order_no_coupon():
            assert invoice_total([(300, 100)], 0) == 300

        def test_coupon_is_taken_off():  # fails on the assertion: no frame in invoice_total
            assert invoice_total([(1000, 200)], 300) == 700

        def test_coupon_on_a_heavy_order():
            assert invoice_total([(1000, 2000)], 100) == 1400
        """,
}
INVOICE_FAULT = 14  # `return subtotal + shipping + discount`: `- discount` is meant


def test_data_flow_lifts_the_faulty_return_out_of_a_ten_way_tie(tmp_path: Path) -> None:
    # Every test runs every statement of invoice_total, so all ten share one spectrum and
    # one score, and the failing assertions are in the test file: no traceback frame
    # separates them. In line order the fault is the last of the ten.
    ranked = suspects(*reproduce_in(write_files(tmp_path / "p", INVOICE, dedent=True)))
    lines = [s.line for s in ranked if s.function == "invoice_total"]
    assert len(lines) == 10 and tie_sizes(ranked)[: len(lines)] == [10] * 10
    assert max(lines) == INVOICE_FAULT  # last in line order: before tie-breaking, 10th of 10
    assert lines.index(INVOICE_FAULT) < 3
    # The outputs: the return, then the write to the module's AUDIT (a call: a lower
    # prior); what defines the names they read; what those read; a dead store and an
    # unused label reach no output and come last, the print (no weight) after them.
    assert lines == [14, 6, 5, 7, 9, 12, 8, 11, 13, 10]


def test_output_distances_follow_definitions_and_control() -> None:
    source = SourceMap(
        """\
def pick(values, limit):
    best = None
    seen = 0
    for value in values:
        seen += 1
        if value <= limit:
            best = value
    log.debug("seen %d", seen)
    return best
""",
        ".py",
    )
    # The return 0; `best = value` and `best = None` 1; the if controlling line 7 as near
    # as it (a condition: prior 3), the for controlling the if too; `seen` feeds only the
    # log: unreached.
    assert {line: source.tie_breakers(line) for line in (2, 3, 4, 5, 6, 7, 8, 9)} == {
        9: (0, 0, -2), 7: (0, 1, -2), 2: (0, 1, -2), 6: (0, 1, -3), 4: (0, 1, -2),
        3: (0, dataflow.UNREACHED, -2), 5: (0, dataflow.UNREACHED, -2), 8: (0, dataflow.UNREACHED, 0),
    }


def test_accessors_go_after_the_other_statements_of_a_tie(tmp_path: Path) -> None:
    """Every test fails: the getters, the setter and the plain constructor the tests run tie
    with the faulty condition and come after it, whatever their files' names."""
    (tmp_path / "a_node.py").write_text(
        "class Node:\n"
        '    """A graph node."""\n'
        "    def __init__(self, value, edges=None):\n"
        "        self.value = value\n"
        "        self.edges = []\n"
        "    def get_value(self):\n"
        "        return self.value\n"
        "    def set_value(self, value):\n"
        "        self.value = value\n"
        "    def degree(self):\n"
        "        return len(self.edges)\n"
    )
    (tmp_path / "order.py").write_text(
        "def order(nodes):\n"
        "    if nodes:\n"
        "        return nodes\n"
    )
    spectra = {(file, line): Spectrum(2, 0) for file, lines in
               (("a_node.py", (4, 5, 7, 9, 11)), ("order.py", (2, 3))) for line in lines}
    ranked = rank(Evidence(tmp_path, 2, 0, spectra, {}))
    assert [(s.location.file, s.line) for s in ranked] == [
        ("order.py", 2), ("a_node.py", 11), ("order.py", 3),  # `len(...)` is no plain move
        ("a_node.py", 4), ("a_node.py", 5), ("a_node.py", 7), ("a_node.py", 9),
    ]


@pytest.mark.parametrize(("method", "accessor"), [
    ("Node(int value) { this.value = value; this.next = null; this.edges = new ArrayList<>(); }", True),
    ("Node(int value) { this(value, null); }", True),
    ("int getValue() { return value; }", True),
    ("void setNext(Node next) { this.next = next; }", True),
    ("int twice() { return value * 2; }", False),
    ("void grow() { this.edges = new ArrayList<>(edges); }", False),
    ("void count() { this.value += 1; }", False),
    ("boolean empty() { if (edges == null) { return true; } return false; }", False),
])
def test_what_is_a_java_accessor(method: str, accessor: bool) -> None:
    source = f"class Node {{\n    {method}\n}}\n"
    tree = java.parse(source.encode())
    function = next(n for n in python.walk(tree.root_node) if n.type in ("method_declaration", "constructor_declaration"))
    assert dataflow.is_accessor(function) is accessor


def test_tie_breakers_never_override_a_better_score(tmp_path: Path) -> None:
    (tmp_path / "f.py").write_text("def f(x):\n    y = x + 1\n    print(y)\n    return y\n")
    spectra = {("f.py", 2): Spectrum(1, 1), ("f.py", 3): Spectrum(1, 0), ("f.py", 4): Spectrum(1, 1)}
    ranked = rank(Evidence(tmp_path, 1, 2, spectra, {}))
    # The print has the best spectrum: first despite reaching no output; the tie of the
    # other two goes to the return.
    assert [s.line for s in ranked] == [3, 4, 2]
    assert tie_sizes(ranked) == [1, 2, 2]


def test_localize_command_marks_tied_entries(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", INVOICE, dedent=True)
    result = run_cli("localize", str(project), "--top", "3", database_url=f"sqlite:///{tmp_path / 'db'}")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [row[:4] for row in rows] == [
        ["1", rows[0][1], "=10", f"invoice.py:{INVOICE_FAULT}"], ["2", rows[0][1], "=10", "invoice.py:6"],
        ["3", rows[0][1], "=10", "invoice.py:5"],
    ]
