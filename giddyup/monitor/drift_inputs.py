"""What a drift report compares: the day's scored runners and the training reference of the model
version that scored them.

- Current: `<artifacts_dir>/scoring/<date>/runners.parquet`, written by `giddyup score --date D`.
- Model version: the one recorded in that file's model_version column (the production version
  when the day was scored), so re-running a past date compares it with the same reference even
  after the production alias has moved; the alias `production` only when the file does not say.
- Reference: the artifact `reference/reference.parquet` of that version's MLflow run (holdout
  runners with the model's features, p_model, p_win, p_market, overround).
- Feature columns: the run's `features/features.json` (feature and categorical columns, logged by
  `giddyup train`); for a run without one, the reference's columns minus ids, labels, prices and
  predictions.
- Price-source baseline: best_odds_src of the scored days in the week before the date (price
  sources are an operational property of the feeds, which the training reference cannot know).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from giddyup import mlflow_errors
from giddyup.artifacts import FEATURES_ARTIFACT, PRODUCTION_ALIAS, REFERENCE_ARTIFACT
from giddyup.config import Settings
from giddyup.errors import GiddyUpError
from giddyup.features.contract import ID_COLUMNS, LABEL_COLUMNS, MARKET_COLUMNS
from giddyup.model.registry import prepare_sqlite_store
from giddyup.monitor.drift_result import MARKET_DRIFT_COLUMNS, PREDICTION_COLUMNS, SOURCE_COLUMN

SOURCE_MIX_LOOKBACK_DAYS = 7
# Columns of the reference or runners frames that are not inputs of the fundamental model.
NON_FEATURE_COLUMNS = frozenset(
    {
        *ID_COLUMNS,
        *LABEL_COLUMNS,
        *MARKET_COLUMNS,
        *PREDICTION_COLUMNS,
        *MARKET_DRIFT_COLUMNS,
        SOURCE_COLUMN,
        "p_place",
        "model_name",
        "model_version",
        "model_id",
        "best_odds_win",
        "race_key",
        "runner_key",
        "as_of",
    }
)


@dataclass(frozen=True)
class ModelVersionRef:
    name: str
    version: str
    run_id: str
    is_production: bool  # does alias `production` point at this version now?


def load_scored_runners(settings: Settings, report_date: dt.date) -> tuple[pl.DataFrame, Path]:
    """The day's scored runners; a one-line error saying what to run when there are none."""
    path = settings.artifacts.scored_runners(report_date)
    day = report_date.isoformat()
    if not path.is_file():
        raise GiddyUpError(
            f"no scored runners for {day}: {path} does not exist; run `giddyup score --date {day}` first"
        )
    frame = _read_parquet(path)
    if frame.height == 0:
        raise GiddyUpError(f"no scored runners for {day}: {path} has no rows; run `giddyup score --date {day}` first")
    return frame, path


def scored_model(runners: pl.DataFrame, report_date: dt.date) -> tuple[str | None, str | None]:
    """(model_name, model_version) recorded by scoring; None for what the file does not say."""
    found = []
    for column in ("model_name", "model_version"):
        values = (
            sorted({str(v) for v in runners.get_column(column).drop_nulls().to_list()})
            if column in runners.columns
            else []
        )
        if len(values) > 1:
            day = report_date.isoformat()
            raise GiddyUpError(
                f"scored runners for {day} come from several models ({column}: {', '.join(values)}); "
                f"re-run `giddyup score --date {day}`"
            )
        found.append(values[0] if values else None)
    return found[0], found[1]


def mlflow_client(settings: Settings):
    from mlflow import MlflowClient

    # Download progress bars would bury the one-line verdict on stderr of a DAG task's log.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = settings.resolved_mlflow_uri()
    prepare_sqlite_store(settings, uri, must_exist=True)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def resolve_model_version(settings: Settings, client, name: str | None, version: str | None) -> ModelVersionRef:
    """The registered version to compare with: `version`, else the one behind alias production."""
    from mlflow.exceptions import MlflowException

    name = name or settings.model_name
    try:
        production = client.get_model_version_by_alias(name, PRODUCTION_ALIAS)
    except MlflowException as exc:
        if mlflow_errors.is_unreachable(exc):
            raise mlflow_errors.unavailable(exc) from None
        production = None
    if version is None:
        if production is None:
            raise GiddyUpError(
                f"no version of model {name} has alias {PRODUCTION_ALIAS} and the scored runners name no "
                "model_version; train and promote one (`giddyup train --date D --promote auto`)"
            )
        return ModelVersionRef(name, str(production.version), production.run_id, True)
    try:
        found = client.get_model_version(name, version)
    except MlflowException as exc:
        if mlflow_errors.is_unreachable(exc):
            raise mlflow_errors.unavailable(exc) from None
        raise GiddyUpError(
            f"model {name} version {version} (named by the scored runners) is not in the MLflow registry at "
            f"{_describe_uri(settings)}"
        ) from None
    is_production = production is not None and str(production.version) == str(version)
    return ModelVersionRef(name, str(found.version), found.run_id, is_production)


