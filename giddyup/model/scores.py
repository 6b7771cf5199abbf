"""Scores of race probabilities on resulted races: McFadden R², log loss, ECE, Brier, top pick, ROI.

A scored race has exactly one winner (no dead heat) and, when a market column is named, a
usable price for every starter. Used by the holdout metrics of `giddyup train` and by
`giddyup evaluate`.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import polars as pl

from giddyup.metrics import expected_calibration_error, mcfadden_r2, mean_logloss, winner_table
from giddyup.model.market import complete_market


def scored_races(frame: pl.DataFrame, price_column: str | None) -> pl.DataFrame:
    """Runner rows of single-winner races (with a complete market in `price_column` when given)."""
    winners = pl.col("won").cast(pl.Int32).sum().over("race_id")
    keep = frame.filter(winners == 1)
    if price_column is not None and keep.height:
        keep = keep.filter(pl.Series(complete_market(keep, price_column)))
    return keep


def probability_scores(frame: pl.DataFrame, prob: str) -> dict:
    """r2, logloss, ece, brier, top-pick strike rate of column `prob` over the frame's races."""
    if frame.height == 0:
        return {"r2": None, "logloss": None, "ece": None, "brier": None, "top_pick_strike_rate": None}
    table = winner_table(frame, prob)
    p = frame.get_column(prob).to_numpy()
    won = frame.get_column("won").cast(pl.Float64).to_numpy()
    top = (
        frame.with_columns(pl.col(prob).rank("ordinal", descending=True).over("race_id").alias("_rank"))
        .filter(pl.col("_rank") == 1)
        .get_column("won")
        .cast(pl.Float64)
        .mean()
    )
    return {
        "r2": mcfadden_r2(table["p_winner"].to_numpy(), table["field_size"].to_numpy()),
        "logloss": mean_logloss(table["p_winner"].to_numpy()),
        "ece": expected_calibration_error(p, won),
        "brier": float(np.mean((p - won) ** 2)),
        "top_pick_strike_rate": float(cast(float, top)),  # a Float64 mean
    }


def staking_profit(frame: pl.DataFrame, prob: str, price_column: str, min_edge: float) -> tuple[dict, pl.DataFrame]:
    """1 unit on every runner with p × price − 1 > min_edge, at `price_column`; no commission.

    Returns the summary and the cumulative profit per bet in race order (race_date, race_id).
    """
    bets = (
        frame.with_columns((pl.col(prob) * pl.col(price_column) - 1.0).alias("edge"))
        .filter(pl.col("edge") > min_edge)
        .sort("race_date", "race_id", "runner_id")
        .with_columns((pl.when(pl.col("won")).then(pl.col(price_column) - 1.0).otherwise(-1.0)).alias("profit"))
        .with_columns(pl.col("profit").cum_sum().alias("cumulative_profit"))
    )
    staked = float(bets.height)
    profit = float(bets.get_column("profit").sum()) if bets.height else 0.0
    summary = {
        "rule": f"1 unit on every runner with {prob} x {price_column} - 1 > {min_edge}",
        "min_edge": min_edge,
        "bets": bets.height,
        "staked": staked,
        "profit": profit,
        "roi": profit / staked if staked else None,
        "strike_rate": float(cast(float, bets.get_column("won").cast(pl.Float64).mean())) if bets.height else None,
    }
    return summary, bets.select("race_date", "race_id", "runner_id", "edge", "profit", "cumulative_profit")
