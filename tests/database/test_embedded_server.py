"""The embedded PostgreSQL (PG_DSN unset): migrate and smoke work, `db url|status|stop` manage it,
its data survives a stop, as root it runs as `nobody` without touching the system's users, and two
processes starting it at the same moment both succeed."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from giddyup.db.embedded import EmbeddedPostgres
from tests.support.cli import run_giddyup
from tests.support.paths import REPO_ROOT

N_MODELING = len(list((REPO_ROOT / "migrations" / "modeling").glob("*.sql")))
SYSTEM_FILES = [Path("/etc/passwd"), Path("/etc/group"), Path("/etc/shadow")]


@pytest.fixture
def artifacts() -> Iterator[Path]:
    """A fresh artifacts folder `nobody` can enter (not under /tmp/pytest-of-root, which is 0700);
    the server started in it is stopped and the folder removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="gu-embedded-", dir="/var/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        try:
            EmbeddedPostgres(folder).stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def embedded_env(artifacts: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PG_DSN", "GIDDYUP_PG_DSN")}
    env["GIDDYUP_ARTIFACTS_DIR"] = str(artifacts)
    return env


def giddyup_ok(*args: str, env: dict[str, str]) -> str:
    done = run_giddyup(*args, env=env, timeout=180)
    assert done.returncode == 0, f"giddyup {' '.join(args)}: {done.stderr}"
    return done.stdout


def _running_pid(env: dict[str, str]) -> int:
    status = giddyup_ok("db", "status", env=env)
    found = re.search(r"embedded PostgreSQL running \(pid (\d+)\)", status)
    assert found, status
    return int(found.group(1))


def _gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_embedded_server_lifecycle(artifacts: Path) -> None:
    system_before = {path: path.read_bytes() for path in SYSTEM_FILES if path.exists()}
    env = embedded_env(artifacts)
    # before anything was started here: stop and status say so, and create nothing
    assert "embedded PostgreSQL was not running" in giddyup_ok("db", "stop", env=env)
    assert "embedded PostgreSQL stopped" in giddyup_ok("db", "status", env=env)
    assert list(artifacts.iterdir()) == []

    migrated = giddyup_ok("migrate", env=env)
    assert f"{N_MODELING} applied, 0 already applied" in migrated
    assert "published 2 rows: 2 inserted" in giddyup_ok("smoke", env=env)

    url = giddyup_ok("db", "url", env=env).strip()
    assert url.startswith("postgresql://postgres@/giddyup?host=")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database(), count(*) FROM modeling.signals").fetchone() == ("giddyup", 2)
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""  # type: ignore[index]  # socket only

    pid = _running_pid(env)
    data_dir = artifacts / "pg" / "data"
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody").pw_uid
        assert os.stat(f"/proc/{pid}").st_uid == nobody, "as root the server must run as nobody"
        assert data_dir.stat().st_uid == nobody

    stopped = giddyup_ok("db", "stop", env=env)
    assert "embedded PostgreSQL stopped" in stopped
    assert _gone(pid)
    assert "embedded PostgreSQL stopped, data in" in giddyup_ok("db", "status", env=env)

    # the next command starts it again, and the data is still there
    assert "published 2 rows: 0 inserted, 0 updated, 2 unchanged" in giddyup_ok("smoke", env=env)
    assert _running_pid(env) != pid

    assert {path: path.read_bytes() for path in SYSTEM_FILES if path.exists()} == system_before


def test_two_processes_starting_it_at_once_both_succeed(artifacts: Path) -> None:
    env = embedded_env(artifacts)
    command = [sys.executable, "-m", "giddyup.cli.main", "migrate"]
    processes = [
        subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    summaries = sorted(re.search(r"(\d+) applied, (\d+) already applied", out).groups() for out, _ in outputs)  # type: ignore[union-attr]
    assert summaries == [("0", str(N_MODELING)), (str(N_MODELING), "0")]
    data_dir = str(artifacts / "pg" / "data")
    postmasters = [pid for pid in _pids() if data_dir in _cmdline(pid)]
    assert postmasters == [_running_pid(env)]  # one server, not two


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
