"""`giddyup drift --date D`: the day's drift report, end to end.

Reads the day's scored runners and the training reference of the model version that scored them
(drift_inputs), builds the report (drift), then writes the files, logs the MLflow run and upserts
the modeling.drift_reports row (drift_store), in that order, so that an `alert` (DriftAlert, exit
code 5) is raised only once everything is saved. Re-running a date rewrites the same files, MLflow
run and row.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from giddyup.artifacts import REFERENCE_ARTIFACT
from giddyup.config import Settings, get_settings
from giddyup.errors import DriftAlert, GiddyUpError
from giddyup.monitor.card_mix import match_card_mix
from giddyup.monitor.drift import build_drift_report
from giddyup.monitor.drift_inputs import (
    load_reference,
    load_scored_runners,
    load_source_mix_baseline,
    mlflow_client,
    model_features,
    resolve_model_version,
    scored_model,
)
from giddyup.monitor.drift_result import PREDICTION_COLUMNS, DriftSummary
from giddyup.monitor.drift_store import (
    DriftRow,
    ReportFiles,
    drift_experiment_id,
    log_drift_run,
    model_id_of,
    open_drift_run,
    upsert_drift_row,
    write_report_files,
)
from giddyup.scored_days import recorded_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftOutcome:
    report_date: dt.date
    model_name: str
    model_version: str
    summary: DriftSummary
    files: ReportFiles
    mlflow_run_id: str
    report_id: int
    inserted: bool  # False: the row of this date and version was rewritten

    @property
    def status(self) -> str:
        return self.summary.status

    def alert_message(self) -> str:
        s = self.summary
        shown = s.drifted_columns[:8]
        more = f" and {len(s.drifted_columns) - len(shown)} more" if len(s.drifted_columns) > len(shown) else ""
        return (
            f"drift alert for {self.report_date} (model {self.model_name} version {self.model_version}): "
            f"{s.n_drifted} of {s.n_features} features drifted ({s.share_drifted:.0%} ≥ {s.alert_share:.0%}): "
            f"{', '.join(shown)}{more}; report {self.files.html}"
        )


def run_drift_job(
    report_date: dt.date, settings: Settings | None = None, *, raise_on_alert: bool = True
) -> DriftOutcome:
    """Build and store the drift report of `report_date`; DriftAlert after saving if its status is alert."""
    from giddyup.db.connect import connection

    settings = settings or get_settings()
    runners, runners_path = load_scored_runners(settings, report_date)
    missing = [c for c in PREDICTION_COLUMNS if c not in runners.columns]
    if missing:
        raise GiddyUpError(
            f"{runners_path} lacks prediction columns {', '.join(missing)}; re-run `giddyup score --date {report_date}`"
        )
    client = mlflow_client(settings)
    name, version = scored_model(runners, report_date)
    with connection(settings) as conn:  # the version that scored the day, as scoring recorded it
        version = recorded_version(conn, report_date, name or settings.model_name) or version
    model = resolve_model_version(settings, client, name, version)
    if not model.is_production:
        log.info("model version %s scored %s; alias production now points elsewhere", model.version, report_date)
    reference, listing = load_reference(settings, model)
    features = model_features(reference, listing, runners, model, runners_path)
    baseline, baseline_label = load_source_mix_baseline(settings, report_date)
    card_mix = match_card_mix(reference, runners, report_date)

    report = build_drift_report(
        card_mix.reference,
        runners,
        features.columns,
        warn_share=settings.drift_warn_share,
        alert_share=settings.drift_alert_share,
        categorical_columns=features.categorical,
        source_mix_baseline=baseline,
        source_mix_baseline_label=baseline_label,
    )
    summary = report.summary

    run_id = open_drift_run(
        client, drift_experiment_id(client, settings), report_date, model.name, model.version, model.run_id
    )
    meta = {
        "report_date": report_date.isoformat(),
        "model_name": model.name,
        "model_version": model.version,
        "model_run_id": model.run_id,
        "model_is_production": model.is_production,
        "reference": f"runs:/{model.run_id}/{REFERENCE_ARTIFACT}",
        "feature_list": features.source,
        "runners_path": str(runners_path),
        "mlflow_run_id": run_id,
        "reference_card_mix": card_mix.describe(),
    }
    heading = f"{report_date.isoformat()} · {model.name} version {model.version} · {card_mix.describe()}"
    files = write_report_files(report, settings.artifacts.drift_dir(report_date, model.version), heading, meta)
    artifact_uri = log_drift_run(client, run_id, files, summary)

    details = {**meta, **summary.details(), "summary_path": str(files.summary), "mlflow_artifact_uri": artifact_uri}
    with connection(settings) as conn:
        row = DriftRow(
            report_date=report_date,
            model_id=model_id_of(conn, model.name, model.version),
            model_version=model.version,
            summary=summary,
            details=details,
            html_path=str(files.html),
            json_path=str(files.json),
            mlflow_run_id=run_id,
        )
        report_id, inserted = upsert_drift_row(conn, row)

    outcome = DriftOutcome(report_date, model.name, model.version, summary, files, run_id, report_id, inserted)
    if raise_on_alert and summary.status == "alert":
        raise DriftAlert(outcome.alert_message())
    return outcome
