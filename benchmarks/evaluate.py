"""Batch evaluation: repair every bug of a benchmark through the real pipeline and judge
the result against the reference fix.

Each bug is repaired twice when asked: with real fault localization, and with the faulty
lines given (perfect localization, as most APR papers report). Results go one JSON line per
(bug, mode) to `results.jsonl` as soon as a bug is done, so an interrupted run resumes
where it stopped: done rows are skipped, not rerun. A bug may be repaired several times
(`repeat`) for its timings: they are medians, since a shared machine is noisy.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from benchmarks.bugs import Bug, fault_of, fault_rank, given_locations, matches_fix, patch_id, reference_diff
from repairbot.config import Settings, load_settings
from repairbot.db.store import JobStore
from repairbot.domain import SuspiciousLocation
from repairbot.errors import BadInput
from repairbot.pipeline import repair

Mode = Literal["localized", "given"]


@dataclass
class BugResult:
    suite: str
    bug: str
    mode: Mode
    plausible: bool = False
    top_matches_reference: bool = False
    time_to_first_plausible_s: float | None = None
    candidates_tried: int = 0
    total_s: float = 0.0
    top_patch: str = ""
    top_generator: str = ""
    error: str = ""
    runs: int = 1  # the timings are medians over this many repairs; the rest is the first's
    reference_patch: str = ""  # the reference fix as a diff, shown beside the top patch in reports
    # "localized" mode: how many ranked locations localization handed to generation (0: not
    # measured) and the rank of the first that holds a statement the reference fix changes.
    locations_ranked: int = 0
    fault_rank: int | None = None
    # Seconds per pipeline stage (the job's timings, "total" left out; medians like total_s).
    stage_s: dict[str, float] = field(default_factory=dict)
    stopped: str = ""  # why the job stopped looking (repairbot.pipeline), "" for an error row
    # Defects4J: the top patch against the whole suite ("" not run; benchmarks.defects4j_confirm).
    full_suite: str = ""
    full_suite_s: float | None = None
    overfitting: list[str] = field(default_factory=list)  # signs the top patch overfits (repairbot.overfitting)
    top_patch_id: str = ""  # bugs.patch_id of the top patch: what a review of it names (benchmarks.reviews)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.suite, self.bug, self.mode)

    @property
    def outcome(self) -> str:
        return self.error or ("plausible" if self.plausible else "no patch")


def evaluate(
    suite: str,
    bugs: Iterable[Bug],
    modes: Iterable[Mode],
    out_dir: Path,
    overrides: dict[str, Any] | None = None,
    progress: Callable[[str], None] = lambda _: None,
    repeat: int = 1,
) -> list[BugResult]:
    """Repair each bug in each mode `repeat` times (skipping rows already in
    `out_dir/results.jsonl`); every row of this suite, old and new."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results_file = out_dir / "results.jsonl"
    done = {r.key: r for r in read_results(results_file)}
    store = JobStore(f"sqlite:///{out_dir / 'jobs.db'}")
    rows = []
    for bug in bugs:
        for mode in modes:
            key = (suite, bug.name, mode)
            if key in done:
                rows.append(done[key])
                continue
            progress(f"{suite}/{bug.name} ({mode})")
            row = append_result(results_file, repair_bug(suite, bug, mode, store, overrides or {}, repeat))
            rows.append(row)
            progress(f"{suite}/{bug.name} ({mode}): {row.outcome}")
    return rows


def repair_bug(
    suite: str, bug: Bug, mode: Mode, store: JobStore, overrides: dict[str, Any], repeat: int = 1
) -> BugResult:
    """The first repair's verdict and candidates, the median timings of `repeat` repairs
    (no outcome cache: a repeat reuses no verdict, so each is timed in full)."""
    row = BugResult(suite, bug.name, mode, runs=repeat)
    try:
        settings = job_settings(bug, mode, overrides)
        # Each works in a copy: the bug stays as it is.
        results = [repair(bug.project, settings, store) for _ in range(repeat)]
    except BadInput as exc:
        row.error = str(exc)
        return row
    result = results[0]
    row.candidates_tried = result.candidates_tried
    row.total_s = statistics.median(r.timings.get("total", 0.0) for r in results)
    row.stage_s = median_stages([r.timings for r in results])
    row.stopped = result.stopped
    found = [r.time_to_first_plausible_s for r in results if r.time_to_first_plausible_s is not None]
    row.time_to_first_plausible_s = statistics.median(found) if found else None
    if result.patches:
        top = result.patches[0].candidate
        row.plausible = True
        row.top_patch = top.diff
        row.top_generator = top.generator
        row.overfitting = result.overfitting[0] if result.overfitting else []
        patched = {edit.file: edit.patched for edit in top.edits}
        row.top_matches_reference, row.top_patch_id = matches_fix(bug, patched), patch_id(patched)
    return with_reference(row, bug, result.locations)


