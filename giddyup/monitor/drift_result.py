"""What a drift report says, and the rules that turn it into a status: the result types
(per column, the price-source mix, the day's summary) and the thresholds and status rules.

Status rules (thresholds from settings):
- share of drifted model features ≥ drift_alert_share → alert; ≥ drift_warn_share → warn;
- otherwise a drifted prediction column (p_model or p_win) raises ok to warn, never to alert:
  predictions follow from the features, so a real problem shows there too, while p_win also moves
  with the market alone;
- market drift never changes the status: the market is an input we do not control; it is
  reported so that on-call can tell "the model's inputs moved" from "the prices moved".

A feature counts as drifted when Evidently's test says so, when it is entirely missing on one
side but not the other (Evidently cannot test an empty column, and a dead feed looks like that),
or when its missing share rose by MISSING_SHARE_JUMP or more (Evidently tests non-missing values
only, so a half-dead feed would pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

PREDICTION_COLUMNS = ("p_model", "p_win")
MARKET_DRIFT_COLUMNS = ("overround", "p_market")  # the market of the day, reported, never part of the status
SOURCE_COLUMN = "best_odds_src"

# Evidently picks these two for references of more than 1,000 rows (a holdout always is); fixing
# them keeps the verdict from changing test family with the holdout's size. Both are distances:
# drifted when score ≥ threshold, so score / threshold says "how much" on one scale.
NUMERICAL_METHOD = "wasserstein"  # Wasserstein distance normed by the reference's std
CATEGORICAL_METHOD = "jensenshannon"
DRIFT_THRESHOLD = 0.1
# A day is a few hundred runners: a sample that small, drawn from the reference itself, passes
# 0.1 for about 1 numerical feature in 10 (1 in 3 at 200 runners). The threshold is raised to the
# distance such a sample exceeds about once in a hundred columns (simulated: normed Wasserstein
# 2.8/√n; Jensen-Shannon 0.7·√(categories/n)), n the effective size of the two samples.
NUMERICAL_NOISE = 2.8
CATEGORICAL_NOISE = 0.7
MISSING_SHARE_JUMP = 0.3

STATUSES = ("ok", "warn", "alert")


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str  # "numerical" or "categorical"
    drifted: bool
    score: float | None  # Evidently's drift score (a distance); None when the column could not be tested
    threshold: float | None
    method: str | None
    reason: str  # one line for people: why it is (not) drifted
    missing_reference: float  # share of rows missing the value
    missing_current: float
    reference_value: str  # mean, or the category whose share moved most, for people
    current_value: str

    @property
    def severity(self) -> float:
        """How far past its threshold (≥ 1 means drifted by the test); inf for an emptied column."""
        if self.score is None or not self.threshold:
            return float("inf") if self.drifted else 0.0
        return self.score / self.threshold


@dataclass(frozen=True)
class SourceMix:
    """Shares of best_odds_src today against a baseline (None: nothing to compare with)."""

    current: dict[str, float]
    baseline: dict[str, float] | None
    baseline_label: str
    drifted: bool
    score: float | None
    threshold: float | None
    method: str | None


@dataclass(frozen=True)
class DriftSummary:
    status: str
    reasons: tuple[str, ...]
    warn_share: float
    alert_share: float
    n_reference: int
    n_current: int
    features: tuple[ColumnDrift, ...]
    prediction: tuple[ColumnDrift, ...]
    market: tuple[ColumnDrift, ...]
    source_mix: SourceMix | None
    untested_features: tuple[str, ...] = field(default=())  # missing on both sides: nothing to compare

    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def drifted_features(self) -> tuple[ColumnDrift, ...]:
        """Drifted model features, most drifted first."""
        drifted = [c for c in self.features if c.drifted]
        return tuple(sorted(drifted, key=lambda c: (-c.severity, c.column)))

    @property
    def n_drifted(self) -> int:
        return len(self.drifted_features)

    @property
    def share_drifted(self) -> float:
        return self.n_drifted / self.n_features if self.n_features else 0.0

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.drifted_features]

    @property
    def prediction_drifted(self) -> list[str]:
        return [c.column for c in self.prediction if c.drifted]

    @property
    def market_drifted(self) -> list[str]:
        names = [c.column for c in self.market if c.drifted]
        if self.source_mix is not None and self.source_mix.drifted:
            names.append(SOURCE_COLUMN)
        return names

    def details(self) -> dict[str, Any]:
        """Prediction and market drift figures and the per-feature table (modeling.drift_reports.details_json)."""
        return {
            "status_reasons": list(self.reasons),
            "thresholds": {
                "warn_share": self.warn_share,
                "alert_share": self.alert_share,
                "column_threshold": DRIFT_THRESHOLD,  # raised per column on small samples (column_threshold())
                "numerical_method": NUMERICAL_METHOD,
                "categorical_method": CATEGORICAL_METHOD,
                "missing_share_jump": MISSING_SHARE_JUMP,
            },
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "prediction": {
                "drifted": self.prediction_drifted,
                "columns": [asdict(c) for c in self.prediction],
            },
            "market": {
                "drifted": self.market_drifted,
                "columns": [asdict(c) for c in self.market],
                "source_mix": asdict(self.source_mix) if self.source_mix is not None else None,
            },
            "features": [asdict(c) for c in self.features],
            "untested_features": list(self.untested_features),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "n_features": self.n_features,
            "n_drifted": self.n_drifted,
            "share_drifted": self.share_drifted,
            "drifted_columns": self.drifted_columns,
            **self.details(),
        }


def decide_status(
    share_drifted: float, prediction_drifted: Sequence[str], *, warn_share: float, alert_share: float
) -> tuple[str, tuple[str, ...]]:
    """The status and the reasons for it, in words (rules in the module docstring)."""
    share = f"{share_drifted:.0%} of model features drifted"
    if share_drifted >= alert_share:
        return "alert", (f"{share}, at or above the alert share {alert_share:.0%}",)
    if share_drifted >= warn_share:
        return "warn", (f"{share}, at or above the warn share {warn_share:.0%}",)
    if prediction_drifted:
        return "warn", (
            f"{share} (below the warn share {warn_share:.0%}), but predictions drifted: {', '.join(prediction_drifted)}",
        )
    return "ok", (f"{share}, below the warn share {warn_share:.0%}; predictions stable",)
