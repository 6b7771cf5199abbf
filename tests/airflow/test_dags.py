"""The four DAGs as Airflow sees them: a real DagBag, the scheduler's timetables, and dag.test()
with the Docker runner.

The dag.test() runs here replace one thing only: the Docker daemon (docker.APIClient), by a fake
that records the container DockerOperator asks for and answers "exit 0". Everything else (the
DAG files, the factory, Airflow's template rendering, DockerOperator) is the real code.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest

from tests.support.airflow_env import (
    DAG_IDS,
    DAGS_DIR,
    MADRID,
    SCHEDULED_DAG_IDS,
    SECRET_DSN,
    SECRET_PASSWORD,
    UTC,
    airflow_db,
    airflow_home,
    expected_argv,
    load_dags,
)
from tests.support.paths import REPO_ROOT

HEAVY_MODULES = ("polars", "lightgbm", "mlflow", "evidently", "sklearn", "pandas", "numpy")
# The factory takes artifact paths and MLflow names from giddyup.artifacts (standard library only).
GIDDYUP_MODULES_AT_PARSE = ["giddyup", "giddyup.artifacts", "giddyup.schedules"]


def test_dagbag_loads_the_four_dags(airflow, monkeypatch) -> None:
    for runner in ("docker", "local"):
        dags = load_dags(monkeypatch, runner)
        assert set(dags) == DAG_IDS


def test_parsing_imports_no_modeling_stack() -> None:
    # A fresh interpreter: whatever the DAG files pull in at parse time shows up in sys.modules.
    code = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag({str(DAGS_DIR)!r})\n"
        f"heavy = [m for m in {HEAVY_MODULES!r} if m in sys.modules]\n"
        "ours = sorted(m for m in sys.modules if m == 'giddyup' or m.startswith('giddyup.'))\n"
        "print(json.dumps({'dags': sorted(bag.dag_ids), 'errors': list(bag.import_errors), 'heavy': heavy, 'ours': ours}))\n"
    )
    airflow_home()
    env = {**os.environ, "GIDDYUP_TASK_RUNNER": "docker"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result["dags"]) == DAG_IDS and result["errors"] == []
    assert result["heavy"] == []
    assert result["ours"] == GIDDYUP_MODULES_AT_PARSE


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_dags_and_plugins_take_only_standard_library_modules_from_giddyup() -> None:
    """The Airflow image carries giddyup/artifacts.py and schedules.py alone
    (images/airflow/Dockerfile): anything else of the package a DAG or plugin imported would fail
    there."""
    files = [*DAGS_DIR.glob("*.py"), *(REPO_ROOT / "plugins").glob("*.py")]
    taken = {m for path in files for m in _imported_modules(path) if m == "giddyup" or m.startswith("giddyup.")}
    assert taken == {"giddyup", "giddyup.artifacts", "giddyup.schedules"}
    in_dag_files = {m for path in DAGS_DIR.glob("*.py") for m in _imported_modules(path)}
    assert not any(m.split(".")[0] == "giddyup" for m in in_dag_files)  # DAG files import the factory only
    for module in ("artifacts", "schedules"):
        imported = _imported_modules(REPO_ROOT / "giddyup" / f"{module}.py")
        assert {m.split(".")[0] for m in imported} <= set(sys.stdlib_module_names) | {"__future__"}, module
    dockerfile = (REPO_ROOT / "images" / "airflow" / "Dockerfile").read_text()
    assert "giddyup/__init__.py giddyup/artifacts.py giddyup/schedules.py /opt/airflow/plugins/giddyup/" in dockerfile


# The one task that is not a giddyup command: the backtest's split of its window into chunks.
PLAIN_PYTHON_TASKS = {("giddyup_backtest", "plan_chunks")}


def task_settings(task) -> tuple[type, dict]:
    """A task's operator class and arguments, mapped (dynamic task mapping) or not."""
    if hasattr(task, "partial_kwargs"):  # a MappedOperator: its arguments before expansion
        return task.operator_class, dict(task.partial_kwargs)
    names = (
        "image",
        "auto_remove",
        "mount_tmp_dir",
        "retries",
        "retry_delay",
        "execution_timeout",
        "entrypoint",
        "environment",
    )
    return type(task), {name: getattr(task, name, None) for name in names}


