"""What each past run was worth: a performance rating and a speed figure (after-race measures).

These are computed for resulted runs only and reach a later race's features only through the
point-in-time joins, as history.

Performance rating: the Racing Post Rating (`rpr`) where the data has it. Where it does not (HK),
a rating achieved from the result, the way a handicapper reads a race: assume the finishers with
an official rating ran to it on average, and rate every finisher from its weight carried and its
beaten lengths against them:

    level  = median over rated finishers j of (or_j - lbs_j + btn_j × lb_per_length)
    rating = level + lbs_i - btn_i × lb_per_length

NULL when fewer than two finishers of the race have an official rating (degrades, never guesses).

Speed figure: the winner's time against a standard time for the course, race type, surface,
distance and going, converted to pounds and extended to each finisher by its beaten lengths.
Standards come from earlier days only (an expanding mean of winners' seconds per furlong, the
going-specific one shrunk toward the course/distance one), so a race's figure uses no race on or
after its own day.
"""

from __future__ import annotations

import polars as pl

from giddyup.features.pointintime import end_of_day_totals, state_before
from giddyup.features.prepare import LENGTHS_PER_SECOND, UNKNOWN_KEY
from giddyup.features.shrinkage import shrunk_mean

MIN_RATED_FINISHERS = 2  # finishers with an official rating needed to read a race's level
SPF_RANGE = (9.0, 30.0)  # seconds per furlong outside this are timing errors
STANDARD_STRENGTH = 3.0  # races: pull of the course/distance standard on a going-specific one
MIN_STANDARD_RACES = 3  # course/distance standards from fewer earlier races are not used

_COARSE_KEY = ["course_id", "race_type_key", "is_aw_key", "dist_key"]
_FINE_KEY = [*_COARSE_KEY, "going_group"]


def add_performance_ratings(history: pl.DataFrame) -> pl.DataFrame:
    finisher_btn = pl.when(pl.col("finished")).then(pl.col("btn_capped"))
    lbs = pl.col("lbs").cast(pl.Float64).fill_null(pl.col("lbs").cast(pl.Float64).mean().over("race_id"))
    with_anchor = history.with_columns(
        lbs.alias("_lbs"),
        (pl.col("official_rating") - lbs + finisher_btn * pl.col("lbs_per_length")).alias("_anchor"),
    )
    # The median resists one rated horse that ran far below its mark; one rated finisher is too few.
    # (A group_by and a join: a median window over every race is several times slower.)
    levels = (
        with_anchor.filter(pl.col("_anchor").is_not_null())
        .group_by("race_id")
        .agg(pl.col("_anchor").median().alias("_level"), pl.len().alias("_rated"))
        .filter(pl.col("_rated") >= MIN_RATED_FINISHERS)
    )
    achieved = pl.col("_level") + pl.col("_lbs") - finisher_btn * pl.col("lbs_per_length")
    return (
        with_anchor.join(levels, on="race_id", how="left", maintain_order="left")
        .with_columns(pl.coalesce(pl.col("rpr").cast(pl.Float64), achieved).alias("perf_rating"))
        .drop("_lbs", "_anchor", "_level", "_rated")
    )


def add_speed_figures(history: pl.DataFrame) -> pl.DataFrame:
    keyed = history.select(
        "race_id",
        "race_date",
        "dist_f",
        "secs",
        "pos_num",
        "finished",
        "course_id",
        "dist_key",
        "going_group",
        pl.col("race_type_code").fill_null(UNKNOWN_KEY).alias("race_type_key"),
        pl.col("is_aw").fill_null(UNKNOWN_KEY).alias("is_aw_key"),
    )
    winner_secs = pl.coalesce(
        pl.col("secs").filter(pl.col("pos_num") == 1).min(), pl.col("secs").filter(pl.col("finished")).min()
    )
    races = (
        keyed.group_by("race_id")
        .agg(pl.col("race_date", "dist_f", *_FINE_KEY).first(), winner_secs.alias("winner_secs"))
        .with_columns((pl.col("winner_secs") / pl.col("dist_f")).alias("spf"))
        .with_columns(pl.when(pl.col("spf").is_between(*SPF_RANGE)).then(pl.col("spf")).alias("spf"))
    )
    timed = races.filter(pl.col("spf").is_not_null() & pl.col("course_id").is_not_null())
    totals = {"spf_sum": pl.col("spf").sum(), "spf_n": pl.len().cast(pl.Float64)}
    fine = state_before(races.sort([*_FINE_KEY, "race_date"]), end_of_day_totals(timed, _FINE_KEY, totals), _FINE_KEY)
    coarse = state_before(
        races.sort([*_COARSE_KEY, "race_date"]), end_of_day_totals(timed, _COARSE_KEY, totals), _COARSE_KEY
    )
    standard = (
        races.join(fine.select("race_id", "spf_sum", "spf_n"), on="race_id", how="left")
        .join(
            coarse.select("race_id", pl.col("spf_sum").alias("spf_sum_coarse"), pl.col("spf_n").alias("spf_n_coarse")),
            on="race_id",
            how="left",
        )
        .with_columns(
            pl.when(pl.col("spf_n_coarse") >= MIN_STANDARD_RACES)
            .then(
                shrunk_mean(
                    pl.col("spf_sum"),
                    pl.col("spf_n"),
                    STANDARD_STRENGTH,
                    prior=pl.col("spf_sum_coarse") / pl.col("spf_n_coarse"),
                )
            )
            .alias("standard_spf")
        )
        .select(
            "race_id",
            # Lengths the winner finished ahead of (+) or behind (-) the standard time.
            pl.when(pl.col("spf").is_not_null())
            .then((pl.col("standard_spf") * pl.col("dist_f") - pl.col("winner_secs")) * LENGTHS_PER_SECOND)
            .alias("winner_lengths_vs_standard"),
        )
    )
    figure = pl.when(pl.col("finished")).then(
        (pl.col("winner_lengths_vs_standard") - pl.col("btn_capped")) * pl.col("lbs_per_length")
    )
    return (
        history.join(standard, on="race_id", how="left", maintain_order="left")
        .with_columns(figure.alias("speed_figure"))
        .drop("winner_lengths_vs_standard")
    )
