"""`repairbot bench publish DIR --to FOLDER`: a copy of a run's results without the
benchmark's code, fit to commit or share where that code may not go.

Public benchmark code (QuixBugs, the Defects4J projects) is never committed to this
repository, yet a run on Defects4J takes hours and a session's machine is gone when it ends.
A published copy keeps each row's numbers (plausible, times, candidates, ranks, stage
timings, the whole-suite verdict) and drops the patches, which quote the benchmark's code.
Copied into a new run's folder as its `results.jsonl`, it lets that run resume: `repairbot
bench defects4j` repairs only the bugs it lacks.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from benchmarks.evaluate import BugResult, append_result, read_results
from benchmarks.report import Written, load_run, write_report
from repairbot.errors import BadInput

# An error row's reason may quote a compiler's view of a source line: its first line is kept.
ERROR_CHARS = 300


def code_free(row: BugResult) -> BugResult:
    """The row with its patches (they quote the benchmark's code) emptied and its error cut
    to the first line."""
    error = row.error.splitlines()[0][:ERROR_CHARS] if row.error else ""
    return replace(row, top_patch="", reference_patch="", error=error)


def publish(folder: Path, to: Path) -> Written:
    """Write `to`/results.jsonl (one code-free row per bug and mode, the last of a rerun) and
    its report (`to`/report.md, .html, .png). The rows are read as a resumed run reads them
    (`read_results`), so the copy is one such a run can go on from."""
    load_run(folder)  # a one-line error for a folder that holds no readable results
    if to.resolve() == folder.resolve():
        raise BadInput(f"publish into another folder than {folder}: it would lose the patches")
    rows: dict[tuple[str, str, str], BugResult] = {}
    for row in read_results(folder / "results.jsonl"):
        rows.pop(row.key, None)  # a rewritten row goes where it was last written
        rows[row.key] = code_free(row)
    to.mkdir(parents=True, exist_ok=True)
    published = to / "results.jsonl"
    published.unlink(missing_ok=True)
    for row in rows.values():
        append_result(published, row)
    return write_report(to)
