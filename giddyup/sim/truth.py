"""The `sim` schema: what only the simulator knows, kept apart from racing.* so no feature can
read it by accident.

- sim.world: one row, the seed and parameters the world was made from;
- sim.race_truth: per race, the hidden race conditions the result is drawn from;
- sim.runner_truth: per declared runner, the true win probability (starters; sums to 1 per race),
  the strength it comes from, the market's calibrated belief at the off, and the parts of the
  strength in lbs (for diagnostics), plus the at-the-off prices of races not yet resulted.

`true_probabilities()` is the oracle other stages call to measure a model against the physical limit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import polars as pl
import psycopg

from giddyup.errors import GiddyUpError

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS sim;
CREATE TABLE IF NOT EXISTS sim.world (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seed        bigint NOT NULL,
    start_date  date NOT NULL,
    days        integer NOT NULL,
    today       date,
    preset      text NOT NULL,
    scale       double precision NOT NULL,
    params      jsonb NOT NULL,
    races       integer NOT NULL,
    runners     integer NOT NULL
);
CREATE TABLE IF NOT EXISTS sim.race_truth (
    race_id        bigint PRIMARY KEY,
    race_date      date NOT NULL,
    race_key       text NOT NULL,
    race_type_code integer NOT NULL,
    going_index    double precision NOT NULL,
    course_speed   double precision NOT NULL,
    par            double precision NOT NULL,
    prize          double precision NOT NULL
);
CREATE TABLE IF NOT EXISTS sim.runner_truth (
    runner_id       bigint PRIMARY KEY,
    race_id         bigint NOT NULL,
    race_date       date NOT NULL,
    horse_id        bigint NOT NULL,
    starter         boolean NOT NULL,
    p_true          double precision,
    strength        double precision NOT NULL,
    lbs_per_unit    double precision NOT NULL,
    weight_adj      double precision NOT NULL,
    jump_skill      double precision NOT NULL,
    p_market        double precision,
    c_ability       double precision,
    c_fit           double precision,
    c_draw          double precision,
    c_connections   double precision,
    c_fitness       double precision,
    c_private       double precision,
    c_weight        double precision,
    withdrawn_at    timestamptz,
    close_dec       double precision,
    close_win_bsp   double precision,
    close_win_ppwap double precision,
    close_win_ppmax double precision,
    close_win_ppmin double precision,
    close_win_morningwap  double precision,
    close_win_morning_vol double precision,
    close_win_pre_vol     double precision,
    close_win_ip_vol      double precision,
    close_place_bsp       double precision
);
CREATE INDEX IF NOT EXISTS runner_truth_race ON sim.runner_truth (race_id);
CREATE INDEX IF NOT EXISTS runner_truth_date ON sim.runner_truth (race_date);
"""

SIM_TABLES = ("sim.runner_truth", "sim.race_truth", "sim.world")


SCHEMA_VERSION = "giddyup sim schema 2"  # bump when a table changes; older schemas need --replace


def ensure_sim_schema(conn: psycopg.Connection, *, reset: bool = False) -> None:
    """Create the sim schema if missing (or drop and recreate it with `reset`)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('giddyup.sim.schema'))")
        if reset:
            conn.execute("DROP SCHEMA IF EXISTS sim CASCADE")
        existed = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = 'sim'"
        ).fetchone()
        if existed is not None and existed[0] != SCHEMA_VERSION:
            raise GiddyUpError(
                f"the sim schema in this database was made by another giddyup version ({existed[0]!r}); "
                "re-run `giddyup sim` with --replace"
            )
        conn.execute(SCHEMA_SQL.encode())  # type: ignore[arg-type]
        conn.execute(f"COMMENT ON SCHEMA sim IS '{SCHEMA_VERSION}'")


def sim_schema_exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('sim.world') IS NOT NULL").fetchone()[0]  # type: ignore[index]


def read_world(conn: psycopg.Connection) -> dict[str, Any] | None:
    """The stored world's parameters, or None when this database holds no simulated world."""
    if not sim_schema_exists(conn):
        return None
    row = conn.execute(
        "SELECT seed, start_date, days, today, preset, scale, params, races, runners FROM sim.world"
    ).fetchone()
    if row is None:
        return None
    keys = ("seed", "start_date", "days", "today", "preset", "scale", "params", "races", "runners")
    return dict(zip(keys, row, strict=True))


