"""A racing day through the four DAGs: real dag.test() runs, each task the real `giddyup` command,
against a migrated dev-copy database holding a small simulated world. Each test runs twice, once
per task runner: `local` (a subprocess) and `docker` (the giddyup image through a real Docker
engine, tests marked `containers`: .ci/containers runs them, see tests/support/docker_engine.py).

The DAGs run in schedule order, as on a real day (2026-06-13, Madrid summer time):
nightly retrain at 02:30, morning scoring at 08:00, an intraday refresh at 13:25, then, after the
day's paper decisions and `giddyup results` (standing in for the results loader), the late
settlement run at 22:45. Each test asserts the rows its DAG wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import conninfo

from tests.support.airflow_env import SECRET_PASSWORD, airflow_db, expected_argv, load_dags
from tests.support.cli import run_giddyup

pytestmark = pytest.mark.slow

DAY = "2026-06-13"
UTC = dt.UTC
RUNS = {
    "giddyup_nightly_retrain": dt.datetime(2026, 6, 13, 0, 30, tzinfo=UTC),  # 02:30 CEST
    "giddyup_morning_scoring": dt.datetime(2026, 6, 13, 6, 0, tzinfo=UTC),  # 08:00 CEST
    "giddyup_intraday_refresh": dt.datetime(2026, 6, 13, 11, 25, tzinfo=UTC),  # 13:25 CEST
    "giddyup_settlement": dt.datetime(2026, 6, 13, 20, 45, tzinfo=UTC),  # 22:45 CEST
}


@pytest.fixture(scope="module", params=["local", pytest.param("docker", marks=pytest.mark.containers)])
def task_runner(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def world(database_factory, tmp_path_factory, task_runner) -> Iterator[dict]:
    """A dev-copy database with a simulated world and today's card, and the runner's settings."""
    artifacts = tmp_path_factory.mktemp("dag_artifacts")
    volume = f"giddyup-test-artifacts-{os.getpid()}"
    # A recognisable password (the test server trusts local connections, so it is not checked):
    # it must reach the commands and appear nowhere in Airflow.
    dsn = conninfo.make_conninfo(database_factory.create("gu_dags"), password=SECRET_PASSWORD)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PG_DSN", dsn)
        patch.setenv("GIDDYUP_ARTIFACTS_DIR", str(artifacts))
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{artifacts / 'mlflow.db'}")
        patch.setenv("GIDDYUP_TASK_RUNNER", "local")
        # The small world's versions show no edge over the market, so the rule would stand down and
        # settlement would have nothing to settle; stake anyway (containers get it from the worker).
        patch.setenv("GIDDYUP_REQUIRE_EDGE_EVIDENCE", "false")
        if task_runner == "docker":  # tasks in the giddyup image, on the host's network
            from tests.support.docker_engine import use_docker_runner

            use_docker_runner(patch, artifacts, volume)
        env = dict(os.environ)
        for argv in (
            ["migrate", "--with-racing-reference"],
            ["sim", "--preset", "small", "--start", "2026-04-13", "--days", "61", "--today", DAY],
        ):
            done = run_giddyup(*argv, env=env)
            assert done.returncode == 0, done.stderr[-2000:]
        yield {"dsn": dsn, "artifacts": artifacts, "env": env, "runner": task_runner}
    if task_runner == "docker":
        from tests.support.docker_engine import remove_volume

        remove_volume(volume)


@pytest.fixture(scope="module")
def dags(airflow, world) -> dict:
    airflow_db()
    with pytest.MonkeyPatch.context() as patch:
        loaded = load_dags(patch, world["runner"])
    for dag in loaded.values():
        for task in dag.tasks:
            task.retries = 0  # a failing command fails the test now, not after the retry delays
    return loaded


def run_dag(dags: dict, dag_id: str, capfd) -> dict[str, list[str]]:
    """dag.test() one DAG for its logical instant; returns each task's rendered argv."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    capfd.readouterr()
    in_docker = type(dags[dag_id].tasks[0]).__name__ == "GiddyUpDockerOperator"
    if in_docker:  # the daemon's create-to-exit time of each task's container, for .ci/containers
        from tests.support.docker_engine import ContainerClock

        with ContainerClock() as clock:
            run = dags[dag_id].test(logical_date=RUNS[dag_id])
    else:
        run = dags[dag_id].test(logical_date=RUNS[dag_id])
    logs = "".join(capfd.readouterr())  # dag.test() prints the task logs, giddyup's output included
    with create_session() as session:
        tis = sorted(run.get_task_instances(session=session), key=lambda ti: ti.start_date)
        states = {ti.task_id: ti.state for ti in tis}
        if in_docker:
            # Only giddyup tasks start containers (not plan_chunks); record() names nothing when the
            # counts differ, rather than mislabel.
            clock.record([f"{dag_id}.{ti.task_id}" for ti in tis if ti.operator == "GiddyUpDockerOperator"])
        rendered = session.query(RenderedTaskInstanceFields).filter_by(dag_id=dag_id, run_id=run.run_id).all()
        argv = {row.task_id: row.rendered_fields["command"] for row in rendered}
    assert run.state == "success", (states, logs[-4000:])
    assert ("Starting docker container from image" if in_docker else "Running giddyup") in logs
    assert SECRET_PASSWORD not in logs
    world_logs[dag_id] = logs
    return argv


