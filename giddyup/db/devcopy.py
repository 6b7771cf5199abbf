"""The dev-copy mark: only a database giddyup created as a dev/test/demo copy may have racing.*
written by giddyup. Production's racing schema belongs to the Go API's loaders."""

from __future__ import annotations

import psycopg

from giddyup.errors import NotDevCopyError


def racing_schema_exists(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'racing'").fetchone()
    return row is not None


def is_dev_copy(conn: psycopg.Connection) -> bool:
    table = conn.execute("SELECT to_regclass('modeling.dev_copy')").fetchone()
    if table is None or table[0] is None:
        return False
    return conn.execute("SELECT count(*) FROM modeling.dev_copy").fetchone()[0] > 0  # type: ignore[index]


def mark_dev_copy(conn: psycopg.Connection) -> bool:
    """Mark the database as a dev copy. Returns True when the mark is new."""
    with conn.transaction():
        conn.execute(
            """CREATE TABLE IF NOT EXISTS modeling.dev_copy (
                   only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                   marked_at timestamptz NOT NULL DEFAULT now(),
                   marked_by text NOT NULL DEFAULT current_user
               )"""
        )
        cur = conn.execute("INSERT INTO modeling.dev_copy DEFAULT VALUES ON CONFLICT DO NOTHING")
        return cur.rowcount == 1


def require_dev_copy(conn: psycopg.Connection, command: str) -> None:
    """Refuse to write racing.* unless this database is a dev copy with the racing schema."""
    if not is_dev_copy(conn) or not racing_schema_exists(conn):
        raise NotDevCopyError(
            f"`giddyup {command}` writes racing.* and this database is not a giddyup dev copy; "
            "use a database prepared with `giddyup migrate --with-racing-reference`"
        )
