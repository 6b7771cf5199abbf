"""Which model version prices a racing day: the one that first scored it, recorded in
modeling.scored_days per (day, model name).

A re-run of `giddyup score --date D` uses the recorded version, even after alias `production`
has moved to another one, so re-running an old day rewrites the same rows; `--model-version V`
prices the day with V on purpose and records it. `giddyup drift --date D` reads the same record.
"""

from __future__ import annotations

import datetime as dt

import psycopg


def recorded_version(conn: psycopg.Connection, race_date: dt.date, model_name: str) -> str | None:
    row = conn.execute(
        "SELECT model_version FROM modeling.scored_days WHERE race_date = %s AND model_name = %s",
        (race_date, model_name),
    ).fetchone()
    return row[0] if row else None


def record_version(
    conn: psycopg.Connection,
    race_date: dt.date,
    model_name: str,
    model_version: str,
    model_id: int,
    at: dt.datetime,
    *,
    replace: bool,
) -> None:
    """Record the version a day was scored with: the first time, or again with `replace`."""
    conflict = (
        "DO UPDATE SET model_version = EXCLUDED.model_version, model_id = EXCLUDED.model_id, scored_at = EXCLUDED.scored_at "
        "WHERE scored_days.model_version IS DISTINCT FROM EXCLUDED.model_version"
        if replace
        else "DO NOTHING"
    )
    conn.execute(
        f"""INSERT INTO modeling.scored_days (race_date, model_name, model_version, model_id, scored_at)
            VALUES (%s, %s, %s, %s, %s) ON CONFLICT (race_date, model_name) {conflict}""",
        (race_date, model_name, model_version, model_id, at),
    )