def test_every_dag_follows_the_policy(airflow, monkeypatch) -> None:
    from giddyup_tasks import GiddyUpDockerOperator

    monkeypatch.setenv("GIDDYUP_IMAGE", "registry.example/giddyup:1.2.3")
    for dag_id, dag in load_dags(monkeypatch, "docker").items():
        if dag_id in SCHEDULED_DAG_IDS:
            timetables = getattr(dag.timetable, "timetables", [dag.timetable])
            assert timetables and all(str(t.timezone) == "Europe/Madrid" for t in timetables), dag_id
        else:
            assert type(dag.timetable).__name__ == "NullTimetable" and dag.params, dag_id  # by hand, with params
        # Airflow stores start_date in UTC; ours is midnight in Madrid, not midnight UTC.
        assert dag.start_date.tzinfo is not None
        assert dag.start_date.astimezone(MADRID).time() == dt.time(0), dag_id
        assert dag.catchup is False and dag.max_active_runs == 1, dag_id
        assert dag.dagrun_timeout is not None, dag_id
        assert "giddyup" in dag.tags and len(dag.tags) >= 2, dag_id
        assert dag.doc_md and "Re-run" in dag.doc_md and f"airflow dags trigger {dag_id}" in dag.doc_md
        assert dag.owner == "giddyup-modeling"
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            if (dag_id, task.task_id) in PLAIN_PYTHON_TASKS:
                continue
            operator, kwargs = task_settings(task)
            retries = kwargs.get("retries", task.retries)
            retry_delay = kwargs.get("retry_delay") or task.retry_delay
            timeout = kwargs.get("execution_timeout") or task.execution_timeout
            assert issubclass(operator, GiddyUpDockerOperator), where
            assert kwargs["image"] == "registry.example/giddyup:1.2.3", where
            assert kwargs["auto_remove"] == "success" and kwargs["mount_tmp_dir"] is False, where
            assert retries >= 2 and retry_delay > dt.timedelta(0), where
            assert timeout is not None and timeout <= dag.dagrun_timeout, where
            assert kwargs.get("entrypoint") is None, where  # the image's ENTRYPOINT ["giddyup"] runs the command
            assert "PG_DSN" not in json.dumps(kwargs["environment"]), where


def test_containers_get_the_workers_settings_but_no_secret_looking_one(airflow, monkeypatch) -> None:
    # A worker configured to stake without edge evidence must price by that rule in a container too.
    monkeypatch.setenv("GIDDYUP_REQUIRE_EDGE_EVIDENCE", "false")
    monkeypatch.setenv("GIDDYUP_PG_DSN", SECRET_DSN)
    monkeypatch.setenv("GIDDYUP_API_TOKEN", SECRET_PASSWORD)
    monkeypatch.setenv("GIDDYUP_DOCKER_URL", "unix:///tmp/elsewhere.sock")
    for dag in load_dags(monkeypatch, "docker").values():
        for task in dag.tasks:
            if (dag.dag_id, task.task_id) in PLAIN_PYTHON_TASKS:
                continue
            _, kwargs = task_settings(task)
            environment = kwargs["environment"]
            assert environment["GIDDYUP_REQUIRE_EDGE_EVIDENCE"] == "false", task.task_id
            assert "GIDDYUP_ARTIFACTS_DIR" in environment, task.task_id
            assert SECRET_PASSWORD not in json.dumps(environment), task.task_id
            assert "GIDDYUP_DOCKER_URL" not in environment, task.task_id


def test_backtest_chunks_run_one_at_a_time(airflow, monkeypatch) -> None:
    # Replaying a day hides its results in the shared racing tables until it closes; a later chunk's
    # retrain reads that day, so two chunks at once would see each other's half-replayed days.
    for runner in ("docker", "local"):
        task = load_dags(monkeypatch, runner)["giddyup_backtest"].get_task("replay_chunk")
        assert task.max_active_tis_per_dagrun == 1, runner


