"""Benchmark the Go API's reads of modeling.signals at a year of history, before and after the
latest-signal table (migration 010) and the api_v1 views (014), and the publisher's insert rate.

A year of synthetic signals at the real rate: each day ~18 races of 6-14 runners (UK off times
12:45-20:45), priced at the morning run (07:00 UK) and at every refresh of the cadence (every 10
minutes, then every minute in the last 15 before the off): about 13,000 rows a day, 4.8 M a year.
Ids are realistic (race_id, runner_id increasing, horse_id from a pool of 60,000, a new model
every 30 days), reasons_json the size the scorer writes (~700 bytes). Each day goes in by COPY,
in as_of order, like the publishes it stands for.

What it prints, each database on PG_DSN's server and dropped at the end (unless --keep):
- insert rate on empty tables: publish_signals into the schema up to 009 and into the current
  one, the two taking turns run by run (one race refreshed ~10 rows, a morning card ~180 rows,
  the rest of a day in one batch ~13,000 rows);
- before: the schema up to migration 009, filled; at each checkpoint the reads through the
  DISTINCT ON view modeling.latest_signals (what the API had);
- partitioned: a copy of the year converted to monthly partitions on as_of (a benchmark-only
  conversion, the alternative to 010), the same reads, and whether the publisher still works;
- upgraded: a copy of the year after `giddyup migrate` applies 010-014 (times per file), the
  documented API queries (docs/API.md) and the internal view; then the insert rate at a year,
  before and upgraded taking turns;
- after: the current schema filled from empty (COPY fill rate with the triggers), the documented
  queries at each checkpoint.

Reads: a race's latest prices, a day's card, a runner's price at an instant; each the median of
--runs after one warm-up, as client wall time (jsonb left as text, as Go's json.RawMessage) and
the server's planning + execution time; no prepared statements. --explain prints EXPLAIN
(ANALYZE, BUFFERS) of each read at a year.

    PG_DSN=postgresql://postgres@127.0.0.1:5432/postgres uv run python benchmarks/bench_signal_reads.py \
        [--days 365] [--checkpoints 1 91 182 365] [--runs 7] [--skip partitioned after] [--explain] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import psycopg
from bench_publish import machine, server_dsn
from psycopg import conninfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from psycopg.types.string import TextLoader

from giddyup.db.migrate import migrate
from giddyup.publish import SIGNAL_COLUMNS, publish_signals
from tests.support.databases import migrations_up_to

REPO_ROOT = Path(__file__).resolve().parents[1]
FIRST_DAY = dt.date(2025, 3, 1)  # a year across both clock changes
UK = ZoneInfo("Europe/London")
MORNING = dt.time(7, 0)  # the morning DAG runs at 08:00 Madrid
RACES_PER_DAY = (15, 22)  # uniform, upper bound exclusive
RUNNERS_PER_RACE = (6, 15)
HORSE_POOL = 60_000
DAYS_PER_MODEL = 30
LAST_BEFORE_MIGRATION = "009"
COPY_COLUMNS = [*SIGNAL_COLUMNS, "created_at"]

DRIVERS = [
    "trainer strike rate {x}% over 90 days (+0.{y})",
    "official rating +0.{y} sd vs the field (+0.{x})",
    "jockey wins vs expected 1.{y} over 365 days (-0.0{x})",
    "days since last run {x} (+0.0{y})",
    "draw (0 inside, 1 outside) 0.{y} (-0.0{x})",
    "horse wins vs market expectation 0.{y} over the last 5 runs (+0.{x})",
]
FEATURES = [
    "trainer_sr_90d",
    "horse_official_rating_z_in_race",
    "jockey_win_ae_365d",
    "days_since_last_run",
    "draw_rel",
]

BEFORE_READS = {
    "race's latest prices": "SELECT * FROM modeling.latest_signals WHERE race_id = %(race_id)s",
    "day's card": "SELECT * FROM modeling.latest_signals WHERE race_date = %(race_date)s",
    "price at an instant": (
        "SELECT * FROM modeling.signals WHERE race_id = %(race_id)s AND horse_id = %(horse_id)s "
        "AND as_of <= %(at)s ORDER BY as_of DESC, model_id DESC LIMIT 1"
    ),
}
DOCUMENTED = {"race's latest prices": "race_latest_prices", "day's card": "day_card", "price at an instant": "price_at"}
DOCUMENTED_PARAMS = {
    "race_latest_prices": ["race_id"],
    "day_card": ["race_date"],
    "price_at": ["race_id", "horse_id", "at"],
}


def documented_reads() -> dict[str, str]:
    """The API queries of docs/API.md, with $n placeholders turned into psycopg's named ones."""
    text = (REPO_ROOT / "docs" / "API.md").read_text()
    queries = dict(re.findall(r"<!-- query: (\w+) -->\n```sql\n(.*?)```", text, flags=re.S))
    reads = {}
    for label, name in DOCUMENTED.items():
        params = DOCUMENTED_PARAMS[name]
        reads[label] = re.sub(r"\$(\d+)", lambda m, p=params: f"%({p[int(m.group(1)) - 1]})s", queries[name])
    return reads


