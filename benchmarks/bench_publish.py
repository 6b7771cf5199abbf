"""Benchmark the signal publisher: rows per second for a first insert, a re-publish of identical
rows (a no-op) and a re-publish of changed rows (an update), at 10,000 and 100,000 rows.

Realistic batches: about 10 runners per race, every column filled, reasons_json as JSON text.
The script creates its own database (on PG_DSN's server, or the embedded server when PG_DSN is
unset), migrates it, and drops it at the end. Each figure is the median of --runs runs.

    .venv/bin/python benchmarks/bench_publish.py [--sizes 10000 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import time
import uuid
from collections.abc import Callable

import numpy as np
import polars as pl
import psycopg
from psycopg import conninfo

from giddyup.config import get_settings
from giddyup.db.migrate import migrate
from giddyup.publish import SIGNAL_COLUMNS, PublishResult, prepare_signals, publish_signals, validate_signals

RUNNERS_PER_RACE = 10


def make_batch(n_rows: int, as_of: dt.datetime, model_id: int, seed: int, first_race: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n_races = n_rows // RUNNERS_PER_RACE
    race_id = np.repeat(np.arange(first_race, first_race + n_races, dtype=np.int64), RUNNERS_PER_RACE)
    slot = np.tile(np.arange(1, RUNNERS_PER_RACE + 1, dtype=np.int64), n_races)
    strength = rng.gamma(2.0, 1.0, size=n_rows)
    frame = pl.DataFrame({"race_id": race_id, "slot": slot, "strength": strength})
    frame = frame.with_columns((pl.col("strength") / pl.col("strength").sum().over("race_id")).alias("p_win"))
    p_win = frame["p_win"].to_numpy()
    p_place = np.minimum(1.0, p_win * 2.8)
    best = np.maximum(1.01, np.round(1 / p_win * rng.uniform(0.85, 1.3, n_rows), 2))
    edge = p_win * best - 1
    reasons = [
        json.dumps(
            {
                "form": round(float(f), 3),
                "going": round(float(g), 3),
                "draw": int(d),
                "summary": "improving; likes the trip",
            }
        )
        for f, g, d in zip(rng.normal(size=n_rows), rng.normal(size=n_rows), rng.integers(1, 20, n_rows), strict=True)
    ]
    return pl.DataFrame(
        {
            "as_of": [as_of] * n_rows,
            "race_id": race_id,
            "horse_id": race_id * 100 + slot,
            "model_id": np.full(n_rows, model_id, dtype=np.int64),
            "p_win": p_win,
            "p_place": p_place,
            "fair_odds_win": np.maximum(1.01, 1 / p_win),
            "fair_odds_place": np.maximum(1.01, 1 / p_place),
            "best_odds_win": best,
            "best_odds_src": rng.choice(["live", "bookmaker", "exchange_wap"], n_rows),
            "ew_places": np.full(n_rows, 3, dtype=np.int32),
            "ew_fraction": ["1/5"] * n_rows,
            "edge_win": edge,
            "edge_ew": edge * 0.6,
            "kelly_fraction": np.maximum(0.0, edge / (best - 1)),
            "stake_units": rng.uniform(0, 2, n_rows),
            "liquidity_ok": rng.random(n_rows) > 0.2,
            "reasons_json": reasons,
            "runner_id": race_id * 1000 + slot,
            "race_date": [as_of.date()] * n_rows,
            "p_model": p_win,
            "p_market": p_win,
            "vs_market_logit": rng.normal(0.0, 0.1, n_rows),
        },
        schema={name: dtype for name, (dtype, _) in SIGNAL_COLUMNS.items()},
    )


def changed(batch: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The same keys with new prices (p_win still sums to one per race) and new reasons."""
    rng = np.random.default_rng(seed)
    factor = pl.Series(rng.uniform(0.8, 1.2, batch.height))
    moved = batch.with_columns((pl.col("p_win") * factor).alias("p_win"))
    moved = moved.with_columns((pl.col("p_win") / pl.col("p_win").sum().over("race_id", "as_of")).alias("p_win"))
    return moved.with_columns(
        pl.col("p_win").alias("p_model"),
        pl.max_horizontal(pl.lit(1.01), 1 / pl.col("p_win")).alias("fair_odds_win"),
        pl.col("reasons_json").str.replace("improving", "unchanged"),
    )


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def machine() -> str:
    memory_gb = 0.0
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {memory_gb:.1f} GB RAM, "
        f"load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, Python {platform.python_version()}, "
        f"polars {pl.__version__}"
    )


def server_dsn() -> tuple[str, str]:
    """(DSN of the maintenance database, description). The DSN is never printed."""
    settings = get_settings()
    if settings.pg_dsn is not None:
        return conninfo.make_conninfo(settings.pg_dsn.get_secret_value(), dbname="postgres"), "PG_DSN server"
    from giddyup.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(settings.artifacts_path).ensure_running().dsn("postgres"), "embedded server"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    admin_dsn, where = server_dsn()
    name = f"gu_bench_publish_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = conninfo.make_conninfo(admin_dsn, dbname=name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        print(f"machine: {machine()}")
        print(f"database: PostgreSQL {version} ({where}), fresh database, {args.runs} runs per figure (median)")
        print(f"batches: {RUNNERS_PER_RACE} runners per race, all {len(SIGNAL_COLUMNS)} columns, reasons_json text")
        print()
        print(f"{'rows':>8}  {'operation':<22} {'median s':>9} {'rows/s':>10}   (min s, max s)")
        with psycopg.connect(dsn) as conn:
            model_id = conn.execute(
                "INSERT INTO modeling.models (name, version) VALUES ('bench', '1') RETURNING model_id"
            ).fetchone()[0]  # type: ignore[index]
            conn.commit()
            instant = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
            for size in args.sizes:
                timings: dict[str, list[float]] = {"validate only": [], "insert": [], "re-publish identical": [], "re-publish changed": []}  # fmt: skip
                for run in range(args.runs):
                    as_of = instant + dt.timedelta(hours=size // 1000, minutes=run)
                    batch = make_batch(size, as_of, model_id, seed=run)
                    update = changed(batch, seed=run + 100)
                    timings["validate only"].append(timed(lambda b=batch: validate_signals(prepare_signals(b))))
                    results: dict[str, PublishResult] = {}
                    for label, frame in (("insert", batch), ("re-publish identical", batch), ("re-publish changed", update)):  # fmt: skip
                        started = time.perf_counter()
                        results[label] = publish_signals(conn, frame)
                        timings[label].append(time.perf_counter() - started)
                    assert results["insert"].inserted == size
                    assert results["re-publish identical"].unchanged == size
                    assert results["re-publish changed"].updated == size
                for label, values in timings.items():
                    median = statistics.median(values)
                    print(
                        f"{size:>8,}  {label:<22} {median:>9.3f} {size / median:>10,.0f}   ({min(values):.3f}, {max(values):.3f})"
                    )
                print()
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
