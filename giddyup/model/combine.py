"""Benter's second stage: a conditional logit on log p_model and log p_market.

    p_win(i) = exp(a·log p_model(i) + b·log p_market(i)) / Σ_race exp(a·log p_model(j) + b·log p_market(j))

a and b are fitted out of fold (on calibrated out-of-fold p_model and the market of the same
races) and stored as JSON in the model version (MLflow artifact and modeling.models.combiner_json),
so the intraday refresh applies them with numpy alone.

Fallback: a race where any runner lacks a market probability (NaN, or p ≤ 0) gets p_win = p_model
(the calibrated fundamental probability): half a market says nothing reliable about the other half.
"""

from __future__ import annotations

import numpy as np

from giddyup.errors import GiddyUpError
from giddyup.model.race_probability import RaceGroups, fit_conditional_logit

COMBINER_METHOD = "benter_conditional_logit"


def _log_inputs(groups: RaceGroups, p_model: np.ndarray, p_market: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log p_model and log p_market (market renormalised per race), and the races that have a market."""
    p_model = np.asarray(p_model, dtype=float)
    p_market = np.asarray(p_market, dtype=float)
    if p_model.shape != p_market.shape or p_model.shape != groups.codes.shape:
        raise GiddyUpError("race_id, p_model and p_market must have one value per runner")
    if np.any(~np.isfinite(p_model)) or np.any(p_model <= 0):
        raise GiddyUpError("p_model must be a positive probability for every runner")
    bad_market = ~np.isfinite(p_market) | (p_market <= 0)
    race_has_market = ~groups.any(bad_market)
    market = np.where(bad_market, 1.0, p_market)
    market = groups.normalise(market)
    return np.column_stack([np.log(p_model), np.log(market)]), groups.broadcast(race_has_market)


def combine_with_market(race_id, p_model, p_market, combiner: dict) -> np.ndarray:
    """p_win per runner, summing to one in each race (see the module docstring for the fallback).

    p_market may be 1/price or already normalised: it is renormalised within each race.
    """
    groups = RaceGroups.of(race_id)
    if groups.n_races == 0:
        return np.zeros(0)
    coef = coefficients(combiner)
    x, has_market = _log_inputs(groups, p_model, p_market)
    combined = groups.softmax(x @ coef)
    return np.where(has_market, combined, groups.normalise(np.asarray(p_model, dtype=float)))


def coefficients(combiner: dict) -> np.ndarray:
    try:
        coef = combiner["coef"]
        return np.array([float(coef["log_p_model"]), float(coef["log_p_market"])])
    except (KeyError, TypeError, ValueError):
        raise GiddyUpError("combiner has no coef.log_p_model / coef.log_p_market") from None


def fit_combiner(race_id, p_model, p_market, win_share, *, price_column: str) -> dict:
    """Fit a and b on races with a complete market and one resulted outcome; returns the combiner dict."""
    groups = RaceGroups.of(race_id)
    x, has_market = _log_inputs(groups, p_model, p_market)
    outcome = np.asarray(win_share, dtype=float)
    resulted = groups.broadcast(np.isclose(groups.sum(np.nan_to_num(outcome)), 1.0))
    usable = has_market & resulted
    if not usable.any():
        raise GiddyUpError(f"no resulted race has a complete market in column {price_column} to fit the combiner on")
    fit = fit_conditional_logit(np.asarray(race_id)[usable], x[usable], outcome[usable], start=np.array([0.5, 0.5]))
    return {
        "method": COMBINER_METHOD,
        "price_column": price_column,
        "coef": {"log_p_model": float(fit.coef[0]), "log_p_market": float(fit.coef[1])},
        "std_err": {"log_p_model": float(fit.std_err[0]), "log_p_market": float(fit.std_err[1])},
        "n_races": fit.n_races,
        "fallback": "p_model where any runner of the race lacks a market price",
    }


def model_only(price_column: str) -> dict:
    """p_win = p_model: the combiner used when no training race has a complete market."""
    return {
        "method": COMBINER_METHOD,
        "price_column": price_column,
        "coef": {"log_p_model": 1.0, "log_p_market": 0.0},
        "n_races": 0,
        "fallback": "p_model where any runner of the race lacks a market price",
    }
