"""`giddyup train`: fit on a FeatureSet, log one MLflow run, register a version, gate promotion.

The run holds: parameters (training config, data window, price column), the feature list and
its hash, holdout metrics (log loss, pseudo-R², ECE, Brier of p_model, p_win and the market),
the comparison with production (both numbers), a calibration plot, feature importance, the
model (pyfunc flavour wrapping booster + calibrator + combiner, with its signature), the drift
reference sample (`reference/reference.parquet`) and the fields of its modeling.models row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from giddyup.artifacts import (
    CHALLENGER_ALIAS,
    FEATURES_ARTIFACT,
    MODEL_ROW_ARTIFACT,
    PRODUCTION_ALIAS,
    REFERENCE_ARTIFACT_DIR,
)
from giddyup.config import Settings
from giddyup.features.contract import FeatureSet
from giddyup.model import registry
from giddyup.model.evaluate import feature_importance
from giddyup.model.evaluation_report import calibration_figure, importance_figure
from giddyup.model.params import TrainConfig
from giddyup.model.promotion import compare_on_holdout, decide
from giddyup.model.pyfunc import signature_example
from giddyup.model.scores import scored_races
from giddyup.model.train import TrainOutcome, reference_sample, train_with_holdout

log = logging.getLogger(__name__)

RACE_DATE_TAG = "giddyup.race_date"  # on a model version: the racing day it was trained for


@dataclass
class TrainReport:
    version: str
    run_id: str
    model_id: int
    metrics: dict
    comparison: dict | None
    promoted: bool
    reason: str
    production_version: str | None  # after the decision


def _flat_metrics(metrics: dict) -> dict[str, float]:
    flat = {}
    for source in ("model", "combined", "market"):
        for key, value in (metrics.get(source) or {}).items():
            if value is not None:
                flat[f"holdout_{source}_{key}"] = float(value)
    flat["holdout_n_races"] = float(metrics["n_races"])
    return flat


def _log_run(
    outcome: TrainOutcome, run_row: dict, race_date: dt.date, config: TrainConfig, comparison: dict | None
) -> str:
    """Everything but the registration; returns the logged model's URI."""
    import mlflow
    from mlflow.models import infer_signature

    bundle = outcome.fit.bundle
    mlflow.log_params(
        {
            **{f"train.{k}": v for k, v in config.as_dict().items()},
            "race_date": race_date.isoformat(),
            **{f"window.{k}": v for k, v in outcome.data_window.items()},
            "price_column": bundle.combiner["price_column"],
            "n_features": len(bundle.feature_columns),
            "feature_hash": bundle.metadata["feature_hash"],
            "rounds": bundle.metadata["rounds"],
            "fit_races": bundle.metadata["n_races"],
            "fit_runners": bundle.metadata["n_runners"],
        }
    )
    mlflow.log_metrics(_flat_metrics(outcome.metrics))
    if comparison and comparison.get("production"):
        mlflow.log_metrics(
            {
                "compare_n_races": comparison["n_races"],
                "compare_challenger_combined_logloss": comparison["challenger"]["combined_logloss"],
                "compare_production_combined_logloss": comparison["production"]["combined_logloss"],
                "compare_challenger_model_logloss": comparison["challenger"]["model_logloss"],
                "compare_production_model_logloss": comparison["production"]["model_logloss"],
            }
        )
    mlflow.log_dict(
        {
            "feature_columns": list(bundle.feature_columns),
            "categorical_columns": list(bundle.categorical_columns),
            "feature_hash": bundle.metadata["feature_hash"],
        },
        FEATURES_ARTIFACT,
    )
    mlflow.log_dict(outcome.metrics, "metrics/holdout.json")
    mlflow.log_dict(bundle.combiner, "model_parts/combiner.json")
    importance = feature_importance(bundle)
    mlflow.log_dict({"importance": importance.to_dicts()}, "plots/feature_importance.json")
    mlflow.log_figure(importance_figure(importance), "plots/feature_importance.png")
    price_column = bundle.combiner["price_column"]
    scored = scored_races(outcome.holdout, price_column)
    if scored.height == 0:
        scored = scored_races(outcome.holdout, None)
    columns = {"model": "p_model", "combined": "p_win"}
    if scored.get_column("p_market").is_not_nan().all():
        columns = {"market": "p_market", **columns}
    mlflow.log_figure(calibration_figure(scored, columns, "Calibration on the holdout"), "plots/calibration.png")

    with tempfile.TemporaryDirectory() as folder:
        reference = reference_sample(outcome.holdout, bundle.feature_columns, config.reference_rows, config.seed)
        path = Path(folder) / "reference.parquet"
        reference.write_parquet(path)
        mlflow.log_artifact(str(path), artifact_path=REFERENCE_ARTIFACT_DIR)
        mlflow.log_dict(run_row, MODEL_ROW_ARTIFACT)
        data_path = bundle.save(Path(folder) / "win_model")
        example = signature_example(bundle, outcome.holdout)
        with warnings.catch_warnings():  # integer race_id is never missing; MLflow's hint does not apply
            warnings.simplefilter("ignore", UserWarning)
            signature = infer_signature(
                example, pl.DataFrame({"race_id": example["race_id"], "p_model": 0.5}).to_pandas()
            )
            info = mlflow.pyfunc.log_model(
                name="model",
                loader_module="giddyup.model.pyfunc",
                data_path=str(data_path),
                signature=signature,
                input_example=example,
                pip_requirements=_requirements(),
            )
    return info.model_uri


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("lightgbm", "numpy", "pandas", "polars", "scikit-learn", "scipy")]