# --- synthetic signals ---------------------------------------------------------------------------


def race_instants(day: dt.date, off_local: dt.time) -> list[dt.datetime]:
    """The morning run, then the refresh grid of the cadence (schedule.py): off-20, off-30, ...
    after the morning, and off-15 ... off-1."""
    morning = dt.datetime.combine(day, MORNING, tzinfo=UK).astimezone(dt.UTC)
    off = dt.datetime.combine(day, off_local, tzinfo=UK).astimezone(dt.UTC)
    grid = {off - dt.timedelta(minutes=m) for m in range(1, 16)}
    minutes = 20
    while off - dt.timedelta(minutes=minutes) > morning:
        grid.add(off - dt.timedelta(minutes=minutes))
        minutes += 10
    return sorted({morning, *grid})


def day_signals(day_index: int, model_id: int) -> pl.DataFrame:
    """Every signal row of one racing day, in as_of order (ids depend only on day_index)."""
    rng = np.random.default_rng(day_index)
    day = FIRST_DAY + dt.timedelta(days=day_index)
    n_races = int(rng.integers(*RACES_PER_DAY))
    slots = np.sort(rng.choice(np.arange(12 * 60 + 45, 20 * 60 + 50, 5), size=n_races, replace=True))
    parts = []
    runner_base = 3_000_000 + day_index * 2_000
    for r, slot in enumerate(slots):
        n = int(rng.integers(*RUNNERS_PER_RACE))
        instants = race_instants(day, dt.time(int(slot) // 60, int(slot) % 60))
        k = len(instants)
        strength = rng.gamma(2.0, 1.0, n)
        drivers = []
        for _ in range(n):
            picked = rng.choice(len(DRIVERS), 3, replace=False)
            words = [DRIVERS[i].format(x=int(rng.integers(1, 40)), y=int(rng.integers(10, 99))) for i in picked]
            contributions = [
                {"feature": FEATURES[i % len(FEATURES)], "value": round(float(rng.normal()), 3), "contribution": round(float(rng.normal(0, 0.2)), 6)}
                for i in picked
            ]  # fmt: skip
            drivers.append((json.dumps(contributions), json.dumps(words), "; ".join(words)))
        noise = rng.lognormal(0.0, 0.08, (k, n))
        market = rng.lognormal(0.0, 0.12, (k, n))
        parts.append(
            pl.DataFrame(
                {
                    "as_of": np.repeat(np.array([i.replace(tzinfo=None) for i in instants], dtype="datetime64[us]"), n),
                    "race_id": np.full(k * n, 300_000 + day_index * 100 + r, dtype=np.int64),
                    "horse_id": np.tile(rng.choice(HORSE_POOL, n, replace=False).astype(np.int64) + 1, k),
                    "runner_id": np.tile(np.arange(runner_base, runner_base + n, dtype=np.int64), k),
                    "p_raw": (strength * noise).ravel(),
                    "m_raw": (strength * market).ravel(),
                    "base": np.tile(strength / strength.sum(), k),
                    "contributions": [d[0] for d in drivers] * k,
                    "drivers": [d[1] for d in drivers] * k,
                    "summary": [d[2] for d in drivers] * k,
                    "n_runners": np.full(k * n, n, dtype=np.int32),
                }
            )
        )
        runner_base += n
    frame = pl.concat(parts).with_columns(pl.col("as_of").dt.replace_time_zone("UTC"))
    group = ["race_id", "as_of"]
    frame = frame.with_columns(
        (pl.col("p_raw") / pl.col("p_raw").sum().over(group)).alias("p_win"),
        (pl.col("m_raw") / pl.col("m_raw").sum().over(group)).alias("p_market"),
    )
    frame = frame.with_columns(
        pl.max_horizontal(pl.lit(1.01), (1 / pl.col("p_market") * 1.08).round(2)).alias("best_odds_win"),
        pl.min_horizontal(pl.lit(1.0), pl.col("p_win") * 2.6).alias("p_place"),
    )
    edge = pl.col("p_win") * pl.col("best_odds_win") - 1
    kelly = pl.max_horizontal(pl.lit(0.0), edge / (pl.col("best_odds_win") - 1))
    n_rows = frame.height
    market_line = pl.format(
        "model {}% vs market {}% at {} (live): {}",
        (pl.col("base") * 100).round(1),
        (pl.col("p_market") * 100).round(1),
        pl.col("best_odds_win"),
        pl.when(edge > 0).then(pl.lit("value")).otherwise(pl.lit("no value")),
    )
    frame = frame.with_columns(
        pl.lit(model_id, dtype=pl.Int64).alias("model_id"),
        pl.max_horizontal(pl.lit(1.01), 1 / pl.col("p_win")).alias("fair_odds_win"),
        pl.max_horizontal(pl.lit(1.01), 1 / pl.col("p_place")).alias("fair_odds_place"),
        pl.Series("best_odds_src", rng.choice(["live", "bookmaker", "exchange_wap"], n_rows, p=[0.7, 0.2, 0.1])),
        pl.when(pl.col("n_runners") >= 8).then(3).otherwise(2).cast(pl.Int32).alias("ew_places"),
        pl.when(pl.col("n_runners") >= 8).then(pl.lit("1/5")).otherwise(pl.lit("1/4")).alias("ew_fraction"),
        edge.alias("edge_win"),
        (edge * 0.6).alias("edge_ew"),
        kelly.alias("kelly_fraction"),
        (kelly * 25).round(2).alias("stake_units"),
        pl.when(pl.Series(rng.random(n_rows)) < 0.8).then(pl.lit(True)).alias("liquidity_ok"),
        pl.concat_str(
            pl.lit('{"contributions": '),
            "contributions",
            pl.lit(', "drivers": '),
            "drivers",
            pl.lit(', "market": "'),
            market_line,
            pl.lit('", "summary": "'),
            "summary",
            pl.lit("; "),
            market_line,
            pl.lit('"}'),
        ).alias("reasons_json"),
        pl.lit(day).alias("race_date"),
        pl.col("base").alias("p_model"),
        pl.Series("vs_market_logit", rng.normal(0, 0.1, n_rows)),
        (pl.col("as_of") + pl.duration(seconds=2)).alias("created_at"),
    )
    schema = {name: dtype for name, (dtype, _) in SIGNAL_COLUMNS.items()}
    return frame.select([pl.col(c).cast(schema[c]) for c in SIGNAL_COLUMNS] + ["created_at"]).sort("as_of", "race_id")


def copy_day(conn: psycopg.Connection, frame: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_header=False, null_value="\\N", datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z")
    with (
        conn.transaction(),
        conn.cursor().copy(
            f"COPY modeling.signals ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT csv, NULL '\\N')"
        ) as copy,
    ):
        copy.write(buffer.getvalue())


# --- databases -----------------------------------------------------------------------------------


class Server:
    def __init__(self) -> None:
        self.admin_dsn, self.where = server_dsn()
        self.created: list[str] = []

    def create(self, label: str, template: str | None = None) -> tuple[str, str]:
        name = f"gu_bench_reads_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as admin:
            if template:
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
            else:
                admin.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return name, conninfo.make_conninfo(self.admin_dsn, dbname=name)

    def drop(self, name: str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.remove(name)


def add_models(conn: psycopg.Connection, count: int) -> list[int]:
    rows = conn.execute(
        "INSERT INTO modeling.models (name, version) SELECT 'bench', %s || i FROM generate_series(1, %s) i "
        "RETURNING model_id",
        (uuid.uuid4().hex[:8], count),
    ).fetchall()
    conn.commit()
    return [r[0] for r in rows]


def vacuum(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) modeling.signals")
        if conn.execute("SELECT to_regclass('modeling.latest_signal_as_of')").fetchone()[0]:  # type: ignore[index]
            conn.execute("VACUUM (ANALYZE) modeling.latest_signal_as_of")


def sizes(conn: psycopg.Connection) -> str:
    row = conn.execute(
        """SELECT (SELECT count(*) FROM modeling.signals),
                  sum(pg_table_size(relid)), sum(pg_indexes_size(relid)),
                  coalesce(pg_total_relation_size(to_regclass('modeling.latest_signal_as_of')), 0)
           FROM (SELECT relid FROM pg_partition_tree('modeling.signals')
                 UNION SELECT 'modeling.signals'::regclass) parts"""
    ).fetchone()
    assert row is not None
    mb = 1024 * 1024
    return f"{row[0]:,} rows; signals {row[1] / mb:,.0f} MB + indexes {row[2] / mb:,.0f} MB; latest table {row[3] / mb:,.1f} MB"


# --- measurements --------------------------------------------------------------------------------


def timed_runs(action: Callable[[], object], runs: int) -> list[float]:
    action()  # warm-up
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        values.append(time.perf_counter() - started)
    return values


def read_params(conn: psycopg.Connection, day_index: int) -> dict[str, object]:
    """A race in the middle of the last loaded day, one of its runners, 30 minutes before its off."""
    race_date = FIRST_DAY + dt.timedelta(days=day_index)
    race_id, horse_id, last = conn.execute(
        """SELECT race_id, min(horse_id), max(as_of) FROM modeling.signals
           WHERE race_date = %s GROUP BY race_id ORDER BY race_id LIMIT 1 OFFSET 8""",
        (race_date,),
    ).fetchone()  # type: ignore[misc]
    return {"race_id": race_id, "horse_id": horse_id, "race_date": race_date, "at": last - dt.timedelta(minutes=30)}


def server_ms(conn: psycopg.Connection, sql: str, params: dict[str, object]) -> float:
    """Planning + execution time the server reports (no per-node timing, so little overhead)."""
    plan = conn.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", params, prepare=False).fetchone()[0][0]  # type: ignore[index]
    return plan["Planning Time"] + plan["Execution Time"]


def measure_reads(dsn: str, reads: dict[str, str], params: dict[str, object], runs: int, explain: bool) -> None:
    """Client wall time (rows fetched; jsonb kept as text, as Go's json.RawMessage would) and the
    server's own time, each the median of `runs` after a warm-up."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.adapters.register_loader("jsonb", TextLoader)
        for label, sql in reads.items():
            count = len(conn.execute(sql, params, prepare=False).fetchall())
            client = timed_runs(lambda s=sql: conn.execute(s, params, prepare=False).fetchall(), runs)
            server = [server_ms(conn, sql, params) for _ in range(runs)]
            print(
                f"    {label:<22} client {statistics.median(client) * 1000:>8.1f} ms "
                f"({min(client) * 1000:.1f}-{max(client) * 1000:.1f})   "
                f"server {statistics.median(server):>8.1f} ms ({min(server):.1f}-{max(server):.1f})   {count} rows"
            )
            if explain:
                plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params, prepare=False).fetchall()
                for (line,) in plan:
                    print(f"        | {line}")


PUBLISH_BATCHES = ("one race, one instant", "morning card", "one day in one batch")


def publish_batches(day: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """A day cut as the jobs publish it: the morning card, one race refreshed, and the rest."""
    first = day.get_column("as_of").min()
    one_race = day.filter(
        (pl.col("race_id") == day.get_column("race_id").max()) & (pl.col("as_of") == day.get_column("as_of").max())
    )
    rest = day.filter(pl.col("as_of") != first).join(
        one_race.select("as_of", "race_id"), on=["as_of", "race_id"], how="anti"
    )
    batches = (one_race, day.filter(pl.col("as_of") == first), rest)
    return {label: frame.drop("created_at") for label, frame in zip(PUBLISH_BATCHES, batches, strict=True)}


def measure_publish(targets: dict[str, str], first_free_day: int, runs: int) -> None:
    """publish_signals of new rows into each database, the databases taking turns run by run (the
    machine's load moves; turns give each the same share of it); the rows go again afterwards."""
    timings = {target: {label: [] for label in PUBLISH_BATCHES} for target in targets}  # type: ignore[var-annotated]
    counts: dict[str, int] = {}
    failed: dict[str, str] = {}
    connections = {target: psycopg.connect(dsn) for target, dsn in targets.items()}
    try:
        models = {target: add_models(conn, 1)[0] for target, conn in connections.items()}
        for run in range(runs + 1):
            for target, conn in connections.items():
                if target in failed:
                    continue
                for label, batch in publish_batches(day_signals(first_free_day + run, models[target])).items():
                    started = time.perf_counter()
                    try:
                        result = publish_signals(conn, batch)
                    except psycopg.Error as exc:
                        conn.rollback()
                        failed[target] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                        break
                    elapsed = time.perf_counter() - started
                    assert result.inserted == batch.height, (target, label, result)
                    counts[label] = batch.height
                    if run:  # the first run warms up
                        timings[target][label].append(elapsed)
        for conn in connections.values():
            conn.execute(
                "DELETE FROM modeling.signals WHERE race_date >= %s", (FIRST_DAY + dt.timedelta(days=first_free_day),)
            )
            conn.commit()
    finally:
        for conn in connections.values():
            conn.close()
    for target in targets:
        if target in failed:
            print(f"    {target:<12} publish fails: {failed[target]}")
            continue
        for label, values in timings[target].items():
            median = statistics.median(values)
            print(
                f"    {target:<12} publish {label:<21} {median * 1000:>9.1f} ms  {counts[label] / median:>9,.0f} rows/s   "
                f"({min(values) * 1000:.1f}-{max(values) * 1000:.1f} ms; {counts[label]:,} rows)"
            )


def fill(dsn: str, days: int, checkpoints: list[int], on_checkpoint: Callable[[int], None]) -> None:
    with psycopg.connect(dsn) as conn:
        models = add_models(conn, days // DAYS_PER_MODEL + 1)
        rows, seconds = 0, 0.0
        for day_index in range(days):
            frame = day_signals(day_index, models[day_index // DAYS_PER_MODEL])
            started = time.perf_counter()
            copy_day(conn, frame)
            seconds += time.perf_counter() - started
            rows += frame.height
            if day_index + 1 in checkpoints:
                print(
                    f"  after {day_index + 1} days: {rows / (day_index + 1):,.0f} rows a day; "
                    f"COPY fill {rows / seconds:,.0f} rows/s"
                )
                on_checkpoint(day_index)


PARTITION_SQL = """
ALTER TABLE modeling.signals RENAME TO signals_flat;
DROP VIEW modeling.latest_signals;
CREATE TABLE modeling.signals (LIKE modeling.signals_flat INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (as_of);
ALTER SEQUENCE modeling.signals_signal_id_seq OWNED BY NONE;
ALTER TABLE modeling.signals ADD PRIMARY KEY (signal_id, as_of),
    ADD UNIQUE (as_of, race_id, horse_id, model_id),
    ADD FOREIGN KEY (model_id) REFERENCES modeling.models (model_id);
CREATE INDEX ON modeling.signals (race_id, horse_id, model_id, as_of DESC);
CREATE INDEX ON modeling.signals (race_date, as_of);
CREATE INDEX ON modeling.signals (race_id, as_of DESC);
DO $$
DECLARE month date;
BEGIN
    FOR month IN SELECT generate_series(date_trunc('month', min(as_of) AT TIME ZONE 'UTC'),
                                        date_trunc('month', max(as_of) AT TIME ZONE 'UTC') + interval '2 months',
                                        interval '1 month')::date FROM modeling.signals_flat LOOP
        EXECUTE format('CREATE TABLE modeling.signals_%s PARTITION OF modeling.signals FOR VALUES FROM (%L) TO (%L)',
                       to_char(month, 'YYYY_MM'), month::timestamp AT TIME ZONE 'UTC',
                       (month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END $$;
INSERT INTO modeling.signals SELECT * FROM modeling.signals_flat;
DROP TABLE modeling.signals_flat;
CREATE VIEW modeling.latest_signals AS
SELECT DISTINCT ON (race_id, horse_id, model_id) * FROM modeling.signals
ORDER BY race_id, horse_id, model_id, as_of DESC;
"""


def fresh(server: Server, label: str, root: Path | None = None) -> tuple[str, str]:
    name, dsn = server.create(label)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn, root=root)
    return name, dsn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[1, 91, 182, 365])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip", nargs="*", default=[], choices=["partitioned", "after"], help="variants to leave out")
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of each read at the last checkpoint"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    checkpoints = sorted({c for c in args.checkpoints if c <= args.days} | {args.days})
    last_day = args.days - 1

    server = Server()
    with psycopg.connect(server.admin_dsn) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        buffers = conn.execute("SHOW shared_buffers").fetchone()[0]  # type: ignore[index]
    print(f"machine: {machine()}")
    print(
        f"database: PostgreSQL {version} ({server.where}, shared_buffers {buffers}); {args.runs} runs per figure (median)"
    )
    print(f"history: {args.days} days from {FIRST_DAY}; reads for a race of the last loaded day")
    print()
    after_reads = documented_reads()
    tmp = tempfile.TemporaryDirectory()
    before_root = migrations_up_to(LAST_BEFORE_MIGRATION, Path(tmp.name))
    try:
        print("insert rate on empty tables (the two databases taking turns):")
        empty_before, empty_before_dsn = fresh(server, "empty_before", before_root)
        empty_after, empty_after_dsn = fresh(server, "empty_after")
        measure_publish({"before": empty_before_dsn, "after": empty_after_dsn}, args.days + 40, args.runs)
        server.drop(empty_before)
        server.drop(empty_after)
        print()

        name, dsn = fresh(server, "before", before_root)
        print("before: migrations up to 009; reads through modeling.latest_signals (DISTINCT ON view)")

        def before_checkpoint(day_index: int) -> None:
            vacuum(dsn)
            with psycopg.connect(dsn) as conn:
                print(f"  {sizes(conn)}")
                params = read_params(conn, day_index)
            measure_reads(dsn, BEFORE_READS, params, args.runs, args.explain and day_index == last_day)

        fill(dsn, args.days, checkpoints, before_checkpoint)
        with psycopg.connect(dsn) as conn:
            params = read_params(conn, last_day)
        print()

        if "partitioned" not in args.skip:
            copy_name, copy_dsn = server.create("partitioned", template=name)
            started = time.perf_counter()
            with psycopg.connect(copy_dsn, autocommit=True) as conn, conn.transaction():
                conn.execute(PARTITION_SQL.encode())  # type: ignore[arg-type]
            print(
                f"partitioned: monthly on as_of, converted with the year in place in {time.perf_counter() - started:.0f} s"
            )
            vacuum(copy_dsn)
            with psycopg.connect(copy_dsn) as conn:
                print(f"  {sizes(conn)}")
            measure_reads(copy_dsn, BEFORE_READS, params, args.runs, args.explain)
            measure_publish({"partitioned": copy_dsn}, args.days + 20, 1)
            if not args.keep:
                server.drop(copy_name)
            print()

        upgraded, upgraded_dsn = server.create("upgraded", template=name)
        with psycopg.connect(upgraded_dsn, autocommit=True) as conn:
            started = time.perf_counter()
            result = migrate(conn)
            total = time.perf_counter() - started
            files = conn.execute(
                "SELECT name, duration_ms FROM modeling.schema_migrations WHERE name = ANY(%s) ORDER BY name",
                (result.applied,),
            ).fetchall()
        print(f"upgraded: a copy of the before database after `giddyup migrate` with the year in place: {total:.1f} s")
        for file, ms in files:
            print(f"    {file:<58} {ms / 1000:>7.1f} s")
        vacuum(upgraded_dsn)
        with psycopg.connect(upgraded_dsn) as conn:
            print(f"  {sizes(conn)}")
        print("  the documented API queries (docs/API.md):")
        measure_reads(upgraded_dsn, after_reads, params, args.runs, args.explain)
        print("  the internal view modeling.latest_signals, the before queries:")
        measure_reads(upgraded_dsn, BEFORE_READS, params, args.runs, False)
        print("insert rate at a year (before and upgraded taking turns):")
        measure_publish({"before": dsn, "after": upgraded_dsn}, args.days + 10, args.runs)
        if not args.keep:
            server.drop(upgraded)
            server.drop(name)
        print()

        if "after" not in args.skip:
            name, dsn = fresh(server, "after")
            print(
                "after: every migration, filled from empty (the triggers keep latest_signal_as_of); documented queries"
            )

            def after_checkpoint(day_index: int) -> None:
                vacuum(dsn)
                with psycopg.connect(dsn) as conn:
                    print(f"  {sizes(conn)}")
                    params = read_params(conn, day_index)
                measure_reads(dsn, after_reads, params, args.runs, args.explain and day_index == last_day)

            fill(dsn, args.days, checkpoints, after_checkpoint)
            if not args.keep:
                server.drop(name)
    finally:
        tmp.cleanup()
        if not args.keep:
            for name in list(server.created):
                server.drop(name)


if __name__ == "__main__":
    main()
