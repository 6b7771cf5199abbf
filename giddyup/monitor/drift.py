"""Drift of a day's scored runners against the model's training reference, with Evidently.

`build_drift_report(reference, current, feature_columns)` takes two frames (Polars or pandas) and
returns the Evidently snapshot plus a `DriftSummary`: which model features drifted, prediction
drift (p_model, p_win), market drift (overround, p_market, the mix of price sources) and a status.

Where the parts are: the result types, thresholds and status rules in drift_result; the
small-sample statistics (per-column thresholds at the day's size, where the size of a column
that is alike within races is its effective size) in drift_stats; the Evidently calls in
drift_evidently; the HTML page in drift_html.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from giddyup.errors import GiddyUpError
from giddyup.monitor.drift_evidently import EvidentlyVerdict, run_evidently, value_drift_results
from giddyup.monitor.drift_result import (
    CATEGORICAL_METHOD,
    MARKET_DRIFT_COLUMNS,
    MISSING_SHARE_JUMP,
    PREDICTION_COLUMNS,
    SOURCE_COLUMN,
    ColumnDrift,
    DriftSummary,
    SourceMix,
    decide_status,
)
from giddyup.monitor.drift_stats import column_threshold, effective_size


@dataclass(frozen=True)
class DriftReport:
    summary: DriftSummary
    snapshot: Any  # evidently.core.report.Snapshot; None when no column could be tested

    def evidently_json(self) -> str:
        # No snapshot when every column was emptied (Evidently cannot test an empty column).
        return self.snapshot.json() if self.snapshot is not None else '{"metrics": [], "tests": []}'

    def html(self, heading: str) -> str:
        """Evidently's page with GiddyUp's verdict (status, drifted features, how much) on top."""
        from giddyup.monitor.drift_html import with_verdict

        evidently_html = self.snapshot.get_html_str(as_iframe=False) if self.snapshot is not None else None
        return with_verdict(evidently_html, self.summary, heading)


def build_drift_report(
    reference: pl.DataFrame | pd.DataFrame,
    current: pl.DataFrame | pd.DataFrame,
    feature_columns: Sequence[str],
    *,
    warn_share: float,
    alert_share: float,
    categorical_columns: Iterable[str] = (),
    source_mix_baseline: pl.Series | pd.Series | None = None,
    source_mix_baseline_label: str = "",
) -> DriftReport:
    """Run Evidently on `feature_columns` plus the prediction and market columns the frames share.

    `current` must hold every feature column, `reference` too. The price-source mix is compared
    with `source_mix_baseline` when given, else with the reference's best_odds_src if it has one.
    """
    if not 0 < warn_share <= alert_share:
        raise GiddyUpError(f"drift thresholds need 0 < warn share ({warn_share}) ≤ alert share ({alert_share})")
    features = list(dict.fromkeys(feature_columns))
    if not features:
        raise GiddyUpError("no feature columns to compare for drift")
    for name, frame in (("reference", reference), ("current", current)):
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise GiddyUpError(f"the {name} frame lacks feature columns: {', '.join(missing)}")
    if len(reference) == 0 or len(current) == 0:
        raise GiddyUpError(f"drift needs rows on both sides (reference {len(reference)}, current {len(current)})")

    extra = [c for c in (*PREDICTION_COLUMNS, *MARKET_DRIFT_COLUMNS) if c in reference.columns and c in current.columns]
    ref = _to_pandas(reference, [*features, *extra])
    cur = _to_pandas(current, [*features, *extra])
    categorical = _categorical_columns(ref, cur, features, set(categorical_columns))
    _as_strings(ref, cur, categorical)
    for name in [c for c in ref.columns if c not in categorical]:
        ref[name], cur[name] = _snap_float_noise(ref[name]), _snap_float_noise(cur[name])

    emptied = {c: _emptied_reason(ref[c], cur[c]) for c in [*features, *extra]}
    untested_features = [c for c in features if ref[c].isna().all() and cur[c].isna().all()]
    if len(untested_features) == len(features):
        raise GiddyUpError(f"every feature column is missing on both sides: {', '.join(untested_features)}")
    tested_features = [c for c in features if emptied[c] is None and c not in untested_features]
    tested_extra = [c for c in extra if emptied[c] is None]

    races = _race_ids(current)
    thresholds = _thresholds(ref, cur, [*tested_features, *tested_extra], categorical, races)
    snapshot, results = run_evidently(ref, cur, tested_features, tested_extra, categorical, thresholds, alert_share)

    def column(name: str) -> ColumnDrift:
        return _column_drift(
            name,
            "categorical" if name in categorical else "numerical",
            ref[name],
            cur[name],
            results.get(name),
            emptied[name],
        )

    feature_drift = tuple(column(c) for c in features if c not in untested_features)
    prediction = tuple(column(c) for c in PREDICTION_COLUMNS if c in extra)
    market = tuple(column(c) for c in MARKET_DRIFT_COLUMNS if c in extra)
    mix = _source_mix(reference, current, source_mix_baseline, source_mix_baseline_label)

    n_drifted = sum(c.drifted for c in feature_drift)
    share = n_drifted / len(feature_drift) if feature_drift else 0.0
    prediction_drifted = [c.column for c in prediction if c.drifted]
    status, reasons = decide_status(share, prediction_drifted, warn_share=warn_share, alert_share=alert_share)
    summary = DriftSummary(
        status=status,
        reasons=reasons,
        warn_share=warn_share,
        alert_share=alert_share,
        n_reference=len(ref),
        n_current=len(cur),
        features=feature_drift,
        prediction=prediction,
        market=market,
        source_mix=mix,
        untested_features=tuple(untested_features),
    )
    return DriftReport(summary=summary, snapshot=snapshot)


def _source_mix(
    reference: pl.DataFrame | pd.DataFrame,
    current: pl.DataFrame | pd.DataFrame,
    baseline: pl.Series | pd.Series | None,
    baseline_label: str,
) -> SourceMix | None:
    """Today's shares of each price source against a baseline, tested with Evidently (Jensen-Shannon)."""
    if SOURCE_COLUMN not in current.columns:
        return None
    today = _series_as_strings(current[SOURCE_COLUMN])
    if baseline is None and SOURCE_COLUMN in reference.columns:
        baseline, baseline_label = reference[SOURCE_COLUMN], baseline_label or "training reference"
    if baseline is None or len(baseline) == 0:
        return SourceMix(_shares(today), None, baseline_label or "none", False, None, None, None)
    before = _series_as_strings(baseline)
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    definition = DataDefinition(categorical_columns=[SOURCE_COLUMN])
    threshold = column_threshold(
        "categorical",
        int(before.notna().sum()),
        int(today.notna().sum()),
        len(set(before.dropna()) | set(today.dropna())),
    )
    snapshot = Report(
        [ValueDrift(column=SOURCE_COLUMN, method=CATEGORICAL_METHOD, threshold=threshold)], include_tests=True
    ).run(
        current_data=Dataset.from_pandas(pd.DataFrame({SOURCE_COLUMN: today}), data_definition=definition),
        reference_data=Dataset.from_pandas(pd.DataFrame({SOURCE_COLUMN: before}), data_definition=definition),
    )
    result = value_drift_results(snapshot.dict())[SOURCE_COLUMN]
    return SourceMix(
        _shares(today), _shares(before), baseline_label, result.drifted, result.score, result.threshold, result.method
    )


