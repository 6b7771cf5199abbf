"""Pricing: from probabilities and a price to fair odds, edges, each-way terms and stakes.

Pure functions on floats or numpy arrays; NaN stands for "no value" (NULL in the tables).
Definitions (../shared/specs/modeling-schema.md):

- fair odds = 1 / p; no fair odds (NaN) when 1 / p < 1.01, the lowest odds a signal may carry.
- edge_win = p_win × odds − 1: expected profit per unit staked on a win bet.
- Each-way terms (UK) from the number of runners expected to start and whether the race is a
  handicap: under 5 runners none; 5–7: 2 places at 1/4; 8+: 3 places at 1/5; handicaps of
  12–15 runners: 3 places at 1/4; handicaps of 16+: 4 places at 1/4.
- Whether a race is a handicap: giddyup.race_rules.
- p_place = the probability of finishing within the race's each-way places, or within the first
  three where the race has no each-way terms (fewer than 5 runners). fair_odds_place = 1 / p_place.
- edge_ew: an each-way bet is two equal halves, one on the win at odds O, one on the place at
  1 + (O − 1) × fraction; edge_ew = ½ (p_win × O − 1) + ½ (p_place × place odds − 1), the
  expected profit per unit of total outlay. Each-way terms are a bookmaker's: a signal carries
  edge_ew only when its price is a bookmaker's (race_day/price_card.py), never an exchange's.
- Kelly fraction = (p × O − 1) / (O − 1), never below 0.
- How a bet is struck (the decision rule, chosen with the backtest: docs/BACKTEST.md): on the
  exchange, at the price available now when it is at least the market's fair price (1/p_market,
  the race's book without its margin), else at Betfair SP, whose expectation is that fair price
  (`execution` 'price' or 'bsp', `execution_odds` the price now or the fair price). A bookmaker
  price is taken as it is. The stake's edge and Kelly fraction are at the execution odds net of
  the exchange's commission on winnings: net odds = 1 + (O − 1)(1 − commission).
- Stakes (units of a bank of `bank_units`): kelly_multiplier × Kelly × bank for runners whose
  stake edge is above min_edge + min_edge_per_sqrt_odds × √(execution odds) (longer odds, noisier
  prices: a longer price must promise more) and liquidity not known to be short; then, in this order,
  1. per bet: each stake is cut to max_stake_per_bet;
  2. per race: when a race's stakes sum above max_stake_per_race, all of them are scaled down by
     the same factor;
  3. per day: when the day's stakes sum above what is left of max_stake_per_day, all of them are
     scaled down by the same factor.
  Each step only shrinks stakes, so a later cap never breaks an earlier one. Stakes are rounded
  down to 0.01 units (rounding down keeps every cap).
- liquidity_ok = traded volume ≥ min_liquidity_volume; unknown (None) when no volume is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from giddyup.odds import MIN_ODDS

if TYPE_CHECKING:
    from giddyup.config import Settings

STAKE_STEP = 0.01  # stakes are whole hundredths of a unit
NO_EW_PLACES = 3  # p_place counts the first three where a race has no each-way terms


def _array(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=float)


def fair_odds(p: ArrayLike) -> np.ndarray:
    """1 / p, NaN where p is missing, not positive, or so high that 1 / p < 1.01."""
    p = _array(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = 1.0 / p
    return np.where((p > 0) & (odds >= MIN_ODDS), odds, np.nan)


def edge_win(p: ArrayLike, odds: ArrayLike) -> np.ndarray:
    """Expected profit per unit staked on a win bet at decimal `odds` (NaN without odds)."""
    return _array(p) * _array(odds) - 1.0


def place_odds(odds: ArrayLike, fraction: ArrayLike) -> np.ndarray:
    """Odds of the place half of an each-way bet: 1 + (odds − 1) × fraction."""
    return 1.0 + (_array(odds) - 1.0) * _array(fraction)


def edge_each_way(p_win: ArrayLike, p_place: ArrayLike, odds: ArrayLike, fraction: ArrayLike) -> np.ndarray:
    """Expected profit per unit of total outlay of an each-way bet (half win, half place)."""
    win_half = _array(p_win) * _array(odds) - 1.0
    place_half = _array(p_place) * place_odds(odds, fraction) - 1.0
    return 0.5 * win_half + 0.5 * place_half


def kelly_fraction(p: ArrayLike, odds: ArrayLike) -> np.ndarray:
    """(p × O − 1) / (O − 1), never below 0; NaN without odds (or at odds ≤ 1)."""
    p, odds = _array(p), _array(odds)
    with np.errstate(divide="ignore", invalid="ignore"):
        kelly = (p * odds - 1.0) / (odds - 1.0)
    return np.where(odds > 1.0, np.maximum(kelly, 0.0), np.nan)


@dataclass(frozen=True)
class EachWayTerms:
    places: int
    fraction: Fraction

    @property
    def label(self) -> str:
        """As signals store it: `1/4`, `1/5`."""
        return f"{self.fraction.numerator}/{self.fraction.denominator}"


QUARTER = Fraction(1, 4)
FIFTH = Fraction(1, 5)


def each_way_terms(runners: int, handicap: bool) -> EachWayTerms | None:
    """UK each-way terms for a race with `runners` expected starters; None under 5 runners."""
    if runners < 5:
        return None
    if handicap and runners >= 16:
        return EachWayTerms(4, QUARTER)
    if handicap and runners >= 12:
        return EachWayTerms(3, QUARTER)
    if runners >= 8:
        return EachWayTerms(3, FIFTH)
    return EachWayTerms(2, QUARTER)


def places_paid(terms: EachWayTerms | None) -> int:
    """How many places p_place counts: the each-way places, else the first three."""
    return terms.places if terms is not None else NO_EW_PLACES


def liquidity_ok(volume: float | None, min_volume: float) -> bool | None:
    """Traded volume at least `min_volume`; None when the volume is unknown."""
    if volume is None or (isinstance(volume, float) and math.isnan(volume)):
        return None
    return bool(volume >= min_volume)


@dataclass(frozen=True)
class StakeRules:
    kelly_multiplier: float
    bank_units: float
    max_per_bet: float
    max_per_race: float
    max_per_day: float
    min_edge: float
    min_edge_per_sqrt_odds: float = 0.0
    commission: float = 0.0  # on net winnings of exchange bets
    bsp_below_fair: bool = False  # strike an exchange bet at Betfair SP when the price now is below fair
    require_edge_evidence: bool = True  # stand down on a version whose holdout showed no edge (stands_down)

    @classmethod
    def from_settings(cls, settings: Settings) -> StakeRules:
        return cls(
            kelly_multiplier=settings.kelly_multiplier,
            bank_units=settings.bank_units,
            max_per_bet=settings.max_stake_per_bet,
            max_per_race=settings.max_stake_per_race,
            max_per_day=settings.max_stake_per_day,
            min_edge=settings.min_edge,
            min_edge_per_sqrt_odds=settings.min_edge_per_sqrt_odds,
            commission=settings.exchange_commission,
            bsp_below_fair=settings.bsp_below_fair,
            require_edge_evidence=settings.require_edge_evidence,
        )


EXECUTION_PRICE = "price"  # the price available now
EXECUTION_BSP = "bsp"  # Betfair's starting price


@dataclass(frozen=True)
class StakePlan:
    """How each runner's bet would be struck, and what it is worth there (see the module docstring)."""

    execution: np.ndarray  # EXECUTION_PRICE or EXECUTION_BSP
    odds: np.ndarray  # execution odds: the price now, or the fair price a BSP bet expects
    edge: np.ndarray  # p × net odds − 1
    kelly: np.ndarray  # Kelly fraction at the net odds
    wanted: np.ndarray  # edge above the rule's threshold for those odds


