"""The `giddyup` program as a user runs it (a real subprocess): migrate and smoke, and the errors a
user can cause: one line on stderr saying what to do, no traceback (unless --verbose), no secret."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from giddyup.db.embedded import _bin_dir
from tests.support.cli import run_giddyup
from tests.support.paths import REPO_ROOT

SECRET = "S3cretPw"


def closed_port() -> int:
    """A local TCP port nothing listens on (bound and released just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def env_with(dsn: str, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PG_DSN=dsn, GIDDYUP_ARTIFACTS_DIR=str(tmp_path / "artifacts"))
    return env


def assert_one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0]


def _rows(dsn: str) -> tuple[list[tuple], list[tuple]]:
    with psycopg.connect(dsn) as conn:
        models = conn.execute("SELECT m.*, m.xmin::text FROM modeling.models m ORDER BY model_id").fetchall()
        signals = conn.execute("SELECT s.*, s.xmin::text FROM modeling.signals s ORDER BY signal_id").fetchall()
    return models, signals


def test_migrate_then_smoke_twice(fresh_dsn: str, giddyup_env) -> None:  # type: ignore[no-untyped-def]
    env = giddyup_env(fresh_dsn)
    n_files = len(list((REPO_ROOT / "migrations" / "modeling").glob("*.sql")))

    migrated = run_giddyup("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied modeling/001_models_and_signals.sql" in migrated.stdout
    assert f"{n_files} applied, 0 already applied" in migrated.stdout
    again = run_giddyup("migrate", env=env)
    assert again.returncode == 0 and f"0 applied, {n_files} already applied" in again.stdout

    first = run_giddyup("smoke", env=env)
    assert first.returncode == 0, first.stderr
    assert "published 2 rows: 2 inserted, 0 updated, 0 unchanged" in first.stdout
    rows_after_first = _rows(fresh_dsn)
    models, signals = rows_after_first
    assert [(m[1], m[2], m[3]) for m in models] == [("giddyup_smoke", "0", "development")]
    assert sorted((s[2], s[3], s[5]) for s in signals) == [(-1, -2, 0.4), (-1, -1, 0.6)]

    second = run_giddyup("smoke", env=env)
    assert second.returncode == 0, second.stderr
    assert "published 2 rows: 0 inserted, 0 updated, 2 unchanged" in second.stdout
    assert _rows(fresh_dsn) == rows_after_first  # every column and xmin: nothing rewritten
    for out in (first.stdout, second.stdout):  # both rows printed
        assert "modeling.models" in out and "giddyup_smoke" in out and "development" in out
        assert "modeling.signals" in out
        assert re.search(r"│ -1\s+│ -1\s+│ \d+\s+│ 0\.6000\s+│ 1\.6667", out), out
        assert re.search(r"│ -1\s+│ -2\s+│ \d+\s+│ 0\.4000\s+│ 2\.5000", out), out
    assert second.stderr == ""


def test_unreachable_server(tmp_path: Path) -> None:
    port = closed_port()
    done = run_giddyup("migrate", env=env_with(f"postgresql://postgres@127.0.0.1:{port}/giddyup", tmp_path))
    line = assert_one_line_error(done)
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port}/giddyup" in line
    assert "is the server running?" in line


