"""Resource usage per validation and test run, baseline failures, and the outcome cache.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _usage_columns() -> list[sa.Column]:
    return [sa.Column("cpu_time_s", sa.Float(), nullable=True), sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True)]


def upgrade() -> None:
    with op.batch_alter_table("failures") as batch:
        batch.add_column(sa.Column("baseline_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("validation_runs") as batch:
        for column in _usage_columns():
            batch.add_column(column)
        batch.add_column(sa.Column("test_runs", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("cached", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("test_runs") as batch:
        for column in _usage_columns():
            batch.add_column(column)
    op.create_table(
        "validation_outcomes",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_validation_outcomes")),
    )


def downgrade() -> None:
    op.drop_table("validation_outcomes")
    with op.batch_alter_table("test_runs") as batch:
        batch.drop_column("peak_memory_bytes")
        batch.drop_column("cpu_time_s")
    with op.batch_alter_table("validation_runs") as batch:
        batch.drop_column("cached")
        batch.drop_column("test_runs")
        batch.drop_column("peak_memory_bytes")
        batch.drop_column("cpu_time_s")
    with op.batch_alter_table("failures") as batch:
        batch.drop_column("baseline_reason")
