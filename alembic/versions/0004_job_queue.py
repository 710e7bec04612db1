"""Jobs on a task queue: each job's recorded input, and the lease of the worker running it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("repair_jobs") as batch:
        batch.add_column(sa.Column("worker", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_repair_jobs_status", ["status"])
    op.create_table(
        "job_inputs",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["repair_jobs.id"], name=op.f("fk_job_inputs_job_id_repair_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_inputs")),
    )


def downgrade() -> None:
    op.drop_table("job_inputs")
    with op.batch_alter_table("repair_jobs") as batch:
        batch.drop_index("ix_repair_jobs_status")
        batch.drop_column("cancel_requested")
        batch.drop_column("attempts")
        batch.drop_column("lease_expires_at")
        batch.drop_column("worker")
