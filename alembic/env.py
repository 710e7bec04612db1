"""Alembic environment for repairbot: the same code path for `alembic` on the command line
and for repairbot.db.session.upgrade()."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from sqlalchemy import make_url, text

from repairbot.config import Settings
from repairbot.db.models import Base
from repairbot.db.session import make_engine

config = context.config
if config.config_file_name is not None:
    # Keep the caller's loggers: a programmatic upgrade must not silence the application's.
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings().database_url


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade head --sql`) instead of touching a database."""
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=make_url(url).get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


# Any number, the same in every process: the key of PostgreSQL's advisory lock on migrations.
MIGRATION_LOCK_KEY = 0x7265706169726274


@contextlib.contextmanager
def one_migrator(url: str) -> Iterator[None]:
    """Processes that start together on a new SQLite file (`repairbot submit` and the local
    worker it starts) take turns: the second finds the schema made. PostgreSQL's turns are
    an advisory lock taken inside the migration's transaction."""
    database = make_url(url).database
    if make_url(url).get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    path = Path(database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run_migrations_online() -> None:
    url = database_url()
    engine = make_engine(url, foreign_keys=False)
    try:
        with one_migrator(url), engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                # SQLite cannot ALTER most things; batch mode recreates the table instead.
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":  # a worker and `submit` starting on a new database
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
