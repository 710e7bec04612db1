"""Multi-hunk repair: single-hunk candidates of different locations, paired by the failing
tests they fix (MultiMend)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from benchmarks.examples import EXAMPLES_DIR, apply_reference_fix
from repairbot import pipeline
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.domain import (
    Candidate, FileEdit, SuspiciousLocation, TestOutcome, TestStatus, ValidationResult, Verdict,
)
from repairbot.generate.combine import (
    BLIND_LOCATIONS, Hunk, Member, changed_hunk, combine, combined, fixed_tests, merged_text,
)
from repairbot.rank import normalized
from repairbot.reproduce import reproduce
from validators.pytest_runner import PytestRunner
from validators.validate import CandidateValidator

from tests.budgets import UNHURRIED, long_job
from tests.files import write_files

ORIGINAL = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n"
FAILING = ["t1", "t2", "t3"]


def candidate(patched: str, line: int = 1, prior: float = 0.5, file: str = "m.py", original: str = ORIGINAL,
              score: float = 0.5) -> Candidate:
    location = SuspiciousLocation(file, line, line, score)
    return Candidate(file, original, patched, "template:x", f"line {line}", location, prior)


def validated(patched: str, passing: set[str], line: int, prior: float = 0.5, score: float = 0.5,
              verdict: Verdict = Verdict.FAILS) -> ValidationResult:
    outcomes = [TestOutcome(t, TestStatus.PASSED if t in passing else TestStatus.FAILED) for t in FAILING]
    return ValidationResult(candidate(patched, line, prior, score=score), verdict, outcomes=outcomes)


def member(patched: str, line: int, prior: float = 0.5, file: str = "m.py", original: str = ORIGINAL,
           score: float = 0.5) -> Member:
    one = candidate(patched, line, prior, file, original, score)
    hunk = changed_hunk(one)
    assert hunk is not None
    return Member(one, frozenset(), hunk)


def line_set(line: int, value: str) -> str:
    """ORIGINAL with its `line` (1-based) replaced by `value`."""
    lines = ORIGINAL.splitlines(keepends=True)
    lines[line - 1] = value + "\n"
    return "".join(lines)


def test_the_changed_hunk_of_a_single_hunk_candidate() -> None:
    assert changed_hunk(candidate(line_set(2, "b = 20"))) == Hunk(1, 2, ("b = 20\n",))
    assert changed_hunk(candidate("a = 1\nb = 2\nx = 0\nc = 3\nd = 4\ne = 5\n")) == Hunk(2, 2, ("x = 0\n",))
    assert changed_hunk(candidate(ORIGINAL)) is None
    assert changed_hunk(candidate("a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n")) is None  # two regions already


def test_hunks_merge_when_their_line_ranges_are_disjoint() -> None:
    two, four = Hunk(1, 2, ("b = 20\n",)), Hunk(3, 4, ("d = 40\n",))
    assert merged_text(ORIGINAL, four, two) == "a = 1\nb = 20\nc = 3\nd = 40\ne = 5\n"
    assert merged_text(ORIGINAL, two, Hunk(2, 3, ("c = 30\n",))) == "a = 1\nb = 20\nc = 30\nd = 4\ne = 5\n"  # adjacent
    assert merged_text(ORIGINAL, two, Hunk(2, 2, ("x = 0\n",))) == "a = 1\nb = 20\nx = 0\nc = 3\nd = 4\ne = 5\n"


def test_overlapping_hunks_are_refused() -> None:
    assert merged_text(ORIGINAL, Hunk(1, 3, ("b = 20\n",)), Hunk(2, 3, ("c = 30\n",))) is None  # a common line
    assert merged_text(ORIGINAL, Hunk(1, 2, ("b = 20\n",)), Hunk(1, 2, ("b = 21\n",))) is None  # the same line
    assert merged_text(ORIGINAL, Hunk(2, 2, ("x = 0\n",)), Hunk(2, 2, ("y = 0\n",))) is None  # insertions at one point


def test_two_hunks_of_one_file_become_one_candidate_listed_top_to_bottom() -> None:
    second = member(line_set(2, "b = 20"), line=2, prior=0.5)
    fourth = member(line_set(4, "d = 40"), line=4, prior=0.8, score=0.9)
    pair = combined(fourth, second)
    assert pair is not None and pair.patched == "a = 1\nb = 20\nc = 3\nd = 40\ne = 5\n" and not pair.other_files
    assert pair.prior == 0.4 and pair.location == fourth.candidate.location  # the more suspicious hunk
    assert pair.description == "line 2; line 4" and pair.generator == "combine:template:x+template:x"


def test_candidates_of_two_files_become_one_candidate_changing_both() -> None:
    here = member(line_set(2, "b = 20"), line=2, score=0.3)
    there = member("x = 10\n", line=1, file="n.py", original="x = 1\n", score=0.7)
    pair = combined(here, there)
    assert pair is not None
    assert (pair.file, pair.patched, pair.location) == ("n.py", "x = 10\n", there.candidate.location)
    assert pair.other_files == (FileEdit("m.py", ORIGINAL, line_set(2, "b = 20")),)
    assert pair.description == "line 1; m.py line 2"
    assert pair.diff == there.candidate.diff + here.candidate.diff
    assert normalized(pair) != normalized(there.candidate)  # the other file is part of the program


def test_overlapping_locations_are_not_combined() -> None:
    two = member(line_set(2, "b = 20"), line=2)
    assert combined(two, member(line_set(2, "b = 21"), line=2)) is None  # the same location
    wide = member(line_set(4, "d = 40"), line=4)
    wide = Member(
        Candidate("m.py", ORIGINAL, wide.candidate.patched, "template:x", "", SuspiciousLocation("m.py", 2, 4, 0.5)),
        frozenset(), wide.hunk,
    )
    assert combined(two, wide) is None  # line 2 is inside the location 2-4


def test_fixed_tests_are_the_target_failures_a_candidate_made_pass() -> None:
    assert fixed_tests(validated(line_set(1, "a = 2"), {"t1", "t3"}, line=1), ["t1", "t2"]) == {"t1"}


def test_pairs_covering_every_failing_test_come_first_then_more_tests_then_likelier() -> None:
    fixes_t1 = validated(line_set(1, "a = 10"), {"t1"}, line=1, prior=0.9)
    fixes_t2 = validated(line_set(3, "c = 30"), {"t2"}, line=3, prior=0.9)
    fixes_t2_t3 = validated(line_set(5, "e = 50"), {"t2", "t3"}, line=5, prior=0.1)
    fixes_t3 = validated(line_set(3, "c = 33"), {"t3"}, line=3, prior=0.2)
    pairs = list(combine([fixes_t1, fixes_t2, fixes_t2_t3, fixes_t3], FAILING))
    assert [p.patched for p in pairs] == [
        "a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n",  # t1 + t2,t3: all three, though the least likely
        "a = 10\nb = 2\nc = 30\nd = 4\ne = 5\n",  # t1 + t2: two, likelier than t1 + t3
        "a = 10\nb = 2\nc = 33\nd = 4\ne = 5\n",  # t1 + t3
    ]  # t2 + t2,t3 adds nothing to t2,t3 alone; the two at line 3 share a location
    complete = list(combine([fixes_t1, fixes_t2, fixes_t2_t3, fixes_t3], FAILING, complete_only=True))
    assert [p.patched for p in complete] == ["a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n"]  # what early pairing takes


def test_candidates_that_fix_nothing_take_part_only_the_likeliest_per_location_at_a_few_locations() -> None:
    fixes_t1 = validated(line_set(1, "a = 10"), {"t1"}, line=1, prior=0.9)
    blind = [validated(line_set(line, "z = 0"), set(), line=line, prior=0.5, score=1.0 - line / 10)
             for line in range(2, 3 + BLIND_LOCATIONS)]  # one location more than are kept
    less_likely = validated(line_set(2, "z = 1"), set(), line=2, prior=0.1, score=0.8)
    broken = validated(line_set(3, "z = ("), set(), line=3, prior=0.9, verdict=Verdict.COMPILE_ERROR)
    pairs = list(combine([fixes_t1, less_likely, broken, *blind], FAILING))
    with_t1 = [p for p in pairs if p.patched.startswith("a = 10")]
    assert pairs[: len(with_t1)] == with_t1  # evidence first: each covers t1
    assert len(with_t1) == BLIND_LOCATIONS  # t1's fix with each blind member, then the blind pairs
    assert len(pairs) == BLIND_LOCATIONS + BLIND_LOCATIONS * (BLIND_LOCATIONS - 1) // 2
    assert "z = 1" not in "".join(p.patched for p in pairs) and "z = (" not in "".join(p.patched for p in pairs)
    last_line = f"{2 + BLIND_LOCATIONS}"
    assert not any(f"line {last_line}" in p.description for p in pairs)  # the least suspicious blind location


def test_plausible_and_combined_candidates_are_not_combined_again() -> None:
    fixes_t1 = validated(line_set(1, "a = 10"), {"t1"}, line=1)
    plausible = validated(line_set(3, "c = 30"), set(FAILING), line=3, verdict=Verdict.PLAUSIBLE)
    fixes_t2 = validated(line_set(5, "e = 50"), {"t2"}, line=5)
    [pair] = list(combine([fixes_t1, plausible, fixes_t2], FAILING))
    again = ValidationResult(pair, Verdict.FAILS, outcomes=fixes_t1.outcomes)
    fixes_t3 = validated(line_set(3, "c = 33"), {"t3"}, line=3)
    assert [p.description for p in combine([again, fixes_t3], FAILING)] == []


def test_every_failing_test_runs_and_a_two_file_candidate_is_written_and_restored(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", {
        "one.py": "def one():\n    return 0\n",
        "two.py": "def two():\n    return 0\n",
        "tests/test_both.py": "from one import one\nfrom two import two\n\n\n"
                              "def test_one():\n    assert one() == 1\n\n\ndef test_two():\n    assert two() == 2\n",
    }, dedent=True)
    runner = PytestRunner()
    runner.prepare(project)
    validator = CandidateValidator(runner, project, reproduce(runner, project, 60))
    failing = [o.test_id for o in validator.reproduction.failing]
    fixes_one = Candidate("one.py", "def one():\n    return 0\n", "def one():\n    return 1\n", "template:x", "",
                          SuspiciousLocation("one.py", 2, 2, 0.5))
    result = validator.validate(fixes_one)
    assert result.verdict is Verdict.FAILS and {o.test_id for o in result.outcomes} == set(failing)
    assert fixed_tests(result, failing) == {"tests/test_both.py::test_one"}

    fixes_two = FileEdit("two.py", "def two():\n    return 0\n", "def two():\n    return 2\n")
    both = replace(fixes_one, other_files=(fixes_two,))
    assert validator.validate(both).verdict is Verdict.PLAUSIBLE
    assert (project / "one.py").read_text() == "def one():\n    return 0\n"
    assert (project / "two.py").read_text() == "def two():\n    return 0\n"


def run(project: Path, tmp_path: Path, **overrides):
    """A job that ends at its first plausible patch or its last candidate, never on the clock."""
    settings = load_settings(project, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", **{**UNHURRIED, **overrides})
    messages: list[str] = []
    return pipeline.repair(project, settings, JobStore(settings.database_url), messages.append), messages


@long_job
def test_a_bug_needing_two_lines_of_one_file_is_repaired_by_merging_template_fixes(tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLES_DIR / "grade_report", tmp_path / "grade_report"))
    result, messages = run(project, tmp_path, generators=["templates"])
    [first, *_] = result.patches
    assert first.candidate.generator == "combine:template:comparison+template:comparison"
    assert first.candidate.other_files == ()
    reference = apply_reference_fix(EXAMPLES_DIR / "grade_report", tmp_path / "reference")
    assert first.candidate.patched == (reference / "grades" / "report.py").read_text()
    assert "combine: pairing partial fixes of different hunks" in messages


@long_job
def test_a_bug_needing_one_line_in_each_of_two_files_is_repaired_by_combining_template_fixes(tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLES_DIR / "trip_fares", tmp_path / "trip_fares"))
    result, messages = run(project, tmp_path, generators=["templates"])
    [first, *_] = result.patches
    assert first.candidate.generator == "combine:template:comparison+template:comparison"
    assert first.candidate.description == "line 11: `>=` -> `>`; fares/tickets.py line 13: `<` -> `<=`"
    reference = apply_reference_fix(EXAMPLES_DIR / "trip_fares", tmp_path / "reference")
    assert [(e.file, e.patched) for e in first.candidate.edits] == [
        (file, (reference / file).read_text()) for file in ("fares/zones.py", "fares/tickets.py")
    ]
    assert "combine: pairing partial fixes of different hunks" in messages and "combine" in result.timings


def test_a_single_failing_test_job_does_not_combine(tmp_path: Path) -> None:
    (tmp_path / "p" / "tests").mkdir(parents=True)
    (tmp_path / "p" / "lib.py").write_text("def double(x):\n    return x + x + 1\n\n\ndef half(x):\n    return x / 3\n")
    (tmp_path / "p" / "tests" / "test_lib.py").write_text(
        "from lib import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
    )
    result, messages = run(tmp_path / "p", tmp_path, generators=["templates"])
    assert result.patches
    assert not any(m.startswith("combine") for m in messages) and "combine" not in result.timings
