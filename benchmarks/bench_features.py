"""Benchmark: the feature build, and the read path it uses, at two scales.

1. A 3-year simulated world (`giddyup sim --preset full`, about 310,000 runners):
   - the read of the needed columns, ADBC (the path kept) against COPY ... TO STDOUT (FORMAT csv)
     parsed by Polars, same query, same frame;
   - the whole `build_training_features` (read + features), target under 30 s.
2. The scale of the real database (about 2.2 million runners): the simulator makes 3 years in
   about a minute, so the world is replicated inside PostgreSQL instead: 6 more copies of its
   races and runners, each shifted 1,096 days further back and given new race, runner and horse
   ids (jockeys, trainers and courses are shared). Reported: the read alone, the whole build, and
   the build's peak memory.

Each timed build runs in its own child process, so its peak resident memory (getrusage
ru_maxrss) is that build's alone. Figures are medians of --runs runs; the machine is shared with
other work, whose load is printed with the results.

    PG_DSN=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_features.py [--runs 3]
        [--world-db NAME] [--keep] [--skip-scale]

--world-db reuses a database that already holds a simulated world (it is copied, never changed);
--scaled-db reuses one already replicated to the real scale (as --keep leaves it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import conninfo

from giddyup.features.read import DEFAULT_ENGINE

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 30.0
COPIES = 6  # extra copies of the 3-year world: 7 × ~312k ≈ 2.2M runners
SHIFT_DAYS = 1096  # three years, leap day included


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load1, load5, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, {mem_gb:.0f} GB RAM, load average {load1:.1f} (1 min) / {load5:.1f} (5 min)"


def server_dsn() -> str:
    return conninfo.make_conninfo(
        os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"), dbname="postgres"
    )


def dsn_for(server: str, name: str) -> str:
    return conninfo.make_conninfo(server, dbname=name)


def admin(server: str, sql: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql)


def last_day(dsn: str) -> dt.date:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT max(race_date) FROM racing.races WHERE NOT prelim").fetchone()[0]  # type: ignore[index]


# --- building the worlds -----------------------------------------------------------------------


def simulated_world(server: str) -> str:
    """A fresh database with the 3-year simulated world; returns its name."""
    from giddyup.db.migrate import migrate

    name = f"bench_features_{uuid.uuid4().hex[:8]}"
    admin(server, f'CREATE DATABASE "{name}"')
    with psycopg.connect(dsn_for(server, name), autocommit=True) as conn:
        migrate(conn, with_racing_reference=True)
    env = {**os.environ, "PG_DSN": dsn_for(server, name)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "giddyup.cli.main", "sim", "--preset", "full"], env=env, check=True, cwd=REPO_ROOT
    )
    print(f"simulated world written in {time.perf_counter() - started:.0f} s")
    return name


def replicate(dsn: str, copies: int) -> None:
    """Add `copies` earlier copies of every race and runner (new ids, dates shifted back)."""

    def columns(conn: psycopg.Connection, table: str) -> list[str]:
        rows = conn.execute(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = 'racing' AND table_name = %s AND is_generated = 'NEVER'
               ORDER BY ordinal_position""",
            (table,),
        ).fetchall()
        return [r[0] for r in rows]

    shifted = {
        "race_id": "race_id + {k} * {races}",
        "runner_id": "runner_id + {k} * {runners}",
        "horse_id": "horse_id + {k} * {horses}",
        "race_key": "race_key || '#{k}'",
        "runner_key": "runner_key || '#{k}'",
        "race_date": "race_date - {k} * " + str(SHIFT_DAYS),
    }
    with psycopg.connect(dsn) as conn:
        races, runners, horses, first, last = conn.execute(
            """SELECT (SELECT max(race_id) FROM racing.races), (SELECT max(runner_id) FROM racing.runners),
                      (SELECT max(horse_id) FROM racing.horses),
                      (SELECT min(race_date) FROM racing.races), (SELECT max(race_date) FROM racing.races)"""
        ).fetchone()  # type: ignore[misc]
        sizes = {"races": races, "runners": runners, "horses": horses}
        race_cols, runner_cols = columns(conn, "races"), columns(conn, "runners")
        for k in range(1, copies + 1):
            started = time.perf_counter()
            values = {**sizes, "k": k}
            conn.execute(
                "SELECT racing.ensure_month_partitions(%s, %s)",
                (first - dt.timedelta(days=k * SHIFT_DAYS), last - dt.timedelta(days=k * SHIFT_DAYS)),
            )
            conn.execute(
                f"""INSERT INTO racing.horses (horse_id, horse_name)
                    SELECT horse_id + {k} * {horses}, horse_name || ' ({k})' FROM racing.horses
                    WHERE horse_id <= {horses}"""
            )
            for table, cols, base in (("races", race_cols, "race_id"), ("runners", runner_cols, "race_id")):
                select = ", ".join(shifted[c].format(**values) if c in shifted else f'"{c}"' for c in cols)
                quoted = ", ".join(f'"{c}"' for c in cols)
                conn.execute(
                    f"INSERT INTO racing.{table} ({quoted}) SELECT {select} FROM racing.{table} WHERE {base} <= {races}"
                )
            conn.commit()
            print(f"  copy {k}: {time.perf_counter() - started:.0f} s")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE racing.races")
        conn.execute("ANALYZE racing.runners")


# --- what is measured (in child processes) -----------------------------------------------------


