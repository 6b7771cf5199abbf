"""The one factory that builds every GiddyUp task: a `giddyup` command in the shared image.

`giddyup_task(task_id, command)` returns a DockerOperator running the task image (the default), or,
with GIDDYUP_TASK_RUNNER=local, a subprocess running the same argv with the `giddyup` installed
next to Airflow (machines without Docker, and the DAG tests). Both render the same templated
command, so what a task ran can always be re-run by hand. `giddyup_dag(...)` is the header every
GiddyUp DAG shares (owner, start date, no catch-up, one run at a time, retries, the macros).

Commands take only the run's date or instant (RUN_DATE, RUN_INSTANT): their files go to the
default paths under the artifacts folder (giddyup.artifacts, the one module that names them; the
Airflow image has GiddyUp's package without its dependencies for it).

Settings are read from the environment when a DAG file is parsed (nothing here touches the
database at parse time). Secrets (PG_DSN, MLFLOW_TRACKING_URI) are resolved only when a task runs,
from the Airflow connections `giddyup_db` / `giddyup_mlflow` or else the worker's environment, and
reach the container through `private_environment`: never a templated or serialized field.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import pendulum
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG, BaseHook, BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException
from airflow.sdk.log import mask_secret
from docker.types import Mount

from giddyup import schedules as schedules  # re-exported: the DAG files take their crons from here
from giddyup.artifacts import ARTIFACTS_DIR_ENV, container_artifacts_dir
from giddyup.schedules import SCHEDULE_TZ

_INSTANT = "giddyup_run_instant(logical_date | default(none), dag_run | default(none))"
# The Madrid calendar date of the run's instant (the day a daily DAG is for).
RUN_DATE = "{{ " + _INSTANT + ".in_timezone('Europe/Madrid').strftime('%Y-%m-%d') }}"
# The run's instant in UTC (ISO 8601), for commands keyed by an instant.
RUN_INSTANT = "{{ " + _INSTANT + ".isoformat() }}"


def run_instant(logical_date, dag_run):
    """The instant a run is for, in UTC: its logical date, or, for a run triggered without one
    (Airflow 3 allows that from the UI and the API), the moment it was triggered for (run_after)."""
    instant = logical_date if logical_date is not None else getattr(dag_run, "run_after", None)
    if instant is None:
        raise AirflowException("this run has neither a logical date nor a run_after instant to work on")
    return pendulum.instance(instant).in_timezone("UTC")


# Every GiddyUp DAG passes these as `user_defined_macros`; RUN_DATE and RUN_INSTANT use them.
TEMPLATE_MACROS = {"giddyup_run_instant": run_instant}

DB_CONN_ID = "giddyup_db"
MLFLOW_CONN_ID = "giddyup_mlflow"


def task_runner() -> str:
    runner = os.environ.get("GIDDYUP_TASK_RUNNER", "docker").strip().lower() or "docker"
    if runner not in ("docker", "local"):
        raise ValueError(f"GIDDYUP_TASK_RUNNER must be docker or local, not {runner!r}")
    return runner


def giddyup_image() -> str:
    return os.environ.get("GIDDYUP_IMAGE", "giddyup:0.1.0")


def postgres_dsn(conn) -> str:
    auth = quote(conn.login or "", safe="")
    if conn.password:
        auth += ":" + quote(conn.password, safe="")
    host = f"{conn.host or 'localhost'}:{conn.port or 5432}"
    # Extras are libpq parameters (sslmode, sslrootcert, ...): they go in the query string.
    options = f"?{urlencode(conn.extra_dejson)}" if conn.extra_dejson else ""
    return f"postgresql://{auth}@{host}/{quote(conn.schema or '', safe='')}{options}"


def _http_uri(conn) -> str:
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema}" if conn.schema else ""
    return f"{'https' if conn.conn_type == 'https' else 'http'}://{conn.host}{port}{path}"


def _from_connection(conn_id: str, build, get_connection=None) -> str | None:
    from airflow.exceptions import AirflowNotFoundException as CoreNotFound

    try:
        return build((get_connection or BaseHook.get_connection)(conn_id))
    except (AirflowNotFoundException, CoreNotFound):
        return None


def database_dsn(get_connection=None) -> str | None:
    """The racing/modeling database: the Airflow connection giddyup_db first, else PG_DSN in the
    environment; the one order both plugins use. `get_connection` is how to look a connection up
    (a task's BaseHook by default; the API server passes its own)."""
    return _from_connection(DB_CONN_ID, postgres_dsn, get_connection) or os.environ.get("PG_DSN") or None


def mlflow_uri() -> str | None:
    """MLflow: the Airflow connection giddyup_mlflow first, else MLFLOW_TRACKING_URI."""
    return _from_connection(MLFLOW_CONN_ID, _http_uri) or os.environ.get("MLFLOW_TRACKING_URI") or None


def runtime_secrets() -> dict[str, str]:
    """PG_DSN and MLFLOW_TRACKING_URI for the command (database_dsn(), mlflow_uri()).

    Called only while a task runs; every value is registered with Airflow's log masker."""
    found = {"PG_DSN": database_dsn(), "MLFLOW_TRACKING_URI": mlflow_uri()}
    secrets = {name: value for name, value in found.items() if value}
    for value in secrets.values():
        mask_secret(value)
    return secrets


class GiddyUpDockerOperator(DockerOperator):
    """DockerOperator whose secrets are looked up when the task runs, not when the DAG is parsed."""

    def execute(self, context):
        # `_private_environment` is what DockerOperator keeps from its `private_environment`
        # argument: passed to the container, never rendered, logged or serialized.
        self._private_environment = {**self._private_environment, **runtime_secrets()}
        return super().execute(context)


def local_giddyup() -> str:
    """The `giddyup` program installed next to Airflow's Python (or GIDDYUP_LOCAL_BIN)."""
    configured = os.environ.get("GIDDYUP_LOCAL_BIN")
    if configured:
        return configured
    beside_python = Path(sys.executable).with_name("giddyup")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("giddyup")
    if found is None:
        raise AirflowException("GIDDYUP_TASK_RUNNER=local but no `giddyup` program is installed here")
    return found


class GiddyUpLocalOperator(BaseOperator):
    """Runs `giddyup <command>` as a subprocess: the argv the container's ENTRYPOINT would get."""

    template_fields = ("command",)
    ui_color = "#e8f4e8"

    def __init__(self, *, command: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.command = command

    def execute(self, context) -> None:
        argv = [local_giddyup(), *self.command]
        env = {**os.environ, ARTIFACTS_DIR_ENV: container_artifacts_dir(), **runtime_secrets()}
        self.log.info("Running giddyup %s", " ".join(self.command))
        with subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.log.info("%s", line.rstrip())
            code = proc.wait()
        if code != 0:
            raise AirflowException(f"giddyup {self.command[0]} exited with code {code}")


# The plugin's own settings. Every other GIDDYUP_* setting of the worker (staking rules, cadence)
# reaches the command in the container, as it reaches a local subprocess: a task prices by the same
# rules wherever it runs. Anything secret-looking stays out (secrets come from connections only).
PLUGIN_SETTINGS = frozenset(
    {
        "GIDDYUP_TASK_RUNNER",
        "GIDDYUP_IMAGE",
        "GIDDYUP_DOCKER_URL",
        "GIDDYUP_DOCKER_NETWORK",
        "GIDDYUP_ARTIFACTS_VOLUME",
        "GIDDYUP_LOCAL_BIN",
        ARTIFACTS_DIR_ENV,
    }
)
_SECRET_LOOKING = ("DSN", "URI", "URL", "PASSWORD", "SECRET", "TOKEN", "KEY")


def forwarded_settings() -> dict[str, str]:
    """The worker's GIDDYUP_* settings a container gets (not the plugin's, nothing secret-looking)."""
    return {
        name: value
        for name, value in sorted(os.environ.items())
        if name.startswith("GIDDYUP_")
        and name not in PLUGIN_SETTINGS
        and not any(word in name for word in _SECRET_LOOKING)
    }


def _operator_settings() -> tuple[type[BaseOperator], dict]:
    """The operator class of the configured runner and the settings every task of it shares."""
    if task_runner() == "local":
        return GiddyUpLocalOperator, {}
    volume = os.environ.get("GIDDYUP_ARTIFACTS_VOLUME", "giddyup-artifacts")
    return GiddyUpDockerOperator, {
        "image": giddyup_image(),
        "docker_url": os.environ.get("GIDDYUP_DOCKER_URL", "unix://var/run/docker.sock"),
        "network_mode": os.environ.get("GIDDYUP_DOCKER_NETWORK") or None,
        "auto_remove": "success",
        "mount_tmp_dir": False,
        "mounts": [Mount(target=container_artifacts_dir(), source=volume, type="volume")],
        # Templated and serialized: nothing secret here.
        "environment": {**forwarded_settings(), ARTIFACTS_DIR_ENV: container_artifacts_dir()},
    }


def giddyup_task(task_id: str, command: list[str], **overrides) -> BaseOperator:
    """One task running `giddyup *command` (items may be Jinja templates such as RUN_DATE)."""
    if not command or any(not isinstance(part, str) for part in command):
        raise ValueError("command must be a non-empty list of strings (the argv after `giddyup`)")
    operator, shared = _operator_settings()
    return operator(task_id=task_id, command=list(command), do_xcom_push=False, **shared, **overrides)


def giddyup_mapped_task(task_id: str, commands, **overrides):
    """One task per argv in `commands` (an XCom list of argv lists, made by an upstream task):
    dynamic task mapping, each mapped instance a `giddyup` command like any other task."""
    operator, shared = _operator_settings()
    return operator.partial(task_id=task_id, do_xcom_push=False, **shared, **overrides).expand(command=commands)


OWNER = "giddyup-modeling"
START_DATE = pendulum.datetime(2026, 1, 1, tz=SCHEDULE_TZ)


def giddyup_dag(
    dag_id: str,
    *,
    schedule,
    doc_md: str | None,
    tags: list[str],
    dagrun_timeout: timedelta,
    retry_delay: timedelta,
    execution_timeout: timedelta,
    retries: int = 2,
    max_active_runs: int = 1,
    **overrides,
) -> DAG:
    """The header every GiddyUp DAG shares: schedules in Madrid from START_DATE, no catch-up, one
    run at a time (every DAG writes shared tables), retries, the owner and the `giddyup` tag, the
    macros RUN_DATE and RUN_INSTANT use, and the module docstring as the DAG's doc."""
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=max_active_runs,
        dagrun_timeout=dagrun_timeout,
        default_args={
            "owner": OWNER,
            "retries": retries,
            "retry_delay": retry_delay,
            "execution_timeout": execution_timeout,
        },
        tags=["giddyup", *tags],
        doc_md=doc_md,
        user_defined_macros=TEMPLATE_MACROS,
        **overrides,
    )
