"""Morning scoring (giddyup.race_day.score) against a real database: a synthetic card, the
model's real combination and place functions, and a rating-based stand-in for the LightGBM model
and the feature build (which land separately; see the report)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import psycopg
import pytest

from giddyup.config import Settings
from giddyup.errors import GiddyUpError
from giddyup.features.contract import FeatureSet
from giddyup.race_day.score import score_day
from tests.support.databases import migrate_dsn
from tests.support.synthetic_card import (
    Card,
    RatingModel,
    rating_features,
    register_model,
    write_card,
    write_live_ticks,
)

DAY = dt.date(2026, 6, 1)
AS_OF = dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)  # 08:00 London
COMBINER = {"coef": {"log_p_model": 0.5, "log_p_market": 0.7}}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(artifacts_dir=tmp_path / "artifacts")


@pytest.fixture(scope="module")
def card_db(database_factory) -> tuple[str, Card, int]:
    """One database per module with the card; each test starts from no signals, bets or ticks."""
    dsn = database_factory.create()
    migrate_dsn(dsn)
    with psycopg.connect(dsn) as conn:
        card = write_card(conn, DAY, n_races=10, seed=5, first_off=dt.time(13, 0))
        races = card.races.get_column("race_id").to_list()
        # race 0: no price at all; race 1: one priced runner (the others are non-runners)
        conn.execute(
            "UPDATE racing.runners SET best_odds = NULL, win_morningwap = NULL WHERE race_id = %s", (races[0],)
        )
        keep = card.runners.filter(pl.col("race_id") == races[1]).get_column("runner_id")[0]
        conn.execute(
            "UPDATE racing.runners SET best_odds = NULL, win_morningwap = NULL WHERE race_id = %s AND runner_id <> %s",
            (races[1], keep),
        )
        model_id = register_model(conn, COMBINER)
        conn.commit()
    return dsn, card, model_id


@pytest.fixture
def day(card_db: tuple[str, Card, int]) -> tuple[str, Card, int]:
    with psycopg.connect(card_db[0]) as conn:
        conn.execute(
            "TRUNCATE modeling.signals, modeling.price_snapshots, modeling.bets, modeling.paper_decisions, racing.live_prices"
        )
    return card_db


def _score(dsn: str, card: Card, model_id: int, settings: Settings, *, as_of: dt.datetime = AS_OF, features=None):
    with psycopg.connect(dsn) as conn:
        result = score_day(
            conn,
            race_date=DAY,
            at=as_of,
            model=RatingModel(model_id=model_id, combiner=COMBINER),
            features=features or rating_features(card),
            settings=settings,
        )
        conn.commit()
    return result


def _signals(dsn: str) -> pl.DataFrame:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute("SELECT * FROM modeling.signals ORDER BY race_id, horse_id, as_of")
        columns = [d.name for d in cur.description]
        rows = cur.fetchall()
    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    return frame.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC"))


def test_scores_every_priceable_race_and_says_why_the_others_were_skipped(day, settings) -> None:
    dsn, card, model_id = day
    result = _score(dsn, card, model_id, settings)
    races = card.races.get_column("race_id").to_list()
    assert result.skipped == {races[0]: "no prices", races[1]: "one runner"}
    assert result.races_on_card == 10 and result.races_priced == 8
    assert result.covered_share == pytest.approx(0.8)
    assert result.model_version == "synthetic-1" and result.model_id == model_id

    signals = _signals(dsn)
    assert signals.height == result.runners_priced == card.runners.filter(~pl.col("race_id").is_in(races[:2])).height
    assert set(signals.get_column("model_id").unique()) == {model_id}
    assert (signals.get_column("as_of") == AS_OF).all()
    per_race = signals.group_by("race_id").agg(
        pl.col("p_win").sum(), pl.col("p_market").sum(), pl.col("p_model").sum(), pl.col("stake_units").sum()
    )
    for column in ("p_win", "p_market", "p_model"):
        assert np.allclose(per_race.get_column(column).to_numpy(), 1.0)
    assert per_race.get_column("stake_units").max() <= settings.max_stake_per_race + 1e-9
    assert signals.get_column("stake_units").sum() <= settings.max_stake_per_day + 1e-9
    assert signals.get_column("stake_units").max() <= settings.max_stake_per_bet


def test_prices_fair_odds_edges_and_each_way_terms_consistently(day, settings) -> None:
    dsn, card, model_id = day
    _score(dsn, card, model_id, settings)
    signals = _signals(dsn)
    assert (signals.get_column("best_odds_src") == "bookmaker").all()  # no live ticks yet at 08:00
    p_win, odds = signals.get_column("p_win").to_numpy(), signals.get_column("best_odds_win").to_numpy()
    assert np.allclose(signals.get_column("edge_win").to_numpy(), p_win * odds - 1)
    fair = signals.get_column("fair_odds_win").to_numpy()
    assert np.allclose(fair, 1 / p_win)
    # p_place sums to the number of places paid in each race
    runners = signals.group_by("race_id").agg(pl.len().alias("n"), pl.col("p_place").sum(), pl.col("ew_places").first())
    for row in runners.iter_rows(named=True):
        places = row["ew_places"] if row["ew_places"] is not None else 3
        assert row["p_place"] == pytest.approx(min(places, row["n"]))
        expected_places = 2 if row["n"] <= 7 else (3 if row["n"] < 12 else None)
        if row["n"] < 5:
            assert row["ew_places"] is None
        elif expected_places is not None:
            assert row["ew_places"] == expected_places
    with_terms = signals.filter(pl.col("ew_places").is_not_null())
    fraction = with_terms.get_column("ew_fraction").map_elements(lambda f: float(Fraction(f)), return_dtype=pl.Float64)
    o = with_terms.get_column("best_odds_win").to_numpy()
    expected_ew = 0.5 * (with_terms["p_win"].to_numpy() * o - 1) + 0.5 * (
        with_terms["p_place"].to_numpy() * (1 + (o - 1) * fraction.to_numpy()) - 1
    )
    assert np.allclose(with_terms.get_column("edge_ew").to_numpy(), expected_ew)
    staked = signals.filter(pl.col("stake_units") > 0)
    assert staked.height > 0
    assert (staked.get_column("edge_win") > 0).all() and (staked.get_column("liquidity_ok") != False).all()  # noqa: E712


def test_reasons_name_the_driver_with_its_value_and_the_market(day, settings) -> None:
    dsn, card, model_id = day
    _score(dsn, card, model_id, settings)
    reasons = _signals(dsn).get_column("reasons_json")[0]  # jsonb arrives as a dict
    assert reasons["drivers"][0].startswith("official rating vs field ")
    assert reasons["contributions"][0]["feature"] == "or_vs_field"
    assert "vs market" in reasons["market"] and "(bookmaker)" in reasons["market"]


def test_live_prices_win_over_bookmaker_prices_and_are_snapshotted(day, settings) -> None:
    dsn, card, model_id = day
    with psycopg.connect(dsn) as conn:
        write_live_ticks(conn, card, start=AS_OF - dt.timedelta(minutes=30), every_minutes=10)
        conn.commit()
    result = _score(dsn, card, model_id, settings)
    signals = _signals(dsn)
    priced_with_ticks = signals.filter(pl.col("best_odds_src") == "live")
    assert priced_with_ticks.height == signals.height  # every priced runner has a tick before 08:00
    with psycopg.connect(dsn) as conn:
        sources = dict(
            conn.execute(
                "SELECT source, count(*) FROM modeling.price_snapshots WHERE ts = %s GROUP BY 1", (AS_OF,)
            ).fetchall()
        )
        with_bookmaker_price = conn.execute(
            "SELECT count(*) FROM racing.runners WHERE race_date = %s AND best_odds IS NOT NULL", (DAY,)
        ).fetchone()[0]  # type: ignore[index]
        latest_tick = conn.execute(
            """SELECT DISTINCT ON (runner_id) runner_id, back_price FROM racing.live_prices
               WHERE ts <= %s ORDER BY runner_id, ts DESC""",
            (AS_OF,),
        ).fetchall()
    # Ticks exist for the races without bookmaker prices too, so those races are priced now.
    assert signals.height == card.runners.height
    assert sources == {"live": signals.height, "bookmaker": with_bookmaker_price, "exchange_wap": with_bookmaker_price}
    assert result.snapshots_written == sum(sources.values())
    odds_by_runner = dict(zip(signals["runner_id"].to_list(), signals["best_odds_win"].to_list(), strict=True))
    for runner_id, back in latest_tick:
        if runner_id in odds_by_runner:
            assert odds_by_runner[runner_id] == back


def test_a_second_run_for_the_same_instant_changes_no_row(day, settings) -> None:
    dsn, card, model_id = day
    first = _score(dsn, card, model_id, settings)
    before = _signals(dsn)
    parquet = first.runners_path.read_bytes()  # type: ignore[union-attr]
    second = _score(dsn, card, model_id, settings)
    assert second.published is not None
    assert (second.published.inserted, second.published.updated) == (0, 0)
    assert second.snapshots_written == 0
    assert _signals(dsn).equals(before)
    assert pl.read_parquet(first.runners_path).equals(pl.read_parquet(second.runners_path))  # type: ignore[arg-type]
    assert len(parquet) > 0


def test_scored_runners_are_saved_for_the_drift_report(day, settings) -> None:
    dsn, card, model_id = day
    result = _score(dsn, card, model_id, settings)
    assert result.runners_path == settings.artifacts_path / "scoring" / DAY.isoformat() / "runners.parquet"
    saved = pl.read_parquet(result.runners_path)
    assert saved.height == result.runners_priced
    for column in ("race_id", "runner_id", "horse_id", "or_vs_field", "p_model", "p_win", "p_market", "overround"):
        assert saved.get_column(column).null_count() == 0, column
    assert set(saved.get_column("model_version")) == {"synthetic-1"}
    assert set(saved.get_column("best_odds_src")) == {"bookmaker"}
    assert (saved.get_column("overround") > 1.1).all()  # bookmaker books


def test_races_already_off_are_skipped(day, settings) -> None:
    dsn, card, model_id = day
    third_off = card.races.get_column("off_time")[2]
    # The third off time read as UTC is an hour after that race's off (London is UTC+1 in June).
    as_of = dt.datetime.combine(DAY, third_off, tzinfo=dt.UTC)
    result = _score(dsn, card, model_id, settings, as_of=as_of)
    off_before = [r for r, reason in result.skipped.items() if reason == "off before as_of"]
    assert len(off_before) >= 3
    assert set(_signals(dsn).get_column("race_id")).isdisjoint(off_before)


def test_a_runner_without_features_skips_its_race_with_the_reason(day, settings) -> None:
    dsn, card, model_id = day
    features = rating_features(card)
    race_id = card.races.get_column("race_id")[4]
    dropped = features.frame.filter(pl.col("race_id") == race_id).get_column("runner_id")[0]
    partial = FeatureSet(features.frame.filter(pl.col("runner_id") != dropped), features.feature_columns)
    result = _score(dsn, card, model_id, settings, features=partial)
    assert result.skipped[race_id] == f"model missing a required input (no p_model for runner_id {dropped})"


def test_a_feature_column_the_model_needs_but_the_features_lack_is_an_error(day, settings) -> None:
    dsn, card, model_id = day
    features = rating_features(card)
    lacking = FeatureSet(features.frame.drop("or_vs_field").with_columns(pl.lit(0.0).alias("x")), ("x",))
    with pytest.raises(GiddyUpError, match="needs feature column or_vs_field"):
        _score(dsn, card, model_id, settings, features=lacking)
