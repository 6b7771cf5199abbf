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
        from giddyup.redaction import redact

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection lost"
        return (
            f"database error: {redact(first)}; the connection to PostgreSQL failed mid-run and the job's "
            "transaction was rolled back: check the server, then re-run the job"
        )
    from giddyup import mlflow_errors

    mlflow_message = mlflow_errors.describe(exc)
    if mlflow_message is not None:
        return mlflow_message
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    return None


def describe_os_error(exc: OSError) -> str:
    """A file-system failure (an --out that is a file, a folder that cannot be written) in one line."""
    import errno

    where = exc.filename or "a file"
    reason = exc.strerror or str(exc)
    hints = {
        errno.EEXIST: "it exists and is not a folder giddyup can use; choose another path",
        errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
        errno.EISDIR: "it is a folder; give a file inside it",
        errno.EACCES: "giddyup may not write there; fix its permissions or choose another path",
        errno.EPERM: "giddyup may not write there; fix its permissions or choose another path",
        errno.EROFS: "the file system is read-only; choose another path",
        errno.ENOSPC: "the disk is full; free space and re-run",
        errno.ENOENT: "it does not exist; check the path",
    }
    hint = hints.get(exc.errno or 0, "check the path and re-run")
    return f"cannot use {where}: {reason}; {hint}"
