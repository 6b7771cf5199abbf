"""Intraday repricing (giddyup.race_day.refresh) against a real database: due races, repricing from
the morning p_model, snapshots, idempotency, non-runners, the day cap, the clock change, and the
light import path of a run with nothing due."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import psycopg
import pytest

from giddyup.config import Settings
from giddyup.loaders.racing_writer import upsert_keyed
from giddyup.model.combine import combine_with_market
from giddyup.race_day.refresh import refresh
from giddyup.race_day.score import score_day
from giddyup.timeutil import off_instant
from tests.support.cli import run_giddyup
from tests.support.databases import migrate_dsn
from tests.support.frames import query_frame
from tests.support.paths import REPO_ROOT
from tests.support.synthetic_card import (
    Card,
    RatingModel,
    rating_features,
    register_model,
    write_card,
    write_live_ticks,
)

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 6, 2)
AUTUMN = dt.date(2026, 10, 25)  # clocks go back at 01:00 UTC
MORNING = dt.datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
COMBINER = {"coef": {"log_p_model": 0.5, "log_p_market": 0.7}}
TABLES = ("modeling.signals", "modeling.price_snapshots", "modeling.bets", "modeling.paper_decisions")


@pytest.fixture(scope="module")
def world(database_factory) -> dict:
    dsn = database_factory.create()
    migrate_dsn(dsn)
    with psycopg.connect(dsn) as conn:
        card = write_card(conn, DAY, n_races=8, seed=11, first_off=dt.time(13, 0), last_off=dt.time(17, 0))
        autumn = write_card(conn, AUTUMN, n_races=3, seed=12, first_off=dt.time(13, 0), last_off=dt.time(15, 0))
        write_live_ticks(conn, card, start=MORNING - dt.timedelta(minutes=10), every_minutes=5)
        model_id = register_model(conn, COMBINER)
        conn.commit()
    return {"dsn": dsn, "card": card, "autumn": autumn, "model_id": model_id}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(artifacts_dir=tmp_path / "artifacts")


def _score(world: dict, settings: Settings, card: Card, as_of: dt.datetime) -> None:
    with psycopg.connect(world["dsn"]) as conn:
        score_day(
            conn,
            race_date=card.race_date,
            at=as_of,
            model=RatingModel(model_id=world["model_id"], combiner=COMBINER),
            features=rating_features(card),
            settings=settings,
        )
        conn.commit()


@pytest.fixture
def scored(world: dict, settings: Settings) -> dict:
    """The morning's signals at 08:00 London, nothing else."""
    with psycopg.connect(world["dsn"]) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        conn.commit()
    _score(world, settings, world["card"], MORNING)
    return world


def _refresh(world: dict, at: dt.datetime, settings: Settings):
    with psycopg.connect(world["dsn"]) as conn:
        result = refresh(conn, at, settings)
        conn.commit()
    return result


def _offs(card: Card) -> dict[int, dt.datetime]:
    return {r["race_id"]: off_instant(card.race_date, r["off_time"], LONDON) for r in card.races.iter_rows(named=True)}


def _state(dsn: str) -> dict[str, pl.DataFrame]:
    """Every row the race-day jobs write (created_at excluded: the database sets it)."""
    return {
        "signals": query_frame(dsn, "SELECT * FROM modeling.signals ORDER BY signal_id").drop("created_at"),
        "snapshots": query_frame(dsn, "SELECT * FROM modeling.price_snapshots ORDER BY runner_id, ts, source"),
        "bets": query_frame(dsn, "SELECT * FROM modeling.bets ORDER BY bet_id"),
        "decisions": query_frame(dsn, "SELECT * FROM modeling.paper_decisions ORDER BY race_id"),
    }


