"""Which price column stands for the market in training and evaluation, and the market's
probabilities from it (the arithmetic is giddyup.odds')."""

from __future__ import annotations

import numpy as np
import polars as pl

from giddyup import odds
from giddyup.errors import GiddyUpError
from giddyup.model.race_probability import RaceGroups

PRICE_COLUMNS = ("win_bsp", "dec", "win_ppwap", "win_morningwap", "best_odds")


def complete_market(frame: pl.DataFrame, column: str) -> np.ndarray:
    """Per row: does every starter of its race have a usable price in `column`?"""
    groups = RaceGroups.of(frame.get_column("race_id").to_numpy())
    usable = odds.usable_odds(frame.get_column(column).cast(pl.Float64).to_numpy())
    return groups.broadcast(~groups.any(~usable))


def choose_price_column(frame: pl.DataFrame, requested: str = "auto") -> str:
    """`requested`, or for "auto": Betfair SP when it covers nearly as many races as SP, else SP."""
    if requested != "auto":
        if requested not in PRICE_COLUMNS:
            raise GiddyUpError(f"market price {requested!r} is not one of {', '.join(PRICE_COLUMNS)}")
        if requested not in frame.columns or frame.get_column(requested).null_count() == frame.height:
            raise GiddyUpError(f"market price column {requested} has no values in these races")
        return requested
    share = {
        column: float(complete_market(frame, column).mean()) if column in frame.columns and frame.height else 0.0
        for column in ("win_bsp", "dec")
    }
    if share["win_bsp"] > 0 and share["win_bsp"] >= 0.9 * share["dec"]:
        return "win_bsp"
    if share["dec"] > 0:
        return "dec"
    raise GiddyUpError("no race has a complete market in win_bsp or dec; choose a price column with --market-price")


def _of_complete_races(frame: pl.DataFrame, column: str, expression: pl.Expr) -> np.ndarray:
    """`expression` over the price column, NaN for every runner of a race with a missing price."""
    complete = complete_market(frame, column)
    values = (
        frame.select(pl.col("race_id"), odds.usable_odds_expr(pl.col(column).cast(pl.Float64)).alias(column))
        .select(expression)
        .to_series()
        .to_numpy()
    )
    return np.where(complete, values.astype(float), np.nan)


def market_probability(frame: pl.DataFrame, column: str) -> np.ndarray:
    """1/price normalised within each race; NaN for every runner of a race with a missing price."""
    return _of_complete_races(frame, column, odds.implied_probability(column))


def overround(frame: pl.DataFrame, column: str) -> np.ndarray:
    """Σ 1/price over the race, per row (NaN where the race's market is incomplete)."""
    return _of_complete_races(frame, column, odds.overround(column))
