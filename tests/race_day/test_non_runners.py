"""Non-runners on the day (issue 12, finding 2): a runner the exchange stopped trading while the
rest of its race trades is withdrawn, however long the card keeps its morning prices. It is
dropped before the race's probabilities are normalised, and the refresh says so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import psycopg
import pytest

from giddyup.config import Settings
from giddyup.race_day.refresh import refresh
from giddyup.race_day.score import score_day
from tests.support.databases import migrate_dsn
from tests.support.frames import query_frame
from tests.support.synthetic_card import RatingModel, rating_features, register_model, write_card, write_live_ticks

DAY = dt.date(2026, 6, 4)
MORNING = dt.datetime(2026, 6, 4, 7, 0, tzinfo=dt.UTC)
COMBINER = {"coef": {"log_p_model": 0.5, "log_p_market": 0.7}}


@pytest.fixture
def day_with_a_withdrawal(database_factory) -> dict:
    dsn = database_factory.create()
    migrate_dsn(dsn)
    with psycopg.connect(dsn) as conn:
        card = write_card(conn, DAY, n_races=2, seed=21, first_off=dt.time(14, 0), last_off=dt.time(15, 0))
        write_live_ticks(conn, card, start=MORNING - dt.timedelta(minutes=30), every_minutes=5)
        model_id = register_model(conn, COMBINER)
        race_id = card.races.get_column("race_id")[0]
        runners = card.runners.filter(pl.col("race_id") == race_id)
        gone = runners.row(0, named=True)
        # Withdrawn at 09:00 UTC: the exchange has no price for it after that; the card still has one.
        conn.execute(
            "DELETE FROM racing.live_prices WHERE runner_id = %s AND ts >= %s",
            (gone["runner_id"], MORNING + dt.timedelta(hours=2)),
        )
        conn.commit()
    return {"dsn": dsn, "card": card, "model_id": model_id, "race_id": race_id, "gone": gone}


def test_a_runner_the_exchange_stopped_trading_is_dropped_and_the_race_renormalised(
    day_with_a_withdrawal, tmp_path: Path
) -> None:
    world = day_with_a_withdrawal
    settings = Settings(artifacts_dir=tmp_path / "artifacts")
    later = MORNING + dt.timedelta(hours=3)  # 10:00 UTC: the first refresh catches every race up
    with psycopg.connect(world["dsn"]) as conn:
        score_day(
            conn, race_date=DAY, at=MORNING, model=RatingModel(model_id=world["model_id"], combiner=COMBINER),
            features=rating_features(world["card"]), settings=settings,
        )  # fmt: skip
        conn.commit()
        result = refresh(conn, later, settings)
        conn.commit()
    assert world["race_id"] in result.due
    assert result.non_runners == {world["race_id"]: [world["gone"]["horse_id"]]}
    signals = query_frame(world["dsn"], "SELECT * FROM modeling.signals WHERE race_id = %s", world["race_id"])
    morning = signals.filter(pl.col("as_of") == MORNING)
    now = signals.filter(pl.col("as_of") == later)
    assert world["gone"]["horse_id"] in morning.get_column("horse_id").to_list()  # it traded in the morning
    assert world["gone"]["horse_id"] not in now.get_column("horse_id").to_list()
    assert now.get_column("p_win").sum() == pytest.approx(1.0, abs=1e-9)
    assert (now.get_column("best_odds_src") == "live").all()
