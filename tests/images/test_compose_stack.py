"""docker-compose.airflow.yml brought up for real (.ci/containers): every service healthy, a demo
world in its database, `giddyup_morning_scoring` triggered through the API server's REST API and
run by the Celery workers in giddyup containers, its signals and drift report in the database, the
drift page served by the API server, then the whole stack torn down.

The compose binary is Debian's docker-compose (v1); .ci/compose.ci.yml replaces only the images
this machine cannot pull by local builds (that file lists each one and why). Secrets are made for
this run and must not show up in the services' logs.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.docker_engine import client, docker_url, new_password
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.containers, pytest.mark.slow]

COMPOSE_FILE = REPO_ROOT / "docker-compose.airflow.yml"
PROJECT = "giddyup"
API = "http://127.0.0.1:8080"
DAY = "2026-06-13"
LOGICAL = dt.datetime(2026, 6, 13, 6, 0, tzinfo=dt.UTC)  # 08:00 in Madrid (summer time)
DAG_ID = "giddyup_morning_scoring"
WORKERS = 2
ONE_SHOT = {"giddyup-migrate", "airflow-init"}


def compose_env_file(folder: Path) -> tuple[Path, list[str]]:
    """.env.example with every secret filled in for this run; returns the file and the secrets."""
    from cryptography.fernet import Fernet

    values = {
        "AIRFLOW_DB_PASSWORD": new_password(),
        "GIDDYUP_DB_PASSWORD": new_password(),
        "AIRFLOW_FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW_API_SECRET_KEY": secrets.token_hex(32),
    }
    socket = docker_url().removeprefix("unix://")
    text = (REPO_ROOT / ".env.example").read_text()
    for name, value in values.items():
        text = re.sub(rf"^{name}=$", f"{name}={value}", text, flags=re.M)
    text = re.sub(r"^DOCKER_SOCKET=.*$", f"DOCKER_SOCKET={socket}", text, flags=re.M)
    text = re.sub(r"^DOCKER_GID=.*$", f"DOCKER_GID={os.stat(socket).st_gid}", text, flags=re.M)
    path = folder / "compose.env"
    path.write_text(text)
    path.chmod(0o600)
    return path, list(values.values())


class Stack:
    def __init__(self, env_file: Path, override: str) -> None:
        self.env_file = env_file
        self.base = ["docker-compose", "--project-directory", str(REPO_ROOT), "--env-file", str(env_file)]
        self.base += ["-p", PROJECT, "-f", str(COMPOSE_FILE), "-f", override]
        self.environ = {**os.environ, "DOCKER_HOST": docker_url()}
        self.settings = dict(
            line.split("=", 1) for line in env_file.read_text().splitlines() if re.match(r"^\w+=", line)
        )

    def __call__(self, *args: str, timeout: float = 900, check: bool = True) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, env=self.environ, timeout=timeout)
        if check:
            assert done.returncode == 0, f"docker-compose {' '.join(args)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        return done.stdout

    def containers(self) -> list:
        return client().containers.list(all=True, filters={"label": f"com.docker.compose.project={PROJECT}"})


def wait_until_healthy(stack: Stack, timeout: float = 600) -> dict[str, str]:
    """Every long-running service healthy and every one-shot service exited 0; returns each
    container's state (health status or exit code)."""
    deadline = time.monotonic() + timeout
    while True:
        states = {}
        for container in stack.containers():
            service = container.labels["com.docker.compose.service"]
            number = container.labels.get("com.docker.compose.container-number", "1")
            state = container.attrs["State"]
            if service in ONE_SHOT:
                states[f"{service}-{number}"] = (
                    f"exit {state['ExitCode']}" if state["Status"] == "exited" else "running"
                )
            else:
                states[f"{service}-{number}"] = state.get("Health", {}).get("Status", state["Status"])
        done = all(value in ("healthy", "exit 0") for value in states.values())
        if done or time.monotonic() > deadline:
            return states
        time.sleep(5)


