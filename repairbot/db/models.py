"""Tables of the job history: one row per repair job and the evidence it produced.

The schema is owned by the Alembic migrations under `alembic/`; these models must match them
(tests compare the two). Only portable types are used so the same models serve the default
SQLite file and PostgreSQL in production.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Boolean, DateTime, Dialect, Enum, Float, ForeignKey, Integer, LargeBinary, MetaData, String, Text,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from repairbot.domain import Verdict


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    NO_PATCH = "no_patch"
    FAILED = "failed"
    CANCELLED = "cancelled"  # SIGINT or SIGTERM: stopped, its workspace removed


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite has no time zone type and hands back naive values; without this a timestamp
    read from SQLite could not be compared with one read from PostgreSQL or with `utcnow()`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware one")
        return None if value is None else value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _values_of(enum_type: type[enum.Enum]) -> Enum:
    """A VARCHAR holding the enum's values: adding a status later needs no type migration
    (PostgreSQL's native enums cannot drop or reorder values)."""
    return Enum(
        enum_type,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    # Named constraints: SQLite batch migrations can only drop or alter what has a name.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _job_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("repair_jobs.id", ondelete="CASCADE"), index=True)


def _child_collection() -> Any:
    return relationship(back_populates="job", cascade="all, delete-orphan", passive_deletes=True)


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String, unique=True)
    url: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    jobs: Mapped[list[RepairJob]] = relationship(back_populates="repository")


class RepairJob(Base):
    __tablename__ = "repair_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"), index=True)
    status: Mapped[JobStatus] = mapped_column(_values_of(JobStatus), default=JobStatus.QUEUED, index=True)
    stage: Mapped[str | None] = mapped_column(String(64))
    test_command: Mapped[list[str]] = mapped_column(JSON)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    time_to_first_plausible_s: Mapped[float | None] = mapped_column(Float)
    # Why a finished job stopped looking (repairbot.pipeline: `_Job.stop_reason`).
    stopped: Mapped[str | None] = mapped_column(Text)
    candidates_tried: Mapped[int] = mapped_column(Integer, default=0)
    # Which sandbox ran the tests and, for a fallback, why: never a silent downgrade.
    sandbox: Mapped[str | None] = mapped_column(Text)
    # A queued job's lease: the worker running it renews `lease_expires_at` while it runs, so
    # a redelivered message finds the job taken, and a job whose worker died is found by its
    # expired lease (repairbot.queue.lease). Jobs run by `repairbot repair` have none.
    worker: Mapped[str | None] = mapped_column(String(255))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    repository: Mapped[Repository] = relationship(back_populates="jobs")
    input: Mapped[JobInput | None] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    failures: Mapped[list[Failure]] = _child_collection()
    locations: Mapped[list[SuspiciousLocationRow]] = _child_collection()
    candidates: Mapped[list[CandidateRow]] = _child_collection()
    test_runs: Mapped[list[TestRunRow]] = _child_collection()


