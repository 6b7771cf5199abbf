"""Benter's second stage: a conditional logit on log p_model, log p_market and what the market has missed.

    p_win(i) ∝ exp(a·log p_model(i) + b·log p_market(i) + v(i)),   v(i) = Σ_k c_k·z_k(i)

a and b are Benter's two coefficients. v is the runner's *versus-market logit*: the z_k are
point-in-time measures of how far the market's prices were wrong in earlier races about this
horse, its trainer, its jockey and its part of the draw (features `*_vs_market*`, lbs, from
giddyup.features.versus_market; never the race's own market), weighted by coefficients c_k fitted
with a and b. The market of the race being priced is an input of this stage only.

Why the z_k are covariates here and not only features of the fundamental model: the fundamental
model must also estimate what the market already knows (ability, the day's news), and does so far
less well than the market; a single log p_model then mixes a little that the market lacks with
much that is noise next to the market, and its coefficient a goes to about 0 (measured on the
simulated world: a = -0.03, combined R² +0.0002 over the market, against +0.009 with the z_k).
Given their own coefficients, what the market misses reaches p_win.

All coefficients are fitted out of fold (calibrated out-of-fold p_model, the market of the same
races) and stored as JSON in the model version (MLflow artifact and modeling.models.combiner_json):
"coef" holds a and b, "vs_market" the c_k. Applying them needs numpy only: the intraday refresh
uses the v stored with each signal (modeling.signals.vs_market_logit), so no feature is rebuilt.
A combiner without "vs_market" (older versions) is the two-covariate stage, v = 0.

Fallback: a race where any runner lacks a market probability (NaN, or p ≤ 0) gets p_win = p_model
(the calibrated fundamental probability): half a market says nothing reliable about the other half.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from giddyup.errors import GiddyUpError
from giddyup.model.race_probability import RaceGroups, fit_conditional_logit

COMBINER_METHOD = "benter_conditional_logit"
VS_MARKET = "vs_market"


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


def _logit_adjustment(vs_market_logit, n: int) -> np.ndarray:
    if vs_market_logit is None:
        return np.zeros(n)
    v = np.asarray(vs_market_logit, dtype=float)
    if v.shape != (n,):
        raise GiddyUpError("vs_market_logit must have one value per runner")
    return np.where(np.isfinite(v), v, 0.0)  # no history: the market was right


def combine_with_market(race_id, p_model, p_market, combiner: dict, vs_market_logit=None) -> np.ndarray:
    """p_win per runner, summing to one in each race (see the module docstring for the fallback).

    p_market may be 1/price or already normalised: it is renormalised within each race.
    `vs_market_logit` is v per runner (see `vs_market_logit`); None or NaN counts as 0.
    """
    groups = RaceGroups.of(race_id)
    if groups.n_races == 0:
        return np.zeros(0)
    coef = coefficients(combiner)
    x, has_market = _log_inputs(groups, p_model, p_market)
    combined = groups.softmax(x @ coef + _logit_adjustment(vs_market_logit, groups.codes.size))
    return np.where(has_market, combined, groups.normalise(np.asarray(p_model, dtype=float)))


def coefficients(combiner: dict) -> np.ndarray:
    try:
        coef = combiner["coef"]
        return np.array([float(coef["log_p_model"]), float(coef["log_p_market"])])
    except (KeyError, TypeError, ValueError):
        raise GiddyUpError("combiner has no coef.log_p_model / coef.log_p_market") from None


def vs_market_covariates(combiner: dict) -> dict[str, float]:
    """Covariate name -> c_k (empty for a two-covariate combiner)."""
    part = combiner.get(VS_MARKET)
    if not part:
        return {}
    try:
        return {str(name): float(value) for name, value in part["coef"].items()}
    except (KeyError, TypeError, AttributeError, ValueError):
        raise GiddyUpError("combiner vs_market part has no coef mapping") from None


def covariate_matrix(columns: Mapping[str, Sequence[float] | np.ndarray], names: Sequence[str], n: int) -> np.ndarray:
    """[n, k] float matrix of the named covariates; missing values (NULL, NaN) are 0: no evidence."""
    out = np.zeros((n, len(names)))
    for k, name in enumerate(names):
        if name not in columns:
            raise GiddyUpError(f"the combiner needs column {name}, which the frame lacks")
        values = np.asarray(columns[name], dtype=float)
        out[:, k] = np.where(np.isfinite(values), values, 0.0)
    return out


def vs_market_logit(columns: Mapping[str, Sequence[float] | np.ndarray], combiner: dict, n: int) -> np.ndarray:
    """v = Σ c_k z_k per runner from the covariate columns (zeros for a two-covariate combiner)."""
    weights = vs_market_covariates(combiner)
    if not weights:
        return np.zeros(n)
    return covariate_matrix(columns, list(weights), n) @ np.array(list(weights.values()))


def fit_combiner(
    race_id,
    p_model,
    p_market,
    win_share,
    *,
    price_column: str,
    covariates: Mapping[str, Sequence[float] | np.ndarray] | None = None,
) -> dict:
    """Fit a, b (and c_k for `covariates`, name -> values per runner) on races with a complete
    market and one resulted outcome; returns the combiner dict."""
    groups = RaceGroups.of(race_id)
    x, has_market = _log_inputs(groups, p_model, p_market)
    covariates = covariates or {}
    names = list(covariates)
    if names:
        x = np.column_stack([x, covariate_matrix(covariates, names, groups.codes.size)])
    outcome = np.asarray(win_share, dtype=float)
    resulted = groups.broadcast(np.isclose(groups.sum(np.nan_to_num(outcome)), 1.0))
    usable = has_market & resulted
    if not usable.any():
        raise GiddyUpError(f"no resulted race has a complete market in column {price_column} to fit the combiner on")
    start = np.r_[0.5, 0.5, np.zeros(len(names))]
    fit = fit_conditional_logit(np.asarray(race_id)[usable], x[usable], outcome[usable], start=start)
    combiner = {
        "method": COMBINER_METHOD,
        "price_column": price_column,
        "coef": {"log_p_model": float(fit.coef[0]), "log_p_market": float(fit.coef[1])},
        "std_err": {"log_p_model": float(fit.std_err[0]), "log_p_market": float(fit.std_err[1])},
        "n_races": fit.n_races,
        "fallback": "p_model where any runner of the race lacks a market price",
    }
    if names:
        combiner[VS_MARKET] = {
            "coef": {name: float(c) for name, c in zip(names, fit.coef[2:], strict=True)},
            "std_err": {name: float(s) for name, s in zip(names, fit.std_err[2:], strict=True)},
            "missing": 0.0,
        }
    return combiner


def model_only(price_column: str) -> dict:
    """p_win = p_model: the combiner used when no training race has a complete market."""
    return {
        "method": COMBINER_METHOD,
        "price_column": price_column,
        "coef": {"log_p_model": 1.0, "log_p_market": 0.0},
        "n_races": 0,
        "fallback": "p_model where any runner of the race lacks a market price",
    }
