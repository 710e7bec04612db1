"""The GitHub bot: webhook deliveries (deduplicated by their id) and the jobs it started.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "github_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_deliveries")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_github_deliveries_delivery_id")),
    )
    op.create_table(
        "github_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repair_job_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("head_sha", sa.String(length=64), nullable=False),
        sa.Column("clone_url", sa.Text(), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("fork", sa.Boolean(), nullable=False),
        sa.Column("pull_numbers", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("conclusion", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("check_run_id", sa.BigInteger(), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("pr_url", sa.Text(), nullable=True),
        sa.Column("retry_of", sa.Integer(), nullable=True),
        sa.Column("hint", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["repair_job_id"], ["repair_jobs.id"], name=op.f("fk_github_jobs_repair_job_id_repair_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["retry_of"], ["github_jobs.id"], name=op.f("fk_github_jobs_retry_of_github_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_github_jobs")),
    )
    op.create_index(op.f("ix_github_jobs_repair_job_id"), "github_jobs", ["repair_job_id"], unique=True)
    op.create_index(op.f("ix_github_jobs_repo"), "github_jobs", ["repo"])
    op.create_index(op.f("ix_github_jobs_state"), "github_jobs", ["state"])


def downgrade() -> None:
    op.drop_table("github_jobs")
    op.drop_table("github_deliveries")
