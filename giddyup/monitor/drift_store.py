"""Where a drift report goes: files, an MLflow run, and its modeling.drift_reports row.

Files: `<artifacts_dir>/drift/<date>/<model_version>/` holds report.html (verdict on top of
Evidently's page), report.json (Evidently's metrics and tests) and summary.json (GiddyUp's
verdict, the same figures as the row). Each is written to a temporary name and renamed, so a
reader (the on-call page) never sees half a file; a re-run overwrites them.

MLflow: one run per (date, model name, model version) in the experiment `giddyup-drift`, tagged
giddyup.report_date / giddyup.model_name / giddyup.model_version / giddyup.model_run_id /
giddyup.drift_status, with the three files under `drift/` and the headline figures as metrics.
A separate experiment, not the training run: the training run stays as it was trained, and the
drift runs of a version are one search away (`tags.giddyup.model_version = '3'`). A re-run
finds the run of its date and version and logs into it again (same run id, files overwritten).

Row: one per (report_date, model_version), upserted.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from giddyup.artifacts import DRIFT_ARTIFACT_DIR, DRIFT_EXPERIMENT
from giddyup.config import Settings
from giddyup.monitor.drift import DriftReport
from giddyup.monitor.drift_result import STATUSES, DriftSummary


@dataclass(frozen=True)
class ReportFiles:
    directory: Path
    html: Path
    json: Path
    summary: Path

    def all(self) -> tuple[Path, Path, Path]:
        return self.html, self.json, self.summary


def write_report_files(report: DriftReport, directory: Path, heading: str, meta: dict[str, Any]) -> ReportFiles:
    """report.html, report.json and summary.json (`meta` first, then the summary's figures)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(directory, directory / "report.html", directory / "report.json", directory / "summary.json")
    _write_atomic(files.html, report.html(heading))
    _write_atomic(files.json, report.evidently_json())
    summary = {
        **meta,
        **report.summary.to_dict(),
        "files": {k: str(getattr(files, k)) for k in ("html", "json", "summary")},
    }
    _write_atomic(files.summary, json.dumps(json_safe(summary), indent=2, default=str))
    return files


def json_safe(value: Any) -> Any:
    """NaN and infinities as null: strict JSON (and PostgreSQL's jsonb) has no such numbers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


REPORT_FILE_MODE = 0o644  # nothing secret in a drift report; it is meant to be read


def _write_atomic(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        # mkstemp makes the file 0600; the drift page is served by another user (Airflow's API server
        # reads the shared artifacts volume), so the report is world-readable like any other file.
        os.chmod(temporary, REPORT_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- MLflow -------------------------------------------------------------------------------------


def drift_experiment_id(client, settings: Settings) -> str:
    experiment = client.get_experiment_by_name(DRIFT_EXPERIMENT)
    if experiment is None:
        return client.create_experiment(DRIFT_EXPERIMENT, artifact_location=settings.mlflow_artifact_location())
    if experiment.lifecycle_stage == "deleted":  # someone deleted it in the UI: bring it back, keep its history
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def open_drift_run(
    client, experiment_id: str, report_date: dt.date, model_name: str, model_version: str, model_run_id: str
) -> str:
    """The run id of this date and model version's drift run: the existing one, else a new one."""
    tags = {
        "giddyup.report_date": report_date.isoformat(),
        "giddyup.model_name": model_name,
        "giddyup.model_version": model_version,
    }
    query = " AND ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
    found = client.search_runs(
        [experiment_id], filter_string=query, max_results=1, order_by=["attributes.start_time ASC"]
    )
    if found:
        return found[0].info.run_id
    run = client.create_run(
        experiment_id,
        run_name=f"drift {report_date.isoformat()} {model_name} v{model_version}",
        tags={**tags, "giddyup.model_run_id": model_run_id},
    )
    return run.info.run_id


def log_drift_run(client, run_id: str, files: ReportFiles, summary: DriftSummary) -> str:
    """Metrics, status tag and the three files; returns the run's artifact URI of the files."""
    from mlflow.entities import Metric, RunTag
    from mlflow.utils.time import get_current_time_millis

    now = get_current_time_millis()  # MLflow bookkeeping only; the report is keyed by its date
    figures = {
        "share_drifted": summary.share_drifted,
        "n_drifted": summary.n_drifted,
        "n_features": summary.n_features,
        "status_level": STATUSES.index(summary.status),
        "n_current": summary.n_current,
        "n_reference": summary.n_reference,
    }
    figures.update(
        {f"{c.column}_drift_score": c.score for c in (*summary.prediction, *summary.market) if c.score is not None}
    )
    note = f"{summary.status.upper()}: {summary.n_drifted} of {summary.n_features} features drifted " + (
        f"({', '.join(summary.drifted_columns)})" if summary.drifted_columns else ""
    )
    client.log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in figures.items()],
        tags=[RunTag("giddyup.drift_status", summary.status), RunTag("mlflow.note.content", note.strip())],
    )
    for path in files.all():
        client.log_artifact(run_id, str(path), artifact_path=DRIFT_ARTIFACT_DIR)
    client.set_terminated(run_id, "FINISHED")
    return f"{client.get_run(run_id).info.artifact_uri}/{DRIFT_ARTIFACT_DIR}"


