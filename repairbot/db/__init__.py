"""Persistence of repair jobs: SQLite by default, PostgreSQL in production.

Import from here; the schema itself is defined by the Alembic migrations in `alembic/`.
"""

from repairbot.db.models import JobStatus
from repairbot.db.session import downgrade, make_engine, migrations_dir, session_factory, upgrade
from repairbot.db.store import JobDetail, JobStore, JobSummary, StoredPatch

__all__ = [
    "JobDetail",
    "JobStatus",
    "JobStore",
    "JobSummary",
    "StoredPatch",
    "downgrade",
    "make_engine",
    "migrations_dir",
    "session_factory",
    "upgrade",
]
