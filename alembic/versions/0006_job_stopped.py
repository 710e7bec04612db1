"""Record on each job why it stopped (a plausible patch, the time budget spent during a
stage, the candidate cap, nothing left to validate): "no patch" alone does not say whether
the job looked at anything (issue 16).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("repair_jobs") as batch:
        batch.add_column(sa.Column("stopped", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("repair_jobs") as batch:
        batch.drop_column("stopped")
