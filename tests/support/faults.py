"""Helpers of the fault suite (tests/faults): cloned databases, the real `giddyup` program run as a
process the test can kill, waiting on a lock the test holds, row counts and row contents, and
planted secrets to look for in everything a run prints or writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import psycopg
from psycopg import conninfo

from tests.support.paths import REPO_ROOT

DAY = "2026-06-13"
SCORE_AT = "2026-06-13T07:00:00Z"
REFRESH_AT = "2026-06-13T12:10:00Z"  # the first race's decision point (off 12:15 UTC)
SETTLE_AT = "2026-06-14T01:00:00Z"

# A password no output may contain, in any encoding (the test server trusts local connections,
# so a run with it in PG_DSN still connects: it must reach libpq and nowhere else).
PASSWORD = "Fault-S3cret/p@ss:w0rd"
MLFLOW_PASSWORD = "Mlfl0w-S3cret/t@ken"


def password_forms(password: str) -> list[str]:
    """Every way a password may be printed: raw, percent-encoded (once, twice), `+` for spaces."""
    once = quote(password, safe="")
    return sorted({password, once, quote_plus(password), quote(once, safe="")})


def planted_dsns(dsn: str) -> list[str]:
    """PG_DSN for `dsn` with PASSWORD planted, in every form PG_DSN takes."""
    parts = conninfo.conninfo_to_dict(dsn)
    host, port, user, dbname = parts.get("host"), parts.get("port") or "5432", parts.get("user"), parts["dbname"]
    encoded = quote(PASSWORD, safe="")
    return [
        f"postgresql://{user}:{encoded}@{host}:{port}/{dbname}",
        f"postgres://{user}:{encoded}@{host}:{port}/{dbname}?sslmode=disable",
        f"postgresql://{host}:{port}/{dbname}?user={user}&password={encoded}",
        conninfo.make_conninfo(dsn, password=PASSWORD),  # key=value, quoted by psycopg
    ]


def planted_mlflow_uris(port: int) -> list[str]:
    encoded = quote(MLFLOW_PASSWORD, safe="")
    return [f"http://giddyup:{encoded}@127.0.0.1:{port}", f"https://giddyup:{encoded}@127.0.0.1:{port}/mlflow"]


def assert_no_secret(*texts: str, files_under: Path | None = None) -> None:
    """No form of either planted password in the texts, nor in any text file under a folder."""
    forms = password_forms(PASSWORD) + password_forms(MLFLOW_PASSWORD)
    for text in texts:
        for form in forms:
            assert form not in text, f"secret {form!r} printed:\n{text[-3000:]}"
    if files_under is not None and files_under.exists():
        for path in files_under.rglob("*"):
            if path.is_file() and path.suffix in {".log", ".txt", ".json", ".html", ".yaml", ".yml", ""}:
                content = path.read_text(encoding="utf-8", errors="replace")
                for form in forms:
                    assert form not in content, f"secret {form!r} written to {path}"


def assert_one_error_line(stderr: str) -> str:
    """stderr is exactly one line, `error: ...`, and no traceback."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-3000:]
    return lines[0]


def giddyup_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "giddyup.cli.main", *args]


def run(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(giddyup_argv(*args), capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO_ROOT)


def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        giddyup_argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT
    )


@dataclass(frozen=True)
class Waiter:
    pid: int  # the backend's process id
    has_written: bool  # the backend's transaction holds a transaction id: it has written rows


def wait_for_lock_wait(dsn: str, table: str, process: subprocess.Popen[str], timeout: float = 180) -> Waiter:
    """Block until a backend of `dsn`'s database waits for a lock on `table` or one of its
    partitions (held by the test)."""
    dbname = conninfo.conninfo_to_dict(dsn)["dbname"]
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                """SELECT a.pid, a.backend_xid IS NOT NULL
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE NOT l.granted AND l.locktype = 'relation' AND a.datname = %s
                     AND (l.relation = %s::regclass
                          OR l.relation IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass))""",
                (dbname, table, table),
            ).fetchone()
            if row is not None:
                return Waiter(int(row[0]), bool(row[1]))
            if process.poll() is not None:
                _out, err = process.communicate()
                raise AssertionError(f"the command ended ({process.returncode}) before waiting on {table}:\n{err}")
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"no backend waited on {table} within {timeout}s")


def kill_9(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


def wait_backend_gone(dsn: str, pid: int, timeout: float = 60) -> None:
    """The killed command's server process ends (rolling back) once it notices the lost client."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (0,):
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} still there after {timeout}s")


def tables(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """SELECT table_schema || '.' || table_name FROM information_schema.tables
               WHERE table_schema IN ('racing', 'modeling', 'sim') AND table_type = 'BASE TABLE' ORDER BY 1"""
        ).fetchall()
    return [r[0] for r in rows]


def row_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables(dsn)}  # type: ignore[index]


def rows(dsn: str, table: str, where: str = "true") -> list[tuple]:
    """The table's rows without generated columns (serial/identity ids, now() stamps), sorted: what
    a clean run and a re-run must agree on (sequences are not rolled back by a killed run)."""
    schema, name = table.split(".")
    with psycopg.connect(dsn) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_schema = %s AND table_name = %s
                     AND is_identity = 'NO' AND coalesce(column_default, '') NOT LIKE 'nextval%%'
                     AND coalesce(column_default, '') NOT IN ('now()', 'CURRENT_TIMESTAMP', 'clock_timestamp()')
                     AND column_name NOT IN ('bet_id', 'signal_id', 'snapshot_id', 'decision_id')
                   ORDER BY ordinal_position""",
                (schema, name),
            ).fetchall()
        ]
        listed = ", ".join(f'"{c}"' for c in columns)
        fetched = conn.execute(f"SELECT {listed} FROM {table} WHERE {where}").fetchall()
    return sorted(fetched, key=repr)


MODELING_TABLES = (
    "modeling.signals",
    "modeling.price_snapshots",
    "modeling.bets",
    "modeling.paper_decisions",
    "modeling.scored_days",
)


def modeling_state(dsn: str, *, manual_bets: bool = True) -> dict[str, list[tuple]]:
    """The rows of the tables the race-day jobs write (manual bets left out on request)."""
    return {
        t: rows(dsn, t, "true" if manual_bets or t != "modeling.bets" else "source <> 'manual'")
        for t in MODELING_TABLES
    }
