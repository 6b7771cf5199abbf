"""Read the racing rows the features need into Polars: ADBC → Arrow → Polars, two queries.

Two queries, races and runners, joined in Polars: PostgreSQL then sends each race's text
(going, type, class, ...) once instead of once per runner, and does no join. On the 2.2-million
runner benchmark database that halved the server's time to produce the rows (binary COPY to
/dev/null: 8.2 s for the two queries against 16.9 s for the joined one, same moment) and the
whole read went from 34 s to 9 s.

Client path: ADBC (adbc-driver-postgresql, kept by the Apache Arrow project, already a
dependency), which fetches rows with PostgreSQL's binary COPY and decodes them in C++ straight
into Arrow; Polars takes the Arrow stream without a copy. Measured against the runner-up, COPY ...
TO STDOUT (FORMAT csv) through psycopg parsed by Polars' multi-threaded CSV reader, on the same
queries and the same frame (benchmarks/bench_features.py, medians of 3, shared 2-core machine,
two sessions): 0.90 / 1.31 s against 0.91 / 1.37 s for the 3-year world's 313k rows, and
9.1 / 10.4 s against 10.8 / 10.5 s for 2.2M rows, peak memory about the same (1.35 against
1.28 GB). ADBC is kept: as fast or a little faster, exact types with no text round trip (dates,
times, int64, float64), and no whole CSV text held in memory before parsing. Most of the read is PostgreSQL producing
the rows, which no client path changes. The CSV path stays selectable (`engine="copy_csv"`) so
the benchmark can re-measure it. connectorx was not tried: it would be a new dependency for a
path whose bottleneck is the server.

Only the columns the features, labels and market columns use are selected. The race's own
after-race columns (pos_raw, ovr_btn, secs, rpr, dec, win_bsp) are read because earlier races'
values are history; the feature code never uses them for the race being described.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import polars as pl

from giddyup.errors import GiddyUpError
from giddyup.race_rules import handicap_sql

ENGINES = {
    "adbc": "adbc-postgresql (binary COPY → Arrow → Polars)",
    "copy_csv": "psycopg COPY TO STDOUT csv → Polars read_csv",
}
DEFAULT_ENGINE = "adbc"
READ_PATH = ENGINES[DEFAULT_ENGINE]

# Column of the runs frame -> (SQL expression, dtype). Races (ra) and runners (r) are read apart.
RACE_COLUMNS: dict[str, tuple[str, pl.DataType]] = {
    "race_id": ("ra.race_id", pl.Int64()),
    "race_date": ("ra.race_date", pl.Date()),
    "region": ("ra.region", pl.String()),
    "course_id": ("ra.course_id", pl.Int64()),
    "off_time": ("ra.off_time", pl.Time()),
    "prelim": ("coalesce(ra.prelim, false)", pl.Boolean()),
    "race_type": ("ra.race_type", pl.String()),
    "race_class": ("ra.class", pl.String()),
    "pattern": ("ra.pattern", pl.String()),
    # The handicap rule of giddyup.race_rules (the each-way terms read the same one).
    "is_handicap": (handicap_sql("ra.race_name"), pl.Boolean()),
    # HK stores metres: furlongs are derived (1 furlong = 201.168 m).
    "dist_f": ("coalesce(ra.dist_f, ra.dist_m / 201.168)", pl.Float64()),
    "going": ("ra.going", pl.String()),
    "surface": ("ra.surface", pl.String()),
}
RUNNER_COLUMNS: dict[str, tuple[str, pl.DataType]] = {
    "race_id": ("r.race_id", pl.Int64()),
    "race_date": ("r.race_date", pl.Date()),
    "runner_id": ("r.runner_id", pl.Int64()),
    "horse_id": ("r.horse_id", pl.Int64()),
    "jockey_id": ("r.jockey_id", pl.Int64()),
    "trainer_id": ("r.trainer_id", pl.Int64()),
    "draw": ("r.draw", pl.Int32()),
    "age": ("r.age", pl.Int32()),
    "sex": ("r.sex", pl.String()),
    "lbs": ("r.lbs", pl.Int32()),
    "hg": ("r.hg", pl.String()),
    "official_rating": ('r."or"', pl.Int32()),
    "pos_raw": ("r.pos_raw", pl.String()),
    "pos_num": ("r.pos_num", pl.Int32()),
    "ovr_btn": ("r.ovr_btn", pl.Float64()),
    "secs": ("r.secs", pl.Float64()),
    "rpr": ("r.rpr", pl.Int32()),
    "dec": ("r.dec", pl.Float64()),
    "win_bsp": ("r.win_bsp", pl.Float64()),
    "win_ppwap": ("r.win_ppwap", pl.Float64()),
    "win_morningwap": ("r.win_morningwap", pl.Float64()),
    "best_odds": ("r.best_odds", pl.Float64()),
    "win_pre_vol": ("r.win_pre_vol", pl.Float64()),
    "win_morning_vol": ("r.win_morning_vol", pl.Float64()),
}
RUN_SCHEMA: dict[str, pl.DataType] = {
    **{name: dtype for name, (_, dtype) in RACE_COLUMNS.items()},
    **{name: dtype for name, (_, dtype) in RUNNER_COLUMNS.items()},
}
JOIN_KEY = ["race_id", "race_date"]

# After-race values of a runner (known at or after the off). A race's own values of these never
# feed its features; earlier races' values are history.
AFTER_RACE_COLUMNS = ("pos_raw", "pos_num", "ovr_btn", "secs", "rpr", "dec", "win_bsp")


@dataclass(frozen=True)
class RunsWindow:
    """Which rows to read: SQL conditions on races (ra) and runners (r), and one on the joined rows."""

    races_where: str
    runners_where: str
    keep: pl.Expr


def training_window(until: dt.date) -> RunsWindow:
    """Resulted races up to `until` (history and training targets alike)."""
    day = f"DATE '{until.isoformat()}'"  # a datetime.date formatted here: no injection
    return RunsWindow(
        races_where=f"ra.race_date <= {day} AND NOT coalesce(ra.prelim, false)",
        runners_where=f"r.race_date <= {day}",
        keep=pl.lit(True),
    )


def race_day_window(race_date: dt.date) -> RunsWindow:
    """Resulted races before the day, plus the day's declarations (prelim races, pos_raw NULL)."""
    day = f"DATE '{race_date.isoformat()}'"
    return RunsWindow(
        races_where=f"ra.race_date <= {day}",
        runners_where=f"(r.race_date < {day} OR (r.race_date = {day} AND r.pos_raw IS NULL))",
        keep=pl.when(pl.col("race_date") < race_date).then(~pl.col("prelim")).otherwise(pl.col("prelim")),
    )


