"""`giddyup demo`: the whole day end to end on a real PostgreSQL, MLflow and Evidently.

The day is the spring clock change (2026-03-29): off times, the 08:00 Madrid scoring instant and
the cadence grid all cross the zone change the same morning.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import psycopg
import pytest
from rich.console import Console

from giddyup.config import Settings
from giddyup.demo import checks
from giddyup.demo.database import is_previous_demo, prepare_demo_database
from giddyup.demo.run import run_demo
from tests.support.cli import run_giddyup

DAY = dt.date(2026, 3, 29)


@pytest.mark.slow
def test_demo_runs_a_whole_day_and_reruns_change_nothing(database_factory, tmp_path: Path) -> None:
    dsn = database_factory.create("gu_demo")
    artifacts = tmp_path / "artifacts"
    settings = Settings(pg_dsn=dsn, artifacts_dir=artifacts, mlflow_tracking_uri=None)
    output = io.StringIO()

    day = run_demo(settings, today=DAY, seed=11, history_days=120, console=Console(file=output, width=200))

    printed = output.getvalue()
    assert "races with signals" in printed and "where the reports are" in printed
    # 08:00 Madrid is 06:00 UTC on the day the clocks go forward (07:00 the day before).
    assert day.scoring_at == dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.UTC)
    with psycopg.connect(dsn) as conn:
        on_card, with_signals = checks.signal_coverage(conn, DAY)
        assert on_card > 0 and with_signals / on_card >= 0.8
        cadence = checks.check_cadence(conn, settings, DAY, day.scoring_at)
        assert cadence.races_checked == with_signals
        assert cadence.races_matching == cadence.races_checked, cadence.mismatches
        bets = checks.check_bets(conn, DAY)
        # The staking rule stands down on a version whose holdout showed no edge over the market:
        # then no paper bet at all, and the summary says why; otherwise bets, each settled once.
        standing_down = checks.stand_down_reasons(conn, DAY)
        if standing_down:
            assert bets.bets == 0
            assert all(reason.startswith("standing down") and reason in printed for reason in standing_down)
        else:
            assert bets.bets > 0 and bets.bets == bets.distinct_runner_sides
            assert bets.open == 0 and bets.settled + bets.void == bets.bets
            assert bets.with_clv == bets.settled
        models = conn.execute("SELECT count(*) FROM modeling.models WHERE stage = 'production'").fetchone()[0]
        assert models == 1
        drift_rows = conn.execute(
            "SELECT count(*) FROM modeling.drift_reports WHERE report_date = %s", (DAY,)
        ).fetchone()[0]
        assert drift_rows == 1
    assert day.reruns_unchanged is True
    for name in ("drift report", "performance report", "performance report (JSON)", "scored runners"):
        assert day.paths[name].is_file(), name
        assert str(day.paths[name]).startswith(str(artifacts / "demo"))

    # A second demo on the same database resets what the first one made.
    assert prepare_demo_database(dsn) == "reset"
    with psycopg.connect(dsn) as conn:
        assert is_previous_demo(conn)
        assert conn.execute("SELECT count(*) FROM racing.races").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM modeling.signals").fetchone()[0] == 0


def test_demo_refuses_a_racing_database_it_did_not_make(migrated_dsn: str, giddyup_env) -> None:
    env = giddyup_env(migrated_dsn)
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO racing.courses (course_name, region) VALUES ('Ascot', 'GB')")

    result = run_giddyup("demo", "--date", "2026-03-29", "--history-days", "30", env=env)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "was not made by `giddyup demo`" in result.stderr
    with psycopg.connect(migrated_dsn) as conn:  # untouched
        assert conn.execute("SELECT count(*) FROM racing.courses").fetchone()[0] == 1
