"""Race-level scores shared by the data report, evaluation and the model (the market's own
probability and book are in giddyup.odds).

Conventions: a race's log loss is -log p(winner); McFadden's pseudo-R² is
1 - Σ -log p(winner) / Σ log(field size), i.e. against a uniform guess over the starters.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def mcfadden_r2(p_winner: np.ndarray, field_size: np.ndarray) -> float:
    """McFadden's pseudo-R² of winner probabilities against a uniform guess over each field."""
    p_winner = np.asarray(p_winner, dtype=float)
    field_size = np.asarray(field_size, dtype=float)
    if p_winner.size == 0:
        return float("nan")
    return float(1.0 - np.sum(-np.log(p_winner)) / np.sum(np.log(field_size)))


def mean_logloss(p_winner: np.ndarray) -> float:
    """Mean over races of -log p(winner)."""
    p_winner = np.asarray(p_winner, dtype=float)
    return float(np.mean(-np.log(p_winner))) if p_winner.size else float("nan")


def winner_table(frame: pl.DataFrame, prob: str, race: str = "race_id", won: str = "won") -> pl.DataFrame:
    """One row per race with a single winner: p_winner (of column `prob`) and the field size."""
    per_race = frame.group_by(race).agg(
        pl.col(won).cast(pl.Int32).sum().alias("_winners"),
        pl.len().alias("field_size"),
        pl.col(prob).filter(pl.col(won).cast(pl.Boolean)).first().alias("p_winner"),
    )
    return per_race.filter(pl.col("_winners") == 1).drop("_winners").sort(race)


def expected_calibration_error(p: np.ndarray, outcome: np.ndarray, bins: int = 20) -> float:
    """ECE over equal-count bins of predicted probability (runner level)."""
    p = np.asarray(p, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    if p.size == 0:
        return float("nan")
    order = np.argsort(p)
    total = 0.0
    for chunk in np.array_split(order, min(bins, p.size)):
        if chunk.size:
            total += chunk.size * abs(p[chunk].mean() - outcome[chunk].mean())
    return float(total / p.size)
