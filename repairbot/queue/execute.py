"""Run one queued job: claim it, rebuild its project from the recorded input, repair it.

The same function runs under a Celery task (`repairbot.queue.tasks`) and in the embedded
local worker (`repairbot.queue.local`), so both keep the same guarantees:

- a job runs on one worker at a time: `QueueStore.claim` is a compare-and-set, and a
  message for a job that another live worker holds, or that has finished, runs nothing;
- while it runs, a thread renews the lease; when `repairbot cancel` asked for the job's end
  (or the lease was lost to another worker), it sends SIGTERM to this process's main thread
  (`repairbot.cancel.stop_main_thread`, which gives the `Cancelled` its reason),
  where `repairbot.cancel` turns it into `Cancelled`: unwinding kills the sandboxed test runs
  and removes the workspace and the unpacked project, as it does for Ctrl-C in `repair`;
- a rerun after a dead worker starts from a clean slate of rows (`begin_attempt`) and finds
  the verdicts of what it validated before in the outcome cache.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from repairbot.cancel import cancellable, stop_main_thread
from repairbot.config import Settings, load_settings
from repairbot.db.models import JobStatus
from repairbot.db.queue import QueueStore, RecordedInput
from repairbot.errors import BadInput, Cancelled
from repairbot.pipeline import repair_recorded
from repairbot.queue import snapshot
from validators.process import is_alive

logger = logging.getLogger(__name__)

TEMP_PREFIX = "repairbot-job"


def worker_name(base: str | None = None) -> str:
    """Who holds a lease: the Celery node (or this host) and the process running the job."""
    return f"{base or socket.gethostname()}/{os.getpid()}"


@dataclass(frozen=True)
class Ran:
    """What `execute` did with a job id: `ran` False when the job was not claimable (another
    worker holds it, it finished, it was cancelled); then `why` says so."""

    job_id: int
    ran: bool
    why: str = ""


def execute(job_id: int, operator: Settings, store: QueueStore, worker: str) -> Ran:
    """Claim and run job `job_id`. Raises only what a retry could cure (the database or the
    broker gone); every other end of the job is recorded on it."""
    attempt = store.claim(job_id, worker, operator.job_lease_s)
    if attempt is None:
        state = store.state(job_id)
        holder = f" by {state.worker}" if state.status is JobStatus.RUNNING else ""
        return Ran(job_id, False, f"job {job_id} is {state.status.value}{holder}: nothing to run")
    logger.info("job %d: attempt %d on %s", job_id, attempt, worker)
    lease = _Lease(store, job_id, worker, operator.job_lease_s)
    try:
        with cancellable(), lease, _job_temp_dir(job_id) as scratch:
            _run(job_id, operator, store, scratch)
    except Cancelled as exc:
        reason = str(exc)
        if store.state(job_id).status in (JobStatus.RUNNING, JobStatus.CANCELLED):  # not a finished job's late signal
            store.finish_job(job_id, JobStatus.CANCELLED, error=reason)
        logger.info("job %d: %s", job_id, reason)
    except BadInput as exc:
        logger.info("job %d: %s", job_id, exc)
    finally:
        store.release(job_id, worker)
    return Ran(job_id, True)


def _run(job_id: int, operator: Settings, store: QueueStore, scratch: Path) -> None:
    recorded = store.recorded_input(job_id)
    project = scratch / "project"
    project.mkdir()
    try:
        materialize(recorded, project, job_id, operator.database_url)
        overrides = recorded.overrides
        if recorded.kind == "github" and "baseline_rev" not in overrides:
            from repairbot.github.baseline import last_green_revision

            green = last_green_revision(job_id, operator.database_url, project)
            overrides = {**overrides, "baseline_rev": green} if green else overrides
        settings = load_settings(project, **overrides)
    except BadInput as exc:
        store.finish_job(job_id, JobStatus.FAILED, error=str(exc))
        raise
    store.begin_attempt(job_id, settings.model_dump(mode="json"))
    repair_recorded(job_id, project, settings, store, lambda message: logger.info("job %d: %s", job_id, message))


@contextlib.contextmanager
def _job_temp_dir(job_id: int) -> Iterator[Path]:
    """One folder for everything the job writes to the temp dir (its project, workspaces,
    coverage data), named by this process: what a worker killed mid-job leaves behind is
    one folder that `remove_orphans` finds by its dead process id. A process runs one job
    at a time, so pointing `tempfile` at the folder for the job's length is safe."""
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{job_id}-p{os.getpid()}-") as scratch:
        before, tempfile.tempdir = tempfile.tempdir, scratch
        try:
            yield Path(scratch)
        finally:
            tempfile.tempdir = before


def remove_orphans() -> list[Path]:
    """Remove the temp folders of jobs whose process on this host is gone (killed mid-job)."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-p*-*"):
        pid = folder.name.removeprefix(TEMP_PREFIX).split("-")[1].removeprefix("p")
        if pid.isdigit() and not is_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def materialize(recorded: RecordedInput, project: Path, job_id: int, database_url: str) -> None:
    """Write the job's project into the empty folder `project`. A GitHub bot's job ("github")
    is a git job whose clone carries the bot's token in git's environment (never in the
    URL or the database): computed here, from this worker's own settings."""
    if recorded.kind in ("snapshot", "benchmark") and recorded.archive is not None:
        snapshot.unpack(recorded.archive, project)
    elif recorded.kind in ("git", "github") and recorded.url:
        from repairbot.queue.gitsource import clone

        env = None
        if recorded.kind == "github":
            from repairbot.github.gitauth import clone_env_for_job

            env = clone_env_for_job(job_id, database_url)
        clone(recorded.url, recorded.commit, project, env)
    else:
        raise BadInput(f"the job's recorded input of kind {recorded.kind!r} is incomplete")


class _Lease:
    """Renews the job's lease every second, which is also how it learns of a cancel request:
    `repairbot cancel` takes effect within seconds."""

    CHECK_S = 1.0

    def __init__(self, store: QueueStore, job_id: int, worker: str, lease_s: float) -> None:
        self.store, self.job_id, self.worker, self.lease_s = store, job_id, worker, lease_s
        self._stop = threading.Event()
        self._main = threading.main_thread().ident
        self._thread = threading.Thread(target=self._renew, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _renew(self) -> None:
        while not self._stop.wait(self.CHECK_S):
            try:
                cancel = self.store.renew(self.job_id, self.worker, self.lease_s)
            except Exception as exc:  # the database briefly gone: the lease outlives a few misses
                logger.warning("job %d: lease not renewed: %s", self.job_id, exc)
                continue
            if cancel is None or cancel:
                reason = "cancelled by request" if cancel else "lease lost to another worker"
                stop_main_thread(self._main, reason)  # type: ignore[arg-type]
                return
