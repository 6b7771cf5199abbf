"""Scale-out on Airflow's CeleryExecutor (.ci/containers): one API server, one scheduler, one DAG
processor and two Celery workers, each a container of the Airflow image on the host's network,
with this machine's Redis as the broker and its PostgreSQL as Airflow's metadata and Celery's result
database: the set-up of workers on several machines that share the Docker image, the database and
the broker (README, "Add Celery workers on other machines"), on one machine.

Each worker runs one task at a time (--concurrency 1). The morning-scoring run is triggered through
the REST API; once its `score` task has published the day's signals, a string of intraday refresh
runs (which read them, as on a real day) is triggered too, so the refreshes run on one worker while
the other runs the morning's `drift`. Every task runs in a giddyup container started by its
worker's DockerOperator, and the tasks must land on both workers, some at the same time. The same
runs then go through dag.test() in this process (one process, no executor) against a copy of the
same starting database, and every row the two wrote must be equal.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import conninfo

from tests.support.airflow_env import airflow_db, load_dags
from tests.support.cli import run_giddyup
from tests.support.docker_engine import (
    AIRFLOW_IMAGE,
    IMAGE,
    ContainerClock,
    client,
    docker_url,
    host_folder_volume,
    new_password,
    remove_volume,
    run_container,
    use_docker_runner,
)

pytestmark = [pytest.mark.containers, pytest.mark.slow]

UTC = dt.UTC
DAY = "2026-06-13"
# The runs (dag_id, logical instant, conf): the first is triggered alone; the others once its
# `score` task has succeeded, all together, the backtest's among them: its two one-day chunks are
# mapped tasks that run one after the other (they share the racing tables they replay), each on
# whichever worker is free.
RUNS: list[tuple[str, dt.datetime, dict]] = [
    ("giddyup_morning_scoring", dt.datetime(2026, 6, 13, 6, 0, tzinfo=UTC), {}),
    *(("giddyup_intraday_refresh", dt.datetime(2026, 6, 13, 11, 25 + i, tzinfo=UTC), {}) for i in range(5)),
    (
        "giddyup_backtest",
        dt.datetime(2026, 6, 13, 7, 0, tzinfo=UTC),
        {"date_from": "2026-06-11", "date_to": "2026-06-12", "retrain_every": 1},
    ),
]
FIRST_TASK = "score"  # the first run's task the other runs wait for
WORKERS = ("worker-a", "worker-b")
REDIS_URL = os.environ.get("GIDDYUP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Columns that differ between two correct runs: serial keys, wall-clock stamps, MLflow run ids, and
# the drift report's detail figures: its market part reads the day's prices, which the refresh runs
# running beside it here add to (on a real day drift runs hours before the first refresh).
VOLATILE = {"signal_id", "bet_id", "report_id", "created_at", "updated_at", "settled_at", "mlflow_run_id"}
VOLATILE |= {"details_json"}
VOLATILE |= {"summary_json", "completed_at"}  # a replayed day's record: its timings and when it ended
TABLES = ("signals", "price_snapshots", "bets", "paper_decisions", "drift_reports", "backtest_days")
# Settings both set-ups share, given to the workers and to this process alike (the plugin forwards
# a worker's GIDDYUP_* settings into its containers): the small world's versions show no edge over
# the market, so by default the staking rule stands down; stake anyway so bets are compared too.
SHARED_SETTINGS = {"GIDDYUP_REQUIRE_EDGE_EVIDENCE": "false"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def table_rows(dsn: str, table: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        columns = [
            name
            for (name,) in conn.execute(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_schema = 'modeling' AND table_name = %s ORDER BY ordinal_position""",
                (table,),
            ).fetchall()
            if name not in VOLATILE
        ]
        # model_id is a serial key too: two runs register the backtest's versions in either order.
        # Compared as the model it names (name and version), which is the same in both.
        listed = ", ".join(
            "(SELECT m.name || ' ' || m.version FROM modeling.models m WHERE m.model_id = t.model_id)"
            if c == "model_id"
            else f't."{c}"'
            for c in columns
        )
        return conn.execute(f"SELECT {listed} FROM modeling.{table} t ORDER BY {listed}").fetchall()


