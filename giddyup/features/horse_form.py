"""A horse's own history before the race day: form, records, ratings, speed, and its past market.

Each block is a table of per-horse states at the end of each day (running values over its runs in
date order), joined to the race by `state_before` (strictly earlier days only).
"""

from __future__ import annotations

import polars as pl

from giddyup.features.pointintime import (
    end_of_day_last,
    end_of_day_totals,
    in_key_order,
    restore_order,
    running_total,
    state_before,
    totals_in_window,
)
from giddyup.features.prepare import UNKNOWN_KEY
from giddyup.features.shrinkage import HORSE_RECORD_STRENGTH, shrunk_ratio

HORSE = ["horse_id"]
RUN_ORDER = ["race_date", "off_time", "race_id"]  # a horse's runs in time order
RECENT = 3  # runs in the "recent" means
# What the running states read from each past run.
HISTORY_VALUES = [
    "win_share", "expected_win", "placed", "expected_place", "pos_rel", "btn_capped", "official_rating",
    "class_num", "dist_f", "lbs", "has_headgear", "p_sp", "perf_rating", "speed_figure",
]  # fmt: skip
RECORDS = {"course_id": "course", "dist_band": "distance", "going_group": "going"}  # key -> feature name part
RECORD_FEATURES = {f"horse_{name}_{what}" for name in RECORDS.values() for what in ("runs", "win_ae")}

DESCRIPTIONS = {
    "horse_career_runs": "runs before today",
    "horse_career_win_ae": "career wins against the wins its field sizes gave it (shrunk, 1 = average)",
    "horse_career_place_ae": "career places against the places its field sizes gave it (shrunk, 1 = average)",
    "horse_days_since_last_run": "days since its last run",
    "horse_runs_365d": "runs in the last 365 days",
    "horse_last_pos_rel": "last finishing position relative to field size (0 won, 1 last or did not finish)",
    "horse_mean3_pos_rel": "mean relative finishing position over its last 3 runs (0 won, 1 last)",
    "horse_last_btn": "lengths beaten last time (capped at 30; non-finishers 30)",
    "horse_mean3_btn": "mean lengths beaten over its last 3 runs",
    "horse_official_rating": "official rating today",
    "horse_or_change": "official rating today minus its rating at its last run",
    "horse_best_perf_rating": "best performance rating before today (RPR, or one read from results)",
    "horse_last_perf_rating": "performance rating of its last rated run",
    "horse_mean3_perf_rating": "mean performance rating of its last 3 rated runs",
    "horse_best_speed_figure": "best speed figure before today (lb, against standard times)",
    "horse_last_speed_figure": "speed figure of its last timed run",
    "horse_mean3_speed_figure": "mean speed figure of its last 3 timed runs",
    "horse_course_runs": "runs at this course before today",
    "horse_course_win_ae": "wins at this course against expectation (shrunk)",
    "horse_distance_runs": "runs at this distance band before today",
    "horse_distance_win_ae": "wins at this distance band against expectation (shrunk)",
    "horse_going_runs": "runs on this going group before today",
    "horse_going_win_ae": "wins on this going group against expectation (shrunk)",
    "horse_last_sp_prob": "market's win probability for it last time (from SP)",
    "horse_mean3_sp_prob": "mean market win probability over its last 3 runs (from SP)",
    "horse_market_win_ae": "career wins against the wins its past SPs implied (shrunk; > 1 beat the market)",
    "horse_class_change": "class number today minus last run's (positive = dropping in class)",
    "horse_distance_change_f": "distance today minus last run's (furlongs)",
    "horse_weight_change_lbs": "weight carried today minus last run's (lb)",
    "horse_headgear_changed": "headgear on/off compared with its last run (1 changed)",
}


def mean_of_last(value: str, n: int = RECENT) -> pl.Expr:
    """Mean of the value over this run and the horse's n-1 runs before it (frame sorted by horse, time).

    Shifted columns masked to the same horse: as exact as a rolling mean per horse, far cheaper.
    """
    total, count = pl.col(value), pl.lit(1.0)
    for lag in range(1, n):
        same_horse = (pl.col("horse_id") == pl.col("horse_id").shift(lag)).fill_null(False)
        total = total + pl.when(same_horse).then(pl.col(value).shift(lag)).otherwise(0.0)
        count = count + same_horse.cast(pl.Float64)
    return total / count


def _recent_state(runs: pl.DataFrame, value: str, prefix: str) -> pl.DataFrame:
    """Last, mean of the last RECENT and best of a value, over the runs where it exists."""
    rated = runs.filter(pl.col(value).is_not_null())
    running = rated.select(
        *HORSE,
        "race_date",
        pl.col(value).alias(f"last_{prefix}"),
        mean_of_last(value).alias(f"mean3_{prefix}"),
        pl.col(value).cum_max().over(HORSE).alias(f"best_{prefix}"),
    )
    return end_of_day_last(running, HORSE)


def _form_state(runs: pl.DataFrame) -> pl.DataFrame:
    running = runs.select(
        *HORSE,
        "race_date",
        pl.col("race_date").alias("last_run_date"),
        running_total(pl.repeat(1.0, pl.len()), HORSE).alias("runs"),
        running_total("win_share", HORSE).alias("act_win"),
        running_total("expected_win", HORSE).alias("exp_win"),
        running_total("placed", HORSE).alias("act_place"),
        running_total("expected_place", HORSE).alias("exp_place"),
        pl.col("pos_rel").alias("last_pos_rel"),
        mean_of_last("pos_rel").alias("mean3_pos_rel"),
        pl.col("btn_capped").alias("last_btn"),
        mean_of_last("btn_capped").alias("mean3_btn"),
        pl.col("official_rating").forward_fill().over(HORSE).alias("last_or"),
        pl.col("class_num").alias("last_class_num"),
        pl.col("dist_f").alias("last_dist_f"),
        pl.col("lbs").alias("last_lbs"),
        pl.col("has_headgear").alias("last_has_headgear"),
    )
    return end_of_day_last(running, HORSE)


