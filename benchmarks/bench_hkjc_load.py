"""Benchmark: `giddyup load hkjc` on the full Hong Kong file, then the market figures of the data.

Loads ../shared/data/hkjc/hkjc_runs_2013_2022.csv into a fresh migrated dev-copy database several
times (median reported; target under a minute), times a second load of the same file into the
last one (idempotent: nothing changes), then prints the figures the data README states:
single-winner races, market (dec) pseudo-R² and mean overround.

    PG_DSN=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_hkjc_load.py [--runs 3]

PG_DSN names the server (databases are created and dropped on it); unset, the embedded server.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import uuid
from pathlib import Path

import polars as pl
import psycopg
from psycopg import conninfo

from giddyup.data_summary import data_summary
from giddyup.db.migrate import migrate
from giddyup.loaders.hkjc import load_hkjc

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = REPO_ROOT.parent / "shared" / "data" / "hkjc" / "hkjc_runs_2013_2022.csv"
README_FIGURES = {"single_winner_races": 7222, "pseudo_r2": 0.1967, "mean_overround": 1.228}
TARGET_SECONDS = 60.0


def server_dsn() -> str:
    dsn = os.environ.get("PG_DSN", "").strip()
    if dsn:
        return conninfo.make_conninfo(dsn, dbname="postgres")
    from giddyup.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(REPO_ROOT / ".giddyup").ensure_running().dsn("postgres")


def fresh_database(server: str) -> tuple[str, str]:
    name = f"bench_hkjc_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = conninfo.make_conninfo(server, dbname=name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn, with_racing_reference=True)
    return name, dsn


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed_load(dsn: str, csv: Path) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:  # commits on leaving the block: the commit is timed too
        report = load_hkjc(conn, csv)
    return time.perf_counter() - started, report.seconds


def machine() -> str:
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{total_kb / 1024 / 1024:.0f} GB"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory} RAM, load average {load} (shared machine); "
        f"Python {platform.python_version()}, Polars {pl.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    server = server_dsn()
    print(f"machine: {machine()}")
    print(f"file: {args.csv} ({args.csv.stat().st_size / 1e6:.1f} MB)")
    times: list[float] = []
    name = dsn = None
    try:
        for run in range(1, args.runs + 1):
            if name is not None:
                drop_database(server, name)
            name, dsn = fresh_database(server)
            seconds, steps = timed_load(dsn, args.csv)
            times.append(seconds)
            detail = ", ".join(f"{step} {value:.2f}" for step, value in steps.items())
            print(f"  run {run}: {seconds:.2f} s into a fresh database ({detail})")
        assert dsn is not None
        again, _ = timed_load(dsn, args.csv)
        with psycopg.connect(dsn) as conn:
            summary = data_summary(conn)
    finally:
        if name is not None:
            drop_database(server, name)

    median = statistics.median(times)
    verdict = "meets" if median < TARGET_SECONDS else "MISSES"
    print(f"full-file load: median {median:.2f} s of {len(times)} runs ({verdict} the {TARGET_SECONDS:.0f} s target)")
    print(f"same file again (nothing to change): {again:.2f} s")

    (hk,) = [row for row in summary.rows if row["region"] == "HK" and row["season"] == "all"]
    dec = hk["prices"]["dec"]
    print(f"races {hk['races']}, starters {hk['runners']}, non-runners {hk['non_runners']}")
    print(
        f"single-winner races: {hk['single_winner_races']} (scored, every starter priced: {dec['scored_races']}); "
        f"README {README_FIGURES['single_winner_races']}"
    )
    print(f"market (dec) pseudo-R²: {dec['pseudo_r2']:.4f}; README {README_FIGURES['pseudo_r2']}")
    print(f"mean overround (dec): {dec['mean_overround']:.4f}; README {README_FIGURES['mean_overround']}")


if __name__ == "__main__":
    main()
