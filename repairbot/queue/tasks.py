"""The Celery app and its one task: run a recorded job (`repairbot.queue.execute`).

The broker carries only job ids; what a job repairs and everything it produces live in the
database, so there is no result backend. Settings (`broker_url`, `database_url`) come from
the environment of each process, as for every other command.

- Late acknowledgement, one message prefetched per process: a message is acknowledged when
  its job has ended, so a worker that dies mid-job leaves it to the broker to deliver again.
- Database or broker briefly gone: retried with exponential backoff; bad input is recorded
  on the job and never retried.
- Soft and hard time limits from the job's budget: the pipeline stops at its budget by
  itself; the limits catch what does not (a hang outside a sandboxed test run).
- Every worker sweeps for jobs whose lease expired (`repairbot.queue.sweep`) and sends them
  again, since a message can be lost with its worker; an idle one also sends again the jobs
  left queued for longer than a lease, whose message the broker lost.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import kombu.exceptions
import sqlalchemy.exc
from celery import Celery, Task, group, signals
from celery.exceptions import SoftTimeLimitExceeded

from repairbot.config import Settings, load_settings
from repairbot.db.models import JobStatus
from repairbot.db.queue import QueueStore
from repairbot.queue.execute import execute, remove_orphans, worker_name
from repairbot.queue.sweep import resend_waiting, sweep

logger = logging.getLogger(__name__)

QUEUE = "repairbot"
TASK = "repairbot.run_job"
# What a retry can cure: the database or the broker gone for a while.
TRANSIENT = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, kombu.exceptions.OperationalError)
# Redis hands an unacknowledged message to another worker after this long: far above any
# job's run, so a live job's message is not delivered twice (the lease would refuse it anyway).
REDIS_VISIBILITY_TIMEOUT_S = 6 * 3600


def make_app(broker_url: str | None) -> Celery:
    app = Celery("repairbot", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=False,  # a job past its hard limit must not run forever: the lease decides
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,  # the lease keeps a job single
        broker_transport_options={"visibility_timeout": REDIS_VISIBILITY_TIMEOUT_S},
        worker_hijack_root_logger=False,
    )
    return app


app = make_app(Settings().broker_url)


@functools.cache
def _store(database_url: str) -> QueueStore:
    """One store per process (a pool process builds its own after the fork)."""
    return QueueStore(database_url, migrate=False)


@app.task(
    bind=True, name=TASK, autoretry_for=TRANSIENT, retry_backoff=2, retry_backoff_max=60, retry_jitter=True,
    max_retries=10,
)
def run_job(self: Task, job_id: int) -> dict[str, Any]:
    settings = load_settings()
    store = _store(settings.database_url)
    try:
        ran = execute(job_id, settings, store, worker_name(self.request.hostname))
    except SoftTimeLimitExceeded:
        store.finish_job(job_id, JobStatus.FAILED, error=f"the task's time limit of {self.request.timelimit} s ran out")
        raise
    if not ran.ran:
        logger.info("%s", ran.why)
    return {"job_id": job_id, "ran": ran.ran}


def send(job_id: int, time_budget_s: float, celery: Celery | None = None) -> None:
    """Queue job `job_id` (see `send_all`)."""
    send_all([(job_id, time_budget_s)], celery)


def send_all(jobs: list[tuple[int, float]], celery: Celery | None = None) -> None:
    """Queue (job id, time budget) pairs as one Celery group, so a batch spreads over every
    worker as they free up. Each task's soft time limit leaves the pipeline room past its
    own budget (the baseline run and the model's load count toward it), the hard one a
    minute more."""
    celery = celery or app
    tasks = []
    for job_id, time_budget_s in jobs:
        soft = time_budget_s * 1.25 + 120
        tasks.append(celery.signature(TASK, args=[job_id], queue=QUEUE, soft_time_limit=soft, time_limit=soft + 60))
    group(tasks).apply_async()


def start_sweeper(settings: Settings, celery: Celery, stop: threading.Event) -> threading.Thread:
    """Every half lease, look for jobs whose worker died or whose message was lost while
    this worker is idle (`repairbot.queue.sweep`), and remove the temp folders dead workers
    left on this host."""
    store = QueueStore(settings.database_url, migrate=False)
    last_sent: dict[int, float] = {}
    idle = _IdleWatch()

    def resend(job_id: int) -> None:
        send(job_id, store.state(job_id).budget_s, celery)

    def loop() -> None:
        while not stop.wait(settings.job_lease_s / 2):
            try:
                sweep(store, settings.job_max_attempts, resend)
                if idle.throughout():
                    resend_waiting(store, resend, settings.job_lease_s, last_sent)
                for folder in remove_orphans():
                    logger.warning("removed %s: its worker died mid-job", folder)
            except Exception:  # the database or the broker briefly gone: next round
                logger.exception("sweep for jobs whose worker died failed")

    thread = threading.Thread(target=loop, name="sweeper", daemon=True)
    thread.start()
    return thread


class _IdleWatch:
    """Whether this worker was idle for a whole sweep interval: it held no message at this
    look nor at the last, and took none in between. Then a job the database shows as queued
    for a while is one the broker did not deliver; a worker only between two jobs of a long
    queue is not idle throughout."""

    def __init__(self) -> None:
        self._last: tuple[bool, int] | None = None

    def throughout(self) -> bool:
        from celery.worker import state

        now = (not state.reserved_requests, state.all_total_count[0])
        before, self._last = self._last, now
        return before is not None and before[0] and now[0] and before[1] == now[1]


@signals.worker_ready.connect
def _on_worker_ready(**_: Any) -> None:
    start_sweeper(load_settings(), app, threading.Event())
