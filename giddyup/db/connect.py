"""Connections to the racing/modeling database.

`PG_DSN` names the server; unset, the embedded server is started (or reused). Connection errors
are turned into one-line `GiddyUpError`s that say where giddyup tried to connect (host, port,
database; never the user's password or the full DSN) and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import conninfo

from giddyup.config import Settings, get_settings
from giddyup.errors import GiddyUpError


def database_dsn(settings: Settings | None = None) -> str:
    """The DSN to use: PG_DSN when set, else the embedded server's (started if needed)."""
    settings = settings or get_settings()
    if settings.pg_dsn is not None:
        return settings.pg_dsn.get_secret_value()
    from giddyup.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(settings.artifacts_path).ensure_running().dsn()


def describe_target(dsn: str) -> str:
    """`host:port/dbname` for messages: enough to find the server, nothing secret."""
    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the database named by PG_DSN (which could not be parsed)"
    host = str(parts.get("host") or "localhost")
    if host.startswith("/"):
        host = f"socket {host}"
    port = parts.get("port") or "5432"
    return f"{host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


def redact(text: str, dsn: str) -> str:
    """Remove the DSN and any password it holds from a message."""
    try:
        password = conninfo.conninfo_to_dict(dsn).get("password")
    except psycopg.ProgrammingError:
        password = None
    from giddyup.redaction import redact as redact_secrets

    text = text.replace(dsn, "<PG_DSN>")
    if password:
        text = text.replace(str(password), "***")
    return redact_secrets(text)


def connection_error(exc: psycopg.OperationalError, dsn: str) -> GiddyUpError:
    raw = redact(str(exc), dsn).strip()
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    reason = lines[0] if lines else "unknown error"
    # psycopg prefixes "connection failed: connection to server at ... failed: <reason>"
    reason = reason.rsplit("failed: ", 1)[-1]
    target = describe_target(dsn)
    lowered = raw.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        hint = "check the user and password in PG_DSN"
    elif "role" in lowered and "does not exist" in lowered:
        hint = "check the user in PG_DSN"
    elif "does not exist" in lowered and "database" in lowered:
        hint = "create the database or fix the database name in PG_DSN"
    else:
        hint = "is the server running? check PG_DSN (unset it to use the embedded server)"
    return GiddyUpError(f"cannot connect to PostgreSQL at {target}: {reason}; {hint}")


def connect(
    settings: Settings | None = None, *, autocommit: bool = False, dsn: str | None = None
) -> psycopg.Connection:
    dsn = dsn or database_dsn(settings)
    try:
        conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        # libpq quotes the offending fragment, which may be a password: show the reason only.
        reason = re.sub(r'"[^"]*"', '"..."', redact(str(exc).strip().splitlines()[0], dsn))
        raise GiddyUpError(f"PG_DSN is not a valid PostgreSQL connection string ({reason}); fix PG_DSN") from None
    try:
        return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise connection_error(exc, dsn) from None


@contextmanager
def connection(
    settings: Settings | None = None, *, autocommit: bool = False, dsn: str | None = None
) -> Iterator[psycopg.Connection]:
    """A connection that commits on success and rolls back on any error."""
    conn = connect(settings, autocommit=autocommit, dsn=dsn)
    try:
        with conn:
            yield conn
    finally:
        conn.close()
