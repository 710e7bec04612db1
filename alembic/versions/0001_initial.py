"""Initial schema: repositories, repair jobs and the evidence each job produced.

Revision ID: 0001
Revises:
Create Date: 2025-11-28

Statuses and verdicts are VARCHAR columns holding enum values (no native enum types), so a
later value needs no type migration. Dropping a table drops its indexes on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES_WITH_JOB_ID = ("failures", "suspicious_locations", "candidates", "test_runs")


def timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def job_id(table: str) -> list[sa.SchemaItem]:
    """The job_id column of a job's child table; deleting the job deletes the row."""
    return [
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["repair_jobs.id"], name=f"fk_{table}_job_id_repair_jobs", ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "repositories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_repositories"),
        sa.UniqueConstraint("path", name="uq_repositories_path"),
    )
    op.create_table(
        "repair_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=True),
        sa.Column("test_command", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        timestamp("created_at"),
        timestamp("started_at", nullable=True),
        timestamp("finished_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("time_to_first_plausible_s", sa.Float(), nullable=True),
        sa.Column("candidates_tried", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"], ["repositories.id"], name="fk_repair_jobs_repository_id_repositories"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_repair_jobs"),
    )
    op.create_index("ix_repair_jobs_repository_id", "repair_jobs", ["repository_id"])
    op.create_table(
        "failures",
        sa.Column("id", sa.Integer(), nullable=False),
        *job_id("failures"),
        sa.Column("test_id", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_failures"),
    )
    op.create_table(
        "suspicious_locations",
        sa.Column("id", sa.Integer(), nullable=False),
        *job_id("suspicious_locations"),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("start_line", sa.Integer(), nullable=False),
        sa.Column("end_line", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("formula", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_suspicious_locations"),
    )
    op.create_table(
        "candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        *job_id("candidates"),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("generator", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("prior", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_candidates"),
    )
    op.create_table(
        "test_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        *job_id("test_runs"),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("timed_out", sa.Boolean(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_test_runs"),
    )
    for table in TABLES_WITH_JOB_ID:
        op.create_index(f"ix_{table}_job_id", table, ["job_id"])
    op.create_table(
        "validation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("sandbox", sa.String(length=32), nullable=False),
        timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name="fk_validation_runs_candidate_id_candidates",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_validation_runs"),
        sa.UniqueConstraint("candidate_id", name="uq_validation_runs_candidate_id"),
    )


def downgrade() -> None:
    op.drop_table("validation_runs")
    for table in TABLES_WITH_JOB_ID:
        op.drop_table(table)
    op.drop_table("repair_jobs")
    op.drop_table("repositories")
