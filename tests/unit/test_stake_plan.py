"""The decision rule (giddyup.pricing.stake_plan): how a bet is struck, at what odds its stake is
sized, and the edge it must beat."""

from __future__ import annotations

import math

import numpy as np
import pytest

from giddyup import pricing

RULES = pricing.StakeRules(
    kelly_multiplier=0.25, bank_units=100, max_per_bet=2, max_per_race=3, max_per_day=20, min_edge=0.0,
    min_edge_per_sqrt_odds=0.02, commission=0.02, bsp_below_fair=True,
)  # fmt: skip


def test_an_exchange_price_below_the_fair_price_is_struck_at_betfair_sp_at_the_fair_price() -> None:
    # Fair prices 1 / p_market: 4.0 and 10.0. The first runner's back price is short of fair.
    plan = pricing.stake_plan([0.30, 0.12], [3.8, 10.5], [0.25, 0.10], [True, True], RULES)
    assert plan.execution.tolist() == ["bsp", "price"]
    assert plan.odds.tolist() == pytest.approx([4.0, 10.5])
    net = np.array([1 + 3.0 * 0.98, 1 + 9.5 * 0.98])
    assert plan.edge.tolist() == pytest.approx((np.array([0.30, 0.12]) * net - 1).tolist())
    assert plan.kelly.tolist() == pytest.approx(((np.array([0.30, 0.12]) * net - 1) / (net - 1)).tolist())


def test_a_bookmaker_price_is_taken_as_it_is_and_pays_no_commission() -> None:
    plan = pricing.stake_plan([0.30], [3.8], [0.25], [False], RULES)
    assert plan.execution.tolist() == ["price"] and plan.odds.tolist() == [3.8]
    assert plan.edge[0] == pytest.approx(0.30 * 3.8 - 1)


def test_a_longer_price_must_promise_more() -> None:
    odds = np.array([4.0, 25.0])
    threshold = pricing.edge_threshold(odds, RULES)
    assert threshold.tolist() == pytest.approx([0.04, 0.10])
    # The same 8% edge clears the bar at 4.0 and not at 25.0.
    p = (1.08) / pricing.net_odds(odds, [True, True], RULES.commission)
    plan = pricing.stake_plan(p, odds, 1 / odds, [True, True], RULES)
    assert plan.wanted.tolist() == [True, False]


def test_without_the_rule_the_plan_is_the_price_and_the_gross_edge() -> None:
    plain = pricing.StakeRules(0.25, 100, 2, 3, 20, min_edge=0.0)
    plan = pricing.stake_plan([0.30], [3.8], [0.25], [True], plain)
    assert plan.execution.tolist() == ["price"] and plan.edge[0] == pytest.approx(0.30 * 3.8 - 1)
    assert not math.isnan(plan.kelly[0])