@pytest.mark.parametrize(
    "args",
    [("migrate",), ("smoke",), ("db", "status"), ("db", "url"), ("--verbose", "smoke"), ("--verbose", "migrate")],
    ids=lambda a: " ".join(a),
)
def test_password_in_dsn_is_never_printed(args: tuple[str, ...], tmp_path: Path) -> None:
    dsn = f"postgresql://postgres:{SECRET}@127.0.0.1:{closed_port()}/x"
    done = run_giddyup(*args, env=env_with(dsn, tmp_path))
    assert SECRET not in done.stdout + done.stderr
    assert dsn not in done.stdout + done.stderr
    assert done.returncode != 0 or args == ("db", "status")
    if args == ("db", "status"):
        assert "PG_DSN is set: giddyup uses 127.0.0.1:" in done.stdout


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://postgres:{SECRET}@127.0.0.1/x?no_such_option=1",
        f"host=127.0.0.1 password {SECRET}",
        f"host=127.0.0.1 dbname=x password={SECRET} port=notaport",
    ],
    ids=["bad URI option", "missing =", "bad port"],
)
def test_malformed_dsn_is_one_line_without_the_password(dsn: str, tmp_path: Path) -> None:
    done = run_giddyup("smoke", env=env_with(dsn, tmp_path))
    assert SECRET not in done.stdout + done.stderr
    assert "PG_DSN" in assert_one_line_error(done)
    verbose = run_giddyup("--verbose", "smoke", env=env_with(dsn, tmp_path))
    assert verbose.returncode != 0 and "Traceback" in verbose.stderr
    assert SECRET not in verbose.stdout + verbose.stderr


def test_missing_table_says_to_run_migrate(fresh_dsn: str, tmp_path: Path) -> None:
    done = run_giddyup("smoke", env=env_with(fresh_dsn, tmp_path))
    line = assert_one_line_error(done)
    assert 'relation "modeling.models" does not exist' in line
    assert "run `giddyup migrate`" in line


def test_verbose_shows_the_traceback(fresh_dsn: str, tmp_path: Path) -> None:
    unexpected = run_giddyup("--verbose", "smoke", env=env_with(fresh_dsn, tmp_path))  # a database error
    assert unexpected.returncode != 0
    assert "Traceback" in unexpected.stderr and "UndefinedTable" in unexpected.stderr

    expected = run_giddyup(
        "--verbose", "migrate", env=env_with(f"postgresql://postgres@127.0.0.1:{closed_port()}/x", tmp_path)
    )  # a GiddyUpError
    assert expected.returncode != 0
    assert "Traceback" in expected.stderr and "connection_error" in expected.stderr
    assert expected.stderr.strip().splitlines()[-1].startswith("error: cannot connect to PostgreSQL")
    assert expected.stdout == ""


# --- a throwaway server with password authentication --------------------------------------------


@pytest.fixture(scope="module")
def password_server() -> Iterator[tuple[int, str]]:
    """A PostgreSQL cluster (the embedded binaries) that wants a SCRAM password; yields (port, password)."""
    password = "RightPw-41"
    base = Path(tempfile.mkdtemp(prefix="gu-pwtest-", dir="/var/tmp"))  # `nobody` can enter /var/tmp
    run_as = "nobody" if os.geteuid() == 0 else None
    base.chmod(0o755)
    data, pwfile, log = base / "data", base / "pwfile", base / "log"
    pwfile.write_text(password + "\n")
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in (base, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = closed_port()

    def pg(*args: str) -> None:
        subprocess.run(
            [str(_bin_dir() / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            user=run_as,
            cwd=base,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
            timeout=120,
        )

    try:
        pg("initdb", "-D", str(data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}",
           "--encoding=UTF8", "--no-instructions")  # fmt: skip
        pg("pg_ctl", "-D", str(data), "-l", str(log), "-w", "start",
           "-o", f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off")  # fmt: skip
        yield port, password
    finally:
        if (data / "postmaster.pid").exists():
            pg("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test_wrong_password_says_to_check_it(password_server: tuple[int, str], tmp_path: Path) -> None:
    port, password = password_server
    good = run_giddyup("migrate", env=env_with(f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres", tmp_path))
    assert good.returncode == 0, good.stderr  # the server works with the right password
    assert password not in good.stdout + good.stderr

    done = run_giddyup("smoke", env=env_with(f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/postgres", tmp_path))
    line = assert_one_line_error(done)
    assert SECRET not in done.stdout + done.stderr
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port}/postgres" in line
    assert 'password authentication failed for user "postgres"' in line
    assert line.endswith("check the user and password in PG_DSN")

    no_password = run_giddyup("smoke", env=env_with(f"postgresql://postgres@127.0.0.1:{port}/postgres", tmp_path))
    assert "check the user and password in PG_DSN" in assert_one_line_error(no_password)