@pytest.fixture(scope="module")
def start(database_factory, tmp_path_factory) -> Iterator[dict]:
    """The starting point both set-ups share: a dev-copy database with a simulated world and a
    production model (trained in a giddyup container) in an MLflow store in the artifacts volume."""
    artifacts = tmp_path_factory.mktemp("celery_artifacts")
    volume = f"giddyup-celery-artifacts-{os.getpid()}"
    host_folder_volume(volume, artifacts)
    dsn = database_factory.create("gu_celery_start")
    env = {
        **os.environ,
        "PG_DSN": dsn,
        "GIDDYUP_ARTIFACTS_DIR": str(artifacts),
        "MLFLOW_TRACKING_URI": f"sqlite:///{artifacts / 'mlflow.db'}",
    }
    for argv in (
        ["migrate", "--with-racing-reference"],
        ["sim", "--preset", "small", "--start", "2026-04-13", "--days", "61", "--today", DAY],
    ):
        done = run_giddyup(*argv, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
    code, out = run_container(
        IMAGE,
        ["train", "--date", DAY, "--promote", "auto"],
        environment={k: env[k] for k in ("PG_DSN", "GIDDYUP_ARTIFACTS_DIR", "MLFLOW_TRACKING_URI")},
        volumes={volume: {"bind": str(artifacts), "mode": "rw"}},
    )
    assert code == 0, out[-3000:]
    yield {"dsn": dsn, "artifacts": artifacts, "volume": volume, "mlflow": env["MLFLOW_TRACKING_URI"]}
    remove_volume(volume)


class Cluster:
    """The Airflow containers and how to reach them."""

    def __init__(self, api_port: int, env: dict[str, str]) -> None:
        self.api = f"http://127.0.0.1:{api_port}"
        self.env = env
        self.containers: dict[str, object] = {}
        self.token = ""

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {"error": error.read().decode()[-500:]}
        except (urllib.error.URLError, OSError):  # not up yet, or too busy to answer in time
            return 0, {}

    def logs(self) -> str:
        return "".join(c.logs().decode(errors="replace") for c in self.containers.values())


def wait_for(what: str, check, timeout: float, cluster: Cluster) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s; last logs:\n{cluster.logs()[-4000:]}")
        time.sleep(2)


@pytest.fixture(scope="module")
def cluster(start, database_factory) -> Iterator[Cluster]:
    from cryptography.fernet import Fernet

    password = new_password()  # travels in every URL below; the test server trusts local connections
    server = conninfo.conninfo_to_dict(database_factory.server_dsn)
    host, port = server.get("host", "127.0.0.1"), server.get("port", "5432")
    meta = conninfo.conninfo_to_dict(database_factory.create("gu_airflow_meta"))["dbname"]
    celery_db = conninfo.conninfo_to_dict(database_factory.copy(start["dsn"], "gu_celery"))["dbname"]
    queue = f"giddyup-ci-{uuid.uuid4().hex[:8]}"  # a queue of this run's own on the shared broker
    api_port = free_port()
    socket_path = docker_url().removeprefix("unix://")
    env = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres:{password}@{host}:{port}/{meta}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://postgres:{password}@{host}:{port}/{meta}",
        "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Madrid",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "false",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "false",  # only the runs triggered here, none by the clock
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "true",  # a private API on loopback, for the test
        "AIRFLOW_CONN_GIDDYUP_DB": f"postgresql://postgres:{password}@{host}:{port}/{celery_db}",
        "MLFLOW_TRACKING_URI": start["mlflow"],
        "GIDDYUP_TASK_RUNNER": "docker",
        "GIDDYUP_IMAGE": IMAGE,
        "GIDDYUP_DOCKER_URL": "unix:///var/run/docker.sock",
        "GIDDYUP_DOCKER_NETWORK": "host",
        "GIDDYUP_ARTIFACTS_VOLUME": start["volume"],
        "GIDDYUP_ARTIFACTS_DIR": str(start["artifacts"]),
        **SHARED_SETTINGS,
    }
    made = Cluster(api_port, env)
    made.password = password
    made.dsn = conninfo.make_conninfo(database_factory.server_dsn, dbname=celery_db)
    engine = client()

    def launch(name: str, command: list[str], **kwargs) -> None:
        made.containers[name] = engine.containers.run(
            AIRFLOW_IMAGE,
            command,
            name=f"giddyup-celery-{name}-{os.getpid()}",
            environment={**env, **kwargs.pop("environment", {})},
            network_mode="host",
            detach=True,
            **kwargs,
        )

    try:
        code, out = run_container(AIRFLOW_IMAGE, ["db", "migrate"], environment=env)
        assert code == 0, out[-3000:]
        launch("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(api_port)])
        launch("scheduler", ["scheduler"])
        launch("dag-processor", ["dag-processor"])
        for worker in WORKERS:
            launch(
                worker,
                ["celery", "worker", "--concurrency", "1"],
                hostname=worker,
                environment={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())},
                volumes={socket_path: {"bind": "/var/run/docker.sock", "mode": "rw"}},
                group_add=[str(os.stat(socket_path).st_gid)],
            )
        wait_for("the API server answers", lambda: made.request("GET", "/api/v2/version")[0] == 200, 240, made)
        status, body = made.request("GET", "/auth/token")
        assert status == 201, body
        made.token = body["access_token"]
        dag_ids = {dag_id for dag_id, _, _ in RUNS}
        wait_for(
            "the DAG processor parses the DAGs",
            lambda: all(made.request("GET", f"/api/v2/dags/{d}")[0] == 200 for d in dag_ids),
            240,
            made,
        )
        wait_for(
            "both workers are ready",
            lambda: all(b"ready." in made.containers[w].logs() for w in WORKERS),
            240,
            made,
        )
        yield made
    finally:
        made.final_logs = made.logs()
        for container in made.containers.values():
            container.remove(force=True)
        import redis

        redis.Redis.from_url(REDIS_URL).delete(queue, f"_kombu.binding.{queue}")


