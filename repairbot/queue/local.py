"""The embedded default: with no `broker_url`, the database is the queue.

`repairbot submit` records the job and starts a local worker process if none is running
(`spawn`); the worker claims queued jobs from the database one at a time, oldest first, and
exits after a few idle seconds. `repairbot worker` with no broker runs the same loop in the
foreground and never exits when idle. Jobs run through the same `execute` as under Celery,
so leases, cancellation, reruns after a dead worker and the outcome cache behave the same.

What it cannot do: spread jobs over machines through a SQLite file (with a shared PostgreSQL
`database_url`, workers on several machines do share its queue); it polls the database once
a second (a broker hands a job over in milliseconds); it runs one job at a time per process.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from repairbot.config import Settings
from repairbot.db.queue import QueueStore
from repairbot.queue.execute import execute, remove_orphans, worker_name
from repairbot.queue.sweep import sweep

logger = logging.getLogger(__name__)

POLL_S = 1.0
LOCK_NAME = "local-worker.lock"


def serve(settings: Settings, store: QueueStore, exit_when_idle_s: float | None = None) -> None:
    """Run queued jobs until idle for `exit_when_idle_s` (None: forever). A worker holds the
    data dir's lock while it lives (`submit` starts none then); with an idle exit (one that
    `submit` started) a worker that cannot take it returns at once."""
    if _try_lock(settings.data_dir / LOCK_NAME) is None and exit_when_idle_s is not None:
        return
    worker = worker_name()
    idle_since = time.monotonic()
    while True:
        try:
            sweep(store, settings.job_max_attempts, resend=None)
            remove_orphans()
            ran = any(execute(job_id, settings, store, worker).ran for job_id in store.queued_jobs()[:1])
        except Exception:  # recorded on the job where it could be; the database may be briefly gone
            logger.exception("embedded worker: a job or a look at the queue ended with an error")
            ran = False
        if ran:
            idle_since = time.monotonic()
            continue
        if exit_when_idle_s is not None and time.monotonic() - idle_since > exit_when_idle_s:
            return
        time.sleep(POLL_S)


def spawn(settings: Settings) -> None:
    """Start a local worker in the background unless one holds the lock; its log goes to
    `data_dir/logs/local-worker.log`."""
    lock_path = settings.data_dir / LOCK_NAME
    lock = _try_lock(lock_path)
    if lock is None:
        return
    os.close(lock)  # the child takes it; a second worker started meanwhile would just return
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "local-worker.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "repairbot", "worker", "--exit-when-idle", "10"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )


def _try_lock(path: Path) -> int | None:
    """An exclusive lock on `path`, held until this process exits; None if another has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
