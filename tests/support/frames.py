"""Reading what a job wrote, for assertions."""

from __future__ import annotations

import psycopg


def query_frame(dsn: str, sql: str, *params: object):
    """Rows of a query as a Polars frame (instants in UTC), for asserting what a job wrote."""
    import polars as pl

    with psycopg.connect(dsn) as conn:
        cur = conn.execute(sql, params)
        columns = [d.name for d in cur.description]
        rows = cur.fetchall()
    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    return frame.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC"))
