"""The staking rule stands down where there is no evidence of edge: a model version whose holdout
did not show its combination beating the market beyond chance publishes prices and no stakes."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from giddyup import pricing
from giddyup.race_day.price_card import price_card, production_market_model

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
RULES = pricing.StakeRules(
    kelly_multiplier=0.25, bank_units=100, max_per_bet=2, max_per_race=3, max_per_day=20, min_edge=0.0
)


def card() -> pl.DataFrame:
    # The model likes runner 2 far more than its price does: a stake where the rule may stake.
    return pl.DataFrame(
        {
            "race_id": [1, 1, 1],
            "runner_id": [10, 11, 12],
            "horse_id": [100, 101, 102],
            "race_date": [AT.date()] * 3,
            "p_model": [0.5, 0.4, 0.1],
            "odds": [1.8, 8.0, 6.0],
            "odds_src": ["live"] * 3,
            "volume": [5000.0] * 3,
            "handicap": [False] * 3,
        }
    )


def priced(evidence: dict | None) -> pl.DataFrame:
    combiner = {"coef": {"log_p_model": 0.6, "log_p_market": 0.5}}
    if evidence is not None:
        combiner["edge_evidence"] = evidence
    return price_card(
        card(), at=AT, model_id=1, market=production_market_model(combiner), rules=RULES, min_liquidity_volume=1000
    ).signals


def test_no_evidence_of_edge_means_prices_and_no_stakes() -> None:
    staking = priced({"evidence_of_edge": True, "mean_gain_per_race": 0.01, "ci95": [0.004, 0.016]})
    assert staking.get_column("stake_units").sum() > 0  # the same prices may be staked with evidence
    none = priced({"evidence_of_edge": False, "mean_gain_per_race": 0.0008, "ci95": [-0.0001, 0.0041]})
    assert none.get_column("stake_units").to_list() == [0.0, 0.0, 0.0]
    assert none.get_column("p_win").to_list() == staking.get_column("p_win").to_list()  # a price all the same
    assert none.get_column("edge_win").to_list() == staking.get_column("edge_win").to_list()
    reasons = json.loads(none.get_column("reasons_json")[1])
    assert reasons["staking"].startswith("standing down") and "-0.0001 to +0.0041" in reasons["staking"]
    assert reasons["staking"] in reasons["summary"]


def test_a_version_without_recorded_evidence_is_not_stood_down() -> None:
    assert pricing.stands_down({"coef": {}}) is None
    assert priced(None).get_column("stake_units").sum() > 0