# --- the row --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftRow:
    report_date: dt.date
    model_id: int | None
    model_version: str
    summary: DriftSummary
    details: dict[str, Any]
    html_path: str
    json_path: str
    mlflow_run_id: str | None


def model_id_of(conn: psycopg.Connection, model_name: str, model_version: str) -> int | None:
    row = conn.execute(
        "SELECT model_id FROM modeling.models WHERE name = %s AND version = %s", (model_name, model_version)
    ).fetchone()
    return int(row[0]) if row else None


def stable(value: Any, digits: int = 10) -> Any:
    """`json_safe`, with every float rounded to `digits` significant digits: a drift score that
    differs in its last bits between two runs on the same inputs is stored the same."""
    value = json_safe(value)
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: stable(v, digits) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [stable(v, digits) for v in value]
    return value


def upsert_drift_row(conn: psycopg.Connection, row: DriftRow) -> tuple[int, bool]:
    """Insert the row of (report_date, model_version), or rewrite it when its content differs;
    returns (report_id, inserted). A re-run on the same inputs leaves the row as it was
    (updated_at included)."""
    summary = row.summary
    result = conn.execute(
        """
        INSERT INTO modeling.drift_reports (
            report_date, model_id, model_version, n_features, n_drifted, share_drifted, drifted_columns,
            status, details_json, html_path, json_path, mlflow_run_id)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (report_date, model_version) DO UPDATE SET
            model_id = EXCLUDED.model_id,
            n_features = EXCLUDED.n_features,
            n_drifted = EXCLUDED.n_drifted,
            share_drifted = EXCLUDED.share_drifted,
            drifted_columns = EXCLUDED.drifted_columns,
            status = EXCLUDED.status,
            details_json = EXCLUDED.details_json,
            html_path = EXCLUDED.html_path,
            json_path = EXCLUDED.json_path,
            mlflow_run_id = EXCLUDED.mlflow_run_id,
            updated_at = now()
        WHERE (modeling.drift_reports.model_id, modeling.drift_reports.n_features, modeling.drift_reports.n_drifted,
               modeling.drift_reports.share_drifted, modeling.drift_reports.drifted_columns,
               modeling.drift_reports.status, modeling.drift_reports.details_json, modeling.drift_reports.html_path,
               modeling.drift_reports.json_path, modeling.drift_reports.mlflow_run_id)
              IS DISTINCT FROM
              (EXCLUDED.model_id, EXCLUDED.n_features, EXCLUDED.n_drifted, EXCLUDED.share_drifted,
               EXCLUDED.drifted_columns, EXCLUDED.status, EXCLUDED.details_json, EXCLUDED.html_path,
               EXCLUDED.json_path, EXCLUDED.mlflow_run_id)
        RETURNING report_id, (xmax = 0) AS inserted
        """,
        (
            row.report_date,
            row.model_id,
            row.model_version,
            summary.n_features,
            summary.n_drifted,
            summary.share_drifted,
            Jsonb(summary.drifted_columns),
            summary.status,
            Jsonb(stable(row.details)),
            row.html_path,
            row.json_path,
            row.mlflow_run_id,
        ),
    ).fetchone()
    if result is None:  # the row already says the same: left untouched
        same = conn.execute(
            "SELECT report_id FROM modeling.drift_reports WHERE report_date = %s AND model_version = %s",
            (row.report_date, row.model_version),
        ).fetchone()
        assert same is not None
        return int(same[0]), False
    return int(result[0]), bool(result[1])