def _market_state(runs: pl.DataFrame) -> pl.DataFrame:
    priced = runs.filter(pl.col("p_sp").is_not_null())
    running = priced.select(
        *HORSE,
        "race_date",
        pl.col("p_sp").alias("last_sp_prob"),
        mean_of_last("p_sp").alias("mean3_sp_prob"),
        running_total("win_share", HORSE).alias("mkt_act"),
        running_total("p_sp", HORSE).alias("mkt_exp"),
    )
    return end_of_day_last(running, HORSE)


def _activity(runs: pl.DataFrame) -> pl.DataFrame:
    return end_of_day_totals(runs, HORSE, {"runs_365d": pl.len().cast(pl.Float64)})


def _record(history: pl.DataFrame, targets: pl.DataFrame, key: str, name: str) -> pl.DataFrame:
    """Runs and shrunk win A/E of the horse on this course / distance band / going group."""
    by = [*HORSE, key]
    totals = end_of_day_totals(
        history.lazy().filter(pl.col(key) != UNKNOWN_KEY),
        by,
        {"n": pl.len().cast(pl.Float64), "act": pl.col("win_share").sum(), "exp": pl.col("expected_win").sum()},
    )
    window = totals_in_window(in_key_order(targets, by), totals, by, ["n", "act", "exp"], days=None)
    known_key = pl.col(key).is_not_null() & (pl.col(key) != UNKNOWN_KEY)  # unknown going/distance: no record
    record = window.with_columns(
        pl.when(known_key).then(pl.col("n").cast(pl.Int32)).alias(f"horse_{name}_runs"),
        pl.when(known_key)
        .then(shrunk_ratio(pl.col("act"), pl.col("exp"), HORSE_RECORD_STRENGTH))
        .alias(f"horse_{name}_win_ae"),
    )
    return restore_order(record, [f"horse_{name}_runs", f"horse_{name}_win_ae"])


def horse_form_features(history: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """One row per target (same order): the horse's features from days before the race."""
    runs = history.select(*HORSE, *RUN_ORDER, *HISTORY_VALUES).sort([*HORSE, *RUN_ORDER], nulls_last=True)
    today = ["official_rating", "lbs", "class_num", "dist_f", "has_headgear"]
    out = in_key_order(targets, HORSE, today)
    for state in (
        _form_state(runs),
        _market_state(runs),
        _recent_state(runs, "perf_rating", "perf"),
        _recent_state(runs, "speed_figure", "speed"),
    ):
        out = state_before(out, state, HORSE)
    out = totals_in_window(out, _activity(runs), HORSE, ["runs_365d"], days=365)

    features = out.with_columns(
        pl.col("runs").fill_null(0).cast(pl.Int32).alias("horse_career_runs"),
        shrunk_ratio(pl.col("act_win"), pl.col("exp_win"), HORSE_RECORD_STRENGTH).alias("horse_career_win_ae"),
        shrunk_ratio(pl.col("act_place"), pl.col("exp_place"), HORSE_RECORD_STRENGTH).alias("horse_career_place_ae"),
        (pl.col("race_date") - pl.col("last_run_date"))
        .dt.total_days()
        .cast(pl.Int32)
        .alias("horse_days_since_last_run"),
        pl.col("runs_365d").cast(pl.Int32).alias("horse_runs_365d"),
        pl.col("last_pos_rel").alias("horse_last_pos_rel"),
        pl.col("mean3_pos_rel").alias("horse_mean3_pos_rel"),
        pl.col("last_btn").alias("horse_last_btn"),
        pl.col("mean3_btn").alias("horse_mean3_btn"),
        pl.col("official_rating").cast(pl.Float64).alias("horse_official_rating"),
        (pl.col("official_rating") - pl.col("last_or")).cast(pl.Float64).alias("horse_or_change"),
        pl.col("best_perf").alias("horse_best_perf_rating"),
        pl.col("last_perf").alias("horse_last_perf_rating"),
        pl.col("mean3_perf").alias("horse_mean3_perf_rating"),
        pl.col("best_speed").alias("horse_best_speed_figure"),
        pl.col("last_speed").alias("horse_last_speed_figure"),
        pl.col("mean3_speed").alias("horse_mean3_speed_figure"),
        pl.col("last_sp_prob").alias("horse_last_sp_prob"),
        pl.col("mean3_sp_prob").alias("horse_mean3_sp_prob"),
        shrunk_ratio(pl.col("mkt_act"), pl.col("mkt_exp"), HORSE_RECORD_STRENGTH).alias("horse_market_win_ae"),
        (pl.col("class_num") - pl.col("last_class_num")).cast(pl.Float64).alias("horse_class_change"),
        (pl.col("dist_f") - pl.col("last_dist_f")).alias("horse_distance_change_f"),
        (pl.col("lbs") - pl.col("last_lbs")).cast(pl.Float64).alias("horse_weight_change_lbs"),
        (pl.col("has_headgear") != pl.col("last_has_headgear")).cast(pl.Int8).alias("horse_headgear_changed"),
    )
    records = [_record(history, targets, key, name) for key, name in RECORDS.items()]
    own = [name for name in DESCRIPTIONS if name not in RECORD_FEATURES]
    return pl.concat([restore_order(features, own), *records], how="horizontal").select(list(DESCRIPTIONS))