def test_first_refresh_catches_up_every_open_race_then_prices_only_the_grid(scored, settings) -> None:
    offs = _offs(scored["card"])
    first_at = min(offs.values()) - dt.timedelta(minutes=32)  # before every off
    first = _refresh(scored, first_at, settings)
    assert sorted(first.due) == sorted(offs)  # none priced since 08:00: every slot was missed
    assert first.races_priced == len(offs) and first.skipped == {}

    nxt = first_at + dt.timedelta(minutes=1)
    on_grid = {
        race_id
        for race_id, off in offs.items()
        if off > nxt
        and ((off - nxt) <= dt.timedelta(minutes=15) or (off - nxt) % dt.timedelta(minutes=10) == dt.timedelta(0))
    }
    second = _refresh(scored, nxt, settings)
    assert set(second.due) == on_grid
    rows = query_frame(scored["dsn"], "SELECT race_id FROM modeling.signals WHERE as_of = %s", nxt)
    assert set(rows.get_column("race_id")) == on_grid


def test_repricing_keeps_the_morning_p_model_and_takes_the_latest_live_price(scored, settings) -> None:
    offs = _offs(scored["card"])
    at = min(offs.values()) - dt.timedelta(minutes=20)
    _refresh(scored, at, settings)
    signals = query_frame(scored["dsn"], "SELECT * FROM modeling.signals ORDER BY race_id, horse_id")
    morning = signals.filter(pl.col("as_of") == MORNING).select("horse_id", pl.col("p_model").alias("morning"))
    now = signals.filter(pl.col("as_of") == at).join(morning, on="horse_id")
    assert now.height == morning.height
    assert np.allclose(now.get_column("p_model").to_numpy(), now.get_column("morning").to_numpy())
    assert (now.get_column("best_odds_src") == "live").all()
    sums = now.group_by("race_id").agg(pl.col("p_win").sum(), pl.col("p_market").sum())
    assert np.allclose(sums.get_column("p_win").to_numpy(), 1.0)
    assert np.allclose(sums.get_column("p_market").to_numpy(), 1.0)
    ticks = query_frame(
        scored["dsn"],
        """SELECT DISTINCT ON (runner_id) runner_id, back_price FROM racing.live_prices
           WHERE ts <= %s ORDER BY runner_id, ts DESC""",
        at,
    )
    joined = now.join(ticks, on="runner_id")
    assert joined.height == now.height
    assert (joined.get_column("best_odds_win") == joined.get_column("back_price")).all()
    reasons = now.get_column("reasons_json")[0]
    assert reasons["drivers"] and reasons["drivers"][0].startswith("official rating vs field")  # morning drivers kept
    snapshots = query_frame(
        scored["dsn"], "SELECT source, count(*) AS n FROM modeling.price_snapshots WHERE ts = %s GROUP BY 1", at
    )
    assert dict(snapshots.iter_rows()) == {"live": now.height, "bookmaker": now.height, "exchange_wap": now.height}


# A model whose combination stage has a versus-market term (giddyup.model.combine): v per runner
# from its features at scoring, stored with the signal, reused by every refresh.
VS_COMBINER = {
    "coef": {"log_p_model": 0.5, "log_p_market": 0.7},
    "vs_market": {"coef": {"or_vs_field": 0.04}},
}


@dataclass
class HistoryTermModel(RatingModel):
    def predict_vs_market_logit(self, features):
        return features.frame.select("runner_id", (pl.col("or_vs_field") * 0.04).alias("vs_market_logit"))