def _thresholds(
    ref: pd.DataFrame, cur: pd.DataFrame, columns: list[str], categorical: set[str], races: pd.Series | None = None
) -> dict[str, float]:
    thresholds = {}
    for name in columns:
        kind = "categorical" if name in categorical else "numerical"
        categories = len(set(ref[name].dropna()) | set(cur[name].dropna())) if kind == "categorical" else 2
        n_current = int(cur[name].notna().sum())
        if races is not None:
            n_current = effective_size(cur[name], races, kind)
        thresholds[name] = column_threshold(kind, int(ref[name].notna().sum()), n_current, categories)
    return thresholds


# --- frames -------------------------------------------------------------------------------------


def _race_ids(frame: pl.DataFrame | pd.DataFrame) -> pd.Series | None:
    """race_id of each current runner, when the frame has it (for the design effect)."""
    if "race_id" not in frame.columns:
        return None
    if isinstance(frame, pl.DataFrame):
        return frame.get_column("race_id").to_pandas()
    return frame["race_id"].reset_index(drop=True)


def _to_pandas(frame: pl.DataFrame | pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame.select(columns).to_pandas()
    return frame[columns].reset_index(drop=True).copy()


def _categorical_columns(ref: pd.DataFrame, cur: pd.DataFrame, features: list[str], declared: set[str]) -> set[str]:
    """Declared categoricals, plus any feature that is not a number on either side (strings, booleans)."""

    def is_number(series: pd.Series) -> bool:
        return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)

    return {c for c in features if c in declared or not (is_number(ref[c]) and is_number(cur[c]))}