def test_local_runner_builds_local_tasks(airflow, monkeypatch) -> None:
    from giddyup_tasks import GiddyUpLocalOperator

    for dag in load_dags(monkeypatch, "local").values():
        for task in dag.tasks:
            if (dag.dag_id, task.task_id) not in PLAIN_PYTHON_TASKS:
                assert issubclass(task_settings(task)[0], GiddyUpLocalOperator), (dag.dag_id, task.task_id)


def render_commands(dag, instant: dt.datetime, *, logical: bool = True) -> dict[str, list[str]]:
    """Render each task's `command` the way Airflow does: from the run's logical instant, or, with
    logical=False, for a run triggered without a logical date (the worker's context then has no
    logical_date, ts or ds; only the dag run's run_after)."""
    import pendulum

    when = pendulum.instance(instant).in_timezone("UTC")
    dag_run = SimpleNamespace(run_after=instant, logical_date=when if logical else None)
    context = {"dag_run": dag_run}
    if logical:
        context |= {"logical_date": when, "ts": when.isoformat(), "ds": when.strftime("%Y-%m-%d")}
    rendered = {}
    for task in dag.tasks:
        task = task.prepare_for_execution()  # a copy, like a worker's
        task.render_template_fields(dict(context))
        rendered[task.task_id] = task.command
    return rendered


@pytest.mark.parametrize(
    "instant",
    [
        dt.datetime(2026, 3, 29, 6, 0, tzinfo=UTC),  # first summer-time morning
        dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC),  # already 29 March in Madrid
        dt.datetime(2026, 10, 25, 7, 0, tzinfo=UTC),  # first winter-time morning
    ],
)
def test_docker_and_local_tasks_render_the_same_argv(airflow, monkeypatch, instant) -> None:
    artifacts = "/data/artifacts"
    monkeypatch.setenv("GIDDYUP_ARTIFACTS_DIR", artifacts)
    docker_dags = load_dags(monkeypatch, "docker")
    local_dags = load_dags(monkeypatch, "local")
    for dag_id in SCHEDULED_DAG_IDS:
        in_docker = render_commands(docker_dags[dag_id], instant)
        local = render_commands(local_dags[dag_id], instant)
        assert in_docker == local == expected_argv(dag_id, instant), dag_id


def test_a_run_triggered_without_a_logical_date_works_on_its_run_after_instant(airflow, monkeypatch) -> None:
    # Airflow 3 lets a person trigger a DAG from the UI or API with no logical date; the tasks then
    # work on the instant the run was triggered for, in Madrid time for the date.
    artifacts = "/data/artifacts"
    monkeypatch.setenv("GIDDYUP_ARTIFACTS_DIR", artifacts)
    triggered = dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # already 29 March in Madrid
    for runner in ("docker", "local"):
        dags = load_dags(monkeypatch, runner)
        for dag_id in SCHEDULED_DAG_IDS:
            rendered = render_commands(dags[dag_id], triggered, logical=False)
            assert rendered == expected_argv(dag_id, triggered), (runner, dag_id)