@pytest.fixture(scope="module")
def celery_runs(cluster) -> dict:
    """The runs, triggered together through the REST API and run to their end by the workers."""
    run_ids = []

    def trigger(dag_id: str, instant: dt.datetime, conf: dict) -> None:
        body = {"logical_date": instant.isoformat(), "conf": conf}
        status, answer = cluster.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)
        assert status == 200, answer
        run_ids.append((dag_id, answer["dag_run_id"]))

    def first_task_state() -> str | None:
        dag_id, run_id = run_ids[0]
        return cluster.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{FIRST_TASK}")[1].get(
            "state"
        )

    with ContainerClock() as clock:
        trigger(*RUNS[0])
        wait_for(
            f"the first run's {FIRST_TASK} task ends", lambda: first_task_state() in ("success", "failed"), 900, cluster
        )
        assert first_task_state() == "success"
        for run in RUNS[1:]:
            trigger(*run)

        def states() -> list[str]:
            return [cluster.request("GET", f"/api/v2/dags/{d}/dagRuns/{r}")[1].get("state") for d, r in run_ids]

        wait_for("every run ends", lambda: all(s in ("success", "failed") for s in states()), 1200, cluster)
    tasks = []
    for dag_id, run_id in run_ids:
        status, body = cluster.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        assert status == 200, body
        tasks += body["task_instances"]
    return {"states": states(), "tasks": tasks, "containers": len(clock.seconds)}


def test_every_run_succeeds_on_the_workers(cluster, celery_runs) -> None:
    assert celery_runs["states"] == ["success"] * len(RUNS), celery_runs["tasks"]
    tasks = celery_runs["tasks"]
    assert all(t["state"] == "success" for t in tasks)
    assert {t["hostname"] for t in tasks} == set(WORKERS)  # tasks landed on both workers
    # ...some at the same time (two tasks whose run intervals overlap ran on different workers),
    # and never two at once on one worker (each runs one task at a time).
    spans = [
        (t["hostname"], dt.datetime.fromisoformat(t["start_date"]), dt.datetime.fromisoformat(t["end_date"]))
        for t in tasks
    ]
    overlapping = [(a, b) for a in spans for b in spans if a is not b and a[1] < b[2] and b[1] < a[2]]
    assert overlapping, spans
    assert all(a[0] != b[0] for a, b in overlapping), overlapping
    # Every giddyup task ran in a container through the daemon, one container each (the backtest's
    # plan_chunks is a plain Python task on the worker: it only lists the chunks).
    giddyup_tasks = [t for t in tasks if t["operator"] == "GiddyUpDockerOperator"]
    assert len(giddyup_tasks) == len(tasks) - 1, [t["operator"] for t in tasks]
    assert celery_runs["containers"] == len(giddyup_tasks)
    # The backtest's chunks ran one at a time (max_active_tis_per_dagrun=1).
    [first, second] = sorted((t["start_date"], t["end_date"]) for t in tasks if t["task_id"] == "replay_chunk")
    assert first[1] <= second[0], (first, second)


def test_no_secret_in_the_cluster_logs(cluster, celery_runs) -> None:
    logs = cluster.logs()
    assert "celery@worker-a ready." in logs
    assert cluster.password not in logs


@pytest.fixture(scope="module")
def single_process(start, database_factory, celery_runs, airflow) -> str:
    """The same runs through dag.test() in this process (the docker runner) on a copy of the start."""
    dsn = database_factory.copy(start["dsn"], "gu_single")
    airflow_db()
    with pytest.MonkeyPatch.context() as patch:
        use_docker_runner(patch, start["artifacts"], start["volume"])
        patch.setenv("PG_DSN", dsn)
        patch.setenv("MLFLOW_TRACKING_URI", start["mlflow"])
        for name, value in SHARED_SETTINGS.items():
            patch.setenv(name, value)
        patch.delenv("AIRFLOW_CONN_GIDDYUP_DB", raising=False)
        dags = load_dags(patch, "docker")
        for dag_id, instant, conf in RUNS:
            with ContainerClock() as clock:  # one run at a time: each task's container in turn
                run = dags[dag_id].test(logical_date=instant, run_conf=conf or None)
            assert run.state == "success", dag_id
            # Names only where each task is one container (a mapped task's count is known only
            # at run time: the backtest's times come from test_dags_run instead).
            tasks = dags[dag_id].topological_sort()
            if all(type(task).__name__ == "GiddyUpDockerOperator" for task in tasks):
                clock.record([f"{dag_id}.{task.task_id}" for task in tasks])
    return dsn


@pytest.mark.parametrize("table", TABLES)
def test_rows_equal_a_single_process_run(cluster, celery_runs, single_process, table) -> None:
    distributed = table_rows(cluster.dsn, table)
    assert distributed == table_rows(single_process, table)
    if table in ("signals", "price_snapshots", "drift_reports"):
        assert distributed, f"modeling.{table} is empty"
