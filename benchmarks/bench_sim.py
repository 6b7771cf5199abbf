"""Benchmark: generate and load a simulated UK+IRE world (default: the `full` preset, 3 years).

Prints generation and load time (median of --runs runs, each into a fresh dev-copy database),
row counts, the machine's size and load, and the sim-vs-real market table.

    PG_DSN=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_sim.py [--preset full] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid

import polars as pl
import psycopg
from psycopg import conninfo

from giddyup.db.migrate import migrate
from giddyup.sim.compare import REAL_BETFAIR_CSV, comparison_from_frames, real_betfair, simulated
from giddyup.sim.generate import generate
from giddyup.sim.load import load_world
from giddyup.sim.params import spec_from_args


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load1, load5, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, {mem_gb:.0f} GB RAM, load average {load1:.1f} (1 min) / {load5:.1f} (5 min)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="full")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the last database (its name is printed)")
    args = parser.parse_args()
    server = conninfo.make_conninfo(
        os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"), dbname="postgres"
    )
    spec = spec_from_args(seed=args.seed, preset=args.preset, start=None, days=None, today=None)
    gen_times, load_times = [], []
    last_dsn = None
    for run in range(args.runs):
        name = f"bench_sim_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        dsn = conninfo.make_conninfo(server, dbname=name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn, with_racing_reference=True)
        started = time.perf_counter()
        world = generate(spec)
        generated = time.perf_counter()
        with psycopg.connect(dsn) as conn:
            summary = load_world(conn, world)
        loaded = time.perf_counter()
        gen_times.append(generated - started)
        load_times.append(loaded - generated)
        print(f"run {run + 1}: generate {generated - started:.1f}s, load {loaded - generated:.1f}s")
        if last_dsn is not None:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{conninfo.conninfo_to_dict(last_dsn)["dbname"]}" WITH (FORCE)')
        last_dsn = dsn
    print(f"\nsimulated world, preset {spec.preset}: {spec.start} .. {spec.end} ({spec.days} days, scale {spec.scale})")
    print(f"machine: {machine()} (shared with other work while this ran)")
    print(f"rows: {summary.races:,} races, {summary.runners:,} runners (declared, non-runners included)")
    g, lo = statistics.median(gen_times), statistics.median(load_times)
    print(f"median of {args.runs}: generate {g:.1f}s, load {lo:.1f}s, total {g + lo:.1f}s  (target: under 120s)")
    assert last_dsn is not None
    with psycopg.connect(last_dsn) as conn:
        table = comparison_from_frames(simulated(conn), real_betfair(REAL_BETFAIR_CSV))
    with pl.Config(tbl_rows=60, fmt_str_lengths=60, tbl_hide_dataframe_shape=True, float_precision=3):
        print(table)
    if args.keep:
        print(f"kept database: {conninfo.conninfo_to_dict(last_dsn)['dbname']}")
    else:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{conninfo.conninfo_to_dict(last_dsn)["dbname"]}" WITH (FORCE)')


if __name__ == "__main__":
    main()
