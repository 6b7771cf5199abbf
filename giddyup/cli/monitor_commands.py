"""`giddyup drift --date D`: the day's Evidently drift report (files, MLflow run, modeling.drift_reports row)."""

from __future__ import annotations

from rich.table import Table

from giddyup.cli.common import console
from giddyup.cli.options import RaceDate, parse_date


def drift_command(date: RaceDate) -> None:
    """Drift of a day's scored runners against the model's training reference; exit 5 on alert (after saving)."""
    from giddyup.errors import DriftAlert
    from giddyup.monitor.drift_job import run_drift_job

    outcome = run_drift_job(parse_date(date), raise_on_alert=False)
    summary = outcome.summary
    colour = {"ok": "green", "warn": "yellow", "alert": "red"}[summary.status]
    console.print(
        f"[bold {colour}]{summary.status.upper()}[/] drift {outcome.report_date} "
        f"(model {outcome.model_name} version {outcome.model_version}): "
        f"{summary.n_drifted} of {summary.n_features} features drifted ({summary.share_drifted:.0%})"
    )
    for reason in summary.reasons:
        console.print(f"  {reason}")
    if summary.drifted_features or summary.prediction or summary.market:
        table = Table("column", "group", "drifted", "score / threshold", "reference", "today", title="drift")
        rows = [
            *(("feature", c) for c in summary.drifted_features),
            *(("prediction", c) for c in summary.prediction),
            *(("market", c) for c in summary.market),
        ]
        for group, c in rows:
            score = "—" if c.score is None else f"{c.score:.3f} / {c.threshold:g}"
            table.add_row(c.column, group, "yes" if c.drifted else "no", score, c.reference_value, c.current_value)
        console.print(table)
    console.print(f"report: {outcome.files.html}")
    console.print(f"json: {outcome.files.json}  summary: {outcome.files.summary}")
    console.print(
        f"mlflow run {outcome.mlflow_run_id}; modeling.drift_reports row {outcome.report_id} "
        f"{'inserted' if outcome.inserted else 'updated'}"
    )
    if summary.status == "alert":
        raise DriftAlert(outcome.alert_message())
