"""Jockey, trainer and trainer-jockey form over recent windows, shrunk toward the average.

For each connection and window (the 14, 90 and 365 days before the race day, the day itself
excluded): runs, and wins against the wins their runners' field sizes gave them (A/E, shrunk
toward 1 by CONNECTION_STRENGTH expected wins).
"""

from __future__ import annotations

import polars as pl

from giddyup.features.pointintime import end_of_day_totals, in_key_order, restore_order, totals_in_window
from giddyup.features.shrinkage import CONNECTION_STRENGTH, shrunk_ratio

WINDOWS_DAYS = (14, 90, 365)
CONNECTIONS = {
    "jockey": ["jockey_id"],
    "trainer": ["trainer_id"],
    "trainer_jockey": ["trainer_id", "jockey_id"],
}
_WHO = {"jockey": "the jockey", "trainer": "the trainer", "trainer_jockey": "this trainer and jockey together"}


def _descriptions() -> dict[str, str]:
    out = {}
    for name in CONNECTIONS:
        for days in WINDOWS_DAYS:
            out[f"{name}_runs_{days}d"] = f"rides/runners of {_WHO[name]} in the last {days} days"
            out[f"{name}_win_ae_{days}d"] = (
                f"wins of {_WHO[name]} in the last {days} days against expectation (shrunk, 1 = average)"
            )
    return out


DESCRIPTIONS = _descriptions()


def connection_features(history: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """One row per target (same order)."""
    blocks = []
    for name, by in CONNECTIONS.items():
        totals = end_of_day_totals(
            history,
            by,
            {"n": pl.len().cast(pl.Float64), "act": pl.col("win_share").sum(), "exp": pl.col("expected_win").sum()},
        )
        left = in_key_order(targets, by)
        names = []
        for days in WINDOWS_DAYS:
            window = totals_in_window(left.select(*by, "race_date"), totals, by, ["n", "act", "exp"], days=days)
            runs, ae = f"{name}_runs_{days}d", f"{name}_win_ae_{days}d"
            left = left.with_columns(
                window.get_column("n").round(0).cast(pl.Int32).alias(runs),
                window.select(shrunk_ratio(pl.col("act"), pl.col("exp"), CONNECTION_STRENGTH)).to_series().alias(ae),
            )
            names += [runs, ae]
        blocks.append(restore_order(left, names))
    return pl.concat(blocks, how="horizontal")
