"""The Evidently adapter: one report per day (the data-drift preset on the features, a value-drift
metric per prediction and market column) and the price-source mix test, read back into
per-column verdicts. Evidently 0.7's API: Report([...], include_tests=True).run(current_data=...,
reference_data=...) on Datasets made from pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from giddyup.errors import GiddyUpError
from giddyup.monitor.drift_result import CATEGORICAL_METHOD, NUMERICAL_METHOD


@dataclass(frozen=True)
class EvidentlyVerdict:
    score: float
    threshold: float
    method: str
    drifted: bool


def run_evidently(
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    features: list[str],
    extra: list[str],
    categorical: set[str],
    thresholds: dict[str, float],
    alert_share: float,
) -> tuple[Any, dict[str, EvidentlyVerdict]]:
    """One report: the data-drift preset on the features, one value-drift metric per extra column."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    columns = [*features, *extra]
    definition = DataDefinition(
        numerical_columns=[c for c in columns if c not in categorical],
        categorical_columns=[c for c in columns if c in categorical],
    )
    metrics: list[Any] = []
    if features:
        metrics.append(
            DataDriftPreset(
                columns=features,
                drift_share=alert_share,  # Evidently's "dataset drift" line agrees with our alert
                num_method=NUMERICAL_METHOD,
                cat_method=CATEGORICAL_METHOD,
                per_column_threshold={c: thresholds[c] for c in features},
            )
        )
    metrics += [ValueDrift(column=c, method=NUMERICAL_METHOD, threshold=thresholds[c]) for c in extra]
    if not metrics:
        return None, {}
    snapshot = Report(metrics, include_tests=True).run(
        current_data=Dataset.from_pandas(cur[columns], data_definition=definition),
        reference_data=Dataset.from_pandas(ref[columns], data_definition=definition),
    )
    return snapshot, value_drift_results(snapshot.dict())


def value_drift_results(report: dict) -> dict[str, EvidentlyVerdict]:
    """Per column: Evidently's score, threshold and method (metrics) and its verdict (tests)."""
    verdicts: dict[str, bool] = {}
    for test in report.get("tests", []):
        params = (test.get("metric_config") or {}).get("params") or {}
        if str(params.get("type", "")).endswith(":ValueDrift"):
            verdicts[params["column"]] = test["status"] == "FAIL"
    results = {}
    for metric in report.get("metrics", []):
        config = metric.get("config") or {}
        if str(config.get("type", "")).endswith(":ValueDrift"):
            name = config["column"]
            if name not in verdicts:
                raise GiddyUpError(f"Evidently returned no drift verdict for column {name}")
            results[name] = EvidentlyVerdict(
                score=float(metric["value"]),
                threshold=float(config["threshold"]),
                method=str(config["method"]),
                drifted=verdicts[name],
            )
    return results
