"""Real PostgreSQL databases for tests: the server (PG_DSN, else the embedded one), databases
created per run or per test and dropped afterwards, and migrating them."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
from psycopg import conninfo

from tests.support.paths import REPO_ROOT


def server_dsn() -> str:
    """DSN of the maintenance database of the test server: PG_DSN's server, else the embedded one."""
    dsn = os.environ.get("PG_DSN", "").strip()
    if dsn:
        return conninfo.make_conninfo(dsn, dbname="postgres")
    from giddyup.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(REPO_ROOT / ".giddyup").ensure_running().dsn("postgres")


class DatabaseFactory:
    """Creates uniquely named databases on the test server and drops them afterwards."""

    def __init__(self, server_dsn: str) -> None:
        self.server_dsn = server_dsn
        self.created: list[str] = []

    def create(self, prefix: str = "gu_test") -> str:
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return conninfo.make_conninfo(self.server_dsn, dbname=name)

    def copy(self, source_dsn: str, prefix: str = "gu_copy") -> str:
        """A new database copied from `source_dsn`'s (CREATE DATABASE ... TEMPLATE; the source must
        have no open connection), dropped with the others."""
        source = conninfo.conninfo_to_dict(source_dsn)["dbname"]
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        self.created.append(name)
        return conninfo.make_conninfo(self.server_dsn, dbname=name)

    def drop_all(self) -> None:
        with psycopg.connect(self.server_dsn, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def migrate_dsn(dsn: str, *, with_racing_reference: bool = True) -> None:
    from giddyup.db.migrate import migrate

    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn, with_racing_reference=with_racing_reference)


def migrations_up_to(last: str, into: Path) -> Path:
    """A copy of migrations/ under `into` whose modeling files stop at number `last` (e.g. "009"):
    to build a database as an older release left it, then migrate it with rows in place."""
    from giddyup.db.migrate import migrations_dir

    root = into / "migrations"
    shutil.copytree(migrations_dir(), root)
    for path in (root / "modeling").glob("*.sql"):
        if path.name[:3] > last:
            path.unlink()
    return root
