"""Draw bias by course, distance band and field size, learned from earlier days only.

A starter's draw is placed in one of DRAW_BUCKETS equal slices from inside to outside (by its
rank among the race's drawn starters, so non-runners' stalls do not count). For each course,
distance band, field-size band and slice, the earlier days' runners give:
- win A/E: wins against the wins field sizes gave them (shrunk toward 1);
- position excess: mean relative finishing position minus 0.5 (shrunk toward 0; negative = the
  slice has finished nearer the front than average).
Races without draws (jumps) get NULL.
"""

from __future__ import annotations

import polars as pl

from giddyup.features.pointintime import end_of_day_totals, in_key_order, restore_order, totals_in_window
from giddyup.features.shrinkage import DRAW_STRENGTH, MEAN_STRENGTH, shrunk_mean, shrunk_ratio

DRAW_BUCKETS = 4
_KEY = ["course_id", "dist_band", "field_band", "draw_bucket"]

DESCRIPTIONS = {
    "draw_bias_win_ae": "wins from this part of the draw at this course, distance and field size, against expectation (shrunk)",
    "draw_bias_pos_rel_excess": "mean finishing position (0 first .. 1 last) from this part of the draw minus 0.5 (shrunk; negative favours it)",
}


def _with_bucket(frame: pl.DataFrame) -> pl.DataFrame:
    bucket = (pl.col("draw_rel") * DRAW_BUCKETS).floor().clip(0, DRAW_BUCKETS - 1).cast(pl.Int8)
    return frame.with_columns(bucket.alias("draw_bucket"))


def draw_features(history: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """One row per target (same order)."""
    drawn = _with_bucket(history.select(*_KEY[:-1], "race_date", "draw_rel", "win_share", "expected_win", "pos_rel"))
    drawn = drawn.filter(pl.col("draw_rel").is_not_null())
    totals = end_of_day_totals(
        drawn,
        _KEY,
        {
            "n": pl.len().cast(pl.Float64),
            "act": pl.col("win_share").sum(),
            "exp": pl.col("expected_win").sum(),
            "pos_excess": (pl.col("pos_rel") - 0.5).sum(),
        },
    )
    left = in_key_order(_with_bucket(targets), _KEY)
    window = totals_in_window(left, totals, _KEY, ["n", "act", "exp", "pos_excess"], days=None)
    drawn_today = pl.all_horizontal(pl.col(_KEY).is_not_null())
    bias = window.with_columns(
        pl.when(drawn_today).then(shrunk_ratio(pl.col("act"), pl.col("exp"), DRAW_STRENGTH)).alias("draw_bias_win_ae"),
        pl.when(drawn_today)
        .then(shrunk_mean(pl.col("pos_excess"), pl.col("n"), MEAN_STRENGTH))
        .alias("draw_bias_pos_rel_excess"),
    )
    return restore_order(bias, list(DESCRIPTIONS))
