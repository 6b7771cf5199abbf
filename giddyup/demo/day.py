"""Run one simulated racing day the way the Airflow DAGs would, on a simulated clock.

02:30 Madrid  nightly retrain (features → train → promotion gate)
08:00 Madrid  morning scoring, then the drift report
every minute  intraday refresh + paper bets, until the last off
after racing  results arrive (the simulator's), settlement and CLV, the performance report

Each step calls the same function its `giddyup` command calls, with the instant it is for.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import psycopg
from pydantic import SecretStr

from giddyup.config import Settings
from giddyup.timeutil import local_instant

NIGHTLY_RETRAIN = dt.time(2, 30)
MORNING_SCORING = dt.time(8, 0)
STEP = dt.timedelta(minutes=1)


@dataclass
class DemoDay:
    """Everything the summary needs, filled in as the day runs."""

    today: dt.date
    seed: int
    database: str = ""
    world: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    train_lines: list[str] = field(default_factory=list)
    model_version: str = ""
    scoring_at: dt.datetime | None = None
    races_on_card: int = 0
    races_scored: int = 0
    skipped: dict[int, str] = field(default_factory=dict)
    refresh_runs: int = 0
    refresh_runs_with_work: int = 0
    last_off: dt.datetime | None = None
    paper_bets: int = 0
    settle_changed: int = 0
    drift_status: str = ""
    drift_message: str = ""
    reruns_unchanged: bool | None = None
    paths: dict[str, Path] = field(default_factory=dict)


def demo_settings(base: Settings, dsn: str) -> Settings:
    """The demo's own artifacts folder and MLflow store (reset each run), on the chosen database."""
    folder = base.artifacts.demo
    return base.model_copy(update={"artifacts_dir": folder, "pg_dsn": SecretStr(dsn), "mlflow_tracking_uri": None})


def reset_artifacts(settings: Settings) -> None:
    folder = settings.artifacts_path
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


T = TypeVar("T")


class Timer:
    def __init__(self, day: DemoDay) -> None:
        self.day = day

    def __call__(self, name: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.day.timings[name] = self.day.timings.get(name, 0.0) + time.perf_counter() - started


def simulate_world(conn: psycopg.Connection, day: DemoDay, history_days: int) -> None:
    from giddyup.sim.generate import generate
    from giddyup.sim.load import load_world
    from giddyup.sim.params import spec_from_args

    spec = spec_from_args(
        seed=day.seed,
        preset="demo",
        start=day.today - dt.timedelta(days=history_days),
        days=history_days,
        today=day.today,
    )
    summary = load_world(conn, generate(spec))
    conn.commit()
    day.world = (
        f"{summary.races:,} races, {summary.runners:,} runners, {spec.start} .. {spec.end}, "
        f"plus {day.today}'s card with {summary.live_ticks:,} live price ticks"
    )


def nightly_retrain(settings: Settings, dsn: str, day: DemoDay) -> None:
    from giddyup.features.build import build_training_features
    from giddyup.model.train_job import describe, train_and_register

    features = build_training_features(dsn, until=day.today - dt.timedelta(days=1))
    report = train_and_register(features, race_date=day.today, settings=settings, promote="auto")
    day.train_lines = describe(report)
    day.model_version = report.production_version or ""


def morning_scoring(conn: psycopg.Connection, settings: Settings, dsn: str, day: DemoDay) -> None:
    from giddyup.features.build import build_race_day_features
    from giddyup.model.win_model import load_production_model
    from giddyup.race_day.score import score_day

    at = local_instant(day.today, MORNING_SCORING, settings.schedule_zone)
    model = load_production_model(settings)
    features = build_race_day_features(dsn, race_date=day.today)
    result = score_day(conn, race_date=day.today, at=at, model=model, features=features, settings=settings)
    conn.commit()
    day.scoring_at = at
    day.model_version = result.model_version
    day.races_on_card = result.races_on_card
    day.races_scored = result.races_priced
    day.skipped = dict(result.skipped)
    if result.runners_path:
        day.paths["scored runners"] = result.runners_path


def drift_report(settings: Settings, day: DemoDay) -> None:
    from giddyup.monitor.drift_job import run_drift_job

    outcome = run_drift_job(day.today, settings, raise_on_alert=False)
    day.drift_status = outcome.status
    summary = outcome.summary
    day.drift_message = f"{summary.n_drifted} of {summary.n_features} features drifted ({summary.share_drifted:.0%})"
    day.paths["drift report"] = outcome.files.html


def last_off(conn: psycopg.Connection, settings: Settings, today: dt.date) -> dt.datetime:
    from giddyup.timeutil import off_instant

    rows = conn.execute(
        "SELECT off_time FROM racing.races WHERE race_date = %s AND prelim AND off_time IS NOT NULL", (today,)
    ).fetchall()
    return max(off_instant(today, off_time, settings.race_zone) for (off_time,) in rows)


def intraday(conn: psycopg.Connection, settings: Settings, day: DemoDay, on_step: Callable[[int, int], None]) -> None:
    """Refresh (and paper bets) every minute from just after morning scoring to the last off."""
    from giddyup.race_day.refresh import refresh

    assert day.scoring_at is not None
    day.last_off = last_off(conn, settings, day.today)
    instant = day.scoring_at + STEP
    steps = int((day.last_off - instant) / STEP) + 1
    for step in range(steps):
        result = refresh(conn, instant, settings)
        conn.commit()
        day.refresh_runs += 1
        day.refresh_runs_with_work += bool(result.due)
        day.paper_bets += result.paper.bets_placed if result.paper else 0
        on_step(step + 1, steps)
        instant += STEP


def after_racing(conn: psycopg.Connection, settings: Settings, day: DemoDay) -> None:
    from giddyup.race_day.settle import settle_day
    from giddyup.reports.performance import write_performance_report
    from giddyup.sim.day_results import apply_results

    apply_results(conn, day.today)
    conn.commit()
    assert day.last_off is not None
    settled_at = day.last_off + dt.timedelta(hours=1)
    day.settle_changed = settle_day(conn, day.today, settled_at, settings).changed
    conn.commit()
    report = write_performance_report(conn, day.today, day.today, settings.artifacts.report_dir(day.today, day.today))
    day.paths["performance report"] = report.html_path
    day.paths["performance report (JSON)"] = report.json_path
