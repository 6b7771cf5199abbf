"""The paper-trading step (giddyup.race_day.paper_bets) against a real database: bets at the
decision point from the latest signals, exactly once per race however often it runs, late runs
before the off, none after it, and the decision point on the spring clock-change day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
import pytest

from giddyup.config import Settings
from giddyup.publish import publish_signals
from giddyup.race_day.paper_bets import place_paper_bets
from giddyup.race_day.score import score_day
from giddyup.timeutil import off_instant
from tests.support.cli import run_giddyup
from tests.support.databases import migrate_dsn
from tests.support.frames import query_frame
from tests.support.synthetic_card import Card, RatingModel, rating_features, register_model, write_card

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 6, 3)
SPRING = dt.date(2026, 3, 29)  # clocks go forward at 01:00 UTC
COMBINER = {"coef": {"log_p_model": 0.6, "log_p_market": 0.6}}
TABLES = "modeling.signals, modeling.price_snapshots, modeling.bets, modeling.paper_decisions"


@pytest.fixture(scope="module")
def world(database_factory) -> dict:
    dsn = database_factory.create()
    migrate_dsn(dsn)
    with psycopg.connect(dsn) as conn:
        card = write_card(conn, DAY, n_races=5, seed=21, first_off=dt.time(13, 0), last_off=dt.time(16, 0))
        spring = write_card(conn, SPRING, n_races=1, seed=22, first_off=dt.time(14, 0), last_off=dt.time(14, 0))
        model_id = register_model(conn, COMBINER)
        conn.commit()
    return {"dsn": dsn, "card": card, "spring": spring, "model_id": model_id}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(artifacts_dir=tmp_path / "artifacts", min_liquidity_volume=0.0)


def _score(world: dict, settings: Settings, card: Card) -> dt.datetime:
    as_of = dt.datetime.combine(card.race_date, dt.time(7, 0), tzinfo=UTC)
    with psycopg.connect(world["dsn"]) as conn:
        conn.execute(f"TRUNCATE {TABLES}")
        score_day(
            conn,
            race_date=card.race_date,
            at=as_of,
            model=RatingModel(model_id=world["model_id"], combiner=COMBINER),
            features=rating_features(card),
            settings=settings,
        )
        conn.commit()
    return as_of


def _paper(world: dict, at: dt.datetime, settings: Settings):
    with psycopg.connect(world["dsn"]) as conn:
        result = place_paper_bets(conn, at, settings)
        conn.commit()
    return result


def _first_race(card: Card) -> tuple[int, dt.datetime]:
    row = card.races.row(0, named=True)
    return row["race_id"], off_instant(card.race_date, row["off_time"], LONDON)


def test_bets_at_the_decision_point_from_the_latest_signals(world, settings) -> None:
    morning = _score(world, settings, world["card"])
    race_id, off = _first_race(world["card"])
    decision = off - dt.timedelta(minutes=5)
    early = _paper(world, decision - dt.timedelta(seconds=1), settings)
    assert early.races_decided == [] and early.bets_placed == 0

    result = _paper(world, decision, settings)
    assert result.races_decided == [race_id]
    signals = query_frame(
        world["dsn"], "SELECT * FROM modeling.signals WHERE race_id = %s AND stake_units > 0", race_id
    )
    assert signals.height > 0, "the synthetic card should give this race a stake"
    bets = query_frame(world["dsn"], "SELECT * FROM modeling.bets WHERE race_id = %s ORDER BY horse_id", race_id)
    assert result.bets_placed == bets.height == signals.height
    joined = bets.join(signals, on="horse_id")
    assert (joined.get_column("odds") == joined.get_column("best_odds_win")).all()
    assert (joined.get_column("stake") == joined.get_column("stake_units")).all()
    assert (joined.get_column("expected_ev") - joined["edge_win"] * joined["stake_units"]).abs().max() < 1e-12
    assert set(bets.get_column("side")) == {"win"} and set(bets.get_column("source")) == {"paper"}
    assert set(bets.get_column("status")) == {"open"}
    assert (bets.get_column("ts") == decision).all() and (bets.get_column("signal_as_of") == morning).all()
    assert (bets.get_column("exchange") == (joined.get_column("best_odds_src") != "bookmaker")).all()
    decision_row = query_frame(world["dsn"], "SELECT * FROM modeling.paper_decisions").row(0, named=True)
    assert decision_row["race_id"] == race_id and decision_row["decided_at"] == decision
    assert decision_row["n_bets"] == bets.height
    assert decision_row["total_stake"] == pytest.approx(bets.get_column("stake").sum())


def test_a_race_is_decided_once_however_often_the_step_runs(world, settings) -> None:
    _score(world, settings, world["card"])
    race_id, off = _first_race(world["card"])
    decision = off - dt.timedelta(minutes=5)
    _paper(world, decision, settings)
    before = query_frame(world["dsn"], "SELECT * FROM modeling.bets ORDER BY bet_id")
    # New signals after the decision give a stake to a runner that had none: still no new bet.
    latest = query_frame(world["dsn"], "SELECT * FROM modeling.signals WHERE race_id = %s", race_id)
    later = decision + dt.timedelta(minutes=1)
    unstaked = latest.filter(pl.col("stake_units") == 0).get_column("horse_id")[0]
    changed = latest.select(
        pl.lit(later).alias("as_of"),
        "race_id",
        "horse_id",
        "model_id",
        "p_win",
        "best_odds_win",
        "best_odds_src",
        "edge_win",
        pl.when(pl.col("horse_id") == unstaked).then(1.0).otherwise(pl.col("stake_units")).alias("stake_units"),
        "runner_id",
        "race_date",
    )
    with psycopg.connect(world["dsn"]) as conn:
        publish_signals(conn, changed)
        conn.commit()
    for minutes in (1, 2, 3):
        again = _paper(world, decision + dt.timedelta(minutes=minutes), settings)
        assert again.races_decided == [] and again.bets_placed == 0
    assert query_frame(world["dsn"], "SELECT * FROM modeling.bets ORDER BY bet_id").equals(before)
    assert _paper(world, decision, settings).bets_placed == 0  # the same instant again


def test_a_late_first_run_before_the_off_still_places_the_bets(world, settings) -> None:
    _score(world, settings, world["card"])
    race_id, off = _first_race(world["card"])
    late = off - dt.timedelta(minutes=2)
    result = _paper(world, late, settings)
    assert result.races_decided == [race_id] and result.bets_placed > 0
    assert set(query_frame(world["dsn"], "SELECT ts FROM modeling.bets").get_column("ts")) == {late}


def test_no_bets_at_or_after_the_off(world, settings) -> None:
    _score(world, settings, world["card"])
    _, off = _first_race(world["card"])
    for at in (off, off + dt.timedelta(minutes=3)):
        result = _paper(world, at, settings)
        assert result.races_decided == [] and result.bets_placed == 0
    assert query_frame(world["dsn"], "SELECT count(*) AS n FROM modeling.paper_decisions").item() == 0


def test_a_race_without_stakes_is_decided_with_no_bets(world, tmp_path) -> None:
    unstaked = Settings(artifacts_dir=tmp_path / "a", min_edge=100.0)  # no edge is that large
    _score(world, unstaked, world["card"])
    race_id, off = _first_race(world["card"])
    result = _paper(world, off - dt.timedelta(minutes=5), unstaked)
    assert result.races_decided == [race_id] and result.bets_placed == 0
    row = query_frame(world["dsn"], "SELECT n_bets, total_stake FROM modeling.paper_decisions").row(0)
    assert row == (0, 0.0)


def test_decision_point_on_the_spring_clock_change_day(world, settings) -> None:
    card = world["spring"]
    _score(world, settings, card)
    race_id, off = _first_race(card)
    assert card.races.get_column("off_time")[0] == dt.time(14, 0)
    assert off == dt.datetime(2026, 3, 29, 13, 0, tzinfo=UTC)  # BST since 01:00 UTC
    assert _paper(world, dt.datetime(2026, 3, 29, 12, 54, 59, tzinfo=UTC), settings).races_decided == []
    assert _paper(world, dt.datetime(2026, 3, 29, 12, 55, tzinfo=UTC), settings).races_decided == [race_id]


def test_bets_paper_command_is_idempotent(world, settings, giddyup_env) -> None:
    _score(world, settings, world["card"])
    env = giddyup_env(world["dsn"])
    env["GIDDYUP_MIN_LIQUIDITY_VOLUME"] = "0"
    _, off = _first_race(world["card"])
    at = (off - dt.timedelta(minutes=5)).isoformat()
    first = run_giddyup("bets", "paper", "--at", at, env=env)
    assert first.returncode == 0, first.stderr
    assert "1 races decided" in first.stdout
    bets = query_frame(world["dsn"], "SELECT * FROM modeling.bets ORDER BY bet_id")
    second = run_giddyup("bets", "paper", "--at", at, env=env)
    assert second.returncode == 0 and "0 races decided, 0 bets" in second.stdout
    assert query_frame(world["dsn"], "SELECT * FROM modeling.bets ORDER BY bet_id").equals(bets)
