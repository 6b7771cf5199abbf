"""kill -9 of each writing command inside its transaction, then an identical re-run.

Each test clones a template database, takes a SHARE lock on a table the command writes last (reads
still pass: the command runs until that write), starts the real `giddyup` process, waits until
pg_locks shows its backend waiting on the lock (no sleeps), and kills the process with SIGKILL.
Then nothing may be left: every table's row count is as before, and no scored runners file was
published. A re-run must give the rows of a clean run.

`settle` is one UPDATE of modeling.bets: its kill lands at that write, before any row changed;
the other commands have written rows in their open transaction when killed (asserted through
the backend's transaction id).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.support.faults import (
    DAY,
    REFRESH_AT,
    SCORE_AT,
    SETTLE_AT,
    assert_no_secret,
    kill_9,
    modeling_state,
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


def _runners(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT runner_key, dec, pos_raw FROM racing.runners ORDER BY runner_key").fetchall()


def _kill_inside(world, template: str, args: tuple[str, ...], table: str, artifacts: Path, form: int):
    """Clone `template`, kill the command while it waits on `table`; returns (dsn, env, before)."""
    dsn = world.clone(template)
    before = row_counts(dsn)
    env = world.env(planted_dsns(dsn)[form], artifacts)
    with psycopg.connect(dsn) as holder:
        holder.execute(f"LOCK TABLE {table} IN SHARE MODE")
        process = start(*args, env=env)
        waiter = wait_for_lock_wait(dsn, table, process)
        kill_9(process)
        holder.rollback()
    wait_backend_gone(dsn, waiter.pid)
    assert row_counts(dsn) == before, "a killed run left rows behind"
    return dsn, env, waiter


def test_kill_score_mid_transaction(fault_world, tmp_path: Path) -> None:
    args = ("score", "--date", DAY, "--at", SCORE_AT)
    dsn, env, waiter = _kill_inside(fault_world, fault_world.trained, args, "modeling.scored_days", tmp_path / "a", 0)
    assert waiter.has_written  # signals and snapshots were inserted when the process died
    runners = tmp_path / "a" / "scoring" / DAY / "runners.parquet"
    assert not runners.exists(), "runners.parquet published by a transaction that never committed"
    again = run(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert runners.is_file()
    assert_no_secret(again.stdout, again.stderr, files_under=tmp_path)
    assert modeling_state(dsn) == modeling_state(fault_world.scored)


def test_kill_refresh_mid_transaction(fault_world, tmp_path: Path) -> None:
    args = ("refresh", "--at", REFRESH_AT)
    dsn, env, waiter = _kill_inside(
        fault_world, fault_world.scored, args, "modeling.paper_decisions", tmp_path / "a", 1
    )
    assert waiter.has_written  # repriced signals, snapshots and the bets were in
    again = run(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert_no_secret(again.stdout, again.stderr, files_under=tmp_path)
    assert modeling_state(dsn) == modeling_state(fault_world.refreshed, manual_bets=False)


def test_kill_settle_mid_transaction(fault_world, tmp_path: Path) -> None:
    args = ("settle", "--date", DAY, "--at", SETTLE_AT)
    clean = fault_world.clone(fault_world.refreshed)
    done = run(*args, env=fault_world.env(clean, tmp_path / "clean"))
    assert done.returncode == 0 and ", 0 settled" not in done.stdout, done.stdout + done.stderr
    dsn, env, _ = _kill_inside(fault_world, fault_world.refreshed, args, "modeling.bets", tmp_path / "a", 2)
    again = run(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert_no_secret(again.stdout, again.stderr, files_under=tmp_path)
    assert modeling_state(dsn) == modeling_state(clean)


def test_kill_load_hkjc_mid_transaction(fault_world, tmp_path: Path) -> None:
    args = ("load", "hkjc", str(HKJC))
    clean = fault_world.clone(fault_world.trained)
    assert run(*args, env=fault_world.env(clean, tmp_path / "clean")).returncode == 0
    dsn, env, waiter = _kill_inside(fault_world, fault_world.trained, args, "racing.runners", tmp_path / "a", 3)
    assert waiter.has_written  # courses and horses were in
    again = run(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert_no_secret(again.stdout, again.stderr, files_under=tmp_path)
    assert row_counts(dsn) == row_counts(clean)
    assert _runners(dsn) == _runners(clean)
