"""A private Airflow for the DAG and plugin tests (the `airflow` fixture is in tests/airflow/conftest.py).

Airflow reads its configuration when first imported, so `airflow_home()` must run before any
`import airflow`: it points AIRFLOW_HOME at a temporary folder (never ~/airflow), with this repo's
dags/ and plugins/, no examples, and a SQLite metadata database. Airflow is imported inside
fixtures, not at module level, so collecting these files leaves other tests' logging alone.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.paths import DAGS_DIR, PLUGINS_DIR

SCHEDULED_DAG_IDS = {
    "giddyup_nightly_retrain",
    "giddyup_morning_scoring",
    "giddyup_intraday_refresh",
    "giddyup_settlement",
}
DAG_IDS = SCHEDULED_DAG_IDS | {"giddyup_backtest"}  # the backtest is triggered by hand, with params


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


def load_dags(monkeypatch: pytest.MonkeyPatch, runner: str = "docker") -> dict[str, object]:
    """Parse dags/ with a real DagBag under the given task runner; fails on any import error."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("GIDDYUP_TASK_RUNNER", runner)
    bag = DagBag(str(DAGS_DIR))
    assert bag.import_errors == {}, bag.import_errors
    return dict(bag.dags)


UTC = dt.UTC
MADRID = ZoneInfo("Europe/Madrid")
SECRET_PASSWORD = "Sup3rS3cretPw-giddyup-4711"
SECRET_DSN = f"postgresql://giddyup:{SECRET_PASSWORD}@db.example:5432/racing"


def expected_argv(dag_id: str, instant: dt.datetime) -> dict[str, list[str]]:
    """What each task of a DAG must run for a logical instant: the Madrid date, the UTC instant."""
    day = instant.astimezone(MADRID).date().isoformat()
    at = instant.astimezone(UTC).isoformat()
    return {
        "giddyup_nightly_retrain": {
            "features": ["features", "build", "--date", day],
            "train": ["train", "--date", day, "--promote", "auto"],
        },
        "giddyup_morning_scoring": {
            "score": ["score", "--date", day, "--at", at],
            "drift": ["drift", "--date", day],
        },
        "giddyup_intraday_refresh": {"refresh": ["refresh", "--at", at]},
        "giddyup_settlement": {
            "settle": ["settle", "--date", day],
            "report": ["report", "--from", day, "--to", day],
        },
    }[dag_id]
