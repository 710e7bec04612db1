"""Multi-hunk repair: partial fixes of different hunks, paired by the tests they fix."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.examples import EXAMPLES_DIR, apply_reference_fix
from repairbot import pipeline
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.domain import Candidate, SuspiciousLocation, TestOutcome, TestStatus, ValidationResult, Verdict
from repairbot.generate.combine import Hunk, changed_hunk, combine_partial_fixes, combined, fixed_tests

ORIGINAL = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n"


def candidate(patched: str, file: str = "m.py", line: int = 1, prior: float = 0.5, original: str = ORIGINAL) -> Candidate:
    location = SuspiciousLocation(file, line, line, prior)
    return Candidate(file, original, patched, "template:x", f"line {line}", location, prior)


def partial(patched: str, passing: set[str], line: int = 1, prior: float = 0.5) -> ValidationResult:
    outcomes = [TestOutcome(t, TestStatus.PASSED if t in passing else TestStatus.FAILED) for t in ("t1", "t2", "t3")]
    verdict = Verdict.PLAUSIBLE if passing >= {"t1", "t2", "t3"} else Verdict.FAILS
    return ValidationResult(candidate(patched, line=line, prior=prior), verdict, outcomes=outcomes)


def test_the_changed_hunk_of_a_single_hunk_candidate() -> None:
    assert changed_hunk(candidate("a = 1\nb = 20\nc = 3\nd = 4\ne = 5\n")) == Hunk(1, 2, ("b = 20\n",))
    assert changed_hunk(candidate("a = 1\nb = 2\nx = 0\nc = 3\nd = 4\ne = 5\n")) == Hunk(2, 2, ("x = 0\n",))
    assert changed_hunk(candidate(ORIGINAL)) is None
    assert changed_hunk(candidate("a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n")) is None  # two regions already


def test_two_hunks_are_applied_to_the_common_original() -> None:
    first = candidate("a = 1\nb = 20\nc = 3\nd = 4\ne = 5\n", line=2, prior=0.5)
    second = candidate("a = 1\nb = 2\nc = 3\nd = 40\ne = 5\n", line=4, prior=0.8)
    pair = combined(second, first)
    assert pair is not None and pair.patched == "a = 1\nb = 20\nc = 3\nd = 40\ne = 5\n"
    assert pair.prior == 0.4 and pair.location == second.location  # the more suspicious hunk
    assert pair.description == "line 2; line 4" and pair.generator == "combine:template:x+template:x"


def test_overlapping_touching_or_cross_file_hunks_are_not_combined() -> None:
    two = candidate("a = 1\nb = 20\nc = 3\nd = 4\ne = 5\n")
    assert combined(two, candidate("a = 1\nb = 21\nc = 3\nd = 4\ne = 5\n")) is None  # the same line
    assert combined(two, candidate("a = 1\nb = 2\nc = 30\nd = 4\ne = 5\n")) is None  # the next line
    assert combined(two, candidate("a = 1\nb = 2\nc = 3\nd = 40\ne = 5\n", file="n.py")) is None


def test_fixed_tests_are_the_target_failures_a_candidate_made_pass() -> None:
    assert fixed_tests(partial("a = 2\n" + ORIGINAL[6:], {"t1", "t3"}), ["t1", "t2"]) == {"t1"}


def test_pairs_that_cover_every_failing_test_come_first() -> None:
    failing = ["t1", "t2", "t3"]
    fixes_t1 = partial("a = 10\nb = 2\nc = 3\nd = 4\ne = 5\n", {"t1"}, line=1, prior=0.9)
    fixes_t2 = partial("a = 1\nb = 2\nc = 30\nd = 4\ne = 5\n", {"t2"}, line=3, prior=0.9)
    fixes_t2_t3 = partial("a = 1\nb = 2\nc = 3\nd = 4\ne = 50\n", {"t2", "t3"}, line=5, prior=0.1)
    fixes_nothing = partial("a = 1\nb = 2\nc = 3\nd = 44\ne = 5\n", set(), line=4)
    pairs = combine_partial_fixes([fixes_t1, fixes_t2, fixes_t2_t3, fixes_nothing], failing)
    assert [p.patched for p in pairs] == [
        "a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n",  # t1 + t2,t3: all three, though the least likely
        "a = 10\nb = 2\nc = 30\nd = 4\ne = 5\n",  # t1 + t2: two
    ]  # t2 + t2,t3 adds nothing to t2,t3 alone; a candidate that fixes nothing is never paired


def run(project: Path, tmp_path: Path, **overrides):
    settings = load_settings(project, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", **overrides)
    messages: list[str] = []
    return pipeline.repair(project, settings, JobStore(settings.database_url), messages.append), messages


def test_a_two_hunk_bug_is_repaired_by_pairing_template_fixes(tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLES_DIR / "grade_report", tmp_path / "grade_report"))
    result, messages = run(project, tmp_path, generators=["templates"])
    [first, *_] = result.patches
    assert first.candidate.generator == "combine:template:comparison+template:comparison"
    reference = apply_reference_fix(EXAMPLES_DIR / "grade_report", tmp_path / "reference")
    assert first.candidate.patched == (reference / "grades" / "report.py").read_text()
    assert "combine: pairing partial fixes of different hunks" in messages


def test_a_single_failing_test_job_does_not_pair(tmp_path: Path) -> None:
    (tmp_path / "p" / "tests").mkdir(parents=True)
    (tmp_path / "p" / "lib.py").write_text("def double(x):\n    return x + x + 1\n\n\ndef half(x):\n    return x / 3\n")
    (tmp_path / "p" / "tests" / "test_lib.py").write_text(
        "from lib import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
    )
    result, messages = run(tmp_path / "p", tmp_path, generators=["templates"])
    assert result.patches
    assert not any(m.startswith("combine") for m in messages)
