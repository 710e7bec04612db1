"""The bot's rows: deliveries seen (deduplication) and the jobs it started (what to report,
the per-repository limits, which job a newer failure supersedes). Each method is one short
transaction, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from repairbot.db.models import GitHubDelivery, GitHubJob, RepairJob, utcnow
from repairbot.db.queue import QueueStore, RecordedInput, add_queued_job
from repairbot.github.events import RepairRequest

PENDING, REPORTED, SUPERSEDED = "pending", "reported", "superseded"


@dataclass(frozen=True)
class BotJob:
    """A bot job as the reporter and the pages see it."""

    id: int
    repair_job_id: int
    delivery_id: str
    repo: str
    branch: str
    head_sha: str
    clone_url: str
    installation_id: int | None
    fork: bool
    pull_numbers: list[int]
    state: str
    conclusion: str | None
    reason: str | None
    check_run_id: int | None
    pr_number: int | None
    pr_url: str | None
    retry_of: int | None
    hint: str | None
    created_at: datetime
    reported_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {name: (value.isoformat() if isinstance(value, datetime) else value)
                for name, value in self.__dict__.items()}


def _bot_job(row: GitHubJob) -> BotJob:
    return BotJob(**{name: getattr(row, name) for name in BotJob.__dataclass_fields__})


class BotStore(QueueStore):
    """`QueueStore` plus the bot's tables."""

    def record_delivery(self, delivery_id: str, event: str, outcome: str = "") -> bool:
        """Record a delivery; False when it was seen before (a redelivery: do nothing)."""
        try:
            with self._sessions.begin() as session:
                session.add(GitHubDelivery(delivery_id=delivery_id, event=event, received_at=utcnow(),
                                           outcome=outcome[:2000]))
        except IntegrityError:
            return False
        return True

    @property
    def single_writer(self) -> bool:
        """Whether the database takes one writer at a time (SQLite)."""
        return self._sessions.kw["bind"].dialect.name == "sqlite"

    def forget_delivery(self, delivery_id: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(GitHubDelivery).where(GitHubDelivery.delivery_id == delivery_id))

    def set_delivery_outcome(self, delivery_id: str, outcome: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(GitHubDelivery).where(GitHubDelivery.delivery_id == delivery_id).values(outcome=outcome[:2000])
            )

    def add_job(
        self, recorded: RecordedInput, test_command: list[str], delivery_id: str, request: RepairRequest,
        retry_of: int | None = None, hint: str | None = None, pr: tuple[int, str] | None = None,
    ) -> tuple[int, int]:
        """Record a queued repair job and its bot job in one transaction (a worker polling the
        queue must never find the one without the other: it reads the installation from the
        bot job); returns (bot job id, repair job id)."""
        repository_id = self._repository_id(request.clone_url)
        with self._sessions.begin() as session:
            repair_job_id = add_queued_job(session, repository_id, test_command, recorded)
            row = GitHubJob(
                repair_job_id=repair_job_id, delivery_id=delivery_id, repo=request.repo, branch=request.branch,
                head_sha=request.head_sha, clone_url=request.clone_url, installation_id=request.installation_id,
                fork=request.fork, pull_numbers=list(request.pull_numbers), state=PENDING, retry_of=retry_of,
                hint=hint, pr_number=pr[0] if pr else None, pr_url=pr[1] if pr else None, created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return row.id, repair_job_id

    def pending_count(self, repo: str) -> int:
        with self._sessions() as session:
            return session.scalar(
                select(func.count()).select_from(GitHubJob).where(GitHubJob.repo == repo, GitHubJob.state == PENDING)
            ) or 0

    def started_since(self, repo: str, hours: float) -> int:
        with self._sessions() as session:
            since = utcnow() - timedelta(hours=hours)
            return session.scalar(
                select(func.count()).select_from(GitHubJob).where(GitHubJob.repo == repo, GitHubJob.created_at >= since)
            ) or 0

    def pending_on_branch(self, repo: str, branch: str) -> list[BotJob]:
        with self._sessions() as session:
            rows = session.scalars(
                select(GitHubJob).where(GitHubJob.repo == repo, GitHubJob.branch == branch, GitHubJob.state == PENDING)
                .order_by(GitHubJob.id)
            )
            return [_bot_job(row) for row in rows]

    def mark_superseded(self, job_id: int, by: int) -> bool:
        """Supersede a pending job (cancelling its repair job); False when it had ended."""
        with self._sessions.begin() as session:
            changed = session.execute(
                update(GitHubJob).where(GitHubJob.id == job_id, GitHubJob.state == PENDING)
                .values(state=SUPERSEDED, reason=f"superseded by bot job {by}, a newer failure on the branch")
            ).rowcount
        return changed == 1

    def update_job(self, job_id: int, **values: Any) -> None:
        with self._sessions.begin() as session:
            session.execute(update(GitHubJob).where(GitHubJob.id == job_id).values(**values))

    def pending_jobs(self) -> list[BotJob]:
        """Jobs whose result is still to be told, and superseded ones with a check run open."""
        with self._sessions() as session:
            rows = session.scalars(
                select(GitHubJob).where(
                    (GitHubJob.state == PENDING)
                    | ((GitHubJob.state == SUPERSEDED) & GitHubJob.check_run_id.is_not(None)
                       & GitHubJob.reported_at.is_(None))
                ).order_by(GitHubJob.id)
            )
            return [_bot_job(row) for row in rows]

    def bot_job(self, job_id: int) -> BotJob | None:
        with self._sessions() as session:
            row = session.get(GitHubJob, job_id)
            return None if row is None else _bot_job(row)

    def job_of_pull(self, repo: str, pr_number: int) -> BotJob | None:
        """The newest bot job that opened or updated pull request `pr_number`."""
        with self._sessions() as session:
            row = session.scalars(
                select(GitHubJob).where(GitHubJob.repo == repo, GitHubJob.pr_number == pr_number)
                .order_by(GitHubJob.id.desc()).limit(1)
            ).first()
            return None if row is None else _bot_job(row)

    def bot_job_of(self, repair_job_id: int) -> BotJob | None:
        with self._sessions() as session:
            row = session.scalar(select(GitHubJob).where(GitHubJob.repair_job_id == repair_job_id))
            return None if row is None else _bot_job(row)

    def installation_of(self, repair_job_id: int) -> int | None:
        with self._sessions() as session:
            row = session.scalar(select(GitHubJob).where(GitHubJob.repair_job_id == repair_job_id))
            if row is None:
                raise LookupError(f"repair job {repair_job_id} was not started by the GitHub bot")
            return row.installation_id

    def wants_pull_request(self, repair_job_id: int) -> bool:
        """The job's `open_pull_request` setting as it ran (the repository may say no)."""
        with self._sessions() as session:
            settings = session.scalar(select(RepairJob.settings).where(RepairJob.id == repair_job_id)) or {}
            return bool(settings.get("open_pull_request", True))

    def bot_jobs(self, limit: int = 50) -> list[BotJob]:
        with self._sessions() as session:
            rows = session.scalars(select(GitHubJob).order_by(GitHubJob.id.desc()).limit(limit))
            return [_bot_job(row) for row in rows]
