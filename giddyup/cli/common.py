"""Shared CLI helpers: the console, global options, date/instant parsing, error translation."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass

from rich.console import Console

from giddyup.errors import GiddyUpError

# Logs and CI output are not terminals: a fixed wide layout keeps tables readable there.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


@dataclass
class _State:
    verbose: bool = False


state = _State()


def parse_date(value: str, option: str = "--date") -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise GiddyUpError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def parse_instant(value: str, option: str = "--at") -> dt.datetime:
    """An ISO-8601 instant with a zone (`2026-03-29T12:00:00+00:00` or `...Z`), returned in UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GiddyUpError(f"{option} {value!r} is not an ISO-8601 instant") from None
    if parsed.tzinfo is None:
        raise GiddyUpError(f"{option} {value!r} has no time zone; add Z or an offset such as +01:00")
    return parsed.astimezone(dt.UTC)


def describe_unexpected(exc: BaseException) -> str | None:
    """One line for database errors a user can fix (missing table, no permission); None for bugs."""
    try:
        import psycopg
        from psycopg import errors
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, (errors.UndefinedTable, errors.InvalidSchemaName, errors.UndefinedColumn)):
        first = str(exc).strip().splitlines()[0]
        return (
            f"{first}: the database is not migrated; run `giddyup migrate` (add --with-racing-reference for a dev copy)"
        )
    if isinstance(exc, errors.InsufficientPrivilege):
        first = str(exc).strip().splitlines()[0]
        return f"{first}: the database user lacks a privilege giddyup needs"
    if isinstance(exc, psycopg.OperationalError):
        from giddyup.config import get_settings
        from giddyup.db.connect import redact

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection lost"
        dsn = get_settings().pg_dsn
        return f"database error: {redact(first, dsn.get_secret_value()) if dsn else first}"
    return None
