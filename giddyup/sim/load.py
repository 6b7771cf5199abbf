"""Writing a generated world into a dev-copy database, through the racing writer (COPY to a
staging table, then one upsert per table), in one transaction.

Idempotent: the same world written twice leaves the same rows (upserts keyed by race_key /
runner_key; unchanged rows are not touched). A database holding a different world is refused
unless `replace` is asked for. Today's card, once turned into results by `giddyup results`, is
left alone by a re-run of `giddyup sim` (the results are not rolled back to a card).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
import psycopg

from giddyup.db.devcopy import require_dev_copy
from giddyup.errors import GiddyUpError
from giddyup.loaders import racing_writer as rw
from giddyup.sim import truth
from giddyup.sim.frames import AT_OFF_PRICE_COLUMNS, RESULT_COLUMNS
from giddyup.sim.generate import GeneratedWorld

RACE_COLUMNS = (
    "race_key",
    "race_date",
    "region",
    "course_id",
    "off_time",
    "race_name",
    "race_type",
    "class",
    "pattern",
    "rating_band",
    "age_band",
    "sex_rest",
    "dist_raw",
    "dist_f",
    "dist_m",
    "going",
    "surface",
    "ran",
    "prelim",
)
ID_COLUMNS = ("race_id", "horse_id", "jockey_id", "trainer_id", "owner_id")
# Columns known before the off, written for every declared runner (results and cards alike).
DECLARATION_COLUMNS = (
    "runner_key",
    "race_id",
    "race_date",
    "horse_id",
    "trainer_id",
    "jockey_id",
    "owner_id",
    "num",
    "draw",
    "age",
    "sex",
    "lbs",
    "hg",
    "or",
)
RUNNER_COLUMNS = (
    *DECLARATION_COLUMNS,
    *RESULT_COLUMNS,
    *AT_OFF_PRICE_COLUMNS,
    "betfair_selection_id",
    "best_odds",
    "best_bookmaker",
)
CARD_COLUMNS = (
    *DECLARATION_COLUMNS,
    "betfair_selection_id",
    "best_odds",
    "best_bookmaker",
    "win_ppwap",
    "price_updated_at",
)
RACING_TABLES = ("live_prices", "runners", "races", "horses", "jockeys", "trainers", "owners", "courses")


@dataclass
class LoadSummary:
    races: int
    runners: int
    live_ticks: int
    today_kept: bool  # today's card was already resulted and left as it was


def same_world(stored: dict[str, object], gen: GeneratedWorld) -> bool:
    spec = gen.spec
    return (
        stored["seed"] == spec.seed
        and stored["start_date"] == spec.start
        and stored["days"] == spec.days
        and stored["today"] == spec.today
        and stored["preset"] == spec.preset
        and float(stored["scale"]) == spec.scale  # type: ignore[arg-type]
    )


def describe(stored: dict[str, object]) -> str:
    today = f", today {stored['today']}" if stored["today"] else ""
    return (
        f"seed {stored['seed']}, start {stored['start_date']}, {stored['days']} days, preset {stored['preset']}{today}"
    )


def wipe(conn: psycopg.Connection) -> None:
    """Empty racing.* (dev copies only; ids restart at 1); the sim schema is recreated separately."""
    tables = ", ".join([f"racing.{t}" for t in (*RACING_TABLES, "bloodlines")])
    conn.execute(f"TRUNCATE {tables} RESTART IDENTITY")


def load_world(conn: psycopg.Connection, gen: GeneratedWorld, *, replace: bool = False) -> LoadSummary:
    require_dev_copy(conn, "sim")
    with conn.transaction():  # all or nothing, the sim schema's (re)creation included
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('giddyup.sim.load'))")
        truth.ensure_sim_schema(conn, reset=replace)
        stored = truth.read_world(conn)
        if stored is not None and not same_world(stored, gen) and not replace:
            raise GiddyUpError(
                f"this database already holds another simulated world ({describe(stored)}); "
                "use a fresh dev copy or add --replace to overwrite it"
            )
        if replace:
            wipe(conn)
        summary = _write(conn, gen)
        truth.write_world_row(
            conn, gen.spec.as_json(), gen.tunables.as_json(), gen.frames.races.height, gen.frames.runners.height
        )
    return summary


def _today_resulted(conn: psycopg.Connection, today: dt.date | None, keys: pl.Series) -> bool:
    if today is None or keys.len() == 0:
        return False
    row = conn.execute(
        "SELECT count(*) FROM racing.races WHERE race_date = %s AND race_key = ANY(%s) AND NOT prelim",
        (today, keys.to_list()),
    ).fetchone()
    return bool(row and row[0])


def _write(conn: psycopg.Connection, gen: GeneratedWorld) -> LoadSummary:
    frames = gen.frames
    today = gen.spec.today
    races, runners, ticks = frames.races, frames.runners, gen.ticks
    today_keys = races.filter(pl.col("prelim"))["race_key"]
    keep_today = _today_resulted(conn, today, today_keys)
    if keep_today:  # leave the resulted card alone (see module docstring)
        races = races.filter(~pl.col("prelim"))
        runners = runners.filter(pl.col("race_date") != today)
        ticks = ticks.clear()

    course_ids = rw.upsert_courses(conn, frames.courses)
    dims = {
        "horse_id": rw.upsert_dimension(conn, "horses", runners["horse_name"]),
        "jockey_id": rw.upsert_dimension(conn, "jockeys", runners["jockey_name"]),
        "trainer_id": rw.upsert_dimension(conn, "trainers", runners["trainer_name"]),
        "owner_id": rw.upsert_dimension(conn, "owners", runners["owner_name"]),
    }
    rw.ensure_partitions(conn, races["race_date"])
    races = races.join(course_ids, on=["course_name", "region"], how="left", maintain_order="left")
    race_ids = rw.upsert_keyed(
        conn,
        "races",
        races.select(RACE_COLUMNS),
        key=("race_key", "race_date"),
        returning=("race_key", "race_date", "race_id"),
    )
    runners = runners.join(race_ids, on=["race_key", "race_date"], how="left", maintain_order="left")
    for table in dims.values():  # (name, id) pairs
        runners = runners.join(table, on=table.columns[0], how="left", maintain_order="left")
    history = runners.filter(pl.col("race_date") != today) if today else runners
    card = runners.filter(pl.col("race_date") == today) if today else runners.clear()
    runner_ids = [
        rw.upsert_keyed(
            conn, "runners", part, key=("runner_key", "race_date"), returning=("runner_key", "race_date", "runner_id")
        )
        for part in (history.select(RUNNER_COLUMNS), card.select(CARD_COLUMNS))
        if part.height
    ]
    ids = (
        pl.concat(runner_ids)
        if runner_ids
        else pl.DataFrame(schema={"runner_key": pl.String, "race_date": pl.Date, "runner_id": pl.Int64})
    )
    runners = runners.join(ids, on=["runner_key", "race_date"], how="left", maintain_order="left")
    _write_truth(conn, races.join(race_ids, on=["race_key", "race_date"], how="left", maintain_order="left"), runners)
    n_ticks = _write_ticks(conn, ticks, runners)
    return LoadSummary(races=races.height, runners=runners.height, live_ticks=n_ticks, today_kept=keep_today)


def _write_truth(conn: psycopg.Connection, races: pl.DataFrame, runners: pl.DataFrame) -> None:
    race_truth = races.select(
        "race_id",
        "race_date",
        "race_key",
        pl.col("t_race_type").alias("race_type_code"),
        pl.col("t_going_index").alias("going_index"),
        pl.col("t_speed").alias("course_speed"),
        pl.col("t_par").alias("par"),
        pl.col("t_prize").alias("prize"),
    )
    runner_truth = runners.select(
        "runner_id",
        "race_id",
        "race_date",
        "horse_id",
        pl.col("t_starter").alias("starter"),
        pl.col("t_p_true").alias("p_true"),
        pl.col("t_strength").alias("strength"),
        pl.col("t_lbs_per_unit").alias("lbs_per_unit"),
        pl.col("t_weight_adj").alias("weight_adj"),
        pl.col("t_jump_skill").alias("jump_skill"),
        pl.col("t_p_market").alias("p_market"),
        *[
            pl.col(f"t_{c}").alias(c)
            for c in ("c_ability", "c_fit", "c_draw", "c_connections", "c_fitness", "c_private", "c_weight")
        ],
        pl.col("t_withdrawn_at").alias("withdrawn_at"),
        *[pl.col(f"t_close_{c}").alias(f"close_{c}") for c in AT_OFF_PRICE_COLUMNS],
    )
    truth.upsert_sim(conn, "race_truth", race_truth, "race_id")
    truth.upsert_sim(conn, "runner_truth", runner_truth, "runner_id")


def _write_ticks(conn: psycopg.Connection, ticks: pl.DataFrame, runners: pl.DataFrame) -> int:
    if ticks.height == 0:
        return 0
    ids = runners.select("runner_key", "race_date", "runner_id", "race_id")
    frame = ticks.join(ids, on=["runner_key", "race_date"], how="left", maintain_order="left").select(
        "race_id", "runner_id", "ts", "back_price", "lay_price", "vwap", "traded_vol"
    )
    rw.upsert_keyed(conn, "live_prices", frame, key=("runner_id", "ts"))
    return frame.height
