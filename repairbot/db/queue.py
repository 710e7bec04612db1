"""The job history as the task queue sees it: recorded inputs, leases, cancel requests.

The database, not the broker, decides who runs a job. A broker may deliver a message twice
(a redelivery after a lost connection, a requeue of a stale job) and a message may be lost
with its worker; a compare-and-set on the job row (`claim`) lets exactly one worker at a
time run it, and the lease it renews tells the others whether that worker is alive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from repairbot.config import Settings
from repairbot.db.models import (
    CandidateRow,
    Failure,
    JobInput,
    JobStatus,
    RepairJob,
    SuspiciousLocationRow,
    TestRunRow,
    utcnow,
)
from repairbot.db.store import JobStore, _job

FINISHED = (JobStatus.SUCCEEDED, JobStatus.NO_PATCH, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class RecordedInput:
    """What a queued job repairs (see `JobInput`)."""

    kind: str  # "snapshot" (a submitted tree), "benchmark" (a prepared benchmark bug) or "git"
    overrides: dict[str, Any] = field(default_factory=dict)
    archive: bytes | None = None
    url: str | None = None
    commit: str | None = None


@dataclass(frozen=True)
class JobState:
    """Where a queued job stands, for the worker deciding whether to run it and for `--wait`."""

    status: JobStatus
    stage: str | None
    worker: str | None
    lease_expires_at: datetime | None
    attempts: int
    cancel_requested: bool
    error: str | None
    budget_s: float  # the job's time budget, as submitted or as its last attempt ran

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def __str__(self) -> str:
        if self.status is JobStatus.RUNNING:
            return f"running on {self.worker} (attempt {self.attempts}): {self.stage or 'starting'}"
        return self.status.value


class QueueStore(JobStore):
    """`JobStore` plus what the queue needs: every method is one short transaction."""

    def enqueue_job(self, source: str, test_command: list[str], recorded: RecordedInput) -> int:
        """Record a job with its input, status queued; the caller sends its message after
        this commits, so a worker never gets a job it cannot read. `source` names what is
        repaired (a project's absolute path, a git URL, a benchmark bug)."""
        repository_id = self._repository_id(source)
        with self._sessions.begin() as session:
            return add_queued_job(session, repository_id, test_command, recorded)

    def recorded_input(self, job_id: int) -> RecordedInput:
        with self._sessions() as session:
            row = session.get(JobInput, job_id)
            if row is None:
                raise LookupError(f"repair job {job_id} has no recorded input: it was not submitted to the queue")
            return RecordedInput(row.kind, dict(row.overrides), row.archive, row.url, row.commit)

    def state(self, job_id: int) -> JobState:
        with self._sessions() as session:
            job = _job(session, job_id)
            budget = job.settings.get("time_budget_s") or Settings.model_fields["time_budget_s"].default
            return JobState(
                job.status, job.stage, job.worker, job.lease_expires_at, job.attempts, job.cancel_requested, job.error, budget
            )

    def claim(self, job_id: int, worker: str, lease_s: float) -> int | None:
        """Take the job for `worker` if it is queued, or running under an expired lease (its
        worker died) or under `worker`'s own (a retry in the same process); returns the
        attempt's number, None when another worker holds it or it has ended. One UPDATE:
        of two workers claiming at once, only one matches the row."""
        now = utcnow()
        with self._sessions.begin() as session:
            return session.execute(
                update(RepairJob)
                .where(
                    RepairJob.id == job_id,
                    RepairJob.cancel_requested.is_(False),
                    or_(_claimable(now), and_(RepairJob.status == JobStatus.RUNNING, RepairJob.worker == worker)),
                )
                .values(
                    status=JobStatus.RUNNING, worker=worker, lease_expires_at=now + timedelta(seconds=lease_s),
                    attempts=RepairJob.attempts + 1, started_at=now, stage=None,
                )
                .returning(RepairJob.attempts)
            ).scalar_one_or_none()

    def renew(self, job_id: int, worker: str, lease_s: float) -> bool | None:
        """Extend `worker`'s lease on a running job; returns whether the job's cancellation
        was asked for (False once the job has ended), None when the job is no longer
        `worker`'s (its lease expired and another worker took it)."""
        with self._sessions.begin() as session:
            row = session.execute(
                update(RepairJob)
                .where(RepairJob.id == job_id, RepairJob.worker == worker)
                .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
                .returning(RepairJob.cancel_requested, RepairJob.status)
            ).one_or_none()
        if row is None:
            return None
        cancel, status = row
        return bool(cancel) and JobStatus(status) not in FINISHED

    def begin_attempt(self, job_id: int, settings: dict[str, Any]) -> None:
        """Clear what an earlier attempt of the job recorded (its worker died mid-job), so a
        rerun does not duplicate the rows; its verdicts stay in the outcome cache, which the
        rerun reads instead of validating again. Records the settings the job runs with."""
        with self._sessions.begin() as session:
            for table in (Failure, SuspiciousLocationRow, CandidateRow, TestRunRow):
                session.execute(delete(table).where(table.job_id == job_id))
            job = _job(session, job_id)
            job.settings = dict(settings)
            job.candidates_tried = 0
            job.timings = {}

    def request_cancel(self, job_id: int) -> JobState:
        """Ask for the job's end: a queued one is cancelled here, a running one by its worker
        at its next lease renewal. Returns the state after the request; ValueError for a job
        run by `repairbot repair`, which no worker watches."""
        with self._sessions.begin() as session:
            job = _job(session, job_id)
            if job.input is None:
                raise ValueError(f"job {job_id} was not queued: it ends with its `repairbot repair` process (Ctrl-C)")
            # Two guarded UPDATEs, not a read-modify-write of the row: a worker claiming the job
            # meanwhile must find the flag (or the job cancelled), never have its claim overwritten.
            session.execute(
                update(RepairJob).where(RepairJob.id == job_id, RepairJob.status == JobStatus.QUEUED)
                .values(status=JobStatus.CANCELLED, cancel_requested=True, finished_at=utcnow(),
                        error="cancelled before it started")
            )
            session.execute(
                update(RepairJob).where(RepairJob.id == job_id, RepairJob.status.not_in(FINISHED))
                .values(cancel_requested=True)
            )
        return self.state(job_id)

    def queued_jobs(self, limit: int = 100) -> list[int]:
        """Queued job ids, oldest first, and running ones whose lease expired."""
        with self._sessions() as session:
            query = select(RepairJob.id).where(_claimable(utcnow())).order_by(RepairJob.id).limit(limit)
            return list(session.scalars(query))

    def waiting_jobs(self, waited_s: float) -> list[int]:
        """Queued job ids, oldest first, that have waited longer than `waited_s`."""
        with self._sessions() as session:
            query = select(RepairJob.id).where(
                RepairJob.status == JobStatus.QUEUED, RepairJob.cancel_requested.is_(False),
                RepairJob.created_at < utcnow() - timedelta(seconds=waited_s),
            ).order_by(RepairJob.id)
            return list(session.scalars(query))

    def stale_jobs(self) -> list[tuple[int, int, str | None]]:
        """(job id, attempts, worker) of running jobs whose lease expired: their worker died."""
        with self._sessions() as session:
            rows = session.execute(
                select(RepairJob.id, RepairJob.attempts, RepairJob.worker).where(_lease_expired(utcnow()))
            )
            return [(job_id, attempts, worker) for job_id, attempts, worker in rows]

    def fail_stale(self, job_id: int, reason: str, status: JobStatus) -> bool:
        """End a stale job with `status` (failed: given up after too many attempts; cancelled)
        unless a worker took it meanwhile."""
        with self._sessions.begin() as session:
            changed = session.execute(
                update(RepairJob)
                .where(RepairJob.id == job_id, _lease_expired(utcnow()))
                .values(status=status, error=reason, finished_at=utcnow(), lease_expires_at=None)
            )
            return changed.rowcount == 1

    def release(self, job_id: int, worker: str) -> None:
        """End `worker`'s lease on the job (a lease another worker took is left alone)."""
        with self._sessions.begin() as session:
            session.execute(
                update(RepairJob).where(RepairJob.id == job_id, RepairJob.worker == worker).values(lease_expires_at=None)
            )


def add_queued_job(session: Session, repository_id: int, test_command: list[str], recorded: RecordedInput) -> int:
    """Add a queued job with its input in `session` (the caller's transaction, which may
    record more that a worker must find together with the job); returns its id."""
    job = RepairJob(
        repository_id=repository_id,
        status=JobStatus.QUEUED,
        test_command=list(test_command),
        settings=dict(recorded.overrides),
        created_at=utcnow(),
        input=JobInput(
            kind=recorded.kind, archive=recorded.archive, url=recorded.url, commit=recorded.commit,
            overrides=dict(recorded.overrides),
        ),
    )
    session.add(job)
    session.flush()
    return job.id


def _lease_expired(now: datetime) -> ColumnElement[bool]:
    """A running job whose worker stopped renewing its lease."""
    return and_(RepairJob.status == JobStatus.RUNNING, RepairJob.lease_expires_at < now)


def _claimable(now: datetime) -> ColumnElement[bool]:
    """A job any worker may take: queued, or its worker dead; never one asked to end."""
    return and_(
        RepairJob.cancel_requested.is_(False), or_(RepairJob.status == JobStatus.QUEUED, _lease_expired(now))
    )
