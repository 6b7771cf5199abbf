"""`giddyup backtest` on a small simulated world, against a real database: a replayed day starts as
a card and ends as the world made it; the replay's refreshes at the minutes with work write what a
refresh every minute writes; the command prints its figures, writes backtest.json/html with the
promised keys, keeps its rows apart from live paper trading, resumes after an interruption and
changes no row when run again."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from giddyup.backtest import replay_day as replay_module
from giddyup.backtest.run import BacktestPlan, backtest_settings, clear_day, run_backtest
from giddyup.config import Settings, get_settings
from giddyup.sim.replay import ReplayWorld
from tests.support.cli import run_giddyup
from tests.support.databases import migrate_dsn

pytestmark = pytest.mark.slow

START = dt.date(2025, 3, 1)
DAYS = 45
LAST = START + dt.timedelta(days=DAYS - 1)  # 2025-04-14
FIRST = LAST - dt.timedelta(days=1)
MODELING = ("signals", "price_snapshots", "bets", "paper_decisions", "backtest_days")
# Serial ids, wall-clock stamps and a day's timings differ between two writes of the same rows;
# nothing else may.
NOT_COMPARED = {"signal_id", "bet_id", "completed_at", "created_at", "updated_at", "summary_json"}


def fingerprint(dsn: str, tables: tuple[str, ...], schema: str = "modeling", where: str = "") -> dict[str, str]:
    """A digest of every row of each table (ids and wall-clock stamps left out), order-free."""
    digests = {}
    with psycopg.connect(dsn) as conn:
        for table in tables:
            columns = [
                name
                for (name,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                    "ORDER BY ordinal_position",
                    (schema, table),
                ).fetchall()
                if name not in NOT_COMPARED
            ]
            quoted = ", ".join(f'"{name}"' for name in columns)  # racing.runners has a column "or"
            rows = conn.execute(f"SELECT {quoted} FROM {schema}.{table} {where}").fetchall()
            digests[table] = hashlib.sha256("\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()
    return digests


def world_settings(world: dict) -> Settings:
    """The settings a `giddyup` process of the world's environment gets."""
    return get_settings().model_copy(
        update={
            "artifacts_dir": Path(world["artifacts"]),
            "pg_dsn": SecretStr(world["dsn"]),
            "mlflow_tracking_uri": SecretStr(world["env"]["MLFLOW_TRACKING_URI"]),
            "require_edge_evidence": False,
        }
    )


@pytest.fixture(scope="module")
def world(database_factory, tmp_path_factory) -> dict:
    artifacts = tmp_path_factory.mktemp("backtest_artifacts")
    dsn = database_factory.create("gu_backtest")
    migrate_dsn(dsn)
    env = {
        **os.environ,
        "PG_DSN": dsn,
        "GIDDYUP_ARTIFACTS_DIR": str(artifacts),
        "MLFLOW_TRACKING_URI": f"sqlite:///{artifacts / 'mlflow.db'}",
        # Versions trained on a small world show no edge over the market and the rule would stand
        # down (no bet to measure); these tests are about the replay and its report, so stake anyway.
        "GIDDYUP_REQUIRE_EDGE_EVIDENCE": "false",
    }
    done = run_giddyup("sim", "--preset", "small", "--start", START.isoformat(), "--days", str(DAYS), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"dsn": dsn, "artifacts": artifacts, "env": env}


@pytest.fixture(scope="module")
def backtested(world) -> dict:
    """The command over the world's last two days, as a person runs it."""
    done = run_giddyup(
        "backtest", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), env=world["env"], timeout=1800
    )
    assert done.returncode == 0, done.stderr[-3000:]
    folder = Path(world["artifacts"]) / "backtests" / f"{FIRST}_{LAST}"
    return {
        **world,
        "stdout": done.stdout,
        "folder": folder,
        "report": json.loads((folder / "backtest.json").read_text()),
    }


