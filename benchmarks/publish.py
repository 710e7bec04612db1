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

import json
from pathlib import Path

from benchmarks.report import Written, load_run, write_report
from repairbot.errors import BadInput

# Row fields (benchmarks.evaluate.BugResult) that quote the benchmark's code.
CODE_FIELDS = ("top_patch", "reference_patch")
# An error row's reason may quote a compiler's view of a source line: its first line is kept.
ERROR_CHARS = 300


def code_free(row: dict[str, object]) -> dict[str, object]:
    """The row with its patches emptied and its error cut to the first line."""
    kept = {key: ("" if key in CODE_FIELDS else value) for key, value in row.items()}
    if isinstance(kept.get("error"), str):
        kept["error"] = kept["error"].splitlines()[0][:ERROR_CHARS] if kept["error"] else ""
    return kept


def publish(folder: Path, to: Path) -> Written:
    """Write `to`/results.jsonl (one code-free row per bug and mode, the last of a rerun) and
    its report (`to`/report.md, .html, .png)."""
    run = load_run(folder)  # checks the folder and keeps the last row of each key
    if to.resolve() == folder.resolve():
        raise BadInput(f"publish into another folder than {folder}: it would lose the patches")
    kept = {row.key for row in run.rows}
    rows: dict[tuple[str, str, str], dict[str, object]] = {}
    for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            key = (data["suite"], data["bug"], data["mode"])
            if key in kept:
                rows.pop(key, None)
                rows[key] = code_free(data)
    to.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row) + "\n" for row in rows.values())
    (to / "results.jsonl").write_text(text, encoding="utf-8")
    return write_report(to)