world_logs: dict[str, str] = {}  # each DAG's task logs, for what a test wants to read in them


def query(world: dict, sql: str, *params) -> list[tuple]:
    with psycopg.connect(world["dsn"]) as conn:
        return conn.execute(sql, params).fetchall()


def test_nightly_retrain_builds_features_and_registers_a_production_model(dags, world, capfd) -> None:
    argv = run_dag(dags, "giddyup_nightly_retrain", capfd)
    assert argv == expected_argv("giddyup_nightly_retrain", RUNS["giddyup_nightly_retrain"])
    assert (world["artifacts"] / "features" / DAY / "features.parquet").is_file()
    # The hand-off is real: train read the files the features task wrote (and built nothing).
    assert f"features from {world['artifacts'] / 'features' / DAY}" in world_logs["giddyup_nightly_retrain"]
    models = query(world, "SELECT version, stage FROM modeling.models WHERE name = 'hrd_win_prob'")
    assert len(models) == 1 and models[0][1] == "production"  # the first version passes the gate


def test_morning_scoring_publishes_signals_and_a_drift_report(dags, world, capfd) -> None:
    argv = run_dag(dags, "giddyup_morning_scoring", capfd)
    assert argv == expected_argv("giddyup_morning_scoring", RUNS["giddyup_morning_scoring"])
    [(rows, races)] = query(
        world,
        """SELECT count(*), count(DISTINCT s.race_id) FROM modeling.signals s
           JOIN racing.races r USING (race_id) WHERE s.as_of = %s AND r.race_date = %s""",
        RUNS["giddyup_morning_scoring"],
        dt.date.fromisoformat(DAY),
    )
    [(day_races,)] = query(world, "SELECT count(*) FROM racing.races WHERE race_date = %s", dt.date.fromisoformat(DAY))
    assert rows > 0 and races >= 0.8 * day_races
    reports = query(world, "SELECT status, html_path FROM modeling.drift_reports WHERE report_date = %s", DAY)
    assert len(reports) == 1 and reports[0][0] in ("ok", "warn")
    assert Path(reports[0][1]).is_file() and Path(reports[0][1]).is_relative_to(world["artifacts"])