def test_a_replayed_day_starts_as_a_card_and_ends_as_the_world_made_it(world) -> None:
    day = LAST - dt.timedelta(days=5)
    racing = ("races", "runners")
    where = f"WHERE race_date = DATE '{day}'"
    before = fingerprint(world["dsn"], racing, "racing", where)
    with psycopg.connect(world["dsn"]) as conn:
        replay = ReplayWorld.load(conn)
        replay.check_day(conn, day)
        opened = replay.open_day(conn, day)
        conn.commit()
        [(prelim, cards)] = conn.execute(
            "SELECT bool_and(prelim), count(*) FROM racing.races WHERE race_date = %s", (day,)
        ).fetchall()
        [(declared, results, bsp, first_prices)] = conn.execute(
            "SELECT count(*), count(pos_raw), count(win_bsp), count(win_ppwap) FROM racing.runners WHERE race_date = %s",
            (day,),
        ).fetchall()
        [(ticks,)] = conn.execute(
            "SELECT count(*) FROM racing.live_prices l JOIN racing.races r USING (race_id) WHERE r.race_date = %s",
            (day,),
        ).fetchall()
        assert prelim and cards == opened.races > 0
        assert declared == opened.declared and results == 0 and bsp == 0  # nothing after the off is known
        assert first_prices > 0 and ticks == opened.live_ticks > 0  # the exchange trades through the day
        replay.close_day(conn, day)
        conn.commit()
    assert fingerprint(world["dsn"], racing, "racing", where) == before


def test_the_command_reports_what_following_the_signals_paid(backtested) -> None:
    report = backtested["report"]
    for key in ("days", "races", "bets", "staked", "pnl", "roi", "roi_ci", "clv_mean", "clv_ci", "beat_close_share",
                "true_ev_profit", "true_ev_roi", "true_ev_roi_ci", "oracle_true_ev_profit"):  # fmt: skip
        assert key in report, key
    assert report["days"] == 2 and report["races"] > 0
    with psycopg.connect(backtested["dsn"]) as conn:
        [(bets, staked, pnl, paper)] = conn.execute(
            """SELECT count(*) FILTER (WHERE source = 'backtest' AND status = 'settled'),
                      sum(stake) FILTER (WHERE source = 'backtest' AND status = 'settled'),
                      sum(pnl) FILTER (WHERE source = 'backtest' AND status = 'settled'),
                      count(*) FILTER (WHERE source = 'paper')
               FROM modeling.bets"""
        ).fetchall()
        names = {name for (name,) in conn.execute("SELECT name FROM modeling.models").fetchall()}
    assert report["bets"] == bets > 0 and paper == 0  # apart from live paper trading
    assert report["staked"] == pytest.approx(float(staked)) and report["pnl"] == pytest.approx(float(pnl))
    assert report["roi"] == pytest.approx(float(pnl) / float(staked))
    low, high = report["roi_ci"]
    assert low <= report["roi"] <= high and low < high
    assert report["clv_ci"][0] <= report["clv_mean"] <= report["clv_ci"][1]
    assert names == {f"hrd_win_prob-backtest-{FIRST}"}  # never the live model's name
    assert report["oracle_true_ev_profit"] > 0  # the truth at these prices does find value
    assert set(report["reference"]) == {"oracle", "favourite", "random"}
    # Each version that priced the window says whether its holdout showed edge; none stood down here.
    assert report["models"] and all("evidence_of_edge" in m and m["stood_down"] is False for m in report["models"])
    assert (backtested["folder"] / "backtest.html").read_text().count("<h2>") >= 6
    assert "roi_ci" in backtested["stdout"] and str(backtested["folder"] / "backtest.json") in backtested["stdout"]


