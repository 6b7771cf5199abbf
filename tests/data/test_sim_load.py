"""`giddyup sim` and `giddyup results` against a real PostgreSQL: reproducible row for row,
idempotent, refusing databases that are not dev copies, truth kept in the sim schema."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import psycopg
import pytest

from giddyup.sim.truth import true_probabilities
from tests.support.cli import run_giddyup
from tests.support.databases import DatabaseFactory, migrate_dsn

TODAY = "2025-06-01"
SIM_ARGS = ("sim", "--preset", "small", "--seed", "11", "--today", TODAY)
TABLES = {
    "racing.races": "race_id",
    "racing.runners": "runner_id",
    "racing.live_prices": "runner_id, ts",
    "racing.horses": "horse_id",
    "racing.jockeys": "jockey_id",
    "racing.trainers": "trainer_id",
    "racing.owners": "owner_id",
    "racing.courses": "course_id",
    "sim.runner_truth": "runner_id",
    "sim.race_truth": "race_id",
    "sim.world": "seed",
}


def _env(dsn: str, tmp: Path) -> dict[str, str]:
    return {**os.environ, "PG_DSN": dsn, "GIDDYUP_ARTIFACTS_DIR": str(tmp)}


def _run(env: dict[str, str], *args: str) -> str:
    done = run_giddyup(*args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _dump(dsn: str, with_xmin: bool = False) -> dict[str, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        out = {}
        for table, order in TABLES.items():
            cols = "xmin::text, t.*" if with_xmin else "t.*"
            out[table] = conn.execute(f"SELECT {cols} FROM {table} t ORDER BY {order}").fetchall()
        return out


@pytest.fixture(scope="module")
def world_dsn(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, str]]:
    """A dev copy holding the small world with today's card (read-only for the tests using it)."""
    dsn = database_factory.create("gu_sim")
    migrate_dsn(dsn)
    env = _env(dsn, tmp_path_factory.mktemp("sim"))
    _run(env, *SIM_ARGS)
    return dsn, env


