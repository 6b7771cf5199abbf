"""Apply the SQL migrations in migrations/ in order, once each, under an advisory lock.

Each file runs in its own transaction and is recorded in modeling.schema_migrations with its
SHA-256. A file whose content changed after it was applied is refused: fix forward with a new
file instead. `with_racing_reference` also creates the `racing` reference schema and marks the
database as a dev copy (the only kind of database giddyup may write racing.* in).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from giddyup.db.devcopy import is_dev_copy, mark_dev_copy, racing_schema_exists
from giddyup.errors import GiddyUpError, NotDevCopyError

# pg_advisory_lock key shared by every `giddyup migrate` (any 64-bit constant unique to us).
MIGRATE_LOCK_KEY = 0x6769646479757001
_FILE_PATTERN = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    name: str  # e.g. "modeling/001_models_and_signals.sql"
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass
class MigrateResult:
    applied: list[str] = field(default_factory=list)
    already_applied: int = 0
    notices: list[str] = field(default_factory=list)
    marked_dev_copy: bool = False


def migrations_dir() -> Path:
    """migrations/ of the checkout, or the copy packaged inside an installed wheel."""
    package_dir = Path(__file__).resolve().parents[1]
    for candidate in (package_dir / "_migrations", package_dir.parent / "migrations"):
        if (candidate / "modeling").is_dir():
            return candidate
    raise GiddyUpError(f"no migrations folder found next to {package_dir}")


def discover(kind: str, root: Path | None = None) -> list[Migration]:
    folder = (root or migrations_dir()) / kind
    found = []
    for path in sorted(folder.glob("*.sql")):
        if not _FILE_PATTERN.match(path.name):
            raise GiddyUpError(f"migration file {path} is not named NNN_lower_snake.sql")
        found.append(Migration(f"{kind}/{path.name}", path, path.read_text(encoding="utf-8")))
    numbers = [m.path.name[:3] for m in found]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise GiddyUpError(f"two migrations in {folder} share the number {duplicates[0]}")
    return found


def migrate(
    conn: psycopg.Connection, *, with_racing_reference: bool = False, root: Path | None = None
) -> MigrateResult:
    """Apply pending migrations. `conn` must be in autocommit mode (each file gets its own transaction).

    `root` is the migrations folder (holding modeling/ and racing/); default: `migrations_dir()`.
    """
    if not conn.autocommit:
        raise ValueError("migrate() needs an autocommit connection")
    result = MigrateResult()

    pending_sets = [discover("modeling", root)]
    if with_racing_reference:
        pending_sets.append(discover("racing", root))

    def collect_notice(diag: psycopg.errors.Diagnostic) -> None:
        result.notices.append(diag.message_primary or "")

    conn.add_notice_handler(collect_notice)
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK_KEY,))
    try:
        with conn.transaction():
            conn.execute("CREATE SCHEMA IF NOT EXISTS modeling")
            conn.execute(
                """CREATE TABLE IF NOT EXISTS modeling.schema_migrations (
                       name        text PRIMARY KEY,
                       checksum    text NOT NULL,
                       applied_at  timestamptz NOT NULL DEFAULT now(),
                       duration_ms integer NOT NULL
                   )"""
            )
        applied: dict[str, str] = dict(conn.execute("SELECT name, checksum FROM modeling.schema_migrations").fetchall())
        all_migrations = [m for group in pending_sets for m in group]
        for migration in all_migrations:  # refuse before changing anything
            recorded = applied.get(migration.name)
            if recorded is not None and recorded != migration.checksum:
                raise GiddyUpError(
                    f"migration {migration.name} changed after it was applied "
                    f"(recorded checksum {recorded[:12]}, file now {migration.checksum[:12]}); "
                    "applied migrations must not be edited: restore it and add a new migration"
                )

        if with_racing_reference:
            if racing_schema_exists(conn) and not is_dev_copy(conn):
                raise NotDevCopyError(
                    "this database already has a racing schema and is not a giddyup dev copy; "
                    "refusing --with-racing-reference (it would mark a real racing database as writable)"
                )
            result.marked_dev_copy = mark_dev_copy(conn)

        for migration in all_migrations:
            if migration.name in applied:
                result.already_applied += 1
                continue
            started = time.monotonic()
            try:
                with conn.transaction():
                    conn.execute(migration.sql.encode())  # type: ignore[arg-type]
                    conn.execute(
                        "INSERT INTO modeling.schema_migrations (name, checksum, duration_ms) VALUES (%s, %s, %s)",
                        (migration.name, migration.checksum, int((time.monotonic() - started) * 1000)),
                    )
            except psycopg.Error as exc:
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise GiddyUpError(f"migration {migration.name} failed and was rolled back: {first_line}") from exc
            result.applied.append(migration.name)
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK_KEY,))
        conn.remove_notice_handler(collect_notice)
    return result


def applied_migrations(conn: psycopg.Connection) -> list[tuple[str, str]]:
    if conn.execute("SELECT to_regclass('modeling.schema_migrations')").fetchone()[0] is None:  # type: ignore[index]
        return []
    return conn.execute("SELECT name, checksum FROM modeling.schema_migrations ORDER BY name").fetchall()