def test_running_it_again_changes_no_row(backtested) -> None:
    before = fingerprint(backtested["dsn"], MODELING)
    again = run_giddyup("backtest", "--from", FIRST.isoformat(), "--to", LAST.isoformat(), env=backtested["env"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 days, 2 done before" in again.stdout.replace("replayed ", "")
    assert fingerprint(backtested["dsn"], MODELING) == before
    assert json.loads((backtested["folder"] / "backtest.json").read_text()) == backtested["report"]


def test_an_interrupted_backtest_resumes_and_its_day_equals_a_clean_replay(backtested, monkeypatch) -> None:
    """Cut the second day off half-way (its refreshes fail), resume, and compare the resumed day
    with the same day replayed from nothing."""
    base = world_settings(backtested)
    plan = BacktestPlan(FIRST, LAST, 28, base.artifacts.backtest_dir(FIRST, LAST))
    complete = fingerprint(backtested["dsn"], MODELING)
    with psycopg.connect(backtested["dsn"]) as conn:
        clear_day(conn, LAST)
    calls = {"n": 0}
    real_refresh = replay_module.refresh

    def failing(conn, at, settings, **kwargs):
        calls["n"] += 1
        if calls["n"] > 20:
            raise RuntimeError("worker lost")
        return real_refresh(conn, at, settings, **kwargs)

    monkeypatch.setattr(replay_module, "refresh", failing)
    with psycopg.connect(backtested["dsn"]) as conn, pytest.raises(RuntimeError, match="worker lost"):
        run_backtest(conn, base, backtested["dsn"], plan)
    monkeypatch.setattr(replay_module, "refresh", real_refresh)
    with psycopg.connect(backtested["dsn"]) as conn:
        resumed = run_backtest(conn, base, backtested["dsn"], plan)
    assert [o.day for o in resumed.replayed] == [LAST] and resumed.skipped == [FIRST]
    assert fingerprint(backtested["dsn"], MODELING) == complete


def test_refreshing_only_at_the_minutes_with_work_writes_what_every_minute_writes(backtested) -> None:
    base = world_settings(backtested)
    plan = BacktestPlan(FIRST, LAST, 28, base.artifacts.backtest_dir(FIRST, LAST))
    settings = backtest_settings(base, plan)
    where = f"WHERE race_date = DATE '{FIRST}'"
    tables = ("signals", "price_snapshots", "bets", "paper_decisions")
    replayed = fingerprint(backtested["dsn"], tables, where=where)
    with psycopg.connect(backtested["dsn"]) as conn:
        clear_day(conn, FIRST)
        conn.execute("DELETE FROM modeling.price_snapshots WHERE race_date = %s", (FIRST,))
        conn.commit()
        world = ReplayWorld.load(conn)
        outcome = replay_module.replay_day(
            conn, settings, backtested["dsn"], world, FIRST, retrain=False, every_minute=True
        )
    assert outcome.refresh_runs == 12 * 60  # every minute from 11:00 to 22:59 Madrid
    assert fingerprint(backtested["dsn"], tables, where=where) == replayed


def test_rescoring_a_day_after_a_promotion_uses_the_version_that_first_scored_it(backtested) -> None:
    """Issue 12, finding 4: `score --date D` again after alias production moved rewrites the day
    with the version that first scored it; `--model-version V` changes it on purpose, and the
    record is what the drift report of the day reads (monitor/drift_job.py)."""
    import mlflow

    from giddyup.model import registry
    from giddyup.race_day.score import score_race_day
    from giddyup.scored_days import recorded_version

    base = world_settings(backtested)
    settings = backtest_settings(base, BacktestPlan(FIRST, LAST, 28, base.artifacts.backtest_dir(FIRST, LAST)))
    day = FIRST - dt.timedelta(days=3)
    at = dt.datetime.combine(day, dt.time(6, 0), tzinfo=dt.UTC)
    signals = f"WHERE race_date = DATE '{day}'"
    with psycopg.connect(backtested["dsn"]) as conn:
        world = ReplayWorld.load(conn)
        world.open_day(conn, day)
        conn.commit()
        try:
            first = score_race_day(conn, settings, backtested["dsn"], day, at)
            conn.commit()
            assert recorded_version(conn, day, settings.model_name) == first.model_version == "1"
            scored = fingerprint(backtested["dsn"], ("signals",), where=signals)
            # Version 2 (the same model registered again) becomes production.
            client = registry.configure_mlflow(settings)
            source = client.get_model_version(settings.model_name, "1").source
            mlflow.register_model(source, settings.model_name)
            registry.promote(conn, client, settings.model_name, "2")
            conn.commit()
            again = score_race_day(conn, settings, backtested["dsn"], day, at)
            conn.commit()
            assert again.model_version == "1"
            assert fingerprint(backtested["dsn"], ("signals",), where=signals) == scored
            chosen = score_race_day(conn, settings, backtested["dsn"], day, at, model_version="2")
            conn.commit()
            assert chosen.model_version == "2" and recorded_version(conn, day, settings.model_name) == "2"
            [(models,)] = conn.execute(
                "SELECT array_agg(DISTINCT m.version ORDER BY m.version) FROM modeling.signals s "
                "JOIN modeling.models m USING (model_id) WHERE s.race_date = %s",
                (day,),
            ).fetchall()
            assert models == ["1", "2"]
        finally:
            world.close_day(conn, day)
            conn.commit()
