"""Bulk, idempotent writes into the racing reference schema of a dev-copy database.

Every loader (the simulator, the Hong Kong loader) hands Polars frames keyed by natural keys to
these functions: dimension rows by name, races by (race_key, race_date), runners by
(runner_key, race_date). Rows go to a temporary table by COPY, then one INSERT ... ON CONFLICT
per table, so loading the same data twice leaves the same rows and the same ids.

Callers must have checked `require_dev_copy` first; these functions do not write anything else.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import polars as pl
import psycopg

from giddyup.errors import GiddyUpError

_P = ParamSpec("_P")
_R = TypeVar("_R")

# Dimension table -> (id column, name column, norm column)
DIMENSIONS = {
    "horses": ("horse_id", "horse_name", "horse_norm"),
    "jockeys": ("jockey_id", "jockey_name", "jockey_norm"),
    "trainers": ("trainer_id", "trainer_name", "trainer_norm"),
    "owners": ("owner_id", "owner_name", "owner_norm"),
}
NORM_SQL = "lower(regexp_replace({}, '[^A-Za-z0-9]', '', 'g'))"

_PG_TYPES = {
    pl.Int8: "smallint",
    pl.Int16: "smallint",
    pl.Int32: "integer",
    pl.Int64: "bigint",
    pl.UInt32: "bigint",
    pl.Float32: "double precision",
    pl.Float64: "double precision",
    pl.String: "text",
    pl.Boolean: "boolean",
    pl.Date: "date",
    pl.Time: "time",
}


def norm(expr: pl.Expr) -> pl.Expr:
    """The same normalisation as the generated *_norm columns (lowercase alphanumerics)."""
    return expr.str.replace_all(r"[^A-Za-z0-9]", "").str.to_lowercase()


def stable_key(*parts: pl.Expr) -> pl.Expr:
    """A deterministic text key (hex digest) from several columns, for race_key / runner_key."""
    joined = pl.concat_str([p.cast(pl.String).fill_null("") for p in parts], separator="|")
    return joined.map_elements(lambda s: hashlib.sha1(s.encode()).hexdigest()[:20], return_dtype=pl.String)


def _pg_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "timestamptz" if dtype.time_zone else "timestamp"
    for polars_type, sql in _PG_TYPES.items():
        if dtype == polars_type:
            return sql
    raise TypeError(f"no PostgreSQL type for Polars dtype {dtype}")


def copy_to_temp(conn: psycopg.Connection, name: str, frame: pl.DataFrame) -> None:
    """Create temp table `name` shaped like `frame` and COPY the frame into it (dropped on commit)."""
    columns = ", ".join(f'"{c}" {_pg_type(t)}' for c, t in frame.schema.items())
    conn.execute(f'DROP TABLE IF EXISTS pg_temp."{name}"')
    conn.execute(f'CREATE TEMP TABLE "{name}" ({columns}) ON COMMIT DROP')
    # One datetime_format cannot serve both kinds: %z fails on a naive (timestamp) column.
    as_text = [
        pl.col(c).dt.to_string("%Y-%m-%dT%H:%M:%S%.6f%z" if t.time_zone else "%Y-%m-%dT%H:%M:%S%.6f")  # type: ignore[attr-defined]
        for c, t in frame.schema.items()
        if isinstance(t, pl.Datetime)
    ]
    buffer = io.BytesIO()
    frame.with_columns(as_text).write_csv(
        buffer,
        include_header=False,
        null_value="\\N",
        time_format="%H:%M:%S%.6f",
    )
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    with conn.cursor().copy(f"COPY \"{name}\" ({quoted}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
        copy.write(buffer.getvalue())


def _in_transaction(
    func: Callable[Concatenate[psycopg.Connection, _P], _R],
) -> Callable[Concatenate[psycopg.Connection, _P], _R]:
    """Run the whole upsert in one transaction block (a savepoint inside the caller's transaction).

    The stage tables are ON COMMIT DROP: on an autocommit connection, without this block, each
    would vanish right after its CREATE.
    """

    @functools.wraps(func)
    def wrapper(conn: psycopg.Connection, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with conn.transaction():
            return func(conn, *args, **kwargs)

    return wrapper


def ensure_partitions(conn: psycopg.Connection, dates: pl.Series) -> None:
    if dates.len() == 0:
        return
    conn.execute("SELECT racing.ensure_month_partitions(%s, %s)", (dates.min(), dates.max()))


@_in_transaction
def upsert_dimension(conn: psycopg.Connection, table: str, names: pl.Series) -> pl.DataFrame:
    """Insert missing names into racing.<table>; return (name, id) for every distinct name given.

    Names that normalise to the same key share one row (as in the production loaders).
    """
    id_col, name_col, norm_col = DIMENSIONS[table]
    distinct = pl.DataFrame({name_col: names.drop_nulls().unique(maintain_order=True)})
    if distinct.height == 0:
        return pl.DataFrame(schema={name_col: pl.String, id_col: pl.Int64})
    copy_to_temp(conn, f"stage_{table}", distinct)
    conn.execute(
        f"""INSERT INTO racing.{table} ({name_col})
            SELECT DISTINCT ON ({NORM_SQL.format(name_col)}) {name_col} FROM "stage_{table}"
            ORDER BY {NORM_SQL.format(name_col)}, {name_col}
            ON CONFLICT ({norm_col}) DO NOTHING"""
    )
    rows = conn.execute(
        f"""SELECT s.{name_col}, d.{id_col} FROM "stage_{table}" s
            JOIN racing.{table} d ON d.{norm_col} = {NORM_SQL.format("s." + name_col)}"""
    ).fetchall()
    return pl.DataFrame(rows, schema={name_col: pl.String, id_col: pl.Int64}, orient="row")


@_in_transaction
def upsert_courses(conn: psycopg.Connection, courses: pl.DataFrame) -> pl.DataFrame:
    """courses: (course_name, region) -> adds course_id."""
    distinct = courses.select("course_name", "region").unique(maintain_order=True)
    copy_to_temp(conn, "stage_courses", distinct)
    conn.execute(
        """INSERT INTO racing.courses (course_name, region)
            SELECT course_name, region FROM stage_courses
            ON CONFLICT (course_norm, region) DO NOTHING"""
    )
    rows = conn.execute(
        f"""SELECT s.course_name, s.region, c.course_id FROM stage_courses s
            JOIN racing.courses c ON c.region = s.region AND c.course_norm = {NORM_SQL.format("s.course_name")}"""
    ).fetchall()
    return pl.DataFrame(
        rows, schema={"course_name": pl.String, "region": pl.String, "course_id": pl.Int64}, orient="row"
    )


@_in_transaction
def upsert_keyed(
    conn: psycopg.Connection,
    table: str,
    frame: pl.DataFrame,
    key: tuple[str, ...],
    returning: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Upsert `frame` into racing.<table> on `key`; rows that did not change are not touched.

    Returns the `returning` columns of every row of the frame (inserted, updated or unchanged).
    """
    duplicated = frame.filter(pl.struct(*key).is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        shown = ", ".join(f"{c}={first[c]}" for c in key)
        raise GiddyUpError(f"racing.{table} batch holds the key ({shown}) more than once")
    stage = f"stage_{table}"
    copy_to_temp(conn, stage, frame)
    columns = [f'"{c}"' for c in frame.columns]
    non_key = [c for c in frame.columns if c not in key]
    conflict = ", ".join(f'"{c}"' for c in key)
    if non_key:
        sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in non_key)
        changed = (
            f"({', '.join(f't.{chr(34)}{c}{chr(34)}' for c in non_key)}) IS DISTINCT FROM "
            f"({', '.join(f'EXCLUDED.{chr(34)}{c}{chr(34)}' for c in non_key)})"
        )
        action = f"DO UPDATE SET {sets} WHERE {changed}"
    else:
        action = "DO NOTHING"
    conn.execute(
        f"""INSERT INTO racing.{table} AS t ({", ".join(columns)})
            SELECT {", ".join(columns)} FROM "{stage}"
            ON CONFLICT ({conflict}) {action}"""
    )
    if not returning:
        return pl.DataFrame()
    join = " AND ".join(f't."{c}" = s."{c}"' for c in key)
    wanted = ", ".join(f't."{c}"' for c in returning)
    rows = conn.execute(f'SELECT {wanted} FROM racing.{table} t JOIN "{stage}" s ON {join}').fetchall()
    schema = {c: frame.schema.get(c, pl.Int64) for c in returning}
    return pl.DataFrame(rows, schema=schema, orient="row")
