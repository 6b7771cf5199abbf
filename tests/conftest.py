"""Fixtures: a real PostgreSQL, one fresh database per test run (and per test where needed).

PG_DSN set (CI: the server at 127.0.0.1:5432): databases are created on that server.
PG_DSN unset: the embedded server under ./.giddyup is started and used the same way.
Helpers that are not fixtures live in tests/support/ (databases, the CLI, frames, test data).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from giddyup.config import reset_settings_cache
from tests.support import databases
from tests.support.databases import DatabaseFactory, migrate_dsn


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """DSN of the maintenance database on the test server."""
    return databases.server_dsn()


@pytest.fixture(scope="session")
def database_factory(server_dsn: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(server_dsn)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def session_dsn(database_factory: DatabaseFactory) -> str:
    """A database for this test run, migrated with the racing reference (a dev copy)."""
    dsn = database_factory.create()
    migrate_dsn(dsn)
    return dsn


@pytest.fixture
def fresh_dsn(database_factory: DatabaseFactory) -> str:
    """An empty database of this test's own (not migrated)."""
    return database_factory.create()


@pytest.fixture
def migrated_dsn(database_factory: DatabaseFactory) -> str:
    """A database of this test's own, migrated with the racing reference (a dev copy)."""
    dsn = database_factory.create()
    migrate_dsn(dsn)
    return dsn


@pytest.fixture
def giddyup_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Point giddyup's settings at a database and a private artifacts folder.

    Returns a function `use(dsn)` that sets PG_DSN and returns the environment dict to pass to
    a `giddyup` subprocess.
    """

    def use(dsn: str) -> dict[str, str]:
        artifacts = tmp_path / "artifacts"
        artifacts.mkdir(exist_ok=True)
        monkeypatch.setenv("PG_DSN", dsn)
        monkeypatch.setenv("GIDDYUP_ARTIFACTS_DIR", str(artifacts))
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{artifacts / 'mlflow.db'}")
        reset_settings_cache()
        return dict(os.environ)

    yield use
    reset_settings_cache()
