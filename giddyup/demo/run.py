"""The demo's sequence: database, world, the day's jobs, re-run checks, summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from giddyup.config import Settings
from giddyup.db.connect import connect, database_dsn, describe_target
from giddyup.demo import checks
from giddyup.demo import day as demo_day
from giddyup.demo.database import prepare_demo_database

DEFAULT_HISTORY_DAYS = 730  # two seasons of history before today's card


def run_demo(
    base_settings: Settings, *, today: dt.date, seed: int, history_days: int, console: Console
) -> demo_day.DemoDay:
    dsn = database_dsn(base_settings)
    settings = demo_day.demo_settings(base_settings, dsn)
    day = demo_day.DemoDay(today=today, seed=seed, database=describe_target(dsn))
    timer = demo_day.Timer(day)

    state = timer("database", lambda: prepare_demo_database(dsn))
    demo_day.reset_artifacts(settings)
    with connect(settings, dsn=dsn) as conn:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:

            def stage(description: str) -> TaskID:
                return progress.add_task(description, total=1, note="")

            progress.update(
                stage("reset database and artifacts"), completed=1, note=f"{state} dev copy at {day.database}"
            )

            task = stage(f"simulate {history_days} days of racing + {today}'s card")
            timer("simulate world", lambda: demo_day.simulate_world(conn, day, history_days))
            progress.update(task, completed=1, note=day.world)

            task = stage("02:30 Madrid  nightly retrain and promotion gate")
            timer("retrain", lambda: demo_day.nightly_retrain(settings, dsn, day))
            progress.update(task, completed=1, note=f"version {day.model_version} in production")

            task = stage("08:00 Madrid  morning scoring")
            timer("morning scoring", lambda: demo_day.morning_scoring(conn, settings, dsn, day))
            progress.update(task, completed=1, note=f"{day.races_scored}/{day.races_on_card} races priced")

            task = stage("08:00 Madrid  drift report")
            timer("drift report", lambda: demo_day.drift_report(settings, day))
            progress.update(task, completed=1, note=f"{day.drift_status}: {day.drift_message}")

            task = progress.add_task("every minute  refresh + paper bets", total=None, note="")

            def on_step(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total, note=f"{day.paper_bets} paper bets")

            timer("intraday refresh", lambda: demo_day.intraday(conn, settings, day, on_step))

            task = stage("re-run score, refresh and paper bets for the same instants")
            unchanged = timer("re-run check", lambda: rerun_unchanged(conn, settings, dsn, day))
            progress.update(task, completed=1, note="no row changed" if unchanged else "ROWS CHANGED")

            task = stage("after racing  results, settlement + CLV, performance report")
            timer("settlement and report", lambda: demo_day.after_racing(conn, settings, day))
            progress.update(task, completed=1, note=f"{day.settle_changed} bets settled")

            day.reruns_unchanged = settle_unchanged(conn, settings, day) and unchanged
        day.timings["total"] = sum(day.timings.values())
        print_summary(console, conn, settings, day, bool(day.reruns_unchanged))
    return day


def rerun_unchanged(conn, settings: Settings, dsn: str, day: demo_day.DemoDay) -> bool:
    """Run morning scoring, a busy refresh minute and the paper step again: nothing may change."""
    from giddyup.race_day.paper_bets import place_paper_bets
    from giddyup.race_day.refresh import refresh

    before = checks.fingerprint(conn)
    demo_day.morning_scoring(conn, settings, dsn, day)
    assert day.last_off is not None
    busy_minute = day.last_off - dt.timedelta(minutes=settings.decision_minutes_before_off)
    refresh(conn, busy_minute, settings)
    place_paper_bets(conn, busy_minute, settings)
    conn.commit()
    return checks.fingerprint(conn) == before


def settle_unchanged(conn, settings: Settings, day: demo_day.DemoDay) -> bool:
    from giddyup.race_day.settle import settle_day

    before = checks.fingerprint(conn)
    assert day.last_off is not None
    settle_day(conn, day.today, day.last_off + dt.timedelta(hours=1), settings)
    conn.commit()
    return checks.fingerprint(conn) == before


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "0/0"


def print_summary(console: Console, conn, settings: Settings, day: demo_day.DemoDay, reruns_unchanged: bool) -> None:
    assert day.scoring_at is not None
    on_card, with_signals = checks.signal_coverage(conn, day.today)
    cadence = checks.check_cadence(conn, settings, day.today, day.scoring_at)
    bets = checks.check_bets(conn, day.today)

    table = Table(title=f"giddyup demo: {day.today} (seed {day.seed})", show_header=True)
    table.add_column("what")
    table.add_column("result")
    table.add_row("database", day.database)
    table.add_row("world", day.world)
    for line in day.train_lines:
        table.add_row("nightly retrain", line)
    table.add_row("morning scoring", f"model version {day.model_version} at {day.scoring_at:%H:%M} UTC")
    table.add_row("races with signals", _share(with_signals, on_card))
    if day.skipped:
        reasons: dict[str, int] = {}
        for reason in day.skipped.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        table.add_row("races not priced", ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())))
    table.add_row(
        "refresh cadence",
        f"{_share(cadence.races_matching, cadence.races_checked)} races repriced exactly on their grid "
        f"({settings.refresh_every_minutes} min, every {settings.near_off_every_minutes} min in the last "
        f"{settings.near_off_minutes}); {cadence.repricings} repricings in {day.refresh_runs} minute runs",
    )
    for mismatch in cadence.mismatches[:3]:
        table.add_row("", f"[red]{mismatch}[/red]")
    table.add_row(
        "paper bets",
        f"{bets.bets} placed, {bets.distinct_runner_sides} distinct race/runner/side (placed once each)",
    )
    for reason in checks.stand_down_reasons(conn, day.today):
        table.add_row("", f"[yellow]{reason}[/yellow]")
    roi = f"{bets.pnl / bets.staked:+.1%}" if bets.staked else "-"
    clv = f"{bets.mean_clv:+.2%}" if bets.mean_clv is not None else "-"
    beat = f"{bets.beat_close_share:.0%}" if bets.beat_close_share is not None else "-"
    table.add_row(
        "settlement",
        f"{bets.settled} settled, {bets.void} void, {bets.open} open; {bets.with_clv} with CLV; "
        f"staked {bets.staked:.2f} units, pnl {bets.pnl:+.2f} (ROI {roi}); mean CLV {clv}, beat the close {beat}",
    )
    table.add_row("drift", f"{day.drift_status}: {day.drift_message}")
    table.add_row(
        "re-runs",
        "score, refresh, paper bets and settle again: "
        + ("no row changed" if reruns_unchanged else "[red]rows changed[/red]"),
    )
    table.add_row("time", ", ".join(f"{k} {v:.0f}s" for k, v in day.timings.items()))
    console.print(table)

    paths = Table("report", "path", title="where the reports are")
    day.paths["MLflow store"] = Path(settings.resolved_mlflow_uri().removeprefix("sqlite:///"))
    for name, path in day.paths.items():
        paths.add_row(name, str(path))
    console.print(paths)
