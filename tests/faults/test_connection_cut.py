"""A connection to PostgreSQL cut mid-run, through a loopback TCP proxy written here.

`load hkjc` connects through the proxy; the test holds a SHARE lock on racing.runners so the
command waits inside its transaction (courses and horses written), then closes every proxied
socket. The command must fail with one line (no traceback, no secret), nothing may be left, and a
re-run straight to the server must give the rows of a clean run.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from tests.support.faults import (
    assert_no_secret,
    assert_one_error_line,
    planted_dsns,
    row_counts,
    run,
    start,
    wait_backend_gone,
    wait_for_lock_wait,
)
from tests.support.paths import FIXTURES

pytestmark = pytest.mark.faults

HKJC = FIXTURES / "hkjc" / "hkjc_three_races.csv"


class Proxy:
    """127.0.0.1:<port> → the PostgreSQL server, one pair of pump threads per connection."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        """Close the listener and every proxied socket (both directions at once)."""
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def test_a_connection_cut_mid_run_leaves_nothing_and_says_so_in_one_line(fault_world, tmp_path: Path) -> None:
    args = ("load", "hkjc", str(HKJC))
    clean = fault_world.clone(fault_world.trained)
    assert run(*args, env=fault_world.env(clean, tmp_path / "clean")).returncode == 0
    dsn = fault_world.clone(fault_world.trained)
    before = row_counts(dsn)
    parts = conninfo.conninfo_to_dict(dsn)
    proxy = Proxy(str(parts.get("host") or "127.0.0.1"), int(parts.get("port") or 5432))
    via_proxy = planted_dsns(conninfo.make_conninfo(dsn, host="127.0.0.1", port=str(proxy.port)))[0]
    env = fault_world.env(via_proxy, tmp_path / "a")
    with psycopg.connect(dsn) as holder:
        holder.execute("LOCK TABLE racing.runners IN SHARE MODE")
        process = start(*args, env=env)
        waiter = wait_for_lock_wait(dsn, "racing.runners", process)
        assert waiter.has_written
        proxy.cut()
        out, err = process.communicate(timeout=120)
        holder.rollback()
    assert process.returncode != 0
    line = assert_one_error_line(err)
    assert "database error" in line and "re-run" in line
    assert_no_secret(out, err, files_under=tmp_path)
    wait_backend_gone(dsn, waiter.pid)
    assert row_counts(dsn) == before
    again = run(*args, env=fault_world.env(planted_dsns(dsn)[0], tmp_path / "a"))
    assert again.returncode == 0, again.stderr
    assert row_counts(dsn) == row_counts(clean)
