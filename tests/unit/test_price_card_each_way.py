"""edge_ew only against bookmaker prices (issue 12): each-way terms exist only at bookmakers, so a
runner priced by the exchange (a live tick or the exchange's weighted average) carries no each-way
edge, while its p_place and the race's each-way terms are still published."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import polars as pl

from giddyup import pricing
from giddyup.race_day.price_card import price_card, production_market_model

AS_OF = dt.datetime(2026, 6, 4, 9, 0, tzinfo=dt.UTC)
RULES = pricing.StakeRules(
    kelly_multiplier=0.25, bank_units=100.0, max_per_bet=2.0, max_per_race=5.0, max_per_day=20.0, min_edge=0.02
)
COMBINER = {"coef": {"log_p_model": 0.6, "log_p_market": 0.6}}


def _card() -> pl.DataFrame:
    """Two 8-runner races: race 1 priced by a bookmaker only, race 2 by every source."""
    rng = np.random.default_rng(5)
    rows = []
    sources = {1: ["bookmaker"] * 8, 2: ["live"] * 3 + ["bookmaker"] * 3 + ["exchange_wap"] * 2}
    for race_id, race_sources in sources.items():
        p = rng.dirichlet(np.ones(8) * 2)
        for i, source in enumerate(race_sources):
            rows.append(
                {
                    "race_id": race_id,
                    "runner_id": 100 * race_id + i,
                    "horse_id": 1000 * race_id + i,
                    "race_date": AS_OF.date(),
                    "p_model": float(p[i]),
                    "odds": round(1.0 / (p[i] * rng.uniform(0.8, 1.2)), 2),
                    "odds_src": source,
                    "volume": 5000.0,
                    "handicap": False,
                }
            )
    return pl.DataFrame(rows)


def test_edge_ew_is_null_for_exchange_prices_and_priced_for_bookmaker_prices() -> None:
    priced = price_card(
        _card(),
        as_of=AS_OF,
        model_id=1,
        market=production_market_model(COMBINER),
        rules=RULES,
        min_liquidity_volume=0.0,
    )
    signals = priced.signals
    assert signals.height == 16
    assert (signals.get_column("ew_places") == 3).all()  # 8 runners: 3 places at 1/5, whatever the price's source
    exchange = signals.filter(pl.col("best_odds_src").is_in(["live", "exchange_wap"]))
    bookmaker = signals.filter(pl.col("best_odds_src") == "bookmaker")
    assert exchange.height == 5 and bookmaker.height == 11
    assert exchange.get_column("edge_ew").null_count() == exchange.height
    assert exchange.get_column("p_place").null_count() == 0
    fraction = float(Fraction(1, 5))
    o = bookmaker.get_column("best_odds_win").to_numpy()
    expected = 0.5 * (bookmaker["p_win"].to_numpy() * o - 1) + 0.5 * (
        bookmaker["p_place"].to_numpy() * (1 + (o - 1) * fraction) - 1
    )
    assert np.allclose(bookmaker.get_column("edge_ew").to_numpy(), expected)