def races_query(window: RunsWindow) -> str:
    select = ", ".join(f"{sql} AS {name}" for name, (sql, _) in RACE_COLUMNS.items())
    return f"SELECT {select} FROM racing.races ra WHERE {window.races_where}"


def runners_query(window: RunsWindow) -> str:
    select = ", ".join(f"{sql} AS {name}" for name, (sql, _) in RUNNER_COLUMNS.items())
    return f"SELECT {select} FROM racing.runners r WHERE {window.runners_where}"


def conform(frame: pl.DataFrame, columns: dict[str, tuple[str, pl.DataType]]) -> pl.DataFrame:
    """Cast to the declared dtypes (the same whatever the driver returned)."""
    return frame.select([pl.col(name).cast(dtype) for name, (_, dtype) in columns.items()])


def read_runs(dsn: str, window: RunsWindow, engine: str = DEFAULT_ENGINE) -> pl.DataFrame:
    """Runners joined to their races, as a Polars frame in RUN_SCHEMA."""
    fetch = {"adbc": _fetch_adbc, "copy_csv": _fetch_copy_csv}[engine]
    races, runners = fetch(dsn, [(races_query(window), RACE_COLUMNS), (runners_query(window), RUNNER_COLUMNS)])
    joined = runners.join(races, on=JOIN_KEY, how="inner").filter(window.keep)
    return joined.select(list(RUN_SCHEMA))


def _first_line(exc: Exception, dsn: str) -> str:
    from giddyup.db.connect import redact

    text = redact(str(exc), dsn).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _query_failed(reason: str) -> GiddyUpError:
    hint = ""
    if "does not exist" in reason:
        hint = "; is this a racing database (`giddyup migrate --with-racing-reference` makes a dev copy)?"
    return GiddyUpError(f"reading racing.races/racing.runners failed: {reason}{hint}")


def _fetch_adbc(dsn: str, queries: list[tuple[str, dict]]) -> list[pl.DataFrame]:
    # The driver manager's low-level API hands over an Arrow C stream that Polars reads directly;
    # its DB-API layer would import pyarrow and pandas first (2-3 s per command on this machine).
    import adbc_driver_manager
    import adbc_driver_postgresql

    from giddyup.db.connect import describe_target

    try:
        database = adbc_driver_postgresql.connect(dsn)
        connection = adbc_driver_manager.AdbcConnection(database)
    except adbc_driver_manager.Error as exc:
        reason = _first_line(exc, dsn)
        raise GiddyUpError(f"cannot read racing data from {describe_target(dsn)}: {reason}") from None
    frames = []
    try:
        for sql, columns in queries:
            statement = adbc_driver_manager.AdbcStatement(connection)
            try:
                statement.set_sql_query(sql)
                stream, _ = statement.execute_query()
                frames.append(conform(pl.DataFrame(stream), columns))
            except adbc_driver_manager.Error as exc:
                raise _query_failed(_first_line(exc, dsn)) from None
            finally:
                statement.close()
    finally:
        connection.close()
        database.close()
    return frames


def _fetch_copy_csv(dsn: str, queries: list[tuple[str, dict]]) -> list[pl.DataFrame]:
    import psycopg

    from giddyup.db.connect import connect

    parsed_later = (pl.Time(), pl.Boolean())  # CSV gives t/f and HH:MM:SS text
    frames = []
    with connect(dsn=dsn) as conn:
        for sql, columns in queries:
            buffer = io.BytesIO()
            try:
                with conn.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, NULL '\\N')") as copy:
                    for chunk in copy:
                        buffer.write(chunk)
            except psycopg.Error as exc:
                raise _query_failed(_first_line(exc, dsn)) from None
            schema = {name: (pl.String() if t in parsed_later else t) for name, (_, t) in columns.items()}
            frame = pl.read_csv(
                buffer.getvalue(), has_header=False, schema=schema, null_values="\\N", empty_string_is_null=False
            )
            frame = frame.with_columns(
                (pl.col(name) == "t") if dtype == pl.Boolean() else pl.col(name).str.to_time("%H:%M:%S%.f")
                for name, (_, dtype) in columns.items()
                if dtype in parsed_later
            )
            frames.append(conform(frame, columns))
    return frames