def test_same_seed_same_rows_ids_included_and_rerun_changes_nothing(
    world_dsn: tuple[str, dict[str, str]], database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    dsn, _ = world_dsn
    other = database_factory.create("gu_sim")
    migrate_dsn(other)
    _run(_env(other, tmp_path), *SIM_ARGS)
    first = _dump(dsn)
    assert first == _dump(other)
    assert len(first["racing.runners"]) > 5000 and len(first["racing.live_prices"]) > 1000

    before = _dump(other, with_xmin=True)
    _run(_env(other, tmp_path), *SIM_ARGS)
    assert _dump(other, with_xmin=True) == before  # not even rewritten with the same values


def test_another_world_is_not_mixed_into_a_loaded_one(world_dsn: tuple[str, dict[str, str]]) -> None:
    dsn, env = world_dsn
    before = _dump(dsn)
    done = run_giddyup("sim", "--preset", "small", "--seed", "12", env=env)
    assert done.returncode == 1
    assert "already holds another simulated world (seed 11" in done.stderr and "--replace" in done.stderr
    assert _dump(dsn) == before


def test_refuses_a_database_that_is_not_a_dev_copy(database_factory: DatabaseFactory, tmp_path: Path) -> None:
    plain = database_factory.create("gu_sim")
    migrate_dsn(plain, with_racing_reference=False)
    for args in (("sim", "--preset", "small"), ("results", "--date", TODAY)):
        done = run_giddyup(*args, env=_env(plain, tmp_path))
        assert done.returncode == 4, done.stderr
        assert f"`giddyup {args[0]}` writes racing.* and this database is not a giddyup dev copy" in done.stderr
        assert "Traceback" not in done.stderr


def test_results_refuses_a_dev_copy_without_a_simulated_world(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    dsn = database_factory.create("gu_sim")
    migrate_dsn(dsn)
    done = run_giddyup("results", "--date", TODAY, env=_env(dsn, tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: `giddyup results` works on a simulated world only, and this database holds none; "
        "make one with `giddyup sim --today YYYY-MM-DD`"
    )


def test_truth_lives_in_the_sim_schema_and_sums_to_one(world_dsn: tuple[str, dict[str, str]]) -> None:
    dsn, _ = world_dsn
    with psycopg.connect(dsn) as conn:
        bad = conn.execute(
            """SELECT count(*) FROM (SELECT race_id, sum(p_true) s, count(*) n FROM sim.runner_truth WHERE starter
               GROUP BY race_id) x WHERE abs(s - 1) > 1e-9"""
        ).fetchone()[0]
        assert bad == 0
        missing = conn.execute(
            """SELECT count(*) FROM racing.runners ru LEFT JOIN sim.runner_truth t USING (runner_id)
               WHERE t.runner_id IS NULL OR (ru.pos_raw IS NOT NULL AND NOT t.starter)"""
        ).fetchone()[0]
        assert missing == 0
        nr = conn.execute("SELECT count(*), count(p_true) FROM sim.runner_truth WHERE NOT starter").fetchone()
        assert nr[0] > 0 and nr[1] == 0
        # Nothing of the truth in racing.*
        columns = {
            r[0]
            for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'racing'")
        }
        assert not columns & {"p_true", "strength", "p_market"}
        world = conn.execute("SELECT seed, preset, today FROM sim.world").fetchone()
        assert world == (11, "small", dt.date(2025, 6, 1))
        races = [
            r[0] for r in conn.execute("SELECT race_id FROM racing.races WHERE NOT prelim ORDER BY race_id LIMIT 25")
        ]
        oracle = true_probabilities(conn, races)
    assert sorted(set(oracle["race_id"].to_list())) == races
    sums = oracle.group_by("race_id").agg(pl.col("p_true").sum())
    assert ((sums["p_true"] - 1).abs() < 1e-9).all()


def test_todays_card_live_prices_then_results(
    world_dsn: tuple[str, dict[str, str]], database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    # Results change the database: work on a copy of the world of our own.
    dsn = database_factory.create("gu_sim")
    migrate_dsn(dsn)
    env = _env(dsn, tmp_path)
    _run(env, *SIM_ARGS)
    with psycopg.connect(dsn) as conn:
        card = conn.execute(
            """SELECT count(*), bool_and(ra.prelim), bool_and(ru.pos_raw IS NULL AND ru.dec IS NULL AND ru.win_bsp IS NULL),
                      bool_and(ru.lbs IS NOT NULL AND ru.best_odds IS NOT NULL)
               FROM racing.runners ru JOIN racing.races ra USING (race_id, race_date) WHERE ru.race_date = %s""",
            (TODAY,),
        ).fetchone()
        assert card[0] > 50 and card[1:] == (True, True, True)
        late = conn.execute(
            """SELECT count(*) FROM racing.live_prices lp JOIN racing.races ra ON ra.race_id = lp.race_id
               WHERE lp.ts >= (ra.race_date + ra.off_time) AT TIME ZONE 'Europe/London'"""
        ).fetchone()[0]
        assert late == 0
        without_ticks = conn.execute(
            """SELECT count(*) FROM racing.runners ru WHERE ru.race_date = %s
               AND NOT EXISTS (SELECT 1 FROM racing.live_prices lp WHERE lp.runner_id = ru.runner_id)""",
            (TODAY,),
        ).fetchone()[0]
        assert without_ticks == 0
        after_withdrawal = conn.execute(
            """SELECT count(*) FROM racing.live_prices lp JOIN sim.runner_truth t USING (runner_id)
               WHERE NOT t.starter AND lp.ts >= t.withdrawn_at"""
        ).fetchone()[0]
        assert after_withdrawal == 0

    out = _run(env, "results", "--date", TODAY)
    assert "results for 2025-06-01" in out
    before = _dump(dsn, with_xmin=True)
    _run(env, "results", "--date", TODAY)
    assert _dump(dsn, with_xmin=True) == before  # a second run changes nothing

    with psycopg.connect(dsn) as conn:
        races = conn.execute(
            """SELECT ra.race_id, ra.prelim, ra.ran,
                      count(*) FILTER (WHERE ru.pos_raw IS NOT NULL) AS starters,
                      count(*) FILTER (WHERE ru.win_flag) AS winners,
                      count(*) FILTER (WHERE ru.pos_raw = '1DH') AS dead_heat_winners,
                      bool_and(ru.win_bsp IS NOT NULL AND ru.dec IS NOT NULL) FILTER (WHERE ru.pos_raw IS NOT NULL) AS priced
               FROM racing.races ra JOIN racing.runners ru USING (race_id, race_date)
               WHERE ra.race_date = %s GROUP BY ra.race_id, ra.prelim, ra.ran""",
            (TODAY,),
        ).fetchall()
        assert races and all(not prelim for _, prelim, *_ in races)
        for _, _, ran, starters, winners, dh, priced in races:
            assert ran == starters and priced
            assert winners == 1 or winners == dh >= 2
        non_runners = conn.execute(
            """SELECT count(*), bool_and(ru.pos_raw IS NULL AND ru.dec IS NULL AND ru.win_bsp IS NULL)
               FROM racing.runners ru JOIN sim.runner_truth t USING (runner_id)
               WHERE ru.race_date = %s AND NOT t.starter""",
            (TODAY,),
        ).fetchone()
        assert non_runners[0] > 0 and non_runners[1]
    # The history and the rest of the world are untouched by results and by a re-run of sim.
    _run(env, *SIM_ARGS)
    assert _dump(dsn, with_xmin=True) == before


def test_compare_prints_sim_next_to_real(world_dsn: tuple[str, dict[str, str]]) -> None:
    _, env = world_dsn
    out = _run(env, "sim", "compare")
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 3}
    bsp = rows["BSP pseudo-R² (McFadden, 1/price normalised)"].split("│")
    sim_r2, real_r2 = float(bsp[2]), float(bsp[3])
    assert real_r2 == pytest.approx(0.186, abs=0.0015)  # the figure of ../shared/data/README.md
    assert 0.10 < sim_r2 < 0.30
    assert (
        "BSP favourite win rate" in rows
        and "BSP races with 8-10 runners" in rows
        and "oracle (true p) pseudo-R²" in rows
    )
