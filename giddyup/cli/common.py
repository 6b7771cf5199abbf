"""Shared CLI helpers: the console, global options, error translation (options: cli/options.py)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from rich.console import Console

# Logs and CI output are not terminals: a fixed wide layout keeps tables readable there.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


@dataclass
class _State:
    verbose: bool = False


state = _State()


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
