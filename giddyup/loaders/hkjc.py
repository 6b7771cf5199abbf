"""Load the Hong Kong Jockey Club results file (../shared/data/hkjc) into racing.* of a dev copy.

Three steps, each usable on its own: `read_hkjc_csv` (the file as text columns, required columns
checked) and `parse_hkjc` (validated, typed race and runner frames plus a report; no database),
both in hkjc_read, and `write_hkjc` here (one transaction through the racing writer).
`load_hkjc` runs all three.

What is stored (see hkjc_parse for placings and margins):
- region `HK`; courses Sha Tin (ST) and Happy Valley (HV); race_type Flat; prelim false.
- race_key is the file's race_id (`2013-09-08_ST_01`); runner_key is `<race_id>_<horse_code>`.
- off_time is NULL: the file has no times (the race number in race_key orders a meeting).
- race_name: the file has none; `Class 4 Handicap (60-40)` style, from race_class and rating_band.
- one racing.horses row per horse_code, named `NAME (CODE)`, the HKJC's own way of writing a
  horse: the brand code keeps names unique (names repeat across horses, and Chinese-only names
  have no letters for the *_norm key) and finds the horse again on the next load. The English
  name is used when any row has one, else the Chinese one (upgraded when a later file has English).
- jockeys and trainers by name (shared with other regions, as in production); a name with no
  Latin letters or digits (Chinese only) gets its code points appended, e.g. `嘉里 [5609-91CC]`,
  so that it keeps a key of its own.
- withdrawn horses are non-runners: a runner row with pos_raw, dec and results NULL; ran counts
  starters only.
- ovr_btn = lbw (lengths behind the winner); btn = lengths behind the horse that finished just
  ahead (in finishing order, which differs from the official placing after a stewards' demotion);
  NULL when a finisher placed just ahead has no margin (its distance is unknown).
- dec = win_odds; the pool's rare 1.0 is stored as 1.01 (the column's floor).

What cannot be taken as written is set aside by the rules of hkjc_issues and counted by reason in
the report, with file, line and race: a value not understood in a field that is not essential is
stored as NULL (a race attribute the race's rows disagree on: the value on most rows); a row whose
horse cannot be identified is left out; a race whose result cannot be stored honestly (a placing
missing or not understood, a date or venue that is not one) is left out whole. win_odds that are
not a number, not finite or below 1.0 are no odds (dec NULL; the race is kept, and counts as not
fully priced wherever a market is scored). With `strict`, the first value not understood stops the
load with an error naming file, column and line. The load fails when the file itself is unusable
(not a file, not CSV, missing columns) or nothing in it can be loaded.
Loading the same file again leaves the same rows and ids; the runners of a race in the file that
the file no longer lists are removed, races not in the file are never touched.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import psycopg

from giddyup.db.devcopy import require_dev_copy
from giddyup.loaders.hkjc_read import RACE_FIELDS, RUNNER_FIELDS, HkjcTables, LoadReport, parse_hkjc, read_hkjc_csv
from giddyup.loaders.racing_writer import (
    NORM_SQL,
    copy_to_temp,
    ensure_partitions,
    upsert_courses,
    upsert_dimension,
    upsert_keyed,
)


def write_hkjc(conn: psycopg.Connection, tables: HkjcTables) -> LoadReport:
    """Write parsed tables into racing.* in one transaction (dev copies only)."""
    require_dev_copy(conn, "load hkjc")
    races, runners = tables.races, tables.runners
    with conn.transaction():
        ensure_partitions(conn, races["race_date"])
        courses = upsert_courses(conn, races.select("course_name", "region"))
        race_rows = races.join(courses, on=["course_name", "region"], how="left", maintain_order="left").select(
            RACE_FIELDS
        )
        race_ids = upsert_keyed(
            conn, "races", race_rows, key=("race_key", "race_date"), returning=("race_key", "race_date", "race_id")
        )
        ids = runners.join(race_ids, on=["race_key", "race_date"], how="left", maintain_order="left")
        horses = upsert_horses_by_code(conn, runners.select("horse_code", "horse_name").unique("horse_code"))
        ids = ids.join(horses, on="horse_code", how="left", maintain_order="left")
        for table, name_col in (("jockeys", "jockey_name"), ("trainers", "trainer_name")):
            people = upsert_dimension(conn, table, runners[name_col])
            ids = ids.join(people, on=name_col, how="left", maintain_order="left")
        upsert_keyed(conn, "runners", ids.sort("line").select(RUNNER_FIELDS), key=("runner_key", "race_date"))
        _remove_runners_not_in_file(conn, ids.select("runner_key", "race_id", "race_date"))
    return tables.report


# The brand code at the end of a stored HK horse name, `ALL LUCKY (P010)` -> P010.
_CODE_OF_NAME = r"substring({} FROM '\(([A-Z]+[0-9]+)\)$')"
_BASE_HAS_LETTERS = r"regexp_replace({}, ' ?\([A-Z]+[0-9]+\)$', '') ~ '[A-Za-z]'"


def upsert_horses_by_code(conn: psycopg.Connection, horses: pl.DataFrame) -> pl.DataFrame:
    """(horse_code, horse_name) -> (horse_code, horse_id): one racing.horses row per brand code.

    A horse is found by the code in its stored name, so a file that names it differently (only
    the Chinese name in a slice, the English one in the full file) reuses its row; a Chinese-only
    stored name is replaced by an English one when a file brings it.
    """
    copy_to_temp(conn, "hkjc_horses", horses)
    stored_code = _CODE_OF_NAME.format("d.horse_name")
    conn.execute(
        f"""UPDATE racing.horses d SET horse_name = s.horse_name
            FROM hkjc_horses s
            WHERE {stored_code} = s.horse_code AND d.horse_name <> s.horse_name
              AND {_BASE_HAS_LETTERS.format("s.horse_name")} AND NOT {_BASE_HAS_LETTERS.format("d.horse_name")}
              AND NOT EXISTS (SELECT 1 FROM racing.horses o WHERE o.horse_norm = {NORM_SQL.format("s.horse_name")})"""
    )
    conn.execute(
        f"""INSERT INTO racing.horses (horse_name)
            SELECT s.horse_name FROM hkjc_horses s
            WHERE NOT EXISTS (SELECT 1 FROM racing.horses d WHERE {stored_code} = s.horse_code)
            ORDER BY s.horse_code
            ON CONFLICT (horse_norm) DO NOTHING"""
    )
    rows = conn.execute(
        f"""SELECT DISTINCT ON (s.horse_code) s.horse_code, d.horse_id
            FROM racing.horses d JOIN hkjc_horses s ON {stored_code} = s.horse_code
            ORDER BY s.horse_code, d.horse_id"""
    ).fetchall()
    return pl.DataFrame(rows, schema={"horse_code": pl.String, "horse_id": pl.Int64}, orient="row")


def _remove_runners_not_in_file(conn: psycopg.Connection, loaded: pl.DataFrame) -> None:
    """A race in the file is replaced whole: its runners the file no longer lists go."""
    copy_to_temp(conn, "hkjc_loaded_runners", loaded)
    conn.execute(
        """DELETE FROM racing.runners r
           WHERE (r.race_id, r.race_date) IN (SELECT DISTINCT race_id, race_date FROM hkjc_loaded_runners)
             AND NOT EXISTS (SELECT 1 FROM hkjc_loaded_runners l
                             WHERE l.runner_key = r.runner_key AND l.race_date = r.race_date)"""
    )


def load_hkjc(conn: psycopg.Connection, path: Path, *, strict: bool = False) -> LoadReport:
    """Read, parse and write the file at `path`; nothing is written unless all of it is."""
    require_dev_copy(conn, "load hkjc")  # before spending time on the file
    started = time.perf_counter()
    raw = read_hkjc_csv(path)
    read_done = time.perf_counter()
    tables = parse_hkjc(raw, str(path), strict=strict)
    parse_done = time.perf_counter()
    report = write_hkjc(conn, tables)
    report.seconds = {
        "read": read_done - started,
        "parse": parse_done - read_done,
        "write": time.perf_counter() - parse_done,
    }
    return report


__all__ = ["HkjcTables", "LoadReport", "load_hkjc", "parse_hkjc", "read_hkjc_csv", "write_hkjc"]
