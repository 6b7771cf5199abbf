"""Database access: connections (PG_DSN or the embedded server), migrations, dev-copy guard."""

from giddyup.db.connect import connect, connection, database_dsn

__all__ = ["connect", "connection", "database_dsn"]
