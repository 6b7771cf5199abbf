"""Test fixtures: a real PostgreSQL, one fresh database per test run (and per test where needed).

PG_DSN set (CI: the server at 127.0.0.1:5432): databases are created on that server.
PG_DSN unset: the embedded server under ./.giddyup is started and used the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from giddyup.config import reset_settings_cache

REPO_ROOT = Path(__file__).resolve().parents[1]


def _server_dsn() -> str:
    dsn = os.environ.get("PG_DSN", "").strip()
    if dsn:
        return conninfo.make_conninfo(dsn, dbname="postgres")
    from giddyup.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(REPO_ROOT / ".giddyup").ensure_running().dsn("postgres")


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """DSN of the maintenance database on the test server."""
    return _server_dsn()


class DatabaseFactory:
    """Creates uniquely named databases on the test server and drops them afterwards."""

    def __init__(self, server_dsn: str) -> None:
        self.server_dsn = server_dsn
        self.created: list[str] = []

    def create(self, prefix: str = "gu_test") -> str:
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return conninfo.make_conninfo(self.server_dsn, dbname=name)

    def drop_all(self) -> None:
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


@pytest.fixture(scope="session")
def database_factory(server_dsn: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(server_dsn)
    yield factory
    factory.drop_all()


def migrate_dsn(dsn: str, *, with_racing_reference: bool = True) -> None:
    from giddyup.db.migrate import migrate

    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn, with_racing_reference=with_racing_reference)


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


def run_giddyup(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `giddyup` console program (the same command a DAG task runs)."""
    return subprocess.run(
        [sys.executable, "-m", "giddyup.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO_ROOT,
    )


def query_frame(dsn: str, sql: str, *params: object):
    """Rows of a query as a Polars frame (instants in UTC), for asserting what a job wrote."""
    import polars as pl

    with psycopg.connect(dsn) as conn:
        cur = conn.execute(sql, params)
        columns = [d.name for d in cur.description]
        rows = cur.fetchall()
    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    return frame.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC"))


# --- Container tests (issue 11) -------------------------------------------------------------------
# Tests marked `containers` need a real Docker engine and the built images; .ci/containers provides
# both and fails if any of them is skipped. Anywhere else they are skipped with the reason.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from docker_engine import DOCKER_URL_ENV, SKIP_REASON

    if os.environ.get(DOCKER_URL_ENV, "").strip():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.get_closest_marker("containers"):
            item.add_marker(skip)
