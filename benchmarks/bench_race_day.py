"""Race-day speed: `refresh` with every race due and with nothing due, and morning scoring.

Builds a full day's card (about 48 races and 500 runners, exchange ticks every 5 minutes) in a
fresh dev-copy database on PG_DSN's server (or the embedded one), scores it, then times:
- refresh with all races due (each run re-prices every race at the same instant: the rows of
  that instant are deleted between runs, outside the timing), in-process and as the CLI;
- refresh with nothing due, in-process and as the CLI (a whole `giddyup refresh --at` process);
- morning scoring in-process with the rating stand-in model;
- with --with-model: a small simulated world is trained (minutes of CPU) and scoring is timed
  with the real production model (model loading, feature build, score_day, the whole CLI).
Prints medians of several runs and the machine it ran on. Usage:
    PG_DSN=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_race_day.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import conninfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from giddyup.config import Settings  # noqa: E402
from giddyup.db.migrate import migrate  # noqa: E402
from giddyup.race_day.refresh import refresh  # noqa: E402
from giddyup.race_day.score import score_day  # noqa: E402
from tests.support.synthetic_card import (  # noqa: E402
    RatingModel,
    rating_features,
    register_model,
    write_card,
    write_live_ticks,
)

DAY = dt.date(2026, 6, 10)
MORNING = dt.datetime(2026, 6, 10, 7, 0, tzinfo=dt.UTC)  # 08:00 London
ALL_DUE_AT = dt.datetime(2026, 6, 10, 10, 33, tzinfo=dt.UTC)  # off-grid, before every off: all catch up
COMBINER = {"coef": {"log_p_model": 0.5, "log_p_market": 0.7}}


def _server_dsn() -> str:
    dsn = os.environ.get("PG_DSN", "").strip()
    if dsn:
        return conninfo.make_conninfo(dsn, dbname="postgres")
    from giddyup.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(REPO / ".giddyup").ensure_running().dsn("postgres")


def _machine() -> str:
    memory = ""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
        kb = next(int(line.split()[1]) for line in lines if line.startswith("MemTotal"))
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()
    return f"{os.cpu_count()} CPUs{memory}, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared machine)"


def _median_ms(samples: list[float]) -> str:
    return f"median {1000 * statistics.median(samples):7.1f} ms  (min {1000 * min(samples):.1f}, max {1000 * max(samples):.1f}, n={len(samples)})"


def _clear_instant(dsn: str, at: dt.datetime) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM modeling.signals WHERE as_of = %s", (at,))
        conn.execute("DELETE FROM modeling.price_snapshots WHERE ts = %s", (at,))


SIM_TODAY = dt.date(2025, 6, 1)  # the small preset's history ends the day before


def bench_real_model(server: str, runs: int) -> None:
    """Simulate a small world with today's card, train and promote a model, then time scoring with
    it: model loading, the feature build, score_day, and the whole `giddyup score` process."""
    from giddyup.config import reset_settings_cache
    from giddyup.db.connect import database_dsn
    from giddyup.features.build import build_race_day_features
    from giddyup.model.win_model import load_production_model

    name = f"gu_bench_race_day_model_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = conninfo.make_conninfo(server, dbname=name)
    artifacts = Path(tempfile.mkdtemp(prefix="gu_bench_model_"))
    env = {
        **os.environ,
        "PG_DSN": dsn,
        "GIDDYUP_ARTIFACTS_DIR": str(artifacts),
        "MLFLOW_TRACKING_URI": f"sqlite:///{artifacts / 'mlflow.db'}",
    }
    cli = [sys.executable, "-m", "giddyup.cli.main"]
    try:
        for args in (
            ["migrate", "--with-racing-reference"],
            ["sim", "--preset", "small", "--today", SIM_TODAY.isoformat()],
            ["train", "--date", SIM_TODAY.isoformat(), "--promote", "auto"],
        ):
            subprocess.run([*cli, *args], env=env, cwd=REPO, check=True, capture_output=True)
        os.environ.update({k: env[k] for k in ("PG_DSN", "GIDDYUP_ARTIFACTS_DIR", "MLFLOW_TRACKING_URI")})
        reset_settings_cache()
        settings = Settings()
        as_of = dt.datetime.combine(SIM_TODAY, dt.time(6, 0), tzinfo=dt.UTC)
        load, build, score = [], [], []
        for _ in range(max(3, runs // 2)):
            start = time.perf_counter()
            model = load_production_model(settings)
            load.append(time.perf_counter() - start)
            start = time.perf_counter()
            features = build_race_day_features(database_dsn(settings), race_date=SIM_TODAY)
            build.append(time.perf_counter() - start)
            with psycopg.connect(dsn) as conn:
                start = time.perf_counter()
                result = score_day(
                    conn, race_date=SIM_TODAY, at=as_of, model=model, features=features, settings=settings
                )
                conn.commit()
                score.append(time.perf_counter() - start)
        print(
            f"real model: {model.name} v{model.version}, {result.races_priced} races, {result.runners_priced} runners"
        )
        print(f"  load_production_model:   {_median_ms(load)}")
        print(f"  build_race_day_features: {_median_ms(build)}")
        print(f"  score_day (real model):  {_median_ms(score)}")
        whole = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(
                [*cli, "score", "--date", SIM_TODAY.isoformat(), "--at", as_of.isoformat()],
                env=env,
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            whole.append(time.perf_counter() - start)
        print(f"  giddyup score CLI (whole process): {_median_ms(whole)}")
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=48)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--with-model",
        action="store_true",
        help="also simulate a small world, train a model (minutes of CPU) and time scoring with it",
    )
    args = parser.parse_args()

    server = _server_dsn()
    name = f"gu_bench_race_day_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = conninfo.make_conninfo(server, dbname=name)
    artifacts = Path(tempfile.mkdtemp(prefix="gu_bench_"))
    settings = Settings(artifacts_dir=artifacts)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn, with_racing_reference=True)
        with psycopg.connect(dsn) as conn:
            card = write_card(conn, DAY, n_races=args.races, seed=7, first_off=dt.time(12, 0), last_off=dt.time(20, 45))
            ticks = write_live_ticks(conn, card, start=MORNING - dt.timedelta(minutes=30), every_minutes=5)
            model_id = register_model(conn, COMBINER)
            conn.commit()
        model = RatingModel(model_id=model_id, combiner=COMBINER)
        features = rating_features(card)
        print(f"machine: {_machine()}")
        print(f"card: {card.races.height} races, {card.runners.height} runners, {ticks} live ticks")

        score_times = []
        for _ in range(max(3, args.runs // 2)):
            with psycopg.connect(dsn) as conn:
                start = time.perf_counter()
                score_day(conn, race_date=DAY, at=MORNING, model=model, features=features, settings=settings)
                conn.commit()
                score_times.append(time.perf_counter() - start)
        print(f"score (in-process, stand-in model, publish + snapshots + parquet): {_median_ms(score_times)}")

        due_times, due_counts = [], set()
        for _ in range(args.runs):
            _clear_instant(dsn, ALL_DUE_AT)
            with psycopg.connect(dsn) as conn:
                start = time.perf_counter()
                result = refresh(conn, ALL_DUE_AT, settings)
                conn.commit()
                due_times.append(time.perf_counter() - start)
            due_counts.add((len(result.due), result.runners_priced))
        print(
            f"refresh, all races due (in-process): {_median_ms(due_times)}  races/runners priced {sorted(due_counts)}"
        )

        idle_at = ALL_DUE_AT + dt.timedelta(seconds=20)
        idle_times = []
        for _ in range(args.runs):
            with psycopg.connect(dsn) as conn:
                start = time.perf_counter()
                result = refresh(conn, idle_at, settings)
                idle_times.append(time.perf_counter() - start)
            assert not result.due, result.due
        print(f"refresh, nothing due (in-process):   {_median_ms(idle_times)}")

        env = {**os.environ, "PG_DSN": dsn, "GIDDYUP_ARTIFACTS_DIR": str(artifacts)}
        command = [sys.executable, "-m", "giddyup.cli.main", "refresh", "--at"]
        cli_idle, cli_due = [], []
        for _ in range(max(3, args.runs // 2)):
            start = time.perf_counter()
            subprocess.run([*command, idle_at.isoformat()], env=env, cwd=REPO, check=True, capture_output=True)
            cli_idle.append(time.perf_counter() - start)
            _clear_instant(dsn, ALL_DUE_AT)
            start = time.perf_counter()
            subprocess.run([*command, ALL_DUE_AT.isoformat()], env=env, cwd=REPO, check=True, capture_output=True)
            cli_due.append(time.perf_counter() - start)
        print(f"giddyup refresh CLI, nothing due (whole process): {_median_ms(cli_idle)}")
        print(f"giddyup refresh CLI, all races due (whole process): {_median_ms(cli_due)}")
        if args.with_model:
            bench_real_model(server, args.runs)
    finally:
        if not args.keep:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    main()