def train_and_register(
    features: FeatureSet,
    *,
    race_date: dt.date,
    settings: Settings,
    promote: str = "auto",
    config: TrainConfig | None = None,
    price_column: str = "auto",
) -> TrainReport:
    """Train the model for `race_date` (on features of races before it), log, register (alias
    challenger), gate promotion, and sync modeling.models."""
    import mlflow

    from giddyup.db.connect import connection

    config = config or TrainConfig()
    outcome = train_with_holdout(features, config, price_column=price_column)
    bundle = outcome.fit.bundle
    client = registry.configure_mlflow(settings)
    name = settings.model_name
    current = registry.aliases(client, name)
    comparison = None
    if current.get(PRODUCTION_ALIAS):
        production = registry.load_bundle(name, current[PRODUCTION_ALIAS])
        comparison = compare_on_holdout(outcome.holdout, production, bundle.combiner["price_column"])
        comparison["production_version"] = current[PRODUCTION_ALIAS]
    promoted, reason = decide(comparison, promote)
    metrics_json = {
        **outcome.metrics,
        "comparison": comparison,
        "promotion": {"mode": promote, "promoted": promoted, "reason": reason},
    }
    run_row = {
        "metrics_json": metrics_json,
        "combiner_json": bundle.combiner,
        "feature_hash": bundle.metadata["feature_hash"],
        "feature_columns": list(bundle.feature_columns),
        **{k: outcome.data_window[k] for k in ("data_until", "fit_until", "holdout_from", "holdout_until")},
    }

    experiment = registry.experiment_id(client, settings)
    with mlflow.start_run(experiment_id=experiment, run_name=f"train for {race_date.isoformat()}") as run:
        model_uri = _log_run(outcome, run_row, race_date, config, comparison)
        mlflow.set_tags({"giddyup.race_date": race_date.isoformat(), "giddyup.promotion": reason})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            version = str(mlflow.register_model(model_uri, name).version)
        client.set_model_version_tag(name, version, RACE_DATE_TAG, race_date.isoformat())
        client.set_registered_model_alias(name, CHALLENGER_ALIAS, version)
        if promoted:
            client.set_registered_model_alias(name, PRODUCTION_ALIAS, version)
        mlflow.set_tag("giddyup.version", version)
        run_id = run.info.run_id

    entity = client.get_model_version(name, version)
    row = registry.ModelRow(name, version, "staging", registry.artifact_location(client, entity), run_id, run_row)
    with connection(settings) as db:  # one transaction: the new row and the mirrored stages
        model_id = registry.upsert_model_row(db, row)
        registry.sync_models_table(db, client, name)
    return TrainReport(
        version,
        run_id,
        model_id,
        metrics_json,
        comparison,
        promoted,
        reason,
        registry.aliases(client, name).get(PRODUCTION_ALIAS),
    )


