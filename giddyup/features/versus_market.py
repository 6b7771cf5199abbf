"""Performance against the market in earlier races: what the market missed, per horse, yard, rider, draw.

The market of the race being priced never enters the fundamental model. What the market thought
of a runner in its *earlier* races is history, and the gap between that opinion and what the
runner then did is the most direct measure of what the market under-reads: a horse's persistent
quirk, a yard or rider in or out of form, a draw bias. (The same residual by going, distance band,
course, surface and after a break was tried for trip, ground and freshness: no measurable value on
the simulated world, whose market misses half of each, nor on HK; left out.)

Per past run (finishers of resulted races with a complete book; see `add_market_residuals`):

    performance  d_perf = the run in lbs relative to the race's finishers (weight carried included):
                          rating achieved minus weight when every finisher is rated (RPR, or the
                          rating read from the result), else minus beaten lengths x lbs per length
    market view  d_m    = log of the market's probability relative to the race's finishers
    residual     resid  = d_perf - slope x d_m   (lbs; + = ran better than the market expected)
    market rating       = the race's mean rating + slope x d_m + weight relative to the race
                          (the weight-free rating the market's price implied; NULL without ratings)

`slope` (lbs per unit of log probability) is the regression of d_perf on d_m over every earlier
day's finishers, per race type and price source (a Betfair SP book when complete, else SP), shrunk
toward PRIOR_SLOPE: learned from the past only, like the speed standards, so a run's residual
never uses its own day. The residual is then uncorrelated with the market's view on average.

The aggregates are shrunk toward 0 (no evidence: the market was right) by a prior worth a number
of runs: the residual of one run is mostly luck (its spread is 8-12 lbs against 2-3 lbs for the
effects it measures).
"""

from __future__ import annotations

import polars as pl

from giddyup.features.horse_form import mean_of_last
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

PRIOR_SLOPE = 8.0  # lbs per unit of log probability, before any history
SLOPE_STRENGTH = 200.0  # units of Σ d_m² (about 200 finishers) of pull toward PRIOR_SLOPE
RESID_CAP = 30.0  # lbs: one run's residual beyond this says nothing more
MIN_FINISHERS = 3
HORSE_STRENGTH = 6.0  # runs of prior at 0 for a horse's residual
CONNECTION_STRENGTH = 25.0  # runs, for trainers and jockeys over a window
DRAW_STRENGTH = 60.0  # runs, for a draw slice of a course, distance and field size
CONNECTION_WINDOWS = (14, 30, 90, 365)
CONNECTIONS = {"trainer": ["trainer_id"], "jockey": ["jockey_id"]}
HORSE = ["horse_id"]
RUN_ORDER = ["race_date", "off_time", "race_id"]
DRAW_KEY = ["course_id", "dist_band", "field_band", "draw_bucket"]
DRAW_BUCKETS = 4
# The measures the model's combination stage weighs next to log p_model and log p_market
# (giddyup.model.combine): each in lbs the market has been wrong by, missing = 0.
COMBINER_COVARIATES = (
    "horse_vs_market",
    "trainer_vs_market_30d",
    "trainer_vs_market_90d",
    "jockey_vs_market_90d",
    "draw_vs_market",
)


def _descriptions() -> dict[str, str]:
    out = {
        "horse_vs_market_runs": "earlier runs with a market residual (finished, full book)",
        "horse_vs_market": "mean lbs it ran better than its earlier prices implied (shrunk toward 0)",
        "horse_vs_market_last": "lbs it ran better than its price implied last time",
        "horse_vs_market_mean3": "mean lbs better than its prices implied over its last 3 such runs",
        "horse_market_rating_last": "weight-free rating its price implied last time (lbs)",
        "horse_market_rating_mean3": "mean weight-free rating its prices implied over its last 3 runs",
        "horse_market_rating_best": "best weight-free rating its prices have implied",
    }
    for who, people in (("trainer", "the trainer's runners"), ("jockey", "the jockey's rides")):
        for days in CONNECTION_WINDOWS:
            out[f"{who}_vs_market_{days}d"] = (
                f"mean lbs {people} ran better than their prices implied in the last {days} days (shrunk)"
            )
    out["draw_vs_market"] = (
        "mean lbs runners from this part of the draw (course, distance, field size) beat their prices by (shrunk)"
    )
    return out


