"""The rules every stage shares, each with one owner: odds and the market's book (giddyup.odds),
what a handicap is (giddyup.race_rules), and where files go (giddyup.artifacts)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from giddyup import odds, race_rules
from giddyup.artifacts import ArtifactLayout
from giddyup.model.market import market_probability, overround


def test_a_price_below_the_minimum_or_not_finite_is_no_price() -> None:
    values = [1.0, 1.009, 1.01, 2.5, math.nan, math.inf, -3.0]
    assert odds.usable_odds(values).tolist() == [False, False, True, True, False, False, False]
    frame = pl.DataFrame({"odds": values})
    kept = frame.select(odds.usable_odds_expr("odds")).to_series().to_list()
    assert kept == [None, None, 1.01, 2.5, None, None, None]  # NaN sorts above every number in Polars


def test_market_probability_and_book_are_the_same_in_every_stage() -> None:
    frame = pl.DataFrame({"race_id": [1, 1, 1, 2, 2], "win_bsp": [2.0, 4.0, 4.0, 1.5, 3.0]})
    expected = pl.Series([0.5, 0.25, 0.25, 2 / 3, 1 / 3])
    book = frame.select(odds.implied_probability("win_bsp").alias("p"), odds.overround("win_bsp").alias("book"))
    assert np.allclose(book.get_column("p").to_numpy(), expected.to_numpy())
    assert book.get_column("book").to_list() == pytest.approx([1.0, 1.0, 1.0, 1.0, 1.0])
    # Training's numpy view: the same numbers, and a race with one missing price counts as no market.
    assert np.allclose(market_probability(frame, "win_bsp"), expected.to_numpy())
    broken = frame.with_columns(pl.when(pl.col("win_bsp") == 1.5).then(math.nan).otherwise("win_bsp").alias("win_bsp"))
    assert np.isnan(market_probability(broken, "win_bsp")[3:]).all()
    assert np.allclose(market_probability(broken, "win_bsp")[:3], expected.to_numpy()[:3])
    assert np.isnan(overround(broken, "win_bsp")[3:]).all() and overround(broken, "win_bsp")[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Sky Bet Handicap", True),
        ("Class 4 Handicap (60-40)", True),  # Hong Kong, as the loader names it
        ("Betfair Nursery Handicap", True),
        ("EBF Nursery", True),
        ("Mares' Handicap Hurdle", True),
        ("Racing TV H'cap", True),
        ("Sportsbook Hcap", True),
        ("Ladbrokes HCP (Div I)", True),
        ("Classified Stakes (0-60)", False),  # a rating band alone is not a handicap
        ("Novices' Hurdle", False),
        ("Handicapper's Choice Stakes", False),  # a whole word only
        (None, False),
    ],
)
def test_a_handicap_says_so_in_its_name(name: str | None, expected: bool) -> None:
    assert race_rules.is_handicap(name) is expected


def test_artifact_paths_are_declared_once() -> None:
    layout = ArtifactLayout(Path("/data/artifacts"))
    day, later = dt.date(2026, 3, 28), dt.date(2026, 4, 3)
    assert layout.features_dir(day) == Path("/data/artifacts/features/2026-03-28")
    assert layout.scored_runners(day) == Path("/data/artifacts/scoring/2026-03-28/runners.parquet")
    assert layout.drift_dir(day, "7") == Path("/data/artifacts/drift/2026-03-28/7")
    assert layout.report_dir(day, day) == Path("/data/artifacts/reports/daily/2026-03-28")
    assert layout.report_dir(day, later) == Path("/data/artifacts/reports/2026-03-28_2026-04-03")
    assert layout.backtest_dir(day, later) == Path("/data/artifacts/backtests/2026-03-28_2026-04-03")
    assert layout.mlflow_db == Path("/data/artifacts/mlflow.db")


def test_the_schedules_the_dags_and_the_replay_share() -> None:
    from giddyup import schedules

    day = dt.date(2026, 6, 13)  # CEST: Madrid is UTC+2
    intraday = schedules.run_instants(schedules.INTRADAY_REFRESH, day)
    assert len(intraday) == 12 * 60
    assert intraday[0] == dt.datetime(2026, 6, 13, 9, 0, tzinfo=dt.UTC)
    assert intraday[-1] == dt.datetime(2026, 6, 13, 20, 59, tzinfo=dt.UTC)
    assert schedules.run_instants(schedules.MORNING_SCORING, day) == [dt.datetime(2026, 6, 13, 6, 0, tzinfo=dt.UTC)]
    settlement = schedules.run_instants(schedules.SETTLEMENT, day)
    assert len(settlement) == 21 and settlement[-1] == dt.datetime(2026, 6, 13, 21, 45, tzinfo=dt.UTC)
    # 02:30 does not exist in Madrid on the spring change night; 08:00 is 06:00 UTC from that day.
    spring = dt.date(2026, 3, 29)
    assert schedules.run_instants(schedules.NIGHTLY_RETRAIN, spring) == []
    assert schedules.run_instants(schedules.MORNING_SCORING, spring) == [dt.datetime(2026, 3, 29, 6, 0, tzinfo=dt.UTC)]
    autumn = dt.date(2026, 10, 25)  # 02:30 happens twice: run once, at the first
    assert schedules.run_instants(schedules.NIGHTLY_RETRAIN, autumn) == [
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    ]
    with pytest.raises(ValueError, match="daily"):
        schedules.run_instants(("0 8 * * 1",), day)
