"""giddyup.pricing: fair odds, edges, each-way terms, Kelly and stake caps (pure functions)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from giddyup import pricing, race_rules
from giddyup.pricing import StakeRules

RULES = StakeRules(
    kelly_multiplier=0.25, bank_units=100.0, max_per_bet=2.0, max_per_race=3.0, max_per_day=20.0, min_edge=0.0
)


# --- fair odds and edges -------------------------------------------------------------------------
def test_fair_odds_is_one_over_p_and_missing_below_the_minimum_odds() -> None:
    odds = pricing.fair_odds([0.5, 0.2, 0.99, 0.995, 1.0, 0.0, np.nan])
    assert odds[0] == pytest.approx(2.0) and odds[1] == pytest.approx(5.0)
    assert odds[2] == pytest.approx(1 / 0.99)  # 1.0101: allowed
    assert np.isnan(odds[3:]).all()  # 1/0.995 = 1.005 < 1.01; p = 1; p = 0; no p


def test_edge_win_is_expected_profit_per_unit() -> None:
    assert pricing.edge_win(0.25, 5.0) == pytest.approx(0.25)
    assert pricing.edge_win(0.1, 8.0) == pytest.approx(-0.2)
    assert np.isnan(pricing.edge_win(0.3, np.nan))


def test_place_odds_of_an_each_way_bet() -> None:
    assert pricing.place_odds(11.0, 0.25) == pytest.approx(3.5)
    assert pricing.place_odds(6.0, 0.2) == pytest.approx(2.0)


@pytest.mark.parametrize("seed", range(5))
def test_edge_each_way_equals_the_expected_profit_over_the_three_outcomes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p_win = rng.uniform(0.01, 0.5)
    p_place = rng.uniform(p_win, 0.95)
    odds = rng.uniform(1.5, 40)
    fraction = rng.choice([0.25, 0.2])
    place = 1 + (odds - 1) * fraction
    # One unit in all: half on the win, half on the place.
    won = 0.5 * odds + 0.5 * place - 1
    placed_only = 0.5 * place - 1
    lost = -1.0
    expected = p_win * won + (p_place - p_win) * placed_only + (1 - p_place) * lost
    assert pricing.edge_each_way(p_win, p_place, odds, fraction) == pytest.approx(expected)


def test_edge_each_way_worked_example() -> None:
    # win half 0.2 × 6 − 1 = +0.2, place half 0.5 × 2 − 1 = 0: edge 0.1
    assert pricing.edge_each_way(0.2, 0.5, 6.0, 0.2) == pytest.approx(0.1)


# --- Kelly --------------------------------------------------------------------------------------
def test_kelly_fraction_formula_and_floor() -> None:
    assert pricing.kelly_fraction(0.25, 5.0) == pytest.approx(0.0625)
    assert pricing.kelly_fraction(0.1, 5.0) == 0.0  # negative edge: no bet
    assert np.isnan(pricing.kelly_fraction(0.5, np.nan))


@pytest.mark.parametrize(("p", "odds"), [(0.3, 4.0), (0.05, 30.0), (0.6, 2.1)])
def test_kelly_fraction_maximises_expected_log_growth(p: float, odds: float) -> None:
    grid = np.linspace(0.0, 0.99, 9901)
    growth = p * np.log1p(grid * (odds - 1)) + (1 - p) * np.log1p(-grid)
    assert float(pricing.kelly_fraction(p, odds)) == pytest.approx(grid[np.argmax(growth)], abs=1e-4)


# --- each-way terms and handicaps ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("runners", "handicap", "expected"),
    [
        (2, False, None),
        (4, True, None),
        (5, False, (2, "1/4")),
        (7, True, (2, "1/4")),
        (8, False, (3, "1/5")),
        (11, True, (3, "1/5")),
        (12, False, (3, "1/5")),
        (12, True, (3, "1/4")),
        (15, True, (3, "1/4")),
        (16, False, (3, "1/5")),
        (16, True, (4, "1/4")),
        (24, True, (4, "1/4")),
    ],
)
def test_each_way_terms(runners: int, handicap: bool, expected: tuple[int, str] | None) -> None:
    terms = pricing.each_way_terms(runners, handicap)
    if expected is None:
        assert terms is None
        assert pricing.places_paid(terms) == 3  # p_place counts the first three without terms
    else:
        assert terms is not None
        assert (terms.places, terms.label) == expected
        assert terms.fraction == Fraction(expected[1])
        assert pricing.places_paid(terms) == expected[0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Coral Welsh Grand National Handicap Chase (Grade 3)", True),
        ("2m Nov Hcap Hrd", True),
        ("Racing TV H'cap", True),
        ("Sky Bet Nursery", True),
        ("Download The App Novices' Limited Handicap Hurdle", True),
        ("Class 6 Classified Stakes (0-55)", False),
        ("Maiden Stakes", False),
        ("The Handicapper's Maiden", False),
        ("", False),
        (None, False),
    ],
)
def test_is_handicap_reads_the_race_name(name: str | None, expected: bool) -> None:
    assert race_rules.is_handicap(name) is expected


# --- liquidity ----------------------------------------------------------------------------------
def test_liquidity_ok_is_unknown_without_volume() -> None:
    assert pricing.liquidity_ok(None, 1000.0) is None
    assert pricing.liquidity_ok(math.nan, 1000.0) is None
    assert pricing.liquidity_ok(999.0, 1000.0) is False
    assert pricing.liquidity_ok(1000.0, 1000.0) is True


# --- stakes and caps ----------------------------------------------------------------------------
def test_stakes_are_fractional_kelly_of_the_bank_when_no_cap_binds() -> None:
    stakes = pricing.allocate_stakes([1, 2], [0.02, 0.05], [0.1, 0.2], [True, True], RULES)
    assert stakes.tolist() == pytest.approx([0.5, 1.25])  # 0.25 × Kelly × 100


def test_no_stake_without_edge_or_when_not_stakeable() -> None:
    rules = StakeRules(0.25, 100.0, 2.0, 3.0, 20.0, min_edge=0.05)
    stakes = pricing.allocate_stakes([1, 1, 1], [0.04, 0.04, 0.04], [0.04, 0.2, 0.2], [True, True, False], rules)
    assert stakes.tolist() == [0.0, 1.0, 0.0]


def test_per_bet_cap_applies_before_the_race_cap() -> None:
    # Raw stakes 5 and 1 in one race: per bet 2 and 1, which fits the race cap of 3 exactly.
    # (The other order, race first, would give 2.5/0.5 then 2/0.5.)
    stakes = pricing.allocate_stakes([7, 7], [0.2, 0.04], [0.5, 0.1], [True, True], RULES)
    assert stakes.tolist() == pytest.approx([2.0, 1.0])


def test_race_cap_scales_a_race_proportionally() -> None:
    stakes = pricing.allocate_stakes([1, 1, 1, 2], [0.2, 0.2, 0.04, 0.04], [1, 1, 1, 1], [True] * 4, RULES)
    # race 1: per bet 2, 2, 1 = 5 > 3, scaled by 3/5; race 2 untouched
    assert stakes.tolist() == pytest.approx([1.2, 1.2, 0.6, 1.0])


def test_day_cap_scales_every_open_race_together() -> None:
    race_ids = np.repeat(np.arange(10), 2)
    stakes = pricing.allocate_stakes(race_ids, np.full(20, 0.2), np.full(20, 0.5), np.ones(20, bool), RULES)
    # per bet 2, per race 3 (1.5 each), day 30 > 20: everything × 2/3 = 1.0
    assert stakes.tolist() == pytest.approx([1.0] * 20)


def test_day_budget_is_what_is_left_of_the_day() -> None:
    stakes = pricing.allocate_stakes([1, 2], [0.04, 0.04], [1, 1], [True, True], RULES, day_budget=0.5)
    assert stakes.sum() == pytest.approx(0.5)
    assert stakes[0] == pytest.approx(stakes[1])
    assert pricing.allocate_stakes([1], [0.04], [1], [True], RULES, day_budget=-3.0).tolist() == [0.0]


@pytest.mark.parametrize("seed", range(20))
def test_caps_always_hold_on_random_days(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    race_ids = rng.integers(0, max(1, n // 8), n)
    kelly = rng.uniform(0, 0.3, n) * (rng.random(n) < 0.4)
    edge = np.where(kelly > 0, rng.uniform(0.01, 1.0, n), -0.1)
    stakes = pricing.allocate_stakes(race_ids, kelly, edge, rng.random(n) < 0.9, RULES)
    assert (stakes >= 0).all()
    assert stakes.max(initial=0) <= RULES.max_per_bet + 1e-12
    per_race = np.bincount(race_ids, weights=stakes)
    assert per_race.max(initial=0) <= RULES.max_per_race + 1e-9
    assert stakes.sum() <= RULES.max_per_day + 1e-9
    assert np.allclose(stakes * 100, np.round(stakes * 100))  # whole hundredths of a unit


def test_round_down_keeps_exact_hundredths() -> None:
    assert pricing.round_down_stakes(np.array([0.29, 1.999, 2.0, 0.004])).tolist() == [0.29, 1.99, 2.0, 0.0]