DESCRIPTIONS = _descriptions()


def _race_mean(value: pl.Expr, among: pl.Expr) -> pl.Expr:
    return value.filter(among).mean().over("race_id")


def add_market_residuals(history: pl.DataFrame) -> pl.DataFrame:
    """History plus per-run `mkt_resid` (finishers) and `mkt_rating` (starters), both NULL where unknown.

    Needs p_sp and p_bsp (the race's SP and Betfair SP books, NULL when incomplete), perf_rating,
    lbs, btn_capped, lbs_per_length, finished, race_type_code.
    """
    complete_bsp = pl.col("p_bsp").is_not_null().all().over("race_id")
    complete_sp = pl.col("p_sp").is_not_null().all().over("race_id")
    source = pl.when(complete_bsp).then(1).when(complete_sp).then(0)
    p = pl.when(complete_bsp).then(pl.col("p_bsp")).when(complete_sp).then(pl.col("p_sp"))
    usable = pl.col("finished").fill_null(False) & pl.col("_log_p").is_not_null()
    rated_race = (pl.col("perf_rating").is_not_null() | ~usable).all().over("race_id")
    lbs = pl.col("lbs").cast(pl.Float64)
    perf = (
        pl.when(rated_race)
        .then(pl.col("perf_rating") - lbs)
        .otherwise(-pl.col("btn_capped") * pl.col("lbs_per_length"))
    )
    runs = history.with_columns(
        source.cast(pl.Int8).alias("_source"),
        p.log().alias("_log_p"),
        pl.col("race_type_code").fill_null(UNKNOWN_KEY).alias("_type_key"),
    ).with_columns(
        usable.alias("_usable"),
        (usable.cast(pl.Int32).sum().over("race_id") >= MIN_FINISHERS).alias("_enough"),
        pl.when(usable).then(perf).alias("_perf"),
    )
    runs = runs.with_columns(
        pl.when(pl.col("_enough"))
        .then(pl.col("_perf") - _race_mean(pl.col("_perf"), pl.col("_usable")))
        .alias("_d_perf"),
        pl.when(pl.col("_enough") & pl.col("_log_p").is_not_null())
        .then(pl.col("_log_p") - _race_mean(pl.col("_log_p"), pl.col("_usable")))
        .alias("_d_m"),
    )
    slope_key = ["_type_key", "_source"]
    fitted = runs.filter(pl.col("_d_perf").is_not_null())
    totals = end_of_day_totals(
        fitted,
        slope_key,
        {"sxy": (pl.col("_d_perf") * pl.col("_d_m")).sum(), "sxx": (pl.col("_d_m") ** 2).sum()},
    )
    races = (
        runs.filter(pl.col("_d_m").is_not_null())
        .select("race_id", "race_date", *slope_key)
        .unique("race_id")
        .sort([*slope_key, "race_date"])
    )
    slopes = state_before(races, totals, slope_key).select(
        "race_id",
        (
            (pl.col("sxy").fill_null(0.0) + SLOPE_STRENGTH * PRIOR_SLOPE)
            / (pl.col("sxx").fill_null(0.0) + SLOPE_STRENGTH)
        ).alias("_slope"),
    )
    runs = runs.join(slopes, on="race_id", how="left", maintain_order="left")
    rating_anchor = _race_mean(pl.col("perf_rating"), pl.col("_usable")) - _race_mean(lbs, pl.col("_usable"))
    return runs.with_columns(
        (pl.col("_d_perf") - pl.col("_slope") * pl.col("_d_m")).clip(-RESID_CAP, RESID_CAP).alias("mkt_resid"),
        pl.when(pl.col("_enough") & rated_race)
        .then(rating_anchor + pl.col("_slope") * pl.col("_d_m") + lbs)
        .alias("mkt_rating"),
    ).drop("_source", "_log_p", "_type_key", "_usable", "_enough", "_perf", "_d_perf", "_d_m", "_slope")


