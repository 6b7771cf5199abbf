"""Checks that features do not look ahead: used by the leakage tests, usable on any feature function.

A feature function takes rows as `read.read_runs` returns them and the race ids to describe, and
returns one row per starter of those races: `runner_id` plus feature columns. Two checks:

- `point_in_time_mismatches`: a race's features from all rows must equal its features from only
  the rows of earlier days plus the race itself as a declaration (no result, no SP, non-runners
  gone), column by column. Anything from the race day or later that reaches a feature shows up.
- `relabel_dependence`: renumbering horses, jockeys, trainers and courses must change nothing;
  a running total that runs over from one horse into the next depends on how horses are
  numbered (the classic cumulative sum shifted across horses instead of within each horse).
- `same_race_dependence`: scrambling the after-race columns of the race and of every other race
  that day must leave its features unchanged (the race's own result, SP, rating, times, and
  anything else known only on the day).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import polars as pl

from giddyup.features.read import AFTER_RACE_COLUMNS

FeatureFunction = Callable[[pl.DataFrame, Sequence[int]], pl.DataFrame]
FLOAT_TOLERANCE = 1e-9
ROWS = "(rows)"  # reported when the two frames do not hold the same runners


def pipeline_features(runs: pl.DataFrame, race_ids: Sequence[int]) -> pl.DataFrame:
    """The real feature build, as a feature function."""
    from giddyup.features.build import features_from_runs

    built = features_from_runs(runs, pl.col("race_id").is_in(list(race_ids)))
    return built.frame.select("runner_id", *built.feature_columns)


def as_known_before(runs: pl.DataFrame, race_id: int) -> pl.DataFrame:
    """Rows of days before the race's day, plus the race as a declaration (as on the morning of it)."""
    race_rows = runs.filter(pl.col("race_id") == race_id)
    if race_rows.height == 0:
        raise ValueError(f"race {race_id} is not in the rows")
    day = race_rows.get_column("race_date")[0]
    started = race_rows.filter(pl.col("pos_raw").is_not_null())  # non-runners are not on a final card
    declaration = started.with_columns(
        pl.lit(True).alias("prelim"), *[pl.lit(None, runs.schema[c]).alias(c) for c in AFTER_RACE_COLUMNS]
    )
    return pl.concat([runs.filter(pl.col("race_date") < day), declaration])


def scramble_after_race(
    runs: pl.DataFrame, race_ids: Iterable[int], columns: Sequence[str] = AFTER_RACE_COLUMNS, seed: int = 0
) -> pl.DataFrame:
    """Replace `columns` of the races and of every race on their days with random values of the column.

    A non-runner stays a non-runner (pos_raw NULL stays NULL, set stays set): who starts is known
    before the off. pos_num is re-derived from pos_raw, as the database's generated column is.
    """
    rng = np.random.default_rng(seed)
    days = runs.filter(pl.col("race_id").is_in(list(race_ids))).get_column("race_date").unique()
    hit = pl.col("race_date").is_in(days.implode())
    mask = runs.select(hit).to_series().to_numpy()
    out = runs
    for column in columns:
        if column == "pos_num":
            continue
        pool = runs.get_column(column).drop_nulls()
        if pool.len() == 0:
            continue
        drawn = pool.gather(rng.integers(0, pool.len(), runs.height))
        keep_null = column == "pos_raw"
        values = pl.Series(column, drawn, dtype=runs.schema[column])
        out = out.with_columns(
            pl.when(pl.lit(pl.Series(mask)) & (pl.col(column).is_not_null() if keep_null else pl.lit(True)))
            .then(pl.lit(values))
            .otherwise(pl.col(column))
            .alias(column)
        )
    if "pos_raw" in columns:
        out = out.with_columns(
            pl.col("pos_raw").str.extract(r"^(\d+)", 1).cast(runs.schema["pos_num"]).alias("pos_num")
        )
    return out


def differing_columns(expected: pl.DataFrame, actual: pl.DataFrame, tolerance: float = FLOAT_TOLERANCE) -> list[str]:
    """Feature columns whose values differ between two frames keyed by runner_id (NULL = NULL)."""
    if sorted(expected.get_column("runner_id").to_list()) != sorted(actual.get_column("runner_id").to_list()):
        return [ROWS]
    joined = expected.join(actual, on="runner_id", how="left", suffix="__other")
    differing = []
    for column in expected.columns:
        if column == "runner_id":
            continue
        left, right = pl.col(column), pl.col(f"{column}__other")
        if expected.schema[column].is_float():
            same = (
                (left.is_null() & right.is_null())
                | (left.is_nan() & right.is_nan())
                | ((left - right).abs() <= tolerance)
            )
        else:
            same = left.eq_missing(right)
        if not joined.select(same.fill_null(False).all()).item():
            differing.append(column)
    return differing


def point_in_time_mismatches(
    feature_fn: FeatureFunction, runs: pl.DataFrame, race_ids: Sequence[int]
) -> dict[int, list[str]]:
    """Per race: the feature columns that differ when only what was known before its day is given."""
    full = feature_fn(runs, race_ids)
    found: dict[int, list[str]] = {}
    race_of = runs.select("runner_id", "race_id")
    for race_id in race_ids:
        expected = full.join(race_of.filter(pl.col("race_id") == race_id), on="runner_id", how="semi")
        actual = feature_fn(as_known_before(runs, race_id), [race_id])
        columns = differing_columns(expected, actual)
        if columns:
            found[race_id] = columns
    return found


def same_race_dependence(
    feature_fn: FeatureFunction,
    runs: pl.DataFrame,
    race_ids: Sequence[int],
    columns: Sequence[str] = AFTER_RACE_COLUMNS,
    seed: int = 0,
) -> dict[int, list[str]]:
    """Per race: feature columns that change when the after-race columns of its day are scrambled.

    One day at a time: a scrambled day is legitimately history for races on later days.
    """
    day_of = dict(
        runs.filter(pl.col("race_id").is_in(list(race_ids))).select("race_id", "race_date").unique().iter_rows()
    )
    found: dict[int, list[str]] = {}
    for offset, day in enumerate(sorted(set(day_of.values()))):
        races = [race for race in race_ids if day_of.get(race) == day]
        before = feature_fn(runs, races)
        after = feature_fn(scramble_after_race(runs, races, columns, seed + offset), races)
        race_of = runs.select("runner_id", "race_id")
        for race_id in races:
            mine = race_of.filter(pl.col("race_id") == race_id)
            differing = differing_columns(
                before.join(mine, on="runner_id", how="semi"), after.join(mine, on="runner_id", how="semi")
            )
            if differing:
                found[race_id] = differing
    return found


ID_COLUMNS_TO_RELABEL = ("horse_id", "jockey_id", "trainer_id", "course_id")


def relabel_dependence(
    feature_fn: FeatureFunction, runs: pl.DataFrame, race_ids: Sequence[int], seed: int = 0
) -> list[str]:
    """Feature columns that change when entity ids are renumbered at random (features must not care)."""
    rng = np.random.default_rng(seed)
    relabelled = runs
    for column in ID_COLUMNS_TO_RELABEL:
        ids = runs.get_column(column).drop_nulls().unique().sort()
        shuffled = pl.Series(rng.permutation(ids.to_numpy()), dtype=ids.dtype)
        relabelled = relabelled.with_columns(pl.col(column).replace_strict(ids, shuffled, default=None))
    return differing_columns(feature_fn(runs, race_ids), feature_fn(relabelled, race_ids))
