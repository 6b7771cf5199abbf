"""The Airflow image, built from images/airflow/Dockerfile, run by a real Docker engine
(.ci/containers): Airflow at the locked version, the four DAGs and both plugins load inside it with
no import error, and none of the modeling stack is there. The API server serving the drift page
from this image is in test_compose_stack.py."""

from __future__ import annotations

import json
import tomllib

import pytest

from tests.support.airflow_env import DAG_IDS
from tests.support.docker_engine import AIRFLOW_IMAGE, client, run_container
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.containers

INSIDE = """
import importlib.util, json, os, sys
from airflow.dag_processing.dagbag import DagBag
from airflow import plugins_manager
bag = DagBag("/opt/airflow/dags")
plugins, errors = plugins_manager._get_plugins()
apps, _ = plugins_manager.get_fastapi_plugins()
print(json.dumps({
    "dags": sorted(bag.dag_ids),
    "dag_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "plugins": sorted(p.name for p in plugins),
    "plugin_errors": {k: str(v) for k, v in errors.items()},
    "apps": sorted(a["url_prefix"] for a in apps),
    # operator_class: a mapped task's own class (its type is MappedOperator)
    "operators": {f"{d.dag_id}.{t.task_id}": t.operator_class.__name__ for d in bag.dags.values() for t in d.tasks},
    "images": sorted({
        getattr(t, "partial_kwargs", {}).get("image") or getattr(t, "image", None) or "none"
        for d in bag.dags.values() for t in d.tasks
    }),
    "modeling": [m for m in ("polars", "lightgbm", "mlflow", "evidently") if importlib.util.find_spec(m)],
    "giddyup": sorted(
        f for f in os.listdir(os.path.dirname(importlib.util.find_spec("giddyup").origin)) if f.endswith(".py")
    ),
    "uid": os.getuid(),
}))
"""


def locked(name: str) -> str:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    return next(pkg["version"] for pkg in lock["package"] if pkg["name"] == name)


def test_airflow_version_is_the_locked_one() -> None:
    code, out = run_container(AIRFLOW_IMAGE, ["version"], network_mode="none")
    assert code == 0, out
    assert out.strip().splitlines()[-1] == locked("apache-airflow")


def test_dagbag_and_plugins_load_inside_the_image() -> None:
    code, out = run_container(
        AIRFLOW_IMAGE,
        ["python", "-c", INSIDE],
        environment={"GIDDYUP_TASK_RUNNER": "docker", "GIDDYUP_IMAGE": "giddyup:0.1.0"},
        network_mode="none",
    )
    assert code == 0, out[-3000:]
    found = json.loads(out.strip().splitlines()[-1])
    assert set(found["dags"]) == DAG_IDS and found["dag_errors"] == {}
    assert found["plugin_errors"] == {} and "giddyup_drift_page" in found["plugins"]
    assert "/giddyup" in found["apps"]
    # Every task a giddyup container, but the backtest's plan_chunks (plain date arithmetic).
    plain = {task for task, name in found["operators"].items() if name != "GiddyUpDockerOperator"}
    assert plain == {"giddyup_backtest.plan_chunks"}, found["operators"]
    assert found["images"] == ["giddyup:0.1.0", "none"]
    assert found["modeling"] == []  # tasks run in the giddyup image, not here
    # Of giddyup, only the standard-library modules the DAGs and plugins import (in the plugins folder).
    assert found["giddyup"] == ["__init__.py", "artifacts.py", "schedules.py"]
    assert found["uid"] == 50000


def test_providers_are_the_locked_versions() -> None:
    code, out = run_container(
        AIRFLOW_IMAGE,
        [
            "python",
            "-c",
            "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))",
        ],
        network_mode="none",
    )
    assert code == 0, out
    installed = json.loads(out.strip().splitlines()[-1])
    for name in (
        "apache-airflow",
        "apache-airflow-core",
        "apache-airflow-task-sdk",
        "apache-airflow-providers-celery",
        "apache-airflow-providers-docker",
        "apache-airflow-providers-postgres",
        "apache-airflow-providers-standard",
        "celery",
        "redis",
        "docker",
    ):
        assert installed.get(name) == locked(name), name
    image = client().images.get(AIRFLOW_IMAGE)
    print(f"\n{AIRFLOW_IMAGE}: {image.attrs['Size'] / 1e6:.0f} MB")