class JobInput(Base):
    """What a queued job repairs, recorded before it is queued so that any worker with the
    database can run it: a packed snapshot (`archive`, a gzipped tar) of a local tree or of
    a prepared benchmark bug, or a git `url` and `commit`; `overrides` are the submitter's
    settings for the job (budgets, test command, locations), applied over the worker's own."""

    __tablename__ = "job_inputs"

    job_id: Mapped[int] = mapped_column(ForeignKey("repair_jobs.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    archive: Mapped[bytes | None] = mapped_column(LargeBinary)
    url: Mapped[str | None] = mapped_column(Text)
    commit: Mapped[str | None] = mapped_column(String(64))
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Failure(Base):
    """A test failing before any patch: what the job set out to fix, or, with a
    `baseline_reason`, a failure it ignores (flaky, declared known failure)."""

    __tablename__ = "failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = _job_fk()
    test_id: Mapped[str] = mapped_column(String)
    message: Mapped[str] = mapped_column(Text, default="")
    baseline_reason: Mapped[str | None] = mapped_column(Text)

    job: Mapped[RepairJob] = relationship(back_populates="failures")


class SuspiciousLocationRow(Base):
    __tablename__ = "suspicious_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = _job_fk()
    file: Mapped[str] = mapped_column(String)
    start_line: Mapped[int] = mapped_column(Integer)
    end_line: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    formula: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int] = mapped_column(Integer)

    job: Mapped[RepairJob] = relationship(back_populates="locations")


class CandidateRow(Base):
    """A validated candidate patch; `rank` is set only on the plausible ones, 1 = best."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = _job_fk()
    file: Mapped[str] = mapped_column(String)
    diff: Mapped[str] = mapped_column(Text)
    generator: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    prior: Mapped[float] = mapped_column(Float, default=0.0)
    rank: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    job: Mapped[RepairJob] = relationship(back_populates="candidates")
    validation: Mapped[ValidationRun | None] = relationship(
        back_populates="candidate", cascade="all, delete-orphan", passive_deletes=True
    )


class ValidationRun(Base):
    """The test run that judged one candidate (a candidate is validated once)."""

    __tablename__ = "validation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), unique=True)
    verdict: Mapped[Verdict] = mapped_column(_values_of(Verdict))
    outcomes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[str] = mapped_column(Text, default="")
    sandbox: Mapped[str] = mapped_column(String(32))
    cpu_time_s: Mapped[float | None] = mapped_column(Float)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    test_runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cached: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    candidate: Mapped[CandidateRow] = relationship(back_populates="validation")


class ValidationOutcome(Base):
    """The outcome cache: a verdict by the key of what decides it (project state, test
    command, normalized patched file; see validators.outcome_cache)."""

    __tablename__ = "validation_outcomes"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    verdict: Mapped[Verdict] = mapped_column(_values_of(Verdict))
    outcomes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(Text)
    duration_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TestRunRow(Base):
    """A whole test-suite run of a job outside candidate validation (the baseline)."""

    __tablename__ = "test_runs"
    __test__ = False  # a name pytest would otherwise try to collect

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = _job_fk()
    kind: Mapped[str] = mapped_column(String(32))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    outcomes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    cpu_time_s: Mapped[float | None] = mapped_column(Float)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)

    job: Mapped[RepairJob] = relationship(back_populates="test_runs")


class GitHubDelivery(Base):
    """A webhook delivery seen by `repairbot serve`: its `X-GitHub-Delivery` id is unique, so
    a redelivery (GitHub's retry, the operator's "Redeliver") finds its row and starts nothing."""

    __tablename__ = "github_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(Text)


class GitHubJob(Base):
    """A repair job the bot started for a failed CI run, and what it told GitHub about it.

    `state`: "pending" until the reporter has delivered the result, then "reported";
    "superseded" when a newer failure on the same branch took over. `pull_numbers` are the
    open pull requests whose head is the failing commit (from the event)."""

    __tablename__ = "github_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    repair_job_id: Mapped[int] = mapped_column(ForeignKey("repair_jobs.id", ondelete="CASCADE"), unique=True, index=True)
    delivery_id: Mapped[str] = mapped_column(String(64))
    repo: Mapped[str] = mapped_column(String(255), index=True)
    branch: Mapped[str] = mapped_column(String(255))
    head_sha: Mapped[str] = mapped_column(String(64))
    clone_url: Mapped[str] = mapped_column(Text)
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    fork: Mapped[bool] = mapped_column(Boolean)
    pull_numbers: Mapped[list[int]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(32), index=True)
    conclusion: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    check_run_id: Mapped[int | None] = mapped_column(BigInteger)
    pr_number: Mapped[int | None] = mapped_column(Integer)
    pr_url: Mapped[str | None] = mapped_column(Text)
    retry_of: Mapped[int | None] = mapped_column(ForeignKey("github_jobs.id", ondelete="SET NULL"))
    hint: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
