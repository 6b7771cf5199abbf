"""Benchmark: a replayed season of the simulated world through `giddyup backtest`.

Makes a dev-copy database with a simulated world (full scale by default, the replayed days its
last ones), runs `giddyup backtest` over the last N days (production defaults, a retrain every 28
days), and prints the wall time, where it went (per step, from modeling.backtest_days), and the
report's figures against the issue's targets:

- mean CLV ≥ 0 with the 95% interval's lower bound above −1%;
- true-EV ROI > 0 with its 95% interval above 0;
- at least 25% of the oracle's true-EV profit captured;
- 90 days (about 4,500 races) in at most 20 minutes on this machine.

    PG_DSN=postgresql://postgres@127.0.0.1:5432/postgres uv run python benchmarks/bench_backtest.py \\
        --days 90 --history-days 540 --seed 7 [--keep] [--scale 1.0]

The database (giddyup_bench_backtest_<seed>) and the artifacts folder (/tmp/giddyup_bench_backtest_<seed>)
are kept with --keep for a later --report-only run or research on the decisions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import conninfo

REPO = Path(__file__).resolve().parents[1]


def giddyup(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "giddyup.cli.main", *args], env=env, cwd=REPO, text=True, capture_output=True
    )
    if done.returncode != 0:
        sys.exit(f"giddyup {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90, help="days replayed (the world's last ones)")
    parser.add_argument("--history-days", type=int, default=540, help="resulted days before the replayed ones")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--preset", default="full", help="the world's size: full (UK+IRE scale) or demo")
    parser.add_argument("--end", default="2026-06-30", help="the last replayed day")
    parser.add_argument("--retrain-every", type=int, default=28)
    parser.add_argument("--keep", action="store_true", help="keep the database and the artifacts folder")
    parser.add_argument("--reuse", action="store_true", help="reuse the database of an earlier --keep run")
    args = parser.parse_args()

    server = os.environ.get("PG_DSN") or sys.exit("set PG_DSN to a server where the benchmark may create a database")
    name = f"giddyup_bench_backtest_{args.seed}"
    dsn = conninfo.make_conninfo(server, dbname=name)
    artifacts = Path(f"/tmp/giddyup_bench_backtest_{args.seed}")
    env = {**os.environ, "PG_DSN": dsn, "GIDDYUP_ARTIFACTS_DIR": str(artifacts), "MLFLOW_TRACKING_URI": ""}
    end = dt.date.fromisoformat(args.end)
    first = end - dt.timedelta(days=args.days - 1)
    start = first - dt.timedelta(days=args.history_days)
    total_days = args.history_days + args.days

    timings: dict[str, float] = {}
    if not args.reuse:
        with psycopg.connect(conninfo.make_conninfo(server, dbname="postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        started = time.perf_counter()
        giddyup("migrate", "--with-racing-reference", env=env)
        giddyup("sim", "--seed", str(args.seed), "--preset", args.preset, "--start", start.isoformat(),
                "--days", str(total_days), env=env)  # fmt: skip
        timings["world"] = time.perf_counter() - started
    started = time.perf_counter()
    done = giddyup("backtest", "--from", first.isoformat(), "--to", end.isoformat(),
                   "--retrain-every", str(args.retrain_every), env=env)  # fmt: skip
    timings["backtest"] = time.perf_counter() - started
    print(done.stdout)

    folder = artifacts / "backtests" / f"{first}_{end}"
    report = json.loads((folder / "backtest.json").read_text())
    with psycopg.connect(dsn) as conn:
        steps: dict[str, float] = {}
        for (seconds,) in conn.execute(
            "SELECT summary_json->'seconds' FROM modeling.backtest_days WHERE race_date BETWEEN %s AND %s", (first, end)
        ).fetchall():
            for step, value in seconds.items():
                steps[step] = steps.get(step, 0.0) + value
        [(runs, repricings)] = conn.execute(
            """SELECT sum((summary_json->>'refresh_runs')::int), sum((summary_json->>'repricings')::int)
               FROM modeling.backtest_days WHERE race_date BETWEEN %s AND %s""",
            (first, end),
        ).fetchall()

    cpus = os.cpu_count()
    print(f"machine: {cpus} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"world: {timings.get('world', 0):.0f} s; backtest {args.days} days, {report['races']} races: "
          f"{timings['backtest']:.0f} s ({timings['backtest'] / 60:.1f} min; target 20 min for 90 days)")  # fmt: skip
    print(f"refresh runs {runs}, races repriced {repricings}")
    print(
        "where the time went (s): " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(steps.items(), key=lambda kv: -kv[1]))
    )

    def show(key: str) -> str:
        value = report.get(key)
        if isinstance(value, list):
            return "[" + ", ".join(f"{v:+.4f}" for v in value) + "]"
        return f"{value:+.4f}" if isinstance(value, float) else str(value)

    print(
        f"bets {report['bets']}, staked {report['staked']:.2f}, pnl {report['pnl']:+.2f}, ROI {show('roi')} {show('roi_ci')}"
    )
    print(
        f"mean CLV {show('clv_mean')} {show('clv_ci')} (target: ≥ 0, lower bound > −0.01); beat the close {show('beat_close_share')}"
    )
    print(f"true-EV ROI {show('true_ev_roi')} {show('true_ev_roi_ci')} (target: > 0, interval above 0); "
          f"true-EV profit {show('true_ev_profit')}")  # fmt: skip
    print(
        f"oracle true-EV profit {show('oracle_true_ev_profit')}; captured {show('oracle_share_captured')} (target ≥ 0.25)"
    )
    print(f"report: {folder / 'backtest.html'}")
    if not args.keep:
        with psycopg.connect(conninfo.make_conninfo(server, dbname="postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
