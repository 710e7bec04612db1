"""The job history as the pipeline and the CLI see it: plain values in, plain values out.

Each method is its own short transaction, so a job's progress is visible (`repairbot jobs`)
while it runs and what was recorded survives a crash in a later stage. Callers never hold
ORM objects, so a stage running as a Celery task needs nothing but the job id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repairbot.db.models import (
    CandidateRow,
    Failure,
    JobStatus,
    RepairJob,
    Repository,
    SuspiciousLocationRow,
    TestRunRow,
    ValidationOutcome,
    ValidationRun,
    utcnow,
)
from repairbot.db.session import session_factory, upgrade
from repairbot.domain import (
    Reproduction, StoredOutcome, SuspiciousLocation, TestOutcome, TestStatus, ValidationResult, Verdict,
)
from repairbot.text import capped


@dataclass(frozen=True)
class JobSummary:
    """One line of `repairbot jobs`. `status` is the plain value ("succeeded"), which prints
    as itself in f-strings where a str-mixin enum member would not."""

    id: int
    project_path: str
    status: str
    stage: str | None
    created_at: datetime
    finished_at: datetime | None
    candidates_tried: int
    plausible: int
    error: str | None
    sandbox: str | None
    worker: str | None  # the queue worker running it, or that ran it last
    attempts: int  # runs of a queued job (more than one: a worker died mid-job)


@dataclass(frozen=True)
class StoredPatch:
    """A ranked plausible patch as stored; `verdict` is a Verdict value."""

    rank: int
    file: str
    generator: str
    description: str
    diff: str
    verdict: str


@dataclass(frozen=True)
class JobDetail:
    summary: JobSummary
    test_command: list[str]
    failures: list[tuple[str, str]]
    baseline_failures: list[tuple[str, str]]  # (test id, why it is ignored)
    locations: list[SuspiciousLocation]
    patches: list[StoredPatch]
    timings: dict[str, float]
    time_to_first_plausible_s: float | None
    stopped: str | None = None  # why the job stopped looking


class JobStore:
    """Records repair jobs in the database at `url`.

    With `migrate` the schema is brought to the newest revision first, so a fresh SQLite
    file just works; pass False where an operator runs migrations (`repairbot db upgrade`).
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        if migrate:
            upgrade(url)
        self._sessions = session_factory(url)

    def close(self) -> None:
        """Close pooled connections (a long-lived process or a test dropping the database)."""
        self._sessions.kw["bind"].dispose()

    def start_job(self, project_path: str, test_command: list[str], settings: dict[str, Any]) -> int:
        repository_id = self._repository_id(str(Path(project_path).resolve()))
        now = utcnow()
        with self._sessions.begin() as session:
            job = RepairJob(
                repository_id=repository_id,
                status=JobStatus.RUNNING,
                test_command=list(test_command),
                settings=dict(settings),
                created_at=now,
                started_at=now,
            )
            session.add(job)
            session.flush()
            return job.id

    def set_stage(self, job_id: int, stage: str) -> None:
        with self._sessions.begin() as session:
            _job(session, job_id).stage = stage

    def set_runner(self, job_id: int, test_command: list[str], sandbox: str) -> None:
        """How the job's tests run, once the project's runner is chosen: its command and
        which sandbox (and, for a fallback, why)."""
        with self._sessions.begin() as session:
            job = _job(session, job_id)
            job.test_command = list(test_command)
            job.sandbox = sandbox

    def record_reproduction(self, job_id: int, reproduction: Reproduction) -> None:
        run = reproduction.run
        with self._sessions.begin() as session:
            _job(session, job_id)
            session.add_all(
                Failure(job_id=job_id, test_id=outcome.test_id, message=outcome.message)
                for outcome in reproduction.failing
            )
            messages = {outcome.test_id: outcome.message for outcome in run.outcomes}
            session.add_all(
                Failure(job_id=job_id, test_id=test_id, message=messages.get(test_id, ""), baseline_reason=reason)
                for test_id, reason in reproduction.baseline_failures.items()
            )
            session.add(
                TestRunRow(
                    job_id=job_id,
                    kind="baseline",
                    exit_code=run.exit_code,
                    duration_s=run.duration_s,
                    timed_out=run.timed_out,
                    outcomes=[_outcome_json(outcome) for outcome in run.outcomes],
                    cpu_time_s=run.cpu_time_s,
                    peak_memory_bytes=run.peak_memory_bytes,
                )
            )

    def record_locations(self, job_id: int, locations: list[SuspiciousLocation]) -> None:
        with self._sessions.begin() as session:
            _job(session, job_id)
            session.add_all(
                SuspiciousLocationRow(
                    job_id=job_id,
                    file=location.file,
                    start_line=location.start_line,
                    end_line=location.end_line,
                    score=location.score,
                    formula=location.formula,
                    rank=rank,
                )
                for rank, location in enumerate(locations, start=1)
            )

    def record_validation(self, job_id: int, result: ValidationResult) -> int:
        """Store a validated candidate and its verdict; returns the id `finish_job` ranks by."""
        candidate = result.candidate
        with self._sessions.begin() as session:
            # An SQL increment, not read-modify-write: parallel validators share the job row.
            _job(session, job_id).candidates_tried = RepairJob.candidates_tried + 1
            row = CandidateRow(
                job_id=job_id,
                file=candidate.file,
                diff=candidate.diff,
                generator=candidate.generator,
                description=candidate.description,
                prior=candidate.prior,
                validation=ValidationRun(
                    verdict=Verdict(result.verdict),
                    outcomes=[_outcome_json(outcome) for outcome in result.outcomes],
                    duration_s=result.duration_s,
                    detail=result.detail,
                    sandbox=result.sandbox,
                    cpu_time_s=result.cpu_time_s,
                    peak_memory_bytes=result.peak_memory_bytes,
                    test_runs=result.test_runs,
                    cached=result.cached,
                ),
            )
            session.add(row)
            session.flush()
            return row.id

    def finish_job(
        self,
        job_id: int,
        status: JobStatus,
        *,
        error: str | None = None,
        timings: dict[str, float] | None = None,
        time_to_first_plausible_s: float | None = None,
        ranked_candidate_ids: Sequence[int] = (),
        stopped: str | None = None,
    ) -> None:
        """End the job; `ranked_candidate_ids` are its plausible candidates, best first.
        `error` is capped: it may quote a test's output, which can be megabytes long."""
        with self._sessions.begin() as session:
            job = _job(session, job_id)
            job.status = JobStatus(status)
            job.finished_at = utcnow()
            job.error = None if error is None else capped(error)
            if timings is not None:
                job.timings = dict(timings)
            job.time_to_first_plausible_s = time_to_first_plausible_s
            job.stopped = stopped
            for rank, candidate_id in enumerate(ranked_candidate_ids, start=1):
                candidate = session.get(CandidateRow, candidate_id)
                if candidate is None or candidate.job_id != job_id:
                    raise LookupError(f"candidate {candidate_id} is not one of repair job {job_id}'s")
                candidate.rank = rank

    def load_outcome(self, key: str) -> StoredOutcome | None:
        """The outcome cache's store (validators.outcome_cache.OutcomeStore)."""
        with self._sessions() as session:
            row = session.get(ValidationOutcome, key)
            if row is None:
                return None
            return StoredOutcome(row.verdict, [_outcome(o) for o in row.outcomes], row.detail, row.duration_s)

    def save_outcome(self, key: str, outcome: StoredOutcome) -> None:
        """First writer wins: two workers that validated the same patch stored the same facts."""
        try:
            with self._sessions.begin() as session:
                session.add(
                    ValidationOutcome(
                        key=key,
                        verdict=Verdict(outcome.verdict),
                        outcomes=[_outcome_json(o) for o in outcome.outcomes],
                        detail=outcome.detail,
                        duration_s=outcome.duration_s,
                    )
                )
        except IntegrityError:
            pass

    def list_jobs(self, limit: int = 20) -> list[JobSummary]:
        """The newest `limit` jobs, newest first."""
        with self._sessions() as session:
            rows = session.execute(_summaries().order_by(RepairJob.id.desc()).limit(limit))
            return [_summary(*row) for row in rows]

    def get_job(self, job_id: int) -> JobDetail | None:
        with self._sessions() as session:
            row = session.execute(_summaries().where(RepairJob.id == job_id)).one_or_none()
            if row is None:
                return None
            job: RepairJob = row[0]
            failures = session.execute(
                select(Failure.test_id, Failure.message, Failure.baseline_reason)
                .where(Failure.job_id == job_id)
                .order_by(Failure.id)
            ).all()
            locations = session.scalars(
                select(SuspiciousLocationRow)
                .where(SuspiciousLocationRow.job_id == job_id)
                .order_by(SuspiciousLocationRow.rank)
            )
            patches = session.execute(
                select(CandidateRow, ValidationRun.verdict)
                .join(CandidateRow.validation)
                .where(CandidateRow.job_id == job_id, CandidateRow.rank.is_not(None))
                .order_by(CandidateRow.rank)
            )
            return JobDetail(
                summary=_summary(*row),
                test_command=list(job.test_command),
                failures=[(test_id, message) for test_id, message, reason in failures if reason is None],
                baseline_failures=[(test_id, reason) for test_id, _, reason in failures if reason is not None],
                locations=[
                    SuspiciousLocation(loc.file, loc.start_line, loc.end_line, loc.score, loc.formula)
                    for loc in locations
                ],
                patches=[
                    StoredPatch(c.rank, c.file, c.generator, c.description, c.diff, verdict.value)
                    for c, verdict in patches
                ],
                timings=dict(job.timings),
                time_to_first_plausible_s=job.time_to_first_plausible_s,
                stopped=job.stopped,
            )

    def _repository_id(self, path: str) -> int:
        """Get-or-create the repository row; another worker may create it concurrently."""
        with self._sessions() as session:
            found = _find_repository(session, path)
        if found is not None:
            return found
        try:
            with self._sessions.begin() as session:
                repository = Repository(path=path)
                session.add(repository)
                session.flush()
                return repository.id
        except IntegrityError:
            with self._sessions() as session:
                found = _find_repository(session, path)
            if found is None:
                raise
            return found