def next_runs(dag, earliest: dt.datetime, count: int) -> list[dt.datetime]:
    """The scheduler's next run instants (UTC) from an instant on, from the serialized timetable."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    timetable = coerce_to_core_timetable(dag.timetable)
    restriction = TimeRestriction(earliest=earliest, latest=None, catchup=True)
    runs, last = [], None
    for _ in range(count):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        runs.append(info.run_after.astimezone(UTC).replace(tzinfo=UTC))
        last = info.data_interval
    return runs


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


# Madrid changes clocks on 2026-03-29 (02:00 CET -> 03:00 CEST) and 2026-10-25 (03:00 CEST -> 02:00 CET).
CLOCK_CHANGE_RUNS = [
    ("giddyup_morning_scoring", utc(2026, 3, 27, 12), [utc(2026, 3, 28, 7), utc(2026, 3, 29, 6), utc(2026, 3, 30, 6)]),
    (
        "giddyup_morning_scoring",
        utc(2026, 10, 23, 12),
        [utc(2026, 10, 24, 6), utc(2026, 10, 25, 7), utc(2026, 10, 26, 7)],
    ),
    # 02:30 does not exist on 29 March: Airflow runs once, at 03:30 CEST; on 25 October it exists
    # twice and the run is once, at the second (CET) one.
    (
        "giddyup_nightly_retrain",
        utc(2026, 3, 27, 12),
        [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)],
    ),
    (
        "giddyup_nightly_retrain",
        utc(2026, 10, 23, 12),
        [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 1, 30), utc(2026, 10, 26, 1, 30)],
    ),
    (
        "giddyup_intraday_refresh",
        utc(2026, 3, 28, 21, 58, 30),
        [utc(2026, 3, 28, 21, 59), utc(2026, 3, 29, 9, 0), utc(2026, 3, 29, 9, 1)],
    ),
    (
        "giddyup_intraday_refresh",
        utc(2026, 10, 24, 20, 58, 30),
        [utc(2026, 10, 24, 20, 59), utc(2026, 10, 25, 10, 0), utc(2026, 10, 25, 10, 1)],
    ),
    (
        "giddyup_settlement",
        utc(2026, 3, 28, 21, 10),
        [utc(2026, 3, 28, 21, 30), utc(2026, 3, 28, 22, 45), utc(2026, 3, 29, 11, 0)],
    ),
    (
        "giddyup_settlement",
        utc(2026, 10, 25, 19, 50),
        [utc(2026, 10, 25, 20, 0), utc(2026, 10, 25, 20, 30), utc(2026, 10, 25, 21, 0)],
    ),
    (
        "giddyup_settlement",
        utc(2026, 10, 25, 21, 10),
        [utc(2026, 10, 25, 21, 30), utc(2026, 10, 25, 22, 45), utc(2026, 10, 26, 12, 0)],
    ),
]


@pytest.mark.parametrize(("dag_id", "earliest", "expected"), CLOCK_CHANGE_RUNS)
def test_next_runs_across_clock_changes(airflow, monkeypatch, dag_id, earliest, expected) -> None:
    dag = load_dags(monkeypatch, "docker")[dag_id]
    assert next_runs(dag, earliest, len(expected)) == expected


class FakeDockerDaemon:
    """Stands in for the Docker daemon (docker.APIClient) and nothing else: it records each
    container DockerOperator creates, prints one log line and exits 0."""

    containers: ClassVar[list[dict]] = []
    removed: ClassVar[list[str]] = []

    def __init__(self, base_url=None, **_kwargs) -> None:
        self.base_url = base_url

    def ping(self) -> bool:
        return True

    def images(self, name=None) -> list[dict]:
        return [{"Id": "sha256:0", "RepoTags": [name]}]  # present: no pull

    def create_host_config(self, **kwargs) -> dict:
        return kwargs

    def create_container(self, **kwargs) -> dict:
        FakeDockerDaemon.containers.append({**kwargs, "base_url": self.base_url})
        return {"Id": f"container-{len(FakeDockerDaemon.containers)}"}

    def attach(self, container, **_kwargs):
        return iter([b"giddyup: done (fake daemon)\n"])

    def start(self, container) -> None:
        pass

    def wait(self, container) -> dict:
        return {"StatusCode": 0}

    def remove_container(self, container, **_kwargs) -> None:
        FakeDockerDaemon.removed.append(container)


DOCKER_RUNS = {
    "giddyup_nightly_retrain": utc(2026, 3, 29, 1, 30),
    "giddyup_morning_scoring": utc(2026, 3, 29, 6, 0),
    "giddyup_intraday_refresh": utc(2026, 10, 25, 13, 55),
    "giddyup_settlement": utc(2026, 10, 25, 22, 45),
}


@pytest.mark.slow
def test_dag_test_with_docker_runner_passes_argv_and_secrets_privately(airflow, monkeypatch, capfd) -> None:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.providers.docker.hooks import docker as docker_hook
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session

    airflow_db()
    monkeypatch.setattr(docker_hook, "APIClient", FakeDockerDaemon)
    FakeDockerDaemon.containers.clear()
    FakeDockerDaemon.removed.clear()
    monkeypatch.setenv("GIDDYUP_IMAGE", "giddyup:test")
    monkeypatch.setenv("GIDDYUP_DOCKER_URL", "unix:///run/test-docker.sock")
    monkeypatch.setenv("GIDDYUP_DOCKER_NETWORK", "giddyup")
    monkeypatch.setenv("GIDDYUP_ARTIFACTS_DIR", "/data/artifacts")
    # The connections win over the worker's environment.
    monkeypatch.setenv("AIRFLOW_CONN_GIDDYUP_DB", SECRET_DSN)
    monkeypatch.setenv("AIRFLOW_CONN_GIDDYUP_MLFLOW", "http://mlflow:5000")
    monkeypatch.setenv("PG_DSN", "postgresql://fallback@127.0.0.1:5432/unused")
    dags = load_dags(monkeypatch, "docker")
    created = 0
    for dag_id, instant in DOCKER_RUNS.items():
        dag = dags[dag_id]
        assert SECRET_PASSWORD not in json.dumps(DagSerialization.to_dict(dag), default=str)
        FakeDockerDaemon.containers.clear()
        run = dag.test(logical_date=instant)
        assert run.state == "success", dag_id
        expected = expected_argv(dag_id, instant)
        assert [c["command"] for c in FakeDockerDaemon.containers] == list(expected.values()), dag_id
        created += len(FakeDockerDaemon.containers)
        for container in FakeDockerDaemon.containers:
            assert container["image"] == "giddyup:test" and container["entrypoint"] is None
            assert container["base_url"] == "unix:///run/test-docker.sock"
            assert container["host_config"]["network_mode"] == "giddyup"
            assert container["environment"]["PG_DSN"] == SECRET_DSN  # reaches the container...
            assert container["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
            assert container["environment"]["GIDDYUP_ARTIFACTS_DIR"] == "/data/artifacts"
            [mount] = container["host_config"]["mounts"]  # the shared artifacts volume
            assert dict(mount) == {
                "Target": "/data/artifacts",
                "Source": "giddyup-artifacts",
                "Type": "volume",
                "ReadOnly": False,
            }
        with create_session() as session:
            rendered = session.query(RenderedTaskInstanceFields).filter_by(dag_id=dag_id, run_id=run.run_id).all()
            assert {r.task_id: r.rendered_fields["command"] for r in rendered} == expected
            assert SECRET_PASSWORD not in json.dumps([r.rendered_fields for r in rendered], default=str)
    # The backtest: a chunk per mapped task instance, then the report of the whole window.
    FakeDockerDaemon.containers.clear()
    run = dags["giddyup_backtest"].test(
        run_conf={"date_from": "2026-05-01", "date_to": "2026-05-05", "retrain_every": 2}
    )
    assert run.state == "success"
    commands = [c["command"] for c in FakeDockerDaemon.containers]
    chunks = [["2026-05-01", "2026-05-02"], ["2026-05-03", "2026-05-04"], ["2026-05-05", "2026-05-05"]]
    expected_chunks = [["backtest", "--from", a, "--to", b, "--retrain-every", "2"] for a, b in chunks]
    report = ["backtest", "--from", "2026-05-01", "--to", "2026-05-05", "--retrain-every", "2", "--report-only"]
    assert sorted(commands[:-1]) == expected_chunks and commands[-1] == report
    assert all(c["environment"]["PG_DSN"] == SECRET_DSN for c in FakeDockerDaemon.containers)
    created += len(FakeDockerDaemon.containers)
    assert len(FakeDockerDaemon.removed) == created  # auto_remove="success"
    logs = "".join(capfd.readouterr())  # dag.test() writes the task logs to the console
    assert "giddyup: done (fake daemon)" in logs
    assert SECRET_PASSWORD not in logs  # ...but never its logs


def test_connection_becomes_a_dsn_with_its_password_and_ssl_options(airflow) -> None:
    from airflow.sdk import Connection
    from giddyup_tasks import postgres_dsn
    from psycopg import conninfo

    conn = Connection.from_uri("postgresql://giddyup:p%40ss%2Fw%3A@racing-db:6432/racing?sslmode=require", conn_id="x")
    assert conninfo.conninfo_to_dict(postgres_dsn(conn)) == {
        "user": "giddyup",
        "password": "p@ss/w:",
        "host": "racing-db",
        "port": "6432",
        "dbname": "racing",
        "sslmode": "require",
    }
