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
    else:
        if commit is not None:
            raise BadInput("--commit goes with a git URL; a local project is submitted as it is on disk")
        project = Path(target)
        check_project(project)
        settings = load_settings(project, **overrides)
        recorded = RecordedInput("snapshot", overrides, archive=snapshot.pack(project, settings.snapshot_max_bytes))
    job_id = store.enqueue_job(target, settings.test_command or [], recorded)
    try:
        dispatch(job_id, settings)
    except Exception as exc:
        if settings.broker_url is None or not _broker_unreachable(exc):
            raise
        reason = f"the broker at {redacted(settings.broker_url)} is unreachable: {exc}"
        store.finish_job(job_id, JobStatus.FAILED, error=f"not queued: {reason}")
        raise BadInput(f"job {job_id} not queued: {reason}") from exc
    return job_id


def _broker_unreachable(exc: Exception) -> bool:
    import kombu.exceptions

    return isinstance(exc, (kombu.exceptions.OperationalError, ConnectionError))


def redacted(url: str) -> str:
    """A broker URL without its password, for messages and logs."""
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


def dispatch(job_id: int, settings: Settings) -> None:
    """Hand a recorded job to the broker, or wake the embedded local worker."""
    if settings.broker_url:
        from repairbot.queue.tasks import send  # Celery and the broker's client: only when used

        send(job_id, settings.time_budget_s)
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
