"""Synthetic races with known true win probabilities, for tests and benchmarks of the model.

Each runner has features x1..x4 (numeric, x4 half missing) and a categorical `going_fit`; its
true strength is a fixed function of them plus a part only the market sees (stable/trainer
information the features lack). The true P(win) is the softmax of strength over the race;
finishing orders are drawn by Plackett-Luce (Gumbel trick), so the winner follows the true
probabilities exactly. The market prices a noisy view of strength, including the hidden part,
with a bookmaker overround (dec) and a fair exchange book (win_bsp).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from giddyup.features.contract import FeatureSet

TRUE_COEF = {"x1": 0.9, "x2": -0.6, "x3": 0.4}
FEATURES = ("x1", "x2", "x3", "x4", "going_fit")
CATEGORICAL = ("going_fit",)
_GOING_EFFECT = {"good": 0.0, "soft": 0.35, "firm": -0.35}


def synthetic_races(
    n_races: int = 400,
    *,
    seed: int = 0,
    start: dt.date = dt.date(2024, 1, 1),
    races_per_day: int = 8,
    field_sizes: tuple[int, int] = (5, 14),
    hidden_scale: float = 0.6,
    market_noise: float = 0.35,
    market_sees_features: float = 0.8,
    overround: float = 1.18,
    first_race_id: int = 1,
) -> tuple[FeatureSet, pl.DataFrame]:
    """(FeatureSet, truth): truth has runner_id, p_true, strength."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(field_sizes[0], field_sizes[1] + 1, n_races)
    race_index = np.repeat(np.arange(n_races), sizes)
    n = race_index.size
    x1, x2, x3 = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    x4 = rng.normal(size=n)
    going = rng.choice(list(_GOING_EFFECT), size=n)
    fundamental = (
        TRUE_COEF["x1"] * x1
        + TRUE_COEF["x2"] * x2
        + TRUE_COEF["x3"] * np.tanh(2 * x3)
        + 0.3 * x4
        + np.vectorize(_GOING_EFFECT.get)(going)
    )
    hidden = hidden_scale * rng.normal(size=n)
    strength = fundamental + hidden
    p_true = _softmax(race_index, strength)
    # Plackett-Luce order: sort strength + Gumbel noise within each race
    noisy = strength + rng.gumbel(size=n)
    order = np.lexsort((-noisy, race_index))
    pos = np.empty(n, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    pos[order] = np.arange(n) - np.repeat(starts, sizes) + 1
    market_view = market_sees_features * fundamental + hidden + market_noise * rng.normal(size=n)
    p_market = _softmax(race_index, market_view)
    x4_observed = np.where(rng.random(n) < 0.5, np.nan, x4)

    race_id = race_index + first_race_id
    race_date = pl.Series([start + dt.timedelta(days=int(i) // races_per_day) for i in race_index], dtype=pl.Date)
    frame = pl.DataFrame(
        {
            "race_id": race_id.astype(np.int64),
            "runner_id": (np.arange(n) + first_race_id * 100).astype(np.int64),
            "horse_id": rng.integers(1, 50_000, n).astype(np.int64),
            "race_date": race_date,
            "region": ["GB"] * n,
            "course_id": (race_index % 7 + 1).astype(np.int64),
            "off_time": [dt.time(13 + int(i) % races_per_day // 2, 30 * (int(i) % 2)) for i in race_index],
            "field_size": sizes[race_index].astype(np.int64),
            "won": pos == 1,
            "win_share": (pos == 1).astype(float),
            "pos_num": pos,
            "finished": np.ones(n, dtype=bool),
            "dec": np.round(1.0 / (p_market * overround), 2).clip(1.01),
            "win_bsp": (1.0 / p_market).clip(1.01),
            "win_ppwap": None,
            "win_morningwap": None,
            "best_odds": None,
            "win_pre_vol": None,
            "win_morning_vol": None,
            "x1": x1,
            "x2": x2,
            "x3": x3,
            "x4": x4_observed,
            "going_fit": going,
        }
    )
    truth = pl.DataFrame({"runner_id": frame["runner_id"], "p_true": p_true, "strength": strength})
    return FeatureSet(frame, FEATURES, CATEGORICAL), truth


def _softmax(race_index: np.ndarray, values: np.ndarray) -> np.ndarray:
    shifted = np.exp(
        values - np.maximum.reduceat(values, np.flatnonzero(np.r_[True, np.diff(race_index) != 0]))[race_index]
    )
    return shifted / np.bincount(race_index, weights=shifted)[race_index]