def _job(session: Session, job_id: int) -> RepairJob:
    job = session.get(RepairJob, job_id)
    if job is None:
        raise LookupError(f"no repair job {job_id}")
    return job


def _find_repository(session: Session, path: str) -> int | None:
    return session.scalar(select(Repository.id).where(Repository.path == path))


def _summaries() -> Select[tuple[RepairJob, str, int]]:
    plausible = (
        select(func.count(ValidationRun.id))
        .join(ValidationRun.candidate)
        .where(CandidateRow.job_id == RepairJob.id, ValidationRun.verdict == Verdict.PLAUSIBLE)
        .correlate(RepairJob)
        .scalar_subquery()
    )
    return select(RepairJob, Repository.path, plausible).join(RepairJob.repository)


def _summary(job: RepairJob, project_path: str, plausible: int) -> JobSummary:
    return JobSummary(
        id=job.id,
        project_path=project_path,
        status=job.status.value,
        stage=job.stage,
        created_at=job.created_at,
        finished_at=job.finished_at,
        candidates_tried=job.candidates_tried,
        plausible=plausible,
        error=job.error,
        sandbox=job.sandbox,
        worker=job.worker,
        attempts=job.attempts,
    )


def _outcome_json(outcome: TestOutcome) -> dict[str, Any]:
    return {
        "test_id": outcome.test_id,
        "status": outcome.status.value,
        "message": outcome.message,
        "duration_s": outcome.duration_s,
    }


def _outcome(data: dict[str, Any]) -> TestOutcome:
    return TestOutcome(data["test_id"], TestStatus(data["status"]), data["message"], data["duration_s"])