def _horse_features(history: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    runs = history.select(*HORSE, *RUN_ORDER, "mkt_resid", "mkt_rating").sort([*HORSE, *RUN_ORDER], nulls_last=True)
    with_resid = runs.filter(pl.col("mkt_resid").is_not_null())
    resid_state = end_of_day_last(
        with_resid.select(
            *HORSE,
            "race_date",
            running_total(pl.repeat(1.0, pl.len()), HORSE).alias("n"),
            running_total("mkt_resid", HORSE).alias("total"),
            pl.col("mkt_resid").alias("last"),
            mean_of_last("mkt_resid").alias("mean3"),
        ),
        HORSE,
    )
    rated = runs.filter(pl.col("mkt_rating").is_not_null())
    rating_state = end_of_day_last(
        rated.select(
            *HORSE,
            "race_date",
            pl.col("mkt_rating").alias("rating_last"),
            mean_of_last("mkt_rating").alias("rating_mean3"),
            pl.col("mkt_rating").cum_max().over(HORSE).alias("rating_best"),
        ),
        HORSE,
    )
    out = state_before(state_before(in_key_order(targets, HORSE), resid_state, HORSE), rating_state, HORSE)
    out = out.with_columns(
        pl.col("n").fill_null(0).cast(pl.Int32).alias("horse_vs_market_runs"),
        (pl.col("total").fill_null(0.0) / (pl.col("n").fill_null(0.0) + HORSE_STRENGTH)).alias("horse_vs_market"),
        pl.col("last").alias("horse_vs_market_last"),
        pl.col("mean3").alias("horse_vs_market_mean3"),
        pl.col("rating_last").alias("horse_market_rating_last"),
        pl.col("rating_mean3").alias("horse_market_rating_mean3"),
        pl.col("rating_best").alias("horse_market_rating_best"),
    )
    names = [
        "horse_vs_market_runs",
        "horse_vs_market",
        "horse_vs_market_last",
        "horse_vs_market_mean3",
        "horse_market_rating_last",
        "horse_market_rating_mean3",
        "horse_market_rating_best",
    ]
    return restore_order(out, names)


def _connection_features(history: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    blocks = []
    for who, by in CONNECTIONS.items():
        totals = end_of_day_totals(
            history.lazy().filter(pl.col("mkt_resid").is_not_null()),
            by,
            {"n": pl.len().cast(pl.Float64), "total": pl.col("mkt_resid").sum()},
        )
        left = in_key_order(targets, by)
        names = []
        for days in CONNECTION_WINDOWS:
            window = totals_in_window(left.select(*by, "race_date"), totals, by, ["n", "total"], days=days)
            name = f"{who}_vs_market_{days}d"
            left = left.with_columns(
                window.select(pl.col("total") / (pl.col("n") + CONNECTION_STRENGTH)).to_series().alias(name)
            )
            names.append(name)
        blocks.append(restore_order(left, names))
    return pl.concat(blocks, how="horizontal")


def _with_bucket(frame: pl.DataFrame) -> pl.DataFrame:
    bucket = (pl.col("draw_rel") * DRAW_BUCKETS).floor().clip(0, DRAW_BUCKETS - 1).cast(pl.Int8)
    return frame.with_columns(bucket.alias("draw_bucket"))


def _draw_feature(history: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    drawn = _with_bucket(
        history.select(*DRAW_KEY[:-1], "race_date", "draw_rel", "mkt_resid").filter(
            pl.col("draw_rel").is_not_null() & pl.col("mkt_resid").is_not_null()
        )
    )
    totals = end_of_day_totals(drawn, DRAW_KEY, {"n": pl.len().cast(pl.Float64), "total": pl.col("mkt_resid").sum()})
    left = in_key_order(_with_bucket(targets), DRAW_KEY)
    window = totals_in_window(left, totals, DRAW_KEY, ["n", "total"], days=None)
    drawn_today = pl.all_horizontal(pl.col(DRAW_KEY).is_not_null())
    out = window.with_columns(
        pl.when(drawn_today).then(pl.col("total") / (pl.col("n") + DRAW_STRENGTH)).alias("draw_vs_market")
    )
    return restore_order(out, ["draw_vs_market"])


def versus_market_features(history: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """One row per target (same order). `history` must have been through `add_market_residuals`."""
    parts = [
        _horse_features(history, targets),
        _connection_features(history, targets),
        _draw_feature(history, targets),
    ]
    return pl.concat(parts, how="horizontal").select(list(DESCRIPTIONS))
