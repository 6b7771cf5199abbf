"""Betfair markets (from the shared file or its fixture) written into racing.* as resulted races."""

from __future__ import annotations

import polars as pl
import psycopg

from giddyup.loaders.racing_writer import ensure_partitions, stable_key, upsert_courses, upsert_dimension, upsert_keyed


def write_market_races(
    conn: psycopg.Connection, races: list[dict], runners: list[dict]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Upsert `races` (racing.races columns plus market_id, course_name) and `runners`
    (racing.runners columns plus market_id, horse_name); returns both frames with their ids.
    Keys come from the market and selection ids, so writing the same markets twice changes nothing."""
    race_frame = pl.DataFrame(races)
    ensure_partitions(conn, race_frame["race_date"])
    courses = upsert_courses(conn, race_frame.select("course_name", "region"))
    race_frame = race_frame.join(courses, on=["course_name", "region"]).with_columns(
        stable_key(pl.col("market_id")).alias("race_key")
    )
    ids = upsert_keyed(
        conn,
        "races",
        race_frame.drop("course_name", "market_id"),
        key=("race_key", "race_date"),
        returning=("race_key", "race_id"),
    )
    race_frame = race_frame.join(ids, on="race_key")
    runner_frame = pl.DataFrame(runners)
    horses = upsert_dimension(conn, "horses", runner_frame.get_column("horse_name"))
    runner_frame = (
        runner_frame.join(race_frame.select("market_id", "race_id"), on="market_id")
        .join(horses, on="horse_name")
        .with_columns(stable_key(pl.col("market_id"), pl.col("betfair_selection_id")).alias("runner_key"))
    )
    upsert_keyed(conn, "runners", runner_frame.drop("market_id", "horse_name"), key=("runner_key", "race_date"))
    return race_frame, runner_frame