def test_intraday_refresh_snapshots_prices_and_reprices_due_races(dags, world, capfd) -> None:
    at = RUNS["giddyup_intraday_refresh"]
    argv = run_dag(dags, "giddyup_intraday_refresh", capfd)
    assert argv == expected_argv("giddyup_intraday_refresh", at)
    counts_sql = """SELECT (SELECT count(*) FROM modeling.signals WHERE as_of = %s),
                           (SELECT count(*) FROM modeling.price_snapshots),
                           (SELECT count(*) FROM modeling.bets WHERE source = 'paper')"""
    [(signals, snapshots, bets)] = query(world, counts_sql, at)
    assert signals > 0 and snapshots > 0
    run_dag(dags, "giddyup_intraday_refresh", capfd)  # a manual re-run of the same instant changes nothing
    assert query(world, counts_sql, at) == [(signals, snapshots, bets)]


def test_settlement_settles_the_paper_bets_and_writes_the_daily_report(dags, world, capfd) -> None:
    # The rest of the racing day: the paper step at each race's decision point (5 minutes before
    # the off, as the intraday runs of those minutes would), then the results loader's part.
    offs = query(world, "SELECT DISTINCT off_time FROM racing.races WHERE race_date = %s", dt.date.fromisoformat(DAY))
    for (off_time,) in offs:
        off = dt.datetime.combine(dt.date.fromisoformat(DAY), off_time, tzinfo=ZoneInfo("Europe/London"))
        decision = (off - dt.timedelta(minutes=5)).astimezone(UTC).isoformat()
        done = run_giddyup("bets", "paper", "--at", decision, env=world["env"])
        assert done.returncode == 0, done.stderr[-2000:]
    done = run_giddyup("results", "--date", DAY, env=world["env"])
    assert done.returncode == 0, done.stderr[-2000:]
    argv = run_dag(dags, "giddyup_settlement", capfd)
    assert argv == expected_argv("giddyup_settlement", RUNS["giddyup_settlement"])
    [(bets, settled, with_clv)] = query(
        world, "SELECT count(*), count(pnl), count(clv_close_odds) FROM modeling.bets WHERE source = 'paper'"
    )
    assert bets > 0 and settled == bets and with_clv > 0  # a non-runner's bet is void, without CLV
    report = world["artifacts"] / "reports" / "daily" / DAY
    assert (report / "performance.html").is_file() and (report / "performance.json").is_file()


def test_the_day_left_no_secret_in_airflow(dags, world) -> None:
    """PG_DSN reached the commands, never Airflow's rendered fields, XCom or serialized DAGs."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        stored = [str(row.rendered_fields) for row in session.query(RenderedTaskInstanceFields).all()]
        stored += [str(row.value) for row in session.query(XComModel).all()]
        stored += [str(row.data) for row in session.query(SerializedDagModel).all()]
    assert len(stored) > 4 and not any(SECRET_PASSWORD in text for text in stored)


def test_backtest_replays_its_chunks_as_mapped_tasks_then_reports_the_window(dags, world, capfd) -> None:
    """The hand-triggered backtest on the same world: two one-day chunks (each retraining on its
    first day, in its own model name and store), then the report of both days."""
    capfd.readouterr()
    run = dags["giddyup_backtest"].test(
        run_conf={"date_from": "2026-06-11", "date_to": "2026-06-12", "retrain_every": 1}
    )
    logs = "".join(capfd.readouterr())
    assert run.state == "success", logs[-3000:]
    days = query(world, "SELECT race_date, model_name FROM modeling.backtest_days ORDER BY race_date")
    assert [(str(d), name) for d, name in days] == [
        ("2026-06-11", "hrd_win_prob-backtest-2026-06-11"),
        ("2026-06-12", "hrd_win_prob-backtest-2026-06-12"),
    ]
    [(bets, decided)] = query(
        world,
        """SELECT (SELECT count(*) FROM modeling.bets WHERE source = 'backtest'),
                  (SELECT count(*) FROM modeling.paper_decisions WHERE source = 'backtest')""",
    )
    assert decided > 0
    report = json.loads((world["artifacts"] / "backtests" / "2026-06-11_2026-06-12" / "backtest.json").read_text())
    assert report["days"] == 2 and report["bets"] == bets and report["races_decided"] == decided
    assert SECRET_PASSWORD not in logs
