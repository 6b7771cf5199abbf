"""Which database the demo may use, and resetting it.

The demo writes racing.* (a simulated world) and so needs a dev copy. It accepts a database with
no racing schema (e.g. a fresh embedded server), or one a previous demo made (marked by the table
sim.demo_marker), which it resets. Any other database with a racing schema is refused: it may be
a real racing database.
"""

from __future__ import annotations

import psycopg

from giddyup.db.devcopy import racing_schema_exists
from giddyup.db.migrate import migrate
from giddyup.errors import NotDevCopyError
from giddyup.sim.truth import ensure_sim_schema


def is_previous_demo(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('sim.demo_marker') IS NOT NULL").fetchone()[0]  # type: ignore[index]


def prepare_demo_database(dsn: str) -> str:
    """Reset or create the demo's schemas; returns 'reset' or 'new'."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        previous = is_previous_demo(conn)
        if racing_schema_exists(conn) and not previous:
            raise NotDevCopyError(
                "this database has a racing schema and was not made by `giddyup demo`; refusing to reset it. "
                "Unset PG_DSN (embedded server) or point it at an empty database"
            )
        if previous:
            # Only the schemas the demo made; roles and other schemas are left alone.
            conn.execute("DROP SCHEMA IF EXISTS racing, sim, modeling CASCADE")
        migrate(conn, with_racing_reference=True)
        ensure_sim_schema(conn)  # the simulator's own schema (versioned), where the marker lives
        conn.execute("CREATE TABLE IF NOT EXISTS sim.demo_marker (made_at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO sim.demo_marker DEFAULT VALUES")
    return "reset" if previous else "new"