def net_odds(odds: ArrayLike, exchange: ArrayLike, commission: float) -> np.ndarray:
    """Decimal odds after the exchange's commission on winnings (bookmaker odds unchanged)."""
    odds = _array(odds)
    return np.where(np.asarray(exchange, dtype=bool), 1.0 + (odds - 1.0) * (1.0 - commission), odds)


def edge_threshold(odds: ArrayLike, rules: StakeRules) -> np.ndarray:
    """The edge a bet at `odds` must beat: min_edge + min_edge_per_sqrt_odds × √odds."""
    return rules.min_edge + rules.min_edge_per_sqrt_odds * np.sqrt(np.maximum(_array(odds), 1.0))


def stake_plan(p: ArrayLike, odds: ArrayLike, p_market: ArrayLike, exchange: ArrayLike, rules: StakeRules) -> StakePlan:
    """Per runner: the execution, its odds, the edge and Kelly fraction there, and whether the
    edge clears the threshold (NaN odds or probabilities: no bet)."""
    p, odds, exchange = _array(p), _array(odds), np.asarray(exchange, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        fair = 1.0 / _array(p_market)
    at_bsp = rules.bsp_below_fair & exchange & np.isfinite(fair) & (odds < fair)
    execution_odds = np.where(at_bsp, fair, odds)
    net = net_odds(execution_odds, exchange, rules.commission)
    edge = p * net - 1.0
    kelly = kelly_fraction(p, net)
    with np.errstate(invalid="ignore"):
        wanted = np.isfinite(edge) & (edge > edge_threshold(execution_odds, rules))
    return StakePlan(np.where(at_bsp, EXECUTION_BSP, EXECUTION_PRICE), execution_odds, edge, kelly, wanted)


def stands_down(combiner: dict) -> str | None:
    """Why nothing may be staked on this model version's prices, or None when stakes are allowed.

    A signal is a price; a stake is a claim that the price is wrong. The claim needs evidence: the
    version's holdout must show its combination pricing winners better than the market beyond
    chance (combiner["edge_evidence"], written by training: the log-loss gain per race and its
    95% interval over race days). Without that evidence the rule stands down. A version trained
    before the evidence was recorded has none written and is not stood down."""
    evidence = combiner.get("edge_evidence")
    if not isinstance(evidence, dict) or evidence.get("evidence_of_edge", True):
        return None
    gain, interval = evidence.get("mean_gain_per_race"), evidence.get("ci95")
    figures = f" (log-loss gain per race {gain:+.4f}" if gain is not None else " ("
    figures += f", 95% interval {interval[0]:+.4f} to {interval[1]:+.4f})" if interval else ")"
    return "standing down: on its holdout the model's combination did not beat the market beyond chance" + (
        figures if figures != " ()" else ""
    )


def _scale_to_cap(stakes: np.ndarray, cap: float) -> np.ndarray:
    total = stakes.sum()
    return stakes * (cap / total) if total > cap else stakes


def allocate_stakes(
    race_ids: ArrayLike,
    kelly: ArrayLike,
    edge: ArrayLike,
    stakeable: ArrayLike,
    rules: StakeRules,
    day_budget: float | None = None,
    *,
    wanted: ArrayLike | None = None,
) -> np.ndarray:
    """Stakes in units for runners of one day, with the caps applied per bet, race and day.

    `stakeable` is False where a bet must not be struck (no price, liquidity known to be short).
    A runner is staked when its `edge` is above rules.min_edge, or, given `wanted` (a stake
    plan's), where that says so. `day_budget` is what is left of max_per_day (default: all of
    it); the day cap scales every race given here together, so pass all of the day's open races.
    """
    races = np.asarray(race_ids)
    kelly_f = np.nan_to_num(_array(kelly), nan=0.0)
    clears = _array(edge) > rules.min_edge if wanted is None else np.asarray(wanted, dtype=bool)
    wanted = np.asarray(stakeable, dtype=bool) & clears & (kelly_f > 0)
    stakes = np.where(wanted, rules.kelly_multiplier * kelly_f * rules.bank_units, 0.0)
    stakes = np.minimum(stakes, rules.max_per_bet)
    if stakes.size == 0:
        return stakes
    order = np.argsort(races, kind="stable")
    sorted_ids = races[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    race_totals = np.add.reduceat(stakes[order], starts)
    race_scale = np.where(race_totals > rules.max_per_race, rules.max_per_race / np.maximum(race_totals, 1e-300), 1.0)
    scale = np.empty_like(stakes)
    scale[order] = np.repeat(race_scale, np.diff(np.r_[starts, sorted_ids.size]))
    stakes = stakes * scale
    budget = rules.max_per_day if day_budget is None else max(0.0, min(day_budget, rules.max_per_day))
    stakes = _scale_to_cap(stakes, budget)
    return round_down_stakes(stakes)


def round_down_stakes(stakes: np.ndarray) -> np.ndarray:
    # The small epsilon keeps 0.29 (stored as 0.28999...) from dropping to 0.28.
    steps_per_unit = round(1 / STAKE_STEP)
    return np.floor(stakes * steps_per_unit + 1e-9) / steps_per_unit