def with_reference(row: BugResult, bug: Bug, locations: list[SuspiciousLocation]) -> BugResult:
    """`row` with what its bug's reference fix tells a report: its diff and, in "localized"
    mode, where localization ranked its fault."""
    row.reference_patch = reference_diff(bug)
    if row.mode == "localized" and locations:
        row.locations_ranked = len(locations)
        row.fault_rank = fault_rank(fault_of(bug), locations)
    return row


def median_stages(timings: list[dict[str, float]]) -> dict[str, float]:
    """Per stage, the median seconds over repairs (a stage a repair did not reach counts 0),
    in the order the first repair ran them; "total" is the row's `total_s`."""
    stages = dict.fromkeys(stage for t in timings for stage in t if stage != "total")
    return {stage: round(statistics.median(t.get(stage, 0.0) for t in timings), 3) for stage in stages}


def job_settings(bug: Bug, mode: Mode, overrides: dict[str, Any]) -> Settings:
    """What a repair job of `bug` is told (`job_overrides`) over the settings of its project."""
    return load_settings(bug.project, **job_overrides(bug, mode, overrides))


def job_overrides(bug: Bug, mode: Mode, overrides: dict[str, Any]) -> dict[str, Any]:
    """How to run `bug`'s tests and, in "given" mode, the faulty statements, over the run's
    `overrides`. No outcome cache: each (bug, mode) is timed on its own, not on another's
    verdicts."""
    locations = given_locations(bug) if mode == "given" else None
    if locations == []:  # no location would silently mean the "localized" mode
        raise BadInput("the reference fix changes no statement: no fault location to give")
    return {
        "test_command": bug.test_command, "locations": locations,
        "java_main_roots": bug.main_roots, "java_test_roots": bug.test_roots,
        "outcome_cache": False, **overrides,
    }


def append_result(results_file: Path, row: BugResult) -> BugResult:
    """Write `row` as the next line of `results_file` at once: a run stopped later keeps it."""
    with results_file.open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(row)) + "\n")
    return row


def read_results(path: Path) -> list[BugResult]:
    if not path.is_file():
        return []
    return [BugResult(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def summary_table(rows: list[BugResult]) -> str:
    """One line per (suite, mode): bugs, plausible, top = reference, median time to first
    plausible patch, and how many could not be run."""
    lines = [
        "| suite | fault locations | bugs | plausible | top = reference | median time to first plausible (s) | not reproduced |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[BugResult]] = {}
    for row in rows:
        groups.setdefault((row.suite, row.mode), []).append(row)
    for (suite, mode), group in groups.items():
        times = [r.time_to_first_plausible_s for r in group if r.time_to_first_plausible_s is not None]
        median = f"{statistics.median(times):.1f}" if times else "-"
        lines.append(
            f"| {suite} | {mode} | {len(group)} | {sum(r.plausible for r in group)} "
            f"| {sum(r.top_matches_reference for r in group)} | {median} | {sum(bool(r.error) for r in group)} |"
        )
    return "\n".join(lines)


def bug_table(rows: list[BugResult]) -> str:
    """One line per (bug, mode): the verdicts, the candidates, and the median timings."""
    lines = [
        "| suite | bug | fault locations | plausible | top = reference | candidates tried "
        "| time to first plausible (median s) | total (median s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        first = f"{row.time_to_first_plausible_s:.2f}" if row.time_to_first_plausible_s is not None else "-"
        lines.append(
            f"| {row.suite} | {row.bug} | {row.mode} | {row.plausible} | {row.top_matches_reference} "
            f"| {row.candidates_tried} | {first} | {row.total_s:.2f} |"
        )
    return "\n".join(lines)
