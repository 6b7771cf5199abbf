"""The market's win probabilities: 1/price normalised within each race (numpy and polars only)."""

from __future__ import annotations

import numpy as np
import polars as pl

from giddyup.errors import GiddyUpError
from giddyup.model.race_probability import RaceGroups

PRICE_COLUMNS = ("win_bsp", "dec", "win_ppwap", "win_morningwap", "best_odds")
MIN_PRICE = 1.01


def complete_market(frame: pl.DataFrame, column: str) -> np.ndarray:
    """Per row: does every starter of its race have a usable price in `column`?"""
    groups = RaceGroups.of(frame.get_column("race_id").to_numpy())
    price = frame.get_column(column).cast(pl.Float64).to_numpy()
    bad = ~np.isfinite(price) | (price < MIN_PRICE)
    return groups.broadcast(~groups.any(bad))


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


def market_probability(frame: pl.DataFrame, column: str) -> np.ndarray:
    """1/price normalised within each race; NaN for every runner of a race with a missing price."""
    groups = RaceGroups.of(frame.get_column("race_id").to_numpy())
    price = frame.get_column(column).cast(pl.Float64).to_numpy()
    complete = complete_market(frame, column)
    inverse = np.where(complete, 1.0 / np.where(complete, price, 1.0), 1.0)
    return np.where(complete, groups.normalise(inverse), np.nan)


def overround(frame: pl.DataFrame, column: str) -> np.ndarray:
    """Σ 1/price over the race, per row (NaN where the race's market is incomplete)."""
    groups = RaceGroups.of(frame.get_column("race_id").to_numpy())
    price = frame.get_column(column).cast(pl.Float64).to_numpy()
    complete = complete_market(frame, column)
    book = groups.broadcast(groups.sum(np.where(complete, 1.0 / np.where(complete, price, 1.0), 0.0)))
    return np.where(complete, book, np.nan)
