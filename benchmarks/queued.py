"""`repairbot bench ... --queue`: the evaluation of `benchmarks.evaluate`, fanned out over the
task queue so that a benchmark run spreads over every worker.

Each (bug, mode) becomes one queued job of kind "benchmark": the bug's prepared project packed
into the database with the settings `evaluate` would give it, so any worker can run it. The
jobs are sent together as one Celery group; this process then follows them in the database
and judges each against its reference fix as it ends, writing its row to `results.jsonl`, and
the summary once the last has ended: the part a Celery chord would play, which needs a result
backend that the queue does not keep (the database holds every job's result).

Resumable like `evaluate`: rows already in `results.jsonl` are not submitted again, and each
job's id is written to `queued.jsonl` as soon as it is recorded, so a rerun after an
interrupted wait follows the jobs already queued instead of submitting them twice.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.bugs import Bug, git_apply, matches_fix, patch_id
from benchmarks.evaluate import (
    BugResult, Mode, append_result, job_overrides, median_stages, read_results, with_reference,
)
from repairbot.config import Settings
from repairbot.db.models import JobStatus
from repairbot.db.queue import QueueStore
from repairbot.errors import BadInput
from repairbot.queue.submit import dispatch_all, record_snapshot

POLL_S = 2.0
Key = tuple[str, str, str]  # (suite, bug, mode), as BugResult.key


def evaluate_queued(
    suites: dict[str, list[Bug]],
    modes: list[Mode],
    out_dir: Path,
    overrides: dict[str, Any],
    settings: Settings,
    progress: Callable[[str], None] = lambda _: None,
) -> list[BugResult]:
    """Queue every (bug, mode) of `suites` not yet in `out_dir/results.jsonl`, wait for all
    of them, and return every row of these suites, old and new."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results_file, queued_file = out_dir / "results.jsonl", out_dir / "queued.jsonl"
    done = {row.key: row for row in read_results(results_file)}
    queued = _read_queued(queued_file)
    store = QueueStore(settings.database_url)
    bugs = {(suite, bug.name, mode): bug for suite, listed in suites.items() for bug in listed for mode in modes}
    waiting: dict[Key, int] = {}
    new: list[int] = []
    for key, bug in bugs.items():
        if key in done:
            continue
        if key in queued:
            waiting[key] = queued[key]
            continue
        try:
            waiting[key] = _record(key, bug, overrides, store)
        except BadInput as exc:  # this bug cannot be run as given: its row says why
            done[key] = append_result(results_file, BugResult(*key, error=str(exc)))  # type: ignore[arg-type]
            continue
        new.append(waiting[key])
        with queued_file.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"suite": key[0], "bug": key[1], "mode": key[2], "job_id": waiting[key]}) + "\n")
    # A job of an earlier run still queued may have lost its message with that run (stopped
    # between recording and sending) or with a broker that keeps nothing: sent again, since a
    # second message for a job runs nothing twice.
    unsent = [job_id for job_id in waiting.values() if job_id not in new and store.state(job_id).status is JobStatus.QUEUED]
    if new or unsent:
        dispatch_all(new + unsent, settings, store)
    progress(f"{len(new)} job(s) queued, {len(waiting) - len(new)} from an earlier run")
    for key, row in _follow(waiting, bugs, store, progress):
        done[key] = append_result(results_file, row)
    return [done[key] for key in bugs if key in done]


def _record(key: Key, bug: Bug, overrides: dict[str, Any], store: QueueStore) -> int:
    suite, name, mode = key
    given = {k: v for k, v in job_overrides(bug, mode, overrides).items() if v is not None}  # type: ignore[arg-type]
    job_id, _ = record_snapshot(bug.project, "benchmark", f"{suite}/{name} ({mode})", given, store)
    return job_id


def _follow(
    waiting: dict[Key, int], bugs: dict[Key, Bug], store: QueueStore, progress: Callable[[str], None]
) -> list[tuple[Key, BugResult]]:
    """Wait for the jobs, judging each as it ends; returns (key, row) in the order they ended."""
    ended: list[tuple[Key, BugResult]] = []
    left = dict(waiting)
    while left:
        for key, job_id in list(left.items()):
            if store.state(job_id).finished:
                ended.append((key, stored_result(key, bugs[key], store, job_id)))
                del left[key]
                progress(f"{key[0]}/{key[1]} ({key[2]}): {ended[-1][1].outcome}; {len(left)} job(s) left")
        if left:
            time.sleep(POLL_S)
    return ended


def stored_result(key: Key, bug: Bug, store: QueueStore, job_id: int) -> BugResult:
    """The row of a finished job, from what it recorded: its top patch applied to the bug's
    buggy files is compared with the reference fix, as `evaluate` does with a live result."""
    detail = store.get_job(job_id)
    if detail is None:
        raise LookupError(f"job {job_id} of {key} is not in the database")
    row = BugResult(*key, candidates_tried=detail.summary.candidates_tried)  # type: ignore[arg-type]
    row.total_s = detail.timings.get("total", 0.0)
    row.stage_s = median_stages([detail.timings])
    row.stopped = detail.stopped or ""
    row.time_to_first_plausible_s = detail.time_to_first_plausible_s
    if detail.summary.status in (JobStatus.FAILED.value, JobStatus.CANCELLED.value):
        row.error = f"job {job_id} {detail.summary.status}: {detail.summary.error or 'no reason recorded'}"
    if detail.patches:
        top = detail.patches[0]
        row.plausible = True
        row.top_patch, row.top_generator = top.diff, top.generator
        patched = patched_files(bug.project, top.diff)
        row.top_matches_reference, row.top_patch_id = matches_fix(bug, patched), patch_id(patched)
    return with_reference(row, bug, detail.locations)


def patched_files(project: Path, diff: str) -> dict[str, str]:
    """file -> its text after `diff` (as stored, `git apply`-able) is applied to a copy of
    the files of `project` it touches."""
    listed = git_apply(project, diff, "--numstat", "-z")
    listed.check_returncode()
    files = [entry.split("\t")[-1] for entry in listed.stdout.split("\0") if entry]
    with tempfile.TemporaryDirectory(prefix="repairbot-bench-") as scratch:
        copy = Path(scratch)
        for file in files:
            target = copy / file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((project / file).read_bytes())
        git_apply(copy, diff).check_returncode()
        return {file: (copy / file).read_text(encoding="utf-8") for file in files}


def _read_queued(path: Path) -> dict[Key, int]:
    if not path.is_file():
        return {}
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {(e["suite"], e["bug"], e["mode"]): e["job_id"] for e in entries}
