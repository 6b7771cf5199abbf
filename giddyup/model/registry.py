"""MLflow registry and the modeling.models table, kept in step.

Aliases, not stages (deprecated in MLflow 3): `challenger` is the latest trained version,
`production` the one scoring uses. modeling.models has one row per registered version, its stage
mirroring the aliases (production → 'production', challenger → 'staging', any other →
'development'). Each training run logs `registry/model_row.json` (metrics, combiner, windows,
features), so a version's row can be rebuilt from MLflow alone (e.g. after a demo database reset).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from giddyup import mlflow_errors
from giddyup.artifacts import CHALLENGER_ALIAS as CHALLENGER
from giddyup.artifacts import MODEL_ROW_ARTIFACT
from giddyup.artifacts import PRODUCTION_ALIAS as PRODUCTION
from giddyup.config import Settings, get_settings
from giddyup.errors import GiddyUpError
from giddyup.redaction import redact

_STAGE_BY_ALIAS = {PRODUCTION: "production", CHALLENGER: "staging"}


def prepare_sqlite_store(settings: Settings, uri: str, *, must_exist: bool = False) -> None:
    """Check a SQLite store's file before MLflow opens (and silently creates) it.

    Only the artifacts folder giddyup owns gets its missing folders created; a SQLite URI elsewhere
    must name an existing folder. `must_exist`: a reader (score, model list, drift) is refused a
    store that does not exist rather than handed a new empty one."""
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri.removeprefix("sqlite:///")).expanduser()
    shown = redact(uri)
    if must_exist and not path.is_file():
        raise GiddyUpError(
            f"the MLflow store {shown} does not exist, so it has no model; train one (`giddyup train --date D "
            "--promote auto`) or point GIDDYUP_ARTIFACTS_DIR / MLFLOW_TRACKING_URI at the store that has it"
        )
    parent = path.parent
    if parent.is_dir():
        return
    owned = settings.artifacts_path
    if parent.resolve() == owned or owned in parent.resolve().parents:
        parent.mkdir(parents=True, exist_ok=True)
        return
    raise GiddyUpError(
        f"the folder of the MLflow SQLite store {shown} does not exist; create it or fix MLFLOW_TRACKING_URI"
    )


def configure_mlflow(settings: Settings | None = None, *, must_exist: bool = False):
    """An MlflowClient on the configured tracking/registry store (SQLite under artifacts by default).

    `must_exist`: refuse a SQLite store that does not exist yet (for jobs that only read a model)."""
    import mlflow
    from mlflow import MlflowClient

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:  # MLflow resets its logger to INFO on import
        logging.getLogger("mlflow").setLevel(logging.WARNING)
    settings = settings or get_settings()
    uri = settings.resolved_mlflow_uri()
    prepare_sqlite_store(settings, uri, must_exist=must_exist)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client, settings: Settings) -> str:
    """The training experiment (named after the model); artifacts under settings' artifact location."""
    experiment = client.get_experiment_by_name(settings.model_name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(settings.model_name, artifact_location=settings.mlflow_artifact_location())


def aliases(client, name: str) -> dict[str, str]:
    """alias → version of the registered model ({} when it is not registered yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return {alias: str(version) for alias, version in client.get_registered_model(name).aliases.items()}
    except MlflowException as exc:
        if mlflow_errors.is_unreachable(exc):
            raise mlflow_errors.unavailable(exc) from None
        return {}


def search_versions(client, name: str) -> list:
    """Every registered version of a model ([] when it is not registered yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return list(client.search_model_versions(f"name='{name}'"))
    except MlflowException as exc:
        if mlflow_errors.is_unreachable(exc):
            raise mlflow_errors.unavailable(exc) from None
        return []


def stage_of(version: str, current_aliases: dict[str, str]) -> str:
    held = {alias for alias, v in current_aliases.items() if v == str(version)}
    for alias in (PRODUCTION, CHALLENGER):
        if alias in held:
            return _STAGE_BY_ALIAS[alias]
    return "development"


def version_numbers(client, name: str) -> list[str]:
    versions = client.search_model_versions(f"name = '{name}'")
    return sorted((str(v.version) for v in versions), key=int)


def load_bundle(name: str, version: str):
    """The ModelBundle of a registered version (through its pyfunc)."""
    import mlflow

    return mlflow.pyfunc.load_model(f"models:/{name}/{version}").get_raw_model()


def artifact_location(client, version_entity) -> str | None:
    """Where the version's model files are stored (its logged model's artifact location)."""
    source = str(version_entity.source or "")
    model_id = getattr(version_entity, "model_id", None) or (
        source.removeprefix("models:/") if source.startswith("models:/m-") else None
    )
    if model_id:
        try:
            return client.get_logged_model(model_id).artifact_location
        except Exception as exc:  # a store without logged models: the source URI is the best we have
            if mlflow_errors.is_unreachable(exc):
                raise mlflow_errors.unavailable(exc) from None
    return source or None


def read_model_row(client, run_id: str) -> dict:
    """The row fields a training run logged (metrics, combiner, windows, features)."""
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=MODEL_ROW_ARTIFACT, dst_path=folder)
        except Exception as exc:
            if mlflow_errors.is_unreachable(exc):
                raise mlflow_errors.unavailable(exc) from None
            raise GiddyUpError(
                f"MLflow run {run_id} has no {MODEL_ROW_ARTIFACT}; was it logged by `giddyup train`?"
            ) from None
        return json.loads(Path(path).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ModelRow:
    name: str
    version: str
    stage: str
    artifact_uri: str | None
    run_id: str | None
    fields: dict  # metrics_json, combiner_json, feature_hash, feature_columns, windows


def upsert_model_row(conn: psycopg.Connection, row: ModelRow) -> int:
    """Insert or update the version's row (keyed by name, version); returns model_id.

    A production stage is written by `apply_stages` only (it demotes the previous one first)."""
    fields = row.fields
    stage = row.stage if row.stage != "production" else "staging"
    result = conn.execute(
        """INSERT INTO modeling.models AS m
               (name, version, stage, artifact_uri, metrics_json, combiner_json, mlflow_run_id, feature_hash,
                feature_columns, data_until, fit_until, holdout_from, holdout_until)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (name, version) DO UPDATE SET
               artifact_uri = EXCLUDED.artifact_uri,
               metrics_json = COALESCE(EXCLUDED.metrics_json, m.metrics_json),
               combiner_json = COALESCE(EXCLUDED.combiner_json, m.combiner_json),
               mlflow_run_id = COALESCE(EXCLUDED.mlflow_run_id, m.mlflow_run_id),
               feature_hash = COALESCE(EXCLUDED.feature_hash, m.feature_hash),
               feature_columns = COALESCE(EXCLUDED.feature_columns, m.feature_columns),
               data_until = COALESCE(EXCLUDED.data_until, m.data_until),
               fit_until = COALESCE(EXCLUDED.fit_until, m.fit_until),
               holdout_from = COALESCE(EXCLUDED.holdout_from, m.holdout_from),
               holdout_until = COALESCE(EXCLUDED.holdout_until, m.holdout_until),
               updated_at = now()
           RETURNING model_id""",
        (
            row.name,
            row.version,
            stage,
            row.artifact_uri,
            _json(fields.get("metrics_json")),
            _json(fields.get("combiner_json")),
            row.run_id,
            fields.get("feature_hash"),
            _json(fields.get("feature_columns")),
            fields.get("data_until"),
            fields.get("fit_until"),
            fields.get("holdout_from"),
            fields.get("holdout_until"),
        ),
    ).fetchone()
    return int(result[0])  # type: ignore[index]


def apply_stages(conn: psycopg.Connection, name: str, current_aliases: dict[str, str]) -> None:
    """Make every row's stage mirror the aliases (demotions first: one production row at a time)."""
    production = current_aliases.get(PRODUCTION)
    challenger = current_aliases.get(CHALLENGER)
    conn.execute(
        """UPDATE modeling.models SET stage = CASE WHEN version = %s THEN 'staging' ELSE 'development' END,
                                      updated_at = now()
           WHERE name = %s AND stage <> CASE WHEN version = %s THEN 'staging' ELSE 'development' END
             AND version IS DISTINCT FROM %s""",
        (challenger, name, challenger, production),
    )
    if production is not None:
        conn.execute(
            "UPDATE modeling.models SET stage = 'production', updated_at = now() "
            "WHERE name = %s AND version = %s AND stage <> 'production'",
            (name, production),
        )


def sync_models_table(conn: psycopg.Connection, client, name: str) -> dict[str, int]:
    """Give every registered version its row (rebuilt from its run when missing) and mirror aliases.

    Returns version → model_id. Safe to run any number of times."""
    current = aliases(client, name)
    existing: dict[str, int] = dict(
        conn.execute("SELECT version, model_id FROM modeling.models WHERE name = %s", (name,)).fetchall()
    )
    ids: dict[str, int] = {}
    for version in version_numbers(client, name):
        if version in existing:
            ids[version] = int(existing[version])
            continue
        entity = client.get_model_version(name, version)
        fields = read_model_row(client, entity.run_id) if entity.run_id else {}
        ids[version] = upsert_model_row(
            conn,
            ModelRow(
                name, version, stage_of(version, current), artifact_location(client, entity), entity.run_id, fields
            ),
        )
    apply_stages(conn, name, current)
    return ids


def promote(conn: psycopg.Connection, client, name: str, version: str) -> str | None:
    """Point alias production at `version` and mirror it in modeling.models; returns the previous version."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version(name, str(version))
    except MlflowException as exc:
        if mlflow_errors.is_unreachable(exc):
            raise mlflow_errors.unavailable(exc) from None
        raise GiddyUpError(f"model {name} has no version {version}; see `giddyup model list`") from None
    previous = aliases(client, name).get(PRODUCTION)
    client.set_registered_model_alias(name, PRODUCTION, str(version))
    sync_models_table(conn, client, name)
    return previous


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, default=str)