def _as_strings(ref: pd.DataFrame, cur: pd.DataFrame, categorical: set[str]) -> None:
    # One representation on both sides (Polars categoricals, booleans and ints all become labels).
    for name in categorical:
        ref[name] = _series_as_strings(ref[name])
        cur[name] = _series_as_strings(cur[name])


def _snap_float_noise(series: pd.Series) -> pd.Series:
    """A column constant but for rounding (a book of 1/p summing to 1) made exactly constant:
    numpy cannot cut a range of 1e-16 into Evidently's histogram bins, and it means nothing."""
    values = pd.to_numeric(series, errors="coerce").astype(float)
    finite = values[np.isfinite(values)]
    if finite.empty:
        return values
    low, high = float(finite.min()), float(finite.max())
    if 0 < high - low <= 1e-9 * max(1.0, abs(high)):
        values = values.where(~np.isfinite(values), float(finite.median()))
    return values


def _series_as_strings(series: pl.Series | pd.Series) -> pd.Series:
    values = series.to_list() if isinstance(series, pl.Series) else series.tolist()
    return pd.Series([None if _is_missing(v) else str(v) for v in values], dtype=object)


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _shares(series: pd.Series) -> dict[str, float]:
    counts = series.fillna("(none)").value_counts(normalize=True)
    return {str(k): float(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))}


def _emptied_reason(ref: pd.Series, cur: pd.Series) -> str | None:
    """Why a column cannot go to Evidently although it has values on one side (None: it can)."""
    ref_empty, cur_empty = bool(ref.isna().all()), bool(cur.isna().all())
    if cur_empty and not ref_empty:
        return "missing for every runner today, present in the reference"
    if ref_empty and not cur_empty:
        return "missing for every runner of the reference, present today"
    return None


def _column_drift(
    name: str, kind: str, ref: pd.Series, cur: pd.Series, result: EvidentlyVerdict | None, emptied: str | None
) -> ColumnDrift:
    missing_ref, missing_cur = float(ref.isna().mean()), float(cur.isna().mean())
    ref_value, cur_value = _describe(name, kind, ref, cur)
    common: dict[str, Any] = {
        "column": name,
        "kind": kind,
        "missing_reference": missing_ref,
        "missing_current": missing_cur,
        "reference_value": ref_value,
        "current_value": cur_value,
    }
    if emptied is not None or result is None:
        return ColumnDrift(
            **common,
            drifted=emptied is not None,
            score=None,
            threshold=None,
            method=None,
            reason=emptied or "not tested",
        )
    jump = missing_cur - missing_ref
    if result.drifted:
        reason = f"{result.method} {result.score:.3f} ≥ {result.threshold:g}"
    elif jump >= MISSING_SHARE_JUMP:
        reason = f"missing for {missing_cur:.0%} of runners today against {missing_ref:.0%} in the reference"
    else:
        reason = f"{result.method} {result.score:.3f} < {result.threshold:g}"
    return ColumnDrift(
        **common,
        drifted=result.drifted or jump >= MISSING_SHARE_JUMP,
        score=result.score,
        threshold=result.threshold,
        method=result.method,
        reason=reason,
    )


def _describe(name: str, kind: str, ref: pd.Series, cur: pd.Series) -> tuple[str, str]:
    """A figure a person can compare at a glance: the mean (the median for probabilities, whose
    mean is just races / runners), or the category whose share moved most."""
    if kind == "numerical":
        statistic = "median" if name in PREDICTION_COLUMNS or name == "p_market" else "mean"

        def figure(series: pd.Series) -> str:
            value = getattr(pd.to_numeric(series, errors="coerce"), statistic)()
            return "n/a" if pd.isna(value) else f"{statistic} {value:.4g}"

        return figure(ref), figure(cur)
    ref_shares = ref.value_counts(normalize=True)
    cur_shares = cur.value_counts(normalize=True)
    categories = set(ref_shares.index) | set(cur_shares.index)
    if not categories:
        return "n/a", "n/a"
    moved = max(sorted(categories), key=lambda k: abs(cur_shares.get(k, 0.0) - ref_shares.get(k, 0.0)))
    return f"{moved}: {ref_shares.get(moved, 0.0):.0%}", f"{moved}: {cur_shares.get(moved, 0.0):.0%}"
