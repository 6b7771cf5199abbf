"""Decimal odds and the market's book: the one owner of the rules every stage shares.

- MIN_ODDS: the lowest decimal odds a price, a signal or a bet may carry (1.01, the exchange's
  lowest price). A price below it, or NaN/infinite, is no price at all.
- The market's probability of a runner: 1/odds normalised over its race.
- The overround (the book): Σ 1/odds over the race; about 1.0 at Betfair SP, 1.15-1.30 at
  bookmaker SP, about 1.22 on Hong Kong's pools.
- Where a price GiddyUp bets at comes from (PRICE_SOURCES, in order of preference) and which
  of those are exchange prices (commission on net winnings; no each-way terms there).

Polars is imported inside the expression helpers: the intraday fast path (a refresh with nothing
due) imports this module for MIN_ODDS and must not load Polars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import polars as pl

MIN_ODDS = 1.01

SOURCE_LIVE = "live"  # the latest back price of racing.live_prices
SOURCE_BOOKMAKER = "bookmaker"  # racing.runners.best_odds
SOURCE_EXCHANGE_WAP = "exchange_wap"  # racing.runners.win_ppwap, else win_morningwap
PRICE_SOURCES = (SOURCE_LIVE, SOURCE_BOOKMAKER, SOURCE_EXCHANGE_WAP)
EXCHANGE_SOURCES = (SOURCE_LIVE, SOURCE_EXCHANGE_WAP)


def usable_odds(odds: ArrayLike) -> np.ndarray:
    """Per value: is it a price (finite and at least MIN_ODDS)?"""
    values = np.asarray(odds, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values >= MIN_ODDS)


def _column(price: str | pl.Expr) -> pl.Expr:
    import polars as pl

    return pl.col(price) if isinstance(price, str) else price


def usable_odds_expr(price: str | pl.Expr) -> pl.Expr:
    """The price where it is one (finite and at least MIN_ODDS), else NULL."""
    import polars as pl

    column = _column(price)
    return pl.when(column.is_finite() & (column >= MIN_ODDS)).then(column)


def implied_probability(price: str | pl.Expr, race: str = "race_id") -> pl.Expr:
    """1/price normalised within each race (NULL where the price is NULL)."""
    inverse = 1.0 / _column(price)
    return inverse / inverse.sum().over(race)


def overround(price: str | pl.Expr, race: str = "race_id") -> pl.Expr:
    """Σ 1/price over the race (the book)."""
    return (1.0 / _column(price)).sum().over(race)
