"""A private Airflow for the DAG and plugin tests, and checks that Airflow loads our plugins.

Airflow reads its configuration when first imported, so `airflow_home()` must run before any
`import airflow`: it points AIRFLOW_HOME at a temporary folder (never ~/airflow), with this repo's
dags/ and plugins/, no examples, and a SQLite metadata database. Airflow is imported inside
fixtures, not at module level, so collecting these files leaves other tests' logging alone.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_DIR = REPO_ROOT / "dags"
PLUGINS_DIR = REPO_ROOT / "plugins"
DAG_IDS = {
    "giddyup_nightly_retrain",
    "giddyup_morning_scoring",
    "giddyup_intraday_refresh",
    "giddyup_settlement",
}


def airflow_environ(home: Path) -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Madrid",
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__API_AUTH__JWT_SECRET": "giddyup-tests-only-" + "0" * 64,  # HS512 wants 64+ bytes
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
    }


@functools.cache
def airflow_home() -> Path:
    """Configure this test process's private Airflow (once); returns its AIRFLOW_HOME."""
    home = Path(tempfile.mkdtemp(prefix="giddyup_airflow_"))
    os.environ.update(airflow_environ(home))
    atexit.register(shutil.rmtree, home, True)
    return home


@functools.cache
def airflow_db() -> None:
    """Airflow's metadata database, migrated once per test process (needed by dag.test)."""
    airflow_home()
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=dict(os.environ),
        timeout=300,
    )


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


def load_dags(monkeypatch: pytest.MonkeyPatch, runner: str = "docker") -> dict[str, object]:
    """Parse dags/ with a real DagBag under the given task runner; fails on any import error."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("GIDDYUP_TASK_RUNNER", runner)
    bag = DagBag(str(DAGS_DIR))
    assert bag.import_errors == {}, bag.import_errors
    return dict(bag.dags)


def test_airflow_loads_the_drift_page_plugin(airflow) -> None:
    from airflow import plugins_manager

    _plugins, errors = plugins_manager._get_plugins()
    assert errors == {}
    apps, _ = plugins_manager.get_fastapi_plugins()
    drift_apps = [app for app in apps if app["url_prefix"] == "/giddyup"]
    assert len(drift_apps) == 1
    external_views, _ = plugins_manager._get_ui_plugins()
    menu = [view for view in external_views if view["name"] == "Drift reports"]
    assert menu, "the drift page has no entry in the Airflow menu"
    # Relative to the UI's <base href>, so it also works when Airflow is served under a prefix.
    assert menu[0]["href"] == "giddyup/drift" and menu[0]["url_route"]
    assert menu[0]["destination"] == "nav" and menu[0]["category"] == "browse"
