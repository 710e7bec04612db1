"""`repairbot submit`: record a job with its input, then queue it (broker or embedded)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repairbot.config import Settings, load_settings
from repairbot.db.models import JobStatus
from repairbot.db.queue import JobState, QueueStore, RecordedInput
from repairbot.errors import BadInput
from repairbot.pipeline import check_project
from repairbot.queue import gitsource, snapshot

WAIT_POLL_S = 0.5


def submit(target: str, commit: str | None, overrides: dict[str, Any], store: QueueStore) -> int:
    """Record and queue a job for `target`, a local project (packed into the database) or
    a git URL (cloned by the worker at `commit`); returns its id. What can be checked here
    is checked here, with `repair`'s errors: a missing path, a tree with no sources, a
    settings file that does not parse, a tree over the snapshot limit."""
    overrides = {name: value for name, value in overrides.items() if value is not None}
    if gitsource.is_git_url(target):
        if commit is not None:
            gitsource.check_commit(commit)
        settings = load_settings(None, **overrides)
        recorded = RecordedInput("git", overrides, url=target, commit=commit)
        job_id = store.enqueue_job(target, settings.test_command or [], recorded)
    else:
        if commit is not None:
            raise BadInput("--commit goes with a git URL; a local project is submitted as it is on disk")
        job_id, settings = record_snapshot(Path(target), "snapshot", str(Path(target).resolve()), overrides, store)
    dispatch_all([job_id], settings, store)
    return job_id


def record_snapshot(
    project: Path, kind: str, source: str, overrides: dict[str, Any], store: QueueStore
) -> tuple[int, Settings]:
    """Record (not yet queue) a job on the packed tree of `project`: a submitted project
    (kind "snapshot", `source` its path) or a prepared benchmark bug (kind "benchmark",
    `source` its suite, name and mode). Returns the job's id and the settings it will be
    judged by here (the worker applies the same overrides over its own)."""
    check_project(project)
    settings = load_settings(project, **overrides)
    recorded = RecordedInput(kind, overrides, archive=snapshot.pack(project, settings.snapshot_max_bytes))
    return store.enqueue_job(source, settings.test_command or [], recorded), settings


def dispatch_all(job_ids: list[int], settings: Settings, store: QueueStore) -> None:
    """Queue recorded jobs: one message each, sent together (a Celery group), or a wake-up
    of the embedded worker. A broker that cannot be reached fails the jobs with the reason
    (they would otherwise wait as queued forever) and raises BadInput."""
    try:
        dispatch(job_ids, settings, store)
    except Exception as exc:
        if settings.broker_url is None or not _broker_unreachable(exc):
            raise
        reason = f"the broker at {redacted(settings.broker_url)} is unreachable: {exc}"
        for job_id in job_ids:
            store.finish_job(job_id, JobStatus.FAILED, error=f"not queued: {reason}")
        named = f"job {job_ids[0]}" if len(job_ids) == 1 else f"jobs {job_ids[0]}-{job_ids[-1]}"
        raise BadInput(f"{named} not queued: {reason}") from exc


def _broker_unreachable(exc: Exception) -> bool:
    import kombu.exceptions

    return isinstance(exc, (kombu.exceptions.OperationalError, ConnectionError))


def redacted(url: str) -> str:
    """A broker URL without its password, for messages and logs."""
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


def dispatch(job_ids: list[int], settings: Settings, store: QueueStore) -> None:
    """Hand recorded jobs to the broker, or wake the embedded local worker."""
    if settings.broker_url:
        from repairbot.queue.tasks import send_all  # Celery and the broker's client: only when used

        send_all([(job_id, store.state(job_id).budget_s) for job_id in job_ids])
    else:
        from repairbot.queue.local import spawn

        spawn(settings)


def wait(store: QueueStore, job_id: int, on_change: Callable[[JobState], None] = lambda _: None) -> JobState:
    """Block until the job has ended, telling `on_change` each new status or stage."""
    seen = "queued"  # what the caller said first
    while not (state := store.state(job_id)).finished:
        if str(state) != seen:
            seen = str(state)
            on_change(state)
        time.sleep(WAIT_POLL_S)
    return state