def measure_read(dsn: str, until: dt.date, engine: str) -> dict:
    """One read of the needed columns; libraries are imported before the clock starts."""
    import adbc_driver_manager  # noqa: F401
    import adbc_driver_postgresql  # noqa: F401

    from giddyup.features.read import read_runs, training_window

    started = time.perf_counter()
    frame = read_runs(dsn, training_window(until), engine=engine)
    return {"seconds": time.perf_counter() - started, "rows": frame.height, "frame": frame}


def measure_build(dsn: str, until: dt.date) -> dict:
    from giddyup.features.build import BuildStats, build_training_features

    stats = BuildStats()
    started = time.perf_counter()
    built = build_training_features(dsn, until=until, stats=stats)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": built.frame.height,
        "rows_read": stats.rows_read,
        "steps": stats.seconds,
        "features": len(built.feature_columns),
    }


def child(kind: str, dsn: str, until: str) -> None:
    """Entry of a child process: one measurement, printed as JSON with the process's peak memory."""
    day = dt.date.fromisoformat(until)
    result = measure_build(dsn, day) if kind == "build" else measure_read(dsn, day, kind.removeprefix("read_"))
    result.pop("frame", None)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the process image (reset by exec);
    getrusage's ru_maxrss would include the parent's size at fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(kind: str, dsn: str, until: dt.date) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, dsn, until.isoformat()],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def medians(kind: str, dsn: str, until: dt.date, runs: int) -> dict:
    results = [run_child(kind, dsn, until) for _ in range(runs)]
    return summarise(kind, results)


def interleaved(kinds: list[str], dsn: str, until: dt.date, runs: int) -> dict[str, dict]:
    """Runs of several kinds taken in turn, so a burst of load elsewhere hits them alike."""
    results: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for _ in range(runs):
        for kind in kinds:
            results[kind].append(run_child(kind, dsn, until))
    return {kind: summarise(kind, rows) for kind, rows in results.items()}


def summarise(kind: str, results: list[dict]) -> dict:
    seconds = [r["seconds"] for r in results]
    summary = {
        "seconds_median": statistics.median(seconds),
        "seconds_all": [round(s, 2) for s in seconds],
        "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in results),
        "rows": results[0]["rows"],
    }
    if kind == "build":
        summary["steps_median"] = {
            step: round(statistics.median(r["steps"].get(step, 0.0) for r in results), 2)
            for step in results[0]["steps"]
        }
        summary["rows_read"] = results[0]["rows_read"]
        summary["features"] = results[0]["features"]
    return summary


def report(title: str, results: dict[str, dict]) -> None:
    print(f"\n{title}   [{machine()}]")
    for kind, r in results.items():
        print(
            f"  {kind:14s} median {r['seconds_median']:6.2f} s  (runs {r['seconds_all']})  "
            f"peak RSS {r['peak_rss_mb_median']:7.0f} MB  rows {r['rows']:,}"
        )
        if "steps_median" in r:
            print(f"  {'':14s} steps (median s): {r['steps_median']}")


def same_frames(dsn: str, until: dt.date) -> bool:
    a = measure_read(dsn, until, "adbc")["frame"].sort("runner_id")
    b = measure_read(dsn, until, "copy_csv")["frame"].sort("runner_id")
    return a.equals(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--world-db", help="database holding a simulated world (copied, not changed)")
    parser.add_argument("--scaled-db", help="database already replicated to the real scale (reused as it is)")
    parser.add_argument("--keep", action="store_true", help="keep the databases made (names printed)")
    parser.add_argument("--skip-scale", action="store_true", help="only the 3-year world")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "DSN", "UNTIL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    server = server_dsn()
    made: list[str] = []
    world = args.world_db or simulated_world(server)
    if not args.world_db:
        made.append(world)
    try:
        dsn = dsn_for(server, world)
        until = last_day(dsn)
        print(f"3-year world in {world}: read paths give the same frame: {same_frames(dsn, until)}")
        small = interleaved(["read_adbc", "read_copy_csv"], dsn, until, args.runs)
        small["build"] = medians("build", dsn, until, args.runs)
        report(f"3-year simulated world (until {until}), median of {args.runs}", small)
        verdict = "met" if small["build"]["seconds_median"] < TARGET_SECONDS else "NOT met"
        print(f"  target: build under {TARGET_SECONDS:.0f} s: {verdict}")
        results = {"world": small}
        if not args.skip_scale:
            scaled = args.scaled_db or f"{world}_x{COPIES + 1}"[:63]
            if not args.scaled_db:
                admin(server, f'CREATE DATABASE "{scaled}" TEMPLATE "{world}"')
                made.append(scaled)
                print(f"\nreplicating the world {COPIES} times into {scaled} (shifted dates, new ids) ...")
                replicate(dsn_for(server, scaled), COPIES)
            big = interleaved(["read_adbc", "read_copy_csv"], dsn_for(server, scaled), until, args.runs)
            big["build"] = medians("build", dsn_for(server, scaled), until, args.runs)
            report(f"real-database scale ({big['build']['rows_read']:,} rows read), median of {args.runs}", big)
            ratio = big["build"]["seconds_median"] / big[f"read_{DEFAULT_ENGINE}"]["seconds_median"]
            print(f"  the whole build takes {ratio:.1f}× the time of just reading the needed columns")
            results["scale"] = big
        print("\n" + json.dumps(results, indent=1))
    finally:
        for name in reversed(made):
            if args.keep:
                print(f"kept database: {name}")
            else:
                admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
