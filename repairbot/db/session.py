"""Engines, sessions and schema migrations for a database URL.

The schema comes only from the Alembic migrations (never `create_all`), so a database made
by the CLI, by a worker or by a test is the same one production upgrades.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker


def migrations_dir() -> Path:
    """The `alembic/` folder at the repository root, next to the `repairbot` package."""
    path = Path(__file__).resolve().parents[2] / "alembic"
    if not (path / "env.py").is_file():
        raise FileNotFoundError(
            f"database migrations not found at {path}: repairbot must run from a source checkout "
            "or an editable install (pip install -e)"
        )
    return path


def make_engine(url: str, *, foreign_keys: bool = True) -> Engine:
    """An engine for `url`; for a SQLite file, its folder is created and foreign keys enforced.

    SQLite ignores foreign keys (and so ON DELETE CASCADE) unless every connection asks.
    Migrations turn them off, because SQLite batch migrations recreate tables, and dropping a
    referenced table with enforcement on deletes or rejects its children.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url)
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _set_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.close()

    return engine


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(make_engine(url))


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # Config values go through configparser interpolation: a URL-escaped password has '%'.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision`; creates a missing SQLite file."""
    command.upgrade(_alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(_alembic_config(url), revision)
