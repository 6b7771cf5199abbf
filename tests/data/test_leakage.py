"""No look-ahead, by test: the features of a race use nothing from its day or later.

Three checks (giddyup.features.leakage) on the real feature build, each shown to catch the
classic bugs when fed one:
- point in time: features from all rows == features from earlier days plus the race as a
  declaration (property test over random races, in frames and in real databases);
- same day: scrambling the after-race columns (pos_raw, btn, ovr_btn, secs, rpr, dec, win_bsp,
  comment) of the race and of every race that day changes no feature;
- relabelling: renumbering horses, jockeys, trainers and courses changes no feature.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from giddyup.features import leakage
from giddyup.features.build import FEATURE_COLUMNS, build_race_day_features, build_training_features
from giddyup.features.read import read_runs, training_window
from tests.support.databases import migrate_dsn
from tests.support.features_world import WorldSpec, build_world

UK = WorldSpec(seed=11, style="uk", racing_days=45)
HK = WorldSpec(seed=12, style="hk", racing_days=45)
FAR_FUTURE = dt.date(2100, 1, 1)


@pytest.fixture(scope="module")
def world_dsn(database_factory) -> str:
    dsn = database_factory.create("gu_leak")
    migrate_dsn(dsn)
    build_world(dsn, UK)
    build_world(dsn, HK)
    return dsn


@pytest.fixture(scope="module")
def runs(world_dsn) -> pl.DataFrame:
    return read_runs(world_dsn, training_window(FAR_FUTURE))


@pytest.fixture(scope="module")
def later_races(runs) -> list[int]:
    """Races after the first week (so there is history to leak from and a future to leak)."""
    first = runs.get_column("race_date").min()
    later = runs.filter(pl.col("race_date") > first + dt.timedelta(days=7))
    return later.get_column("race_id").unique().sort().to_list()


@pytest.fixture(scope="module")
def sample(later_races) -> list[int]:
    return random.Random(2024).sample(later_races, 8)


# --- the real features pass ----------------------------------------------------------------


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_features_from_the_past_alone_equal_features_from_everything(runs, later_races, data):
    race = data.draw(st.sampled_from(later_races), label="race_id")
    assert leakage.point_in_time_mismatches(leakage.pipeline_features, runs, [race]) == {}


def test_no_feature_reads_the_after_race_columns_of_its_day(runs, sample):
    scrambled = leakage.scramble_after_race(runs, sample)
    day_rows = pl.col("race_id").is_in(sample)
    # The scramble really changed the race's results and prices ...
    for column in ("pos_raw", "ovr_btn", "secs", "dec"):
        before = runs.filter(day_rows).get_column(column)
        after = scrambled.filter(day_rows).get_column(column)
        assert not before.equals(after), column
    # ... and no feature noticed.
    assert leakage.same_race_dependence(leakage.pipeline_features, runs, sample) == {}


def test_features_do_not_depend_on_how_entities_are_numbered(runs, sample):
    assert leakage.relabel_dependence(leakage.pipeline_features, runs, sample) == []


def test_a_horse_running_twice_in_a_day_sees_neither_race(runs):
    doubles = (
        runs.filter(pl.col("pos_raw").is_not_null())
        .group_by("horse_id", "race_date")
        .agg(pl.col("race_id"))
        .filter(pl.col("race_id").list.len() > 1)
    )
    assert doubles.height > 0  # the test world makes one
    horse, _, races = doubles.row(0)
    features = leakage.pipeline_features(runs, races).join(
        runs.filter(pl.col("horse_id") == horse).select("runner_id"), on="runner_id", how="semi"
    )
    history = ["horse_career_runs", "horse_days_since_last_run", "horse_last_pos_rel", "horse_career_win_ae"]
    assert features.height == 2
    assert features.select(history).n_unique() == 1  # both runs see the same (earlier) history


# --- the checks catch the classic bugs ------------------------------------------------------


def _with_bug(bug: pl.Expr, order: tuple[str, ...] = ("horse_id", "race_date", "race_id")):
    """A feature function: the real features plus one buggy column computed over all rows."""

    def features(runs: pl.DataFrame, race_ids) -> pl.DataFrame:
        buggy = runs.sort(list(order)).select("runner_id", bug.alias("buggy_feature"))
        return leakage.pipeline_features(runs, race_ids).join(buggy, on="runner_id", how="left")

    return features


WON = (pl.col("pos_num") == 1).fill_null(False).cast(pl.Int32)
# Prior wins as a running total over every row (not within each horse), shifted one row.
CUMSUM_ACROSS_HORSES = _with_bug(WON.cum_sum().shift(1))
# Running total within each horse, but the shift done over the whole frame: it crosses horses.
SHIFT_ACROSS_HORSES = _with_bug(WON.cum_sum().over("horse_id").shift(1))
# The rating the horse earned in the race being described.
SAME_RACE_RATING = _with_bug(pl.col("rpr"))


def test_point_in_time_check_flags_a_cumulative_sum_across_horses(runs, sample):
    flagged = leakage.point_in_time_mismatches(CUMSUM_ACROSS_HORSES, runs, sample)
    assert set(flagged) == set(sample)
    assert all(columns == ["buggy_feature"] for columns in flagged.values())


def test_checks_flag_a_shift_across_horses(runs, later_races):
    races = random.Random(7).sample(later_races, 20)
    assert leakage.relabel_dependence(SHIFT_ACROSS_HORSES, runs, races) == ["buggy_feature"]
    # It leaks only at the first run of a horse (the previous row is another horse's last one).
    flagged = leakage.point_in_time_mismatches(SHIFT_ACROSS_HORSES, runs, races)
    assert flagged and all(columns == ["buggy_feature"] for columns in flagged.values())


def test_checks_flag_a_same_race_rating(runs, sample):
    rated = runs.filter(pl.col("race_id").is_in(sample) & pl.col("rpr").is_not_null())
    rated_races = set(rated.get_column("race_id").to_list())
    assert rated_races  # UK races in the sample have RPRs
    flagged = leakage.point_in_time_mismatches(SAME_RACE_RATING, runs, sample)
    assert set(flagged) == rated_races
    same_day = leakage.same_race_dependence(SAME_RACE_RATING, runs, sample)
    assert set(same_day) == set(sample)  # scrambling gives even HK races a value to leak


def test_clean_comparison_needs_equal_runners(runs, sample):
    """A feature function that drops a runner is reported, not silently compared on fewer rows."""

    def drops_one(frame: pl.DataFrame, race_ids) -> pl.DataFrame:
        out = leakage.pipeline_features(frame, race_ids)
        return out.head(out.height - 1) if frame.get_column("prelim").any() else out

    flagged = leakage.point_in_time_mismatches(drops_one, runs, sample[:1])
    assert flagged == {sample[0]: [leakage.ROWS]}


# --- the market's book -----------------------------------------------------------------------


def test_market_book_counts_non_finishers_and_not_non_runners(world_dsn):
    built = build_training_features(world_dsn, until=FAR_FUTURE).frame
    with psycopg.connect(world_dsn) as conn:
        book = dict(
            conn.execute(
                """SELECT race_id, sum(1 / dec) FROM racing.runners
                   WHERE pos_raw IS NOT NULL AND dec IS NOT NULL GROUP BY race_id"""
            ).fetchall()
        )
    with_non_finisher = built.filter((~pl.col("finished")).any().over("race_id"))
    assert with_non_finisher.height > 0
    per_race = with_non_finisher.group_by("race_id").agg(
        pl.col("overround_dec").first(),
        pl.col("p_market_dec").sum().alias("p_sum"),
        (1 / pl.col("dec")).filter(pl.col("finished")).sum().alias("finishers_book"),
        pl.col("p_market_dec").filter(~pl.col("finished")).min().alias("non_finisher_p"),
    )
    for race_id, overround, p_sum, finishers_book, non_finisher_p in per_race.iter_rows():
        assert overround == pytest.approx(book[race_id], rel=1e-12)
        assert overround > finishers_book  # a book without the non-finishers would be smaller
        assert p_sum == pytest.approx(1.0, abs=1e-12)
        assert non_finisher_p > 0


# --- the same guarantees through real databases ------------------------------------------


AFTER_RACE_SQL = (
    "pos_raw = NULL, ovr_btn = NULL, btn = NULL, time_raw = NULL, secs = NULL, dec = NULL, rpr = NULL, "
    "comment = NULL, win_bsp = NULL, place_bsp = NULL, prize = NULL, win_ipmax = NULL, win_ipmin = NULL, "
    "win_ip_vol = NULL, win_lose = NULL"
)


def test_database_with_only_the_past_gives_the_same_features(world_dsn, database_factory, runs, later_races):
    full = build_training_features(world_dsn, until=FAR_FUTURE).frame
    for race_id in random.Random(99).sample(later_races, 3):
        day = runs.filter(pl.col("race_id") == race_id).get_column("race_date")[0]
        past = database_factory.copy(world_dsn)
        with psycopg.connect(past) as conn:
            # The morning of the race: earlier days resulted, the race a card, nothing else.
            conn.execute(
                "DELETE FROM racing.runners WHERE race_date > %s OR (race_date = %s AND race_id <> %s)",
                (day, day, race_id),
            )
            conn.execute(
                "DELETE FROM racing.races WHERE race_date > %s OR (race_date = %s AND race_id <> %s)",
                (day, day, race_id),
            )
            conn.execute("DELETE FROM racing.runners WHERE race_id = %s AND pos_raw IS NULL", (race_id,))
            conn.execute(f"UPDATE racing.runners SET {AFTER_RACE_SQL} WHERE race_id = %s", (race_id,))
            conn.execute("UPDATE racing.races SET prelim = true WHERE race_id = %s", (race_id,))
        morning = build_race_day_features(past, race_date=day).frame
        expected = full.filter(pl.col("race_id") == race_id).select("runner_id", *FEATURE_COLUMNS)
        assert morning.height == expected.height > 0
        assert leakage.differing_columns(expected, morning.select("runner_id", *FEATURE_COLUMNS)) == []


def test_scrambled_results_of_the_day_in_the_database_change_no_feature(world_dsn, database_factory, runs, later_races):
    day = runs.filter(pl.col("race_id") == random.Random(3).choice(later_races)).get_column("race_date")[0]
    before = build_training_features(world_dsn, until=day, since=day).frame
    scrambled = database_factory.copy(world_dsn)
    with psycopg.connect(scrambled) as conn:
        conn.execute("SELECT setseed(0.42)")
        conn.execute(
            """UPDATE racing.runners SET
                   pos_raw = CASE WHEN pos_raw IS NULL THEN NULL
                                  WHEN random() < 0.2 THEN 'PU' ELSE (1 + floor(random() * 12))::int::text END,
                   btn = random() * 20, ovr_btn = random() * 20, secs = 50 + random() * 200,
                   rpr = (random() * 150)::int, dec = 1.5 + random() * 30, win_bsp = 1.5 + random() * 30,
                   comment = md5(random()::text)
               WHERE race_date = %s""",
            (day,),
        )
    after = build_training_features(scrambled, until=day, since=day).frame
    assert not after.select("won", "dec").equals(before.select("won", "dec"))  # results and prices changed
    assert (
        leakage.differing_columns(
            before.select("runner_id", *FEATURE_COLUMNS), after.select("runner_id", *FEATURE_COLUMNS)
        )
        == []
    )
