"""Isotonic calibration of race-normalised probabilities, then renormalisation within each race.

Fitted with scikit-learn's IsotonicRegression on out-of-fold predictions only. The map kept is the
centred isotonic one (Oron and Flournoy): the fitted blocks' centroids joined by straight lines.
Plain isotonic steps give every runner of a flat block the same probability, so runners of one
race that the model told apart become ties; on the HK benchmark that cost 0.0005 of R² against
0.0002 for the centred map. Applying it is np.interp on the centroids (JSON next to the model),
with neither sklearn nor a pickle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from giddyup.errors import GiddyUpError
from giddyup.model.race_probability import RaceGroups

# Isotonic steps can map the longest shots to 0; a floor keeps every runner possible (log loss finite).
PROBABILITY_FLOOR = 1e-4


@dataclass(frozen=True)
class IsotonicCalibrator:
    x: tuple[float, ...]  # breakpoints in the input probability
    y: tuple[float, ...]  # calibrated probability at each breakpoint

    def apply(self, race_id: np.ndarray | RaceGroups, p: np.ndarray) -> np.ndarray:
        """Calibrated, floored and renormalised within each race."""
        groups = race_id if isinstance(race_id, RaceGroups) else RaceGroups.of(race_id)
        mapped = np.interp(np.asarray(p, dtype=float), np.asarray(self.x), np.asarray(self.y))
        return groups.normalise(np.clip(mapped, PROBABILITY_FLOOR, 1.0))

    def to_dict(self) -> dict:
        return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: dict) -> IsotonicCalibrator:
        if data.get("method") != "isotonic" or len(data.get("x", ())) != len(data.get("y", ())):
            raise GiddyUpError("calibration artifact is not an isotonic map with matching x and y")
        return cls(tuple(float(v) for v in data["x"]), tuple(float(v) for v in data["y"]))


IDENTITY = IsotonicCalibrator((0.0, 1.0), (0.0, 1.0))


def fit_isotonic(p_out_of_fold: np.ndarray, won: np.ndarray) -> IsotonicCalibrator:
    """Fit on out-of-fold race-normalised probabilities and the 0/1 outcome (win_share works too)."""
    from sklearn.isotonic import IsotonicRegression

    p = np.asarray(p_out_of_fold, dtype=float)
    outcome = np.asarray(won, dtype=float)
    if p.size == 0 or not np.all(np.isfinite(p)):
        raise GiddyUpError("isotonic calibration needs finite out-of-fold probabilities")
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, outcome)
    order = np.argsort(p, kind="stable")
    x_sorted, fitted = p[order], model.predict(p[order])
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])  # first row of each flat block
    sizes = np.diff(np.r_[starts, p.size])
    centroids = np.add.reduceat(x_sorted, starts) / sizes
    return IsotonicCalibrator(tuple(centroids.tolist()), tuple(fitted[starts].tolist()))
