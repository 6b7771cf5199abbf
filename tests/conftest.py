"""Fixtures: a real PostgreSQL, one fresh database per test run (and per test where needed).

PG_DSN set (CI: the server at 127.0.0.1:5432): databases are created on that server.
PG_DSN unset: the embedded server under ./.giddyup is started and used the same way.
Helpers that are not fixtures live in tests/support/ (databases, the CLI, frames, test data).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from giddyup.config import reset_settings_cache
from tests.support import databases
from tests.support.airflow_env import airflow_home
from tests.support.databases import DatabaseFactory, migrate_dsn
from tests.support.paths import SHARED_DATA


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requires_shared_data: reads ../shared/data; skipped when it is absent (fails under CI)"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked requires_shared_data skip with one reason when ../shared/data is not beside the
    checkout, and fail instead when CI is set (CI has it: a skip there would hide a broken test)."""
    if item.get_closest_marker("requires_shared_data") is None or SHARED_DATA.is_dir():
        return
    reason = f"../shared/data is not beside this checkout: {SHARED_DATA} not found"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the real-data tests must run)", pytrace=False)
    pytest.skip(reason)


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


@pytest.fixture(scope="module")
def airflow() -> Iterator[object]:
    """Airflow, imported with the private configuration; the root logger is restored afterwards
    (Airflow installs its own handler on first import)."""
    airflow_home()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    import airflow as airflow_module

    yield airflow_module
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


# --- Container tests (issue 11) -------------------------------------------------------------------
# Tests marked `containers` need a real Docker engine and the built images; .ci/containers provides
# both and fails if any of them is skipped. Anywhere else they are skipped with the reason.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tests.support.docker_engine import DOCKER_URL_ENV, SKIP_REASON

    if os.environ.get(DOCKER_URL_ENV, "").strip():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.get_closest_marker("containers"):
            item.add_marker(skip)
