"""The market of the race itself: prices and their implied probabilities.

These columns go to the combination stage and to evaluation, never into the fundamental model
(they are MARKET_COLUMNS of the contract, not feature columns). The book is computed over every
starter, non-finishers included: they were in the betting, and dropping them before normalising
inflates the survivors' probabilities with knowledge of who did not finish.
"""

from __future__ import annotations

import polars as pl

from giddyup import odds

PRICE_COLUMNS = ("dec", "win_bsp", "win_ppwap", "win_morningwap", "best_odds", "win_pre_vol", "win_morning_vol")
PROBABILITY_COLUMNS = ("p_market_dec", "overround_dec", "p_market_bsp", "overround_bsp")


def market_columns(targets: pl.DataFrame) -> pl.DataFrame:
    """One row per target (same order): raw prices plus 1/price normalised within the race and the book."""
    priced = {price: pl.col(price).count().over("race_id") > 0 for price in ("dec", "win_bsp")}
    return targets.select(
        *PRICE_COLUMNS,
        odds.implied_probability("dec").alias("p_market_dec"),
        pl.when(priced["dec"]).then(odds.overround("dec")).alias("overround_dec"),
        odds.implied_probability("win_bsp").alias("p_market_bsp"),
        pl.when(priced["win_bsp"]).then(odds.overround("win_bsp")).alias("overround_bsp"),
    )
