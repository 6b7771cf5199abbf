"""Per-race arithmetic on runner rows: sums, softmax, normalisation, and the conditional logit.

Runner rows arrive in any order; `RaceGroups` maps each row to its race once so that every
per-race operation is a vectorised numpy call (bincount / reduceat), fast enough to run inside
a LightGBM objective on every boosting round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from giddyup.errors import GiddyUpError


@dataclass(frozen=True)
class RaceGroups:
    codes: np.ndarray  # race index (0..n_races-1) of every row
    n_races: int
    order: np.ndarray  # row order that puts each race's rows together
    starts: np.ndarray  # first position in `order` of each race

    @classmethod
    def of(cls, race_id: Sequence | np.ndarray) -> RaceGroups:
        race_id = np.asarray(race_id)
        if race_id.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, 0, empty, empty)
        _, codes = np.unique(race_id, return_inverse=True)
        codes = codes.astype(np.int64).ravel()
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        return cls(codes, int(sizes.size), order, starts)

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n_races)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Per-race sums (length n_races)."""
        return np.bincount(self.codes, weights=values, minlength=self.n_races)

    def max(self, values: np.ndarray) -> np.ndarray:
        if self.n_races == 0:
            return np.zeros(0)
        return np.maximum.reduceat(np.asarray(values, dtype=float)[self.order], self.starts)

    def any(self, mask: np.ndarray) -> np.ndarray:
        return self.sum(np.asarray(mask, dtype=float)) > 0

    def broadcast(self, per_race: np.ndarray) -> np.ndarray:
        """A per-race array back on the rows."""
        return np.asarray(per_race)[self.codes]

    def normalise(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        return values / self.broadcast(self.sum(values))

    def log_softmax(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        shifted = scores - self.broadcast(self.max(scores))
        return shifted - self.broadcast(np.log(self.sum(np.exp(shifted))))

    def softmax(self, scores: np.ndarray) -> np.ndarray:
        return np.exp(self.log_softmax(scores))


def race_softmax(race_id: Sequence | np.ndarray, scores: np.ndarray) -> np.ndarray:
    return RaceGroups.of(race_id).softmax(scores)


def normalise_within_race(race_id: Sequence | np.ndarray, values: np.ndarray) -> np.ndarray:
    return RaceGroups.of(race_id).normalise(values)


@dataclass(frozen=True)
class ConditionalLogitFit:
    coef: np.ndarray
    std_err: np.ndarray
    neg_log_likelihood: float
    n_races: int


def _neg_log_likelihood(
    coef: np.ndarray, groups: RaceGroups, x: np.ndarray, y: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    log_p = groups.log_softmax(x @ coef)
    p = np.exp(log_p)
    value = -float(np.sum(y * log_p)) + 0.5 * l2 * float(coef @ coef)
    # y sums to one per race, so the gradient of -Σ y log p is X'(p - y)
    gradient = x.T @ (p - y) + l2 * coef
    return value, gradient


def fit_conditional_logit(
    race_id: Sequence | np.ndarray | RaceGroups,
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 0.0,
    start: np.ndarray | None = None,
) -> ConditionalLogitFit:
    """McFadden's conditional logit: P(i wins its race) = exp(x_i·b) / Σ_race exp(x_j·b).

    `y` is the race outcome per row (win_share: 1 for the winner, 1/k for each of k dead-heaters),
    summing to one in every race used. No intercept: a constant cancels within a race.
    """
    from scipy.optimize import minimize  # here, not at the top: refresh imports this module and never fits

    groups = race_id if isinstance(race_id, RaceGroups) else RaceGroups.of(race_id)
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    y = np.asarray(y, dtype=float)
    if not np.all(np.isfinite(x)):
        raise GiddyUpError("conditional logit inputs contain NaN or infinite values")
    race_totals = groups.sum(y)
    if groups.n_races == 0 or not np.allclose(race_totals, 1.0):
        raise GiddyUpError("conditional logit needs races whose outcomes sum to one (a resulted race each)")
    start = np.zeros(x.shape[1]) if start is None else np.asarray(start, dtype=float)
    result = minimize(_neg_log_likelihood, start, args=(groups, x, y, l2), jac=True, method="L-BFGS-B")
    coef = result.x
    p = groups.softmax(x @ coef)
    # Observed information: Σ_races X'(diag p - p p')X, for standard errors.
    weighted = x * p[:, None]
    mean_x = np.stack([groups.sum(weighted[:, k]) for k in range(x.shape[1])], axis=1)
    information = x.T @ weighted - mean_x.T @ mean_x + l2 * np.eye(x.shape[1])
    try:
        std_err = np.sqrt(np.clip(np.diag(np.linalg.inv(information)), 0, None))
    except np.linalg.LinAlgError:
        std_err = np.full(x.shape[1], np.nan)
    return ConditionalLogitFit(coef, std_err, float(result.fun), groups.n_races)
