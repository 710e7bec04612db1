"""Fixtures shared by the test suite."""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy

@pytest.fixture(autouse=True)
def private_fix_index(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Repair jobs read and extend the fix index: tests get an empty one of their own, never
    the user's."""
    monkeypatch.setenv("REPAIRBOT_INDEX_DIR", str(tmp_path_factory.mktemp("index")))


# --- database_url: every database backend repairbot supports, migrated by the test itself ---

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the local server, dropped afterwards even if still in use."""
    name = f"repairbot_test_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no tables: migrate it first); the SQLite file's folder
    does not exist yet, as on a first run."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'repairbot.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of its own (one of the 16), emptied before and after."""
    url = f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