def request(method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(API + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    override = os.environ.get("GIDDYUP_TEST_COMPOSE_OVERRIDE", str(REPO_ROOT / ".ci" / "compose.ci.yml"))
    env_file, made = compose_env_file(tmp_path_factory.mktemp("compose"))
    stack = Stack(env_file, override)
    stack.secrets = made
    stack("down", "--volumes", "--remove-orphans", check=False)  # a stack left by an interrupted run
    try:
        stack("up", "--detach", "--no-build", "--scale", f"airflow-worker={WORKERS}")
        stack.states = wait_until_healthy(stack)
        yield stack
    finally:
        stack("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False)


def test_every_service_is_healthy(stack) -> None:
    states = stack.states
    expected = {
        "airflow-db-1",
        "giddyup-db-1",
        "redis-1",
        "mlflow-1",
        "giddyup-migrate-1",
        "airflow-init-1",
        "airflow-apiserver-1",
        "airflow-scheduler-1",
        "airflow-dag-processor-1",
        "airflow-triggerer-1",
        *(f"airflow-worker-{n}" for n in range(1, WORKERS + 1)),
    }
    assert set(states) == expected
    assert all(value in ("healthy", "exit 0") for value in states.values()), states


@pytest.fixture(scope="module")
def token(stack) -> str:
    passwords = json.loads(stack("exec", "-T", "airflow-apiserver", "cat", "/opt/airflow/auth/passwords.json"))
    status, body = request("POST", "/auth/token", body={"username": "admin", "password": passwords["admin"]})
    assert status == 201, body
    return json.loads(body)["access_token"]


@pytest.fixture(scope="module")
def scored_day(stack, token) -> dict:
    """A demo world and a production model in the stack's database and MLflow server (by hand, as the
    README shows), then the morning-scoring run triggered through the REST API, to its end."""
    for argv in (
        ["migrate", "--with-racing-reference"],
        ["sim", "--preset", "small", "--start", "2026-04-13", "--days", "61", "--today", DAY],
        ["train", "--date", DAY, "--promote", "auto"],
    ):
        stack("run", "--rm", "--no-deps", "giddyup", *argv)
    # Triggered while the DAG is still paused, and due at its logical instant: unpausing also makes
    # the scheduler create today's run (catchup=False still runs the latest interval), which queues
    # behind this one (max_active_runs=1, queued runs start in run_after order).
    when = LOGICAL.isoformat()
    status, body = request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", token, {"logical_date": when, "run_after": when})
    assert status == 200, body
    run_id = json.loads(body)["dag_run_id"]
    status, body = request("PATCH", f"/api/v2/dags/{DAG_ID}", token, {"is_paused": False})
    assert status == 200, body
    deadline = time.monotonic() + 900
    while True:
        status, body = request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", token)
        state = json.loads(body)["state"]
        if state in ("success", "failed") or time.monotonic() > deadline:
            break
        time.sleep(5)
    status, body = request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", token)
    tasks = json.loads(body)["task_instances"]
    return {"run_id": run_id, "state": state, "tasks": tasks}


def query(stack: Stack, sql: str, *params) -> list[tuple]:
    password = stack.settings["GIDDYUP_DB_PASSWORD"]
    dsn = f"postgresql://giddyup:{password}@127.0.0.1:5433/giddyup"
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def test_morning_scoring_through_the_rest_api_publishes_signals(stack, scored_day) -> None:
    assert scored_day["state"] == "success", scored_day["tasks"]
    tasks = {t["task_id"]: t for t in scored_day["tasks"]}
    assert set(tasks) == {"score", "drift"} and all(t["state"] == "success" for t in tasks.values())
    workers = {c.attrs["Config"]["Hostname"] for c in stack.containers() if "worker" in c.name}
    assert {t["hostname"] for t in tasks.values()} <= workers  # run by the Celery workers
    [(rows, races)] = query(
        stack,
        """SELECT count(*), count(DISTINCT s.race_id) FROM modeling.signals s
           JOIN racing.races r USING (race_id) WHERE s.as_of = %s AND r.race_date = %s""",
        LOGICAL,
        dt.date.fromisoformat(DAY),
    )
    [(day_races,)] = query(stack, "SELECT count(*) FROM racing.races WHERE race_date = %s", dt.date.fromisoformat(DAY))
    assert rows > 0 and races >= 0.8 * day_races
    reports = query(stack, "SELECT status, html_path FROM modeling.drift_reports WHERE report_date = %s", DAY)
    assert len(reports) == 1 and reports[0][0] in ("ok", "warn")
    assert reports[0][1].startswith("/data/artifacts/drift/")  # in the shared artifacts volume


def test_the_drift_page_lists_the_report_and_opens_it(stack, scored_day, token) -> None:
    [(report_id, status)] = query(
        stack, "SELECT report_id, status FROM modeling.drift_reports WHERE report_date = %s", DAY
    )
    code, page = request("GET", "/giddyup/drift")
    assert code == 401  # only for users logged in to Airflow
    code, page = request("GET", "/giddyup/drift", token)
    assert code == 200, page
    assert DAY in page and f"status-{status}" in page and f'href="drift/{report_id}/html"' in page
    code, html = 0, ""
    for _attempt in range(3):  # a 9 MB file through a busy API server: a cut transfer is retried
        try:
            code, html = request("GET", f"/giddyup/drift/{report_id}/html", token)
            break
        except http.client.IncompleteRead:
            time.sleep(5)
    assert code == 200 and "evidently" in html.lower()


def test_no_secret_in_the_services_logs(stack, scored_day) -> None:
    logs = stack("logs", "--no-color", check=False)
    assert "Running" in logs or "airflow" in logs  # the logs were read
    for value in stack.secrets:
        assert value not in logs