def train_for_date(
    settings: Settings,
    dsn: str,
    race_date: dt.date,
    *,
    promote: str = "auto",
    since: dt.date | None = None,
    regions: list[str] | None = None,
    price_column: str = "auto",
    config: TrainConfig | None = None,
    on_features: Callable[[str], None] | None = None,
    reuse: bool = False,
) -> TrainReport:
    """`giddyup train --date D`: the model for racing day D, trained on the races before it.

    Reads the features `features build --date D` wrote to features/D under the artifacts folder
    when they are there (checking window and feature hash), else builds them (a person's run, or
    one with --since/--region). `on_features` hears where the features came from. With `reuse`, a
    version already registered for D is returned instead of training another (a resumed backtest
    must price its days with the model it had)."""
    from giddyup.features.build import build_training_features
    from giddyup.features.files import read_training_features

    if reuse:
        earlier = _trained_for(settings, race_date)
        if earlier is not None:
            return earlier
    until = race_date - dt.timedelta(days=1)  # races of the day itself may not have run yet
    folder = settings.artifacts.features_dir(race_date)
    features = read_training_features(folder, until) if since is None and not regions else None
    if features is not None:
        (on_features or log.info)(f"features from {folder}")
    else:
        (on_features or log.info)(f"building training features up to {until}")
        features = build_training_features(dsn, until=until, since=since, regions=regions)
    return train_and_register(
        features, race_date=race_date, settings=settings, promote=promote, price_column=price_column, config=config
    )


def _trained_for(settings: Settings, race_date: dt.date) -> TrainReport | None:
    """The report of the version registered for `race_date`, if one was (tag giddyup.race_date)."""
    from giddyup.db.connect import connection

    client = registry.configure_mlflow(settings)
    name = settings.model_name
    versions = [v for v in registry.search_versions(client, name) if v.tags.get(RACE_DATE_TAG) == race_date.isoformat()]
    if not versions:
        return None
    version = max(versions, key=lambda v: int(v.version))
    current = registry.aliases(client, name)
    with connection(settings) as db:
        # The registry is the record (a database copied before the training has no row yet).
        registry.sync_models_table(db, client, name)
        row = db.execute(
            "SELECT model_id, metrics_json FROM modeling.models WHERE name = %s AND version = %s",
            (name, str(version.version)),
        ).fetchone()
    if row is None:
        return None
    metrics = row[1] or {}
    promotion = metrics.get("promotion") or {}
    return TrainReport(
        str(version.version),
        version.run_id,
        row[0],
        metrics,
        metrics.get("comparison"),
        bool(promotion.get("promoted")),
        "already trained for this day: " + str(promotion.get("reason", "")),
        current.get(PRODUCTION_ALIAS),
    )


def describe(report: TrainReport) -> list[str]:
    lines = [
        f"registered version {report.version} (run {report.run_id}, modeling.models id {report.model_id}), alias challenger"
    ]
    metrics = report.metrics
    for source in ("market", "model", "combined"):
        if metrics.get(source):
            s = metrics[source]
            lines.append(f"holdout {source:8s} r2 {s['r2']:.4f}  logloss {s['logloss']:.4f}  ece {s['ece']:.4f}")
    if report.comparison and report.comparison.get("production"):
        c = report.comparison
        lines.append(
            f"vs production v{c['production_version']} on {c['n_races']} races: combined logloss "
            f"{c['challenger']['combined_logloss']:.5f} (new) vs {c['production']['combined_logloss']:.5f} (production)"
        )
    lines.append(("promoted to production: " if report.promoted else "not promoted: ") + report.reason)
    return lines


def dumps(report: TrainReport) -> str:
    return json.dumps(
        {
            "version": report.version,
            "run_id": report.run_id,
            "promoted": report.promoted,
            "reason": report.reason,
            "metrics": report.metrics,
        },
        default=str,
    )
