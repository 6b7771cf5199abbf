"""Small-sample statistics of a drift test: how far a column may move by chance on a day's few
hundred runners, and how many independent observations a day's runners are worth.
"""

from __future__ import annotations

import math

import pandas as pd

from giddyup.monitor.drift_result import CATEGORICAL_NOISE, DRIFT_THRESHOLD, NUMERICAL_NOISE


def column_threshold(kind: str, n_reference: int, n_current: int, n_categories: int = 2) -> float:
    """DRIFT_THRESHOLD, or the sampling-noise floor for samples of these sizes if higher."""
    if n_reference <= 0 or n_current <= 0:
        return DRIFT_THRESHOLD
    n = 1.0 / (1.0 / n_reference + 1.0 / n_current)
    noise = NUMERICAL_NOISE if kind == "numerical" else CATEGORICAL_NOISE * math.sqrt(max(n_categories, 2))
    return round(max(DRIFT_THRESHOLD, noise / math.sqrt(n)), 4)


def effective_size(values: pd.Series, races: pd.Series, kind: str) -> int:
    """The day's sample size for a column, allowing for runners of one race being alike.

    A day's runners come in a dozen or so races: a race-level column (going, distance) has one value
    per race, and a column like the official rating is similar within a race. Testing them as if
    every runner were independent flags a different card as drift. The size is divided by the
    design effect 1 + (m - 1)·ρ (m runners per race, ρ the intraclass correlation from a one-way
    ANOVA); a column constant within every race counts one observation per race.
    """
    frame = pd.DataFrame({"value": values, "race": races.to_numpy()}).dropna()
    n, groups = len(frame), frame["race"].nunique()
    if n == 0 or groups <= 1 or groups == n:
        return n
    if kind == "categorical":
        constant = frame.groupby("race")["value"].nunique().max() == 1
        return groups if constant else n
    sizes = frame.groupby("race")["value"].size()
    means = frame.groupby("race")["value"].transform("mean")
    within = float(((frame["value"] - means) ** 2).sum()) / (n - groups)
    between = float((sizes * (frame.groupby("race")["value"].mean() - frame["value"].mean()) ** 2).sum()) / (groups - 1)
    m0 = (n - float((sizes**2).sum()) / n) / (groups - 1)
    if within <= 0:
        return groups
    rho = min(1.0, max(0.0, (between - within) / (between + (m0 - 1) * within)))
    return max(groups, round(n / (1 + (n / groups - 1) * rho)))
