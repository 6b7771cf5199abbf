"""`giddyup backtest --from D1 --to D2`: replay a simulated world's days through the race-day jobs
and report what following the signals paid (giddyup.backtest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from giddyup.cli.common import console
from giddyup.cli.options import FromDate, ToDate, date_window, output_folder


def backtest_command(
    date_from: FromDate,
    date_to: ToDate,
    retrain_every: Annotated[
        int, typer.Option("--retrain-every", help="Days between retrains (the first day always retrains).")
    ] = 28,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The backtest's folder (report, its MLflow store). Default: backtests/D1_D2/ under the artifacts folder.",
        ),
    ] = None,
    report_only: Annotated[
        bool, typer.Option("--report-only", help="Replay nothing: write the report of the days already replayed.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Clear and replay days replayed by a backtest with other settings.")
    ] = False,
) -> None:
    """Replay days of a simulated world (dev copies only) at the DAGs' instants: retrain on the
    cadence, score at 08:00 Madrid, refresh and paper-bet through the day, results, settlement.
    Resumes where an interrupted run stopped. Writes backtest.json and backtest.html and logs both
    to MLflow (experiment giddyup-backtest)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from giddyup.backtest.report import show, write_report
    from giddyup.backtest.run import BacktestPlan, backtest_settings, recorded_days, run_backtest
    from giddyup.config import get_settings
    from giddyup.db.connect import connection, database_dsn

    first, last = date_window(date_from, date_to)
    base = get_settings()
    plan = BacktestPlan(
        first, last, retrain_every, output_folder(out) if out else base.artifacts.backtest_dir(first, last)
    )
    dsn = database_dsn(base)
    with connection(base) as conn:
        if not report_only:
            with Progress(
                TextColumn("[bold]backtest"), BarColumn(), MofNCompleteColumn(), TextColumn("days"),
                TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), TextColumn("{task.fields[note]}"),
                console=console,
            ) as progress:  # fmt: skip
                task = progress.add_task("days", total=len(plan.days), note="")

                def on_day(done: int, total: int, outcome) -> None:
                    note = (
                        "done before"
                        if outcome is None
                        else (f"{outcome.day}: {outcome.races} races, {outcome.bets} bets, pnl {outcome.pnl:+.2f}")
                    )
                    progress.update(task, completed=done, note=note)

                run = run_backtest(conn, base, dsn, plan, replace=replace, on_day=on_day)
            console.print(f"replayed {len(run.replayed)} days, {len(run.skipped)} done before, in {run.seconds:.0f} s")
        settings = backtest_settings(base, plan)
        report = write_report(conn, settings, first, last, recorded_days(conn, plan), plan.out)

    doc = report.document
    table = Table("figure", "value", title=f"backtest {first} to {last}")
    for key in ("days", "races", "races_decided", "bets", "staked", "pnl", "roi", "roi_ci", "clv_mean", "clv_ci",
                "beat_close_share", "true_ev_profit", "true_ev_roi", "true_ev_roi_ci", "oracle_true_ev_profit",
                "oracle_share_captured"):  # fmt: skip
        if key in doc:
            table.add_row(key, show(doc[key]))
    console.print(table)
    console.print(f"json: {report.json_path}")
    console.print(f"html: {report.html_path}")
    console.print(f"MLflow run: {report.mlflow_run_id} (experiment giddyup-backtest)")
