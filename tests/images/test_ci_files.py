"""The files the container build rests on, checked without a Docker engine (these run everywhere):
the Airflow image's constraints equal uv.lock, every FROM is overridable, and the CI-only compose
override replaces images and nothing else."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib

import pytest
import yaml

from tests.support.paths import REPO_ROOT

DOCKERFILES = {
    "giddyup": REPO_ROOT / "images" / "giddyup" / "Dockerfile",
    "airflow": REPO_ROOT / "images" / "airflow" / "Dockerfile",
}
CONSTRAINTS = REPO_ROOT / "images" / "airflow" / "constraints.txt"
OVERRIDE = REPO_ROOT / ".ci" / "compose.ci.yml"
EXPORT = ["export", "--frozen", "--only-group", "airflow", "--no-hashes", "--no-header", "--no-annotate"]
EXPORT += ["--no-emit-project"]


def arg_defaults(dockerfile) -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile.read_text(), re.M))


def test_constraints_pin_what_uv_lock_pins() -> None:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    locked: dict[str, set[str]] = {}
    for package in lock["package"]:
        locked.setdefault(package["name"], set()).add(package["version"])
    pins = re.findall(r"^([\w.-]+)==([^\s;]+)", CONSTRAINTS.read_text(), re.M)
    assert len(pins) > 100
    for name, version in pins:
        assert version in locked.get(name, set()), f"{name}=={version} is not in uv.lock"
    pinned = {name for name, _ in pins}
    assert {"apache-airflow", "apache-airflow-providers-celery", "celery", "redis", "psycopg2-binary"} <= pinned


def test_constraints_are_uv_export_of_the_airflow_group() -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        if os.environ.get("CI"):
            pytest.fail("uv is not on PATH")
        pytest.skip("uv is not on PATH (regenerate with: uv " + " ".join(EXPORT) + f" -o {CONSTRAINTS})")
    done = subprocess.run([uv, *EXPORT], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert CONSTRAINTS.read_text() == done.stdout, (
        "images/airflow/constraints.txt is out of date: uv " + " ".join(EXPORT) + f" -o {CONSTRAINTS}"
    )


@pytest.mark.parametrize("dockerfile", [*DOCKERFILES.values(), *(REPO_ROOT / ".ci" / "standins").glob("*/Dockerfile")])
def test_every_from_is_a_build_argument_and_nothing_is_pulled_for_the_syntax(dockerfile) -> None:
    text = dockerfile.read_text()
    assert not re.search(r"^#\s*syntax=", text, re.M | re.I)
    defaults = arg_defaults(dockerfile)
    for source in re.findall(r"^FROM (\S+)", text, re.M):
        match = re.fullmatch(r"\$\{(\w+)\}", source)
        assert match and match.group(1) in defaults, f"{dockerfile}: FROM {source}"


def test_upstream_bases_stay_the_defaults() -> None:
    assert arg_defaults(DOCKERFILES["giddyup"]) == {
        "PYTHON_BASE": "python:3.11-slim-bookworm",
        "UV_IMAGE": "ghcr.io/astral-sh/uv:0.13.9",
    }
    assert arg_defaults(DOCKERFILES["airflow"]) == {"AIRFLOW_BASE": "apache/airflow:3.3.2-python3.11"}


def test_the_ci_override_replaces_images_and_nothing_else() -> None:
    base = yaml.safe_load((REPO_ROOT / "docker-compose.airflow.yml").read_text())["services"]
    override = yaml.safe_load(OVERRIDE.read_text())
    assert set(override) == {"services"}
    header = OVERRIDE.read_text().split("services:")[0]
    for name, service in override["services"].items():
        assert name in base, name
        assert name in header, f"{name}: the replacement is not listed and justified in the header"
        if "build" in base[name]:  # one of our images: same Dockerfile, stand-in bases as build args
            assert set(service) == {"build"} and set(service["build"]) == {"args"}, name
            dockerfile = REPO_ROOT / base[name]["build"]["dockerfile"]
            defaults = arg_defaults(dockerfile)
            for arg, standin in service["build"]["args"].items():
                assert arg in defaults, f"{name}: {arg} is no build argument of {dockerfile}"
                assert standin.startswith("giddyup-ci/"), standin
                # the stand-in is for the same release as the upstream default
                assert standin.split(":")[-1].split("-")[0] in defaults[arg], (standin, defaults[arg])
        else:  # an upstream image no registry serves here: a local build of ours
            assert set(service) == {"image", "build"}, name
            assert service["image"].startswith("giddyup-ci/")
            assert (REPO_ROOT / service["build"] / "Dockerfile").is_file()
            assert "/" not in base[name]["image"].split(":")[0]  # Docker Hub official images only


def test_ci_runs_the_container_checks() -> None:
    run = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\s*\.ci/containers\b", run, re.M) or re.search(r'^\s*"?\$?\S*\.ci/containers"?', run, re.M)
    assert os.access(REPO_ROOT / ".ci" / "containers", os.X_OK)
