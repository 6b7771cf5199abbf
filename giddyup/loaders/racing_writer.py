"""Bulk, idempotent writes into the racing reference schema of a dev-copy database.

Every loader (the simulator, the Hong Kong loader) hands Polars frames keyed by natural keys to
these functions: dimension rows by name, races by (race_key, race_date), runners by
(runner_key, race_date). Rows go to a temporary table by COPY, then one INSERT ... ON CONFLICT
per table, so loading the same data twice leaves the same rows and the same ids.

Callers must have checked `require_dev_copy` first; these functions do not write anything else.
"""

from __future__ import annotations

import hashlib
import io

import polars as pl
import psycopg

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
    conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    conn.execute(f'CREATE TEMP TABLE "{name}" ({columns}) ON COMMIT DROP')
    buffer = io.BytesIO()
    frame.write_csv(
        buffer,
        include_header=False,
        null_value="\\N",
        datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z",
        time_format="%H:%M:%S",
    )
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    with conn.cursor().copy(f"COPY \"{name}\" ({quoted}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
        copy.write(buffer.getvalue())


def ensure_partitions(conn: psycopg.Connection, dates: pl.Series) -> None:
    if dates.len() == 0:
        return
    conn.execute("SELECT racing.ensure_month_partitions(%s, %s)", (dates.min(), dates.max()))


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