def write_world_row(
    conn: psycopg.Connection, spec_json: dict[str, Any], params: dict[str, Any], races: int, runners: int
) -> None:
    conn.execute(
        """INSERT INTO sim.world (seed, start_date, days, today, preset, scale, params, races, runners)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (only_row) DO UPDATE SET
               seed = EXCLUDED.seed, start_date = EXCLUDED.start_date, days = EXCLUDED.days, today = EXCLUDED.today,
               preset = EXCLUDED.preset, scale = EXCLUDED.scale, params = EXCLUDED.params,
               races = EXCLUDED.races, runners = EXCLUDED.runners
           WHERE (sim.world.seed, sim.world.start_date, sim.world.days, sim.world.today, sim.world.preset,
                  sim.world.scale, sim.world.params, sim.world.races, sim.world.runners)
                 IS DISTINCT FROM (EXCLUDED.seed, EXCLUDED.start_date, EXCLUDED.days, EXCLUDED.today, EXCLUDED.preset,
                  EXCLUDED.scale, EXCLUDED.params, EXCLUDED.races, EXCLUDED.runners)""",
        (
            spec_json["seed"],
            spec_json["start"],
            spec_json["days"],
            spec_json["today"],
            spec_json["preset"],
            spec_json["scale"],
            json.dumps(params, sort_keys=True),
            races,
            runners,
        ),
    )


def upsert_sim(conn: psycopg.Connection, table: str, frame: pl.DataFrame, key: str) -> None:
    """Upsert into sim.<table> on its primary key; unchanged rows are left alone."""
    from giddyup.loaders.racing_writer import copy_to_temp

    stage = f"stage_sim_{table}"
    copy_to_temp(conn, stage, frame)
    cols = [f'"{c}"' for c in frame.columns]
    others = [c for c in frame.columns if c != key]
    sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in others)
    old = ", ".join(f't."{c}"' for c in others)
    new = ", ".join(f'EXCLUDED."{c}"' for c in others)
    conn.execute(
        f"""INSERT INTO sim.{table} AS t ({", ".join(cols)}) SELECT {", ".join(cols)} FROM "{stage}"
            ON CONFLICT ("{key}") DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})"""
    )


def true_probabilities(
    conn: psycopg.Connection,
    race_ids: Sequence[int] | None = None,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> pl.DataFrame:
    """The oracle: true win probability of every starter of the given races (or of the races
    between two dates, inclusive). Columns race_id, runner_id, horse_id, race_date, p_true; the
    probabilities of a race sum to 1. Non-runners are left out."""
    if not sim_schema_exists(conn):
        raise GiddyUpError("this database holds no simulated world (no sim schema); run `giddyup sim` first")
    where = ["starter"]
    params: list[Any] = []
    if race_ids is not None:
        where.append("race_id = ANY(%s)")
        params.append(list(race_ids))
    if date_from is not None:
        where.append("race_date >= %s")
        params.append(date_from)
    if date_to is not None:
        where.append("race_date <= %s")
        params.append(date_to)
    rows = conn.execute(
        f"""SELECT race_id, runner_id, horse_id, race_date, p_true FROM sim.runner_truth
            WHERE {" AND ".join(where)} ORDER BY race_id, runner_id""",
        params,
    ).fetchall()
    schema = {
        "race_id": pl.Int64,
        "runner_id": pl.Int64,
        "horse_id": pl.Int64,
        "race_date": pl.Date,
        "p_true": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def truth_of_runners(dsn: str, runner_ids: Sequence[int]) -> pl.DataFrame | None:
    """runner_id, p_true of the given runners' races when this database holds a simulated world
    (None otherwise): the oracle beside an evaluation or a backtest."""
    with psycopg.connect(dsn) as conn:
        if not sim_schema_exists(conn):
            return None
        races = conn.execute(
            "SELECT DISTINCT race_id FROM sim.runner_truth WHERE runner_id = ANY(%s)", (list(runner_ids),)
        ).fetchall()
        truth = true_probabilities(conn, [r[0] for r in races])
    return truth.select("runner_id", "p_true") if truth.height else None