def test_repricing_recombines_with_the_morning_history_term(world, settings) -> None:
    dsn = world["dsn"]
    with psycopg.connect(dsn) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        model_id = conn.execute(
            """INSERT INTO modeling.models (name, version, stage, combiner_json)
               VALUES ('hrd_win_prob', 'synthetic-vs', 'development', %s)
               ON CONFLICT (name, version) DO UPDATE SET combiner_json = EXCLUDED.combiner_json
               RETURNING model_id""",
            (json.dumps(VS_COMBINER),),
        ).fetchone()[0]  # type: ignore[index]
        score_day(
            conn,
            race_date=DAY,
            at=MORNING,
            model=HistoryTermModel(model_id=model_id, combiner=VS_COMBINER, version="synthetic-vs"),
            features=rating_features(world["card"]),
            settings=settings,
        )
        conn.commit()
    at = min(_offs(world["card"]).values()) - dt.timedelta(minutes=20)
    _refresh(world, at, settings)
    signals = query_frame(dsn, "SELECT * FROM modeling.signals ORDER BY race_id, horse_id")
    assert (signals.get_column("model_id") == model_id).all()
    expected_v = rating_features(world["card"]).frame.select(
        "runner_id", (pl.col("or_vs_field") * 0.04).alias("expected_v")
    )
    for instant in (MORNING, at):
        rows = signals.filter(pl.col("as_of") == instant).join(expected_v, on="runner_id")
        assert rows.height > 0
        assert np.allclose(rows.get_column("vs_market_logit").to_numpy(), rows.get_column("expected_v").to_numpy())
        race_id = rows.get_column("race_id").to_numpy()
        p_model, p_market = rows.get_column("p_model").to_numpy(), rows.get_column("p_market").to_numpy()
        with_term = combine_with_market(race_id, p_model, p_market, VS_COMBINER, rows.get_column("expected_v"))
        assert np.allclose(rows.get_column("p_win").to_numpy(), with_term), instant
        assert not np.allclose(with_term, combine_with_market(race_id, p_model, p_market, VS_COMBINER))
    with psycopg.connect(dsn) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        conn.commit()


def test_running_the_same_instants_twice_changes_no_row(scored, settings) -> None:
    offs = _offs(scored["card"])
    first_off = min(offs.values())
    instants = [first_off - dt.timedelta(minutes=m) for m in (31, 30, 15, 6, 5, 4)]
    for at in instants:
        _refresh(scored, at, settings)
    before = _state(scored["dsn"])
    assert before["bets"].height > 0 and before["decisions"].height > 0  # the decision point was in there
    for at in instants:
        again = _refresh(scored, at, settings)
        if again.published is not None:
            assert (again.published.inserted, again.published.updated) == (0, 0)
        assert again.snapshots_written == 0
        assert again.paper is not None and again.paper.bets_placed == 0
    after = _state(scored["dsn"])
    for name, frame in before.items():
        assert after[name].equals(frame), name


def test_nothing_due_after_the_last_off_or_inside_a_priced_slot(scored, settings) -> None:
    offs = _offs(scored["card"])
    late = max(offs.values()) + dt.timedelta(minutes=1)
    result = _refresh(scored, late, settings)
    assert result.due == [] and result.published is None
    at = min(offs.values()) - dt.timedelta(minutes=59, seconds=30)
    _refresh(scored, at, settings)
    again = _refresh(scored, at + dt.timedelta(seconds=20), settings)  # same slots, all priced
    assert again.due == []


