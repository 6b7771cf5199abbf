"""A real Docker engine for the container tests (issue 11): the daemon and images that
.ci/containers starts and builds, and what the tests need to run giddyup's tasks through them.

Container tests carry the `containers` marker. They run when GIDDYUP_TEST_DOCKER_URL names the
daemon (.ci/containers sets it, with the image tags below) and are skipped, with that reason,
otherwise (tests/conftest.py). Nothing here fakes the engine: every call reaches dockerd.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import statistics
import time
from pathlib import Path

import pytest

DOCKER_URL_ENV = "GIDDYUP_TEST_DOCKER_URL"
SKIP_REASON = f"needs a Docker engine and the built images: .ci/containers runs these ({DOCKER_URL_ENV} is not set)"
IMAGE = os.environ.get("GIDDYUP_TEST_IMAGE", "giddyup:0.1.0")
AIRFLOW_IMAGE = os.environ.get("GIDDYUP_TEST_AIRFLOW_IMAGE", "giddyup-airflow:3.3.2")
TASK_UID = 10001  # the giddyup image's user (images/giddyup/Dockerfile)
TIMINGS_ENV = "GIDDYUP_CONTAINER_TIMINGS"  # a JSON-lines file .ci/containers summarises


def docker_url() -> str:
    url = os.environ.get(DOCKER_URL_ENV, "").strip()
    if not url:
        pytest.fail(f"{DOCKER_URL_ENV} is not set: run the container tests through .ci/containers")
    return url


def client():
    """A Docker SDK client of the test daemon (the same library DockerOperator uses)."""
    import docker

    return docker.DockerClient(base_url=docker_url(), version="auto", timeout=900)


def new_password() -> str:
    """A password made for this run only (URL-safe, recognisable in a leak check)."""
    return "gu" + secrets.token_hex(12)


def run_container(
    image: str,
    command: list[str] | None = None,
    *,
    environment: dict[str, str] | None = None,
    entrypoint: list[str] | str | None = None,
    network_mode: str = "host",
    timeout: float = 600,
    **kwargs,
) -> tuple[int, str]:
    """Run a container to its end; returns its exit code and output (stdout and stderr). The
    container is removed afterwards whatever happened."""
    engine = client()
    container = engine.containers.run(
        image,
        command,
        environment=environment or {},
        entrypoint=entrypoint,
        network_mode=network_mode,
        detach=True,
        **kwargs,
    )
    try:
        code = container.wait(timeout=timeout)["StatusCode"]
        return code, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def host_folder_volume(name: str, folder: Path, uid: int = TASK_UID):
    """A named volume that is `folder` on the host (a bind through the local driver), writable by
    the task image's user. Task containers mount it at the same path, so a file a task writes is at
    the path the database row names, on the host as in the container."""
    import docker

    os.chown(folder, uid, uid)
    folder.chmod(0o775)
    engine = client()
    options = {"type": "none", "o": "bind", "device": str(folder)}
    with contextlib.suppress(docker.errors.NotFound):
        volume = engine.volumes.get(name)
        if volume.attrs.get("Options") == options:
            return volume
        volume.remove(force=True)
    return engine.volumes.create(name, driver="local", driver_opts=options)


def use_docker_runner(patch: pytest.MonkeyPatch, artifacts: Path, volume: str) -> None:
    """Point the task factory (plugins/giddyup_tasks.py) at the test daemon: the giddyup image, the
    host's network (PostgreSQL at 127.0.0.1), and `artifacts` mounted at its own path."""
    host_folder_volume(volume, artifacts)
    patch.setenv("GIDDYUP_TASK_RUNNER", "docker")
    patch.setenv("GIDDYUP_IMAGE", IMAGE)
    patch.setenv("GIDDYUP_DOCKER_URL", docker_url())
    patch.setenv("GIDDYUP_DOCKER_NETWORK", "host")
    patch.setenv("GIDDYUP_ARTIFACTS_VOLUME", volume)
    patch.setenv("GIDDYUP_ARTIFACTS_DIR", str(artifacts))


def remove_volume(name: str) -> None:
    import docker

    with contextlib.suppress(docker.errors.NotFound):
        client().volumes.get(name).remove(force=True)


class ContainerClock:
    """Create-to-exit wall time of every container the daemon ran of an image while the block ran,
    from the daemon's own events (container `create` and `die`)."""

    def __init__(self, image: str = IMAGE) -> None:
        self.image = image
        self.seconds: list[float] = []

    def __enter__(self) -> ContainerClock:
        self.since = time.time() - 1
        return self

    def __exit__(self, *_exc) -> None:
        created: dict[str, int] = {}
        finished: list[tuple[int, float]] = []
        engine = client()
        events = engine.api.events(
            since=int(self.since),
            until=int(time.time()) + 1,
            filters={"type": "container", "event": ["create", "die"], "image": self.image},
            decode=True,
        )
        for event in events:
            if event["status"] == "create":
                created[event["id"]] = event["timeNano"]
            elif event["status"] == "die" and event["id"] in created:
                start = created.pop(event["id"])
                finished.append((start, (event["timeNano"] - start) / 1e9))
        self.seconds = [seconds for _start, seconds in sorted(finished)]  # in the order they were created

    def record(self, tasks: list[str]) -> None:
        """Append the times, one task name per container in creation order, to the file
        .ci/containers reports from (when it set one)."""
        path = os.environ.get(TIMINGS_ENV)
        if path and len(tasks) == len(self.seconds):
            with open(path, "a") as out:
                for task, value in zip(tasks, self.seconds, strict=True):
                    out.write(json.dumps({"task": task, "seconds": round(value, 3)}) + "\n")

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)
