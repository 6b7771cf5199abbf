"""Writers run at the same time: score with refresh, settle with settle, migrate with migrate.
No duplicate, no deadlock or lost update: both runs succeed and the result is a sequential run's."""

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
    modeling_state,
    planted_dsns,
    row_counts,
    start,
)

pytestmark = pytest.mark.faults


def _together(env: dict[str, str], *commands: tuple[str, ...]) -> list[str]:
    processes = [start(*args, env=env) for args in commands]
    outputs = []
    for process, args in zip(processes, commands, strict=True):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{args}: {err[-3000:]}"
        assert_no_secret(out, err)
        outputs.append(out)
    return outputs


def _no_duplicates(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        for table, key in (
            ("modeling.signals", "race_id, horse_id, as_of"),
            ("modeling.bets", "race_id, horse_id, side, source"),
            ("modeling.paper_decisions", "race_id, source"),
            ("modeling.scored_days", "race_date, model_name"),
            ("modeling.schema_migrations", "name"),
        ):
            dupes = conn.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY {key} HAVING count(*) > 1) d"
            ).fetchone()
            assert dupes == (0,), table


def test_score_and_refresh_together(fault_world, tmp_path: Path) -> None:
    """Score again at the morning instant while the first decision's refresh runs: the same rows as
    score, then refresh (the `refreshed` template; results do not touch modeling.*)."""
    dsn = fault_world.clone(fault_world.scored)
    env = fault_world.env(planted_dsns(dsn)[0], tmp_path / "a")
    _together(env, ("score", "--date", DAY, "--at", SCORE_AT), ("refresh", "--at", REFRESH_AT))
    _no_duplicates(dsn)
    assert modeling_state(dsn) == modeling_state(fault_world.refreshed, manual_bets=False)


def test_settle_and_settle_together(fault_world, tmp_path: Path) -> None:
    sequential = fault_world.clone(fault_world.refreshed)
    _together(fault_world.env(sequential, tmp_path / "s"), ("settle", "--date", DAY, "--at", SETTLE_AT))
    dsn = fault_world.clone(fault_world.refreshed)
    env = fault_world.env(planted_dsns(dsn)[3], tmp_path / "a")
    outputs = _together(env, *[("settle", "--date", DAY, "--at", SETTLE_AT)] * 2)
    changed = sorted(int(out.split(" rows changed")[0].rsplit(" ", 1)[-1]) for out in outputs)
    assert changed[0] == 0 and changed[1] > 0  # one run settled, the other found nothing left to do
    _no_duplicates(dsn)
    assert modeling_state(dsn) == modeling_state(sequential)


def test_migrate_and_migrate_together(fault_world, tmp_path: Path) -> None:
    dsn = fault_world.factory.create("gu_fault_migrate")
    env = fault_world.env(planted_dsns(dsn)[1], tmp_path / "a")
    _together(env, ("migrate", "--with-racing-reference"), ("migrate", "--with-racing-reference"))
    _no_duplicates(dsn)
    with psycopg.connect(dsn) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM modeling.schema_migrations ORDER BY name")]
    with psycopg.connect(fault_world.trained) as conn:
        expected = [r[0] for r in conn.execute("SELECT name FROM modeling.schema_migrations ORDER BY name")]
    assert names == expected
    modeling = [t for t in row_counts(fault_world.trained) if t.startswith("modeling.")]
    assert [t for t in row_counts(dsn) if t.startswith("modeling.")] == modeling