def test_a_runner_without_prices_is_dropped_and_comes_back_on_the_morning_scale(scored, settings) -> None:
    card = scored["card"]
    offs = _offs(card)
    race_id = min(offs, key=offs.get)
    runners = card.runners.filter(pl.col("race_id") == race_id).sort("runner_id")
    gone, other = runners.get_column("runner_id")[0], runners.get_column("runner_id")[1]
    dsn = scored["dsn"]
    with psycopg.connect(dsn) as conn:
        saved = conn.execute(
            "SELECT best_odds, win_morningwap FROM racing.runners WHERE runner_id = %s", (gone,)
        ).fetchone()
        ticks = conn.execute("SELECT count(*) FROM racing.live_prices WHERE runner_id = %s", (gone,)).fetchone()[0]  # type: ignore[index]
        conn.execute("UPDATE racing.runners SET best_odds = NULL, win_morningwap = NULL WHERE runner_id = %s", (gone,))
        held = conn.execute("SELECT * FROM racing.live_prices WHERE runner_id = %s", (gone,)).fetchall()
        conn.execute("DELETE FROM racing.live_prices WHERE runner_id = %s", (gone,))
        conn.commit()
    assert ticks == len(held) > 0
    try:
        t1 = offs[race_id] - dt.timedelta(minutes=40)
        _refresh(scored, t1, settings)
        at_t1 = query_frame(dsn, "SELECT * FROM modeling.signals WHERE race_id = %s AND as_of = %s", race_id, t1)
        assert gone not in at_t1.get_column("runner_id").to_list()
        assert at_t1.get_column("p_win").sum() == pytest.approx(1.0)
        assert at_t1.get_column("p_model").sum() == pytest.approx(1.0)
    finally:
        with psycopg.connect(dsn) as conn:
            conn.execute(
                "UPDATE racing.runners SET best_odds = %s, win_morningwap = %s WHERE runner_id = %s", (*saved, gone)
            )
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO racing.live_prices VALUES (%s, %s, %s, %s, %s, %s, %s)", held)
            conn.commit()
    t2 = t1 + dt.timedelta(minutes=10)
    _refresh(scored, t2, settings)
    back = query_frame(dsn, "SELECT runner_id, as_of, p_model FROM modeling.signals WHERE race_id = %s", race_id)
    ratio = {}
    for instant in (MORNING, t2):
        rows = dict(back.filter(pl.col("as_of") == instant).select("runner_id", "p_model").iter_rows())
        ratio[instant] = rows[gone] / rows[other]
    assert ratio[t2] == pytest.approx(ratio[MORNING])  # rescaled through the shared runners


def test_a_runner_declared_after_scoring_skips_its_race_with_the_reason(scored, settings) -> None:
    card = scored["card"]
    offs = _offs(card)
    race_id = max(offs, key=offs.get)
    dsn = scored["dsn"]
    with psycopg.connect(dsn) as conn:
        horse = conn.execute(
            "INSERT INTO racing.horses (horse_name) VALUES ('Late Entry') RETURNING horse_id"
        ).fetchone()[0]  # type: ignore[index]
        added = upsert_keyed(
            conn,
            "runners",
            pl.DataFrame(
                {
                    "runner_key": ["late-entry"],
                    "race_id": [race_id],
                    "race_date": [DAY],
                    "horse_id": [horse],
                    "best_odds": [9.0],
                }
            ),
            key=("runner_key", "race_date"),
            returning=("runner_key", "runner_id"),
        )
        # It trades on the exchange like the rest of its race (a runner that does not is a non-runner).
        conn.execute(
            """INSERT INTO racing.live_prices (race_id, runner_id, ts, back_price, lay_price, vwap, traded_vol)
               VALUES (%s, %s, %s, 9.0, 9.4, 9.2, 5000)""",
            (race_id, added.get_column("runner_id")[0], offs[race_id] - dt.timedelta(minutes=35)),
        )
        conn.commit()
    try:
        result = _refresh(scored, offs[race_id] - dt.timedelta(minutes=30), settings)
        runner_id = added.get_column("runner_id")[0]
        assert result.skipped[race_id] == f"model missing a required input (no p_model for runner_id {runner_id})"
        assert race_id in result.due and result.races_priced == len(result.due) - 1
    finally:
        with psycopg.connect(dsn) as conn:
            conn.execute(
                "DELETE FROM racing.live_prices WHERE runner_id IN "
                "(SELECT runner_id FROM racing.runners WHERE runner_key = 'late-entry')"
            )
            conn.execute("DELETE FROM racing.runners WHERE runner_key = 'late-entry'")
            conn.commit()