@dataclass(frozen=True)
class ModelFeatures:
    columns: tuple[str, ...]
    categorical: tuple[str, ...]
    source: str  # where the list came from, for the summary


def _download(settings: Settings, model: ModelVersionRef, artifact: str, folder: str) -> Path | None:
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=model.run_id, artifact_path=artifact, dst_path=folder, tracking_uri=settings.resolved_mlflow_uri()
        )
    except (MlflowException, OSError) as exc:
        if mlflow_errors.is_unreachable(exc):
            raise mlflow_errors.unavailable(exc) from None
        return None
    return Path(local)


def load_reference(settings: Settings, model: ModelVersionRef) -> tuple[pl.DataFrame, dict | None]:
    """The training reference stored with the model version's run, and its features.json if any."""
    with tempfile.TemporaryDirectory(prefix="giddyup-drift-") as folder:
        local = _download(settings, model, REFERENCE_ARTIFACT, folder)
        if local is None:
            raise GiddyUpError(
                f"model {model.name} version {model.version} (run {model.run_id}) has no {REFERENCE_ARTIFACT} "
                "artifact to compare with; retrain it with `giddyup train`"
            )
        frame = _read_parquet(local)
        listing = _download(settings, model, FEATURES_ARTIFACT, folder)
        features = json.loads(listing.read_text(encoding="utf-8")) if listing is not None else None
    if frame.height == 0:
        raise GiddyUpError(f"the {REFERENCE_ARTIFACT} of model {model.name} version {model.version} has no rows")
    return frame, features


def model_features(
    reference: pl.DataFrame, listing: dict | None, runners: pl.DataFrame, model: ModelVersionRef, path: Path
) -> ModelFeatures:
    """The model's features, all of which the reference and the day's runners must have."""
    if listing is not None and listing.get("feature_columns"):
        columns = tuple(str(c) for c in listing["feature_columns"])
        categorical = tuple(str(c) for c in listing.get("categorical_columns") or ())
        source = f"runs:/{model.run_id}/{FEATURES_ARTIFACT}"
    else:  # a run without the listing: the reference holds the features and a few known others
        columns = tuple(c for c in reference.columns if c not in NON_FEATURE_COLUMNS)
        categorical = ()
        source = f"columns of runs:/{model.run_id}/{REFERENCE_ARTIFACT}"
    if not columns:
        raise GiddyUpError(f"model {model.name} version {model.version} lists no feature columns")
    for frame, where in (
        (reference, f"the {REFERENCE_ARTIFACT} of model version {model.version}"),
        (runners, str(path)),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise GiddyUpError(f"{where} lacks features of model version {model.version}: {', '.join(missing)}")
    text = (pl.String, pl.Categorical, pl.Enum, pl.Boolean)  # tested as categories whatever the listing says
    categorical += tuple(c for c in columns if isinstance(reference.schema[c], text) and c not in categorical)
    return ModelFeatures(columns, categorical, source)


def load_source_mix_baseline(settings: Settings, report_date: dt.date) -> tuple[pl.Series | None, str]:
    """best_odds_src of the scored days in the week before `report_date`, and a label saying which."""
    days, parts = [], []
    for back in range(1, SOURCE_MIX_LOOKBACK_DAYS + 1):
        day = report_date - dt.timedelta(days=back)
        path = settings.artifacts.scored_runners(day)
        if not path.is_file():
            continue
        sources = _read_column(path, SOURCE_COLUMN)
        if sources is not None and len(sources):
            parts.append(sources.cast(pl.String))
            days.append(day)
    if not parts:
        return None, f"no scored day in the {SOURCE_MIX_LOOKBACK_DAYS} days before"
    label = f"scored day {days[0]}" if len(days) == 1 else f"{len(days)} scored days from {min(days)} to {max(days)}"
    return pl.concat(parts), label


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise GiddyUpError(f"cannot read {path}: {_first_line(exc)}") from None


def _read_column(path: Path, column: str) -> pl.Series | None:
    try:
        scan = pl.scan_parquet(path)
        if column not in scan.collect_schema().names():
            return None
        return scan.select(column).collect().get_column(column)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise GiddyUpError(f"cannot read {path}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _describe_uri(settings: Settings) -> str:
    # The tracking URI can hold credentials: show only its scheme and host/path tail.
    uri = settings.resolved_mlflow_uri()
    if uri.startswith("sqlite:"):
        return uri
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.rsplit('@', 1)[-1]}"