def test_the_day_cap_is_shared_by_every_open_race_and_shrinks_with_committed_bets(scored, tmp_path) -> None:
    tight = Settings(artifacts_dir=tmp_path / "a", max_stake_per_day=1.5, min_liquidity_volume=0.0)
    with psycopg.connect(scored["dsn"]) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        conn.commit()
    _score(scored, tight, scored["card"], MORNING)
    offs = _offs(scored["card"])
    first_off = min(offs.values())
    at = first_off - dt.timedelta(minutes=5)  # the first race's decision point
    result = _refresh(scored, at, tight)
    latest = query_frame(scored["dsn"], "SELECT * FROM modeling.latest_signals")
    assert latest.get_column("stake_units").sum() <= 1.5 + 1e-9
    assert result.paper is not None
    committed = result.paper.staked
    later = first_off + dt.timedelta(minutes=1)  # first race off; its bets stay committed
    _refresh(scored, later, tight)
    open_races = [r for r, off in offs.items() if off > later]
    latest = query_frame(scored["dsn"], "SELECT * FROM modeling.latest_signals").filter(
        pl.col("race_id").is_in(open_races)
    )
    assert latest.get_column("stake_units").sum() <= 1.5 - committed + 1e-9


def test_refresh_on_the_autumn_clock_change_day_follows_london_off_times(world, settings) -> None:
    card = world["autumn"]
    with psycopg.connect(world["dsn"]) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        conn.commit()
    morning = dt.datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 08:00 Madrid (CET since 01:00 UTC)
    _score(world, settings, card, morning)
    first = card.races.row(0, named=True)
    off = dt.datetime.combine(AUTUMN, first["off_time"], tzinfo=UTC)  # GMT again: London = UTC
    assert off_instant(AUTUMN, first["off_time"], LONDON) == off
    result = _refresh(world, off - dt.timedelta(minutes=15), settings)
    assert first["race_id"] in result.due
    assert first["race_id"] not in _refresh(world, off, settings).due
    decided = _refresh(world, off - dt.timedelta(minutes=5), settings)
    assert decided.paper is not None and first["race_id"] in decided.paper.races_decided


# --- the command and its imports -------------------------------------------------------------------
_PROBE = """
import sys
from giddyup.cli import main
sys.argv = ["giddyup", "refresh", "--at", sys.argv[1]]
try:
    main.main()
except SystemExit as exit:
    assert not exit.code, exit.code
heavy = ("polars", "mlflow", "lightgbm", "sklearn", "evidently")
print("LOADED " + ",".join(m for m in heavy if m in sys.modules))
"""


def test_refresh_command_loads_no_polars_when_nothing_is_due_and_no_model_stack_ever(scored, giddyup_env) -> None:
    env = giddyup_env(scored["dsn"])
    offs = _offs(scored["card"])
    late = (max(offs.values()) + dt.timedelta(minutes=5)).isoformat()
    idle = subprocess.run([sys.executable, "-c", _PROBE, late], capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    assert idle.returncode == 0, idle.stderr
    assert "LOADED \n" in idle.stdout or idle.stdout.strip().endswith("LOADED")
    assert "0 of 8 races due" in idle.stdout
    busy_at = (min(offs.values()) - dt.timedelta(minutes=30)).isoformat()
    busy = subprocess.run(
        [sys.executable, "-c", _PROBE, busy_at], capture_output=True, text=True, env=env, cwd=REPO_ROOT
    )
    assert busy.returncode == 0, busy.stderr
    loaded = busy.stdout.strip().split("LOADED")[-1].strip()
    assert loaded == "polars", busy.stdout  # polars to price; never the model-training stack


def test_refresh_command_prints_a_summary_and_refuses_an_instant_without_zone(scored, giddyup_env) -> None:
    env = giddyup_env(scored["dsn"])
    offs = _offs(scored["card"])
    at = (min(offs.values()) - dt.timedelta(minutes=5)).isoformat()
    ran = run_giddyup("refresh", "--at", at, env=env)
    assert ran.returncode == 0, ran.stderr
    assert "races due" in ran.stdout and "paper: 1 races decided" in ran.stdout
    bad = run_giddyup("refresh", "--at", "2026-06-02T12:00", env=env)
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines()[-1] == (
        "error: --at '2026-06-02T12:00' has no time zone; add Z or an offset such as +01:00"
    )
