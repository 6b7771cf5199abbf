"""modeling.latest_signal_as_of (migration 010): the newest as_of per (race_id, horse_id, model_id),
kept by triggers on modeling.signals, and the reads it serves.

- after any mix of publishes (new instants, older instants, upserts), direct updates, deletes and
  truncates, the table equals DISTINCT ON over modeling.signals;
- re-publishing identical rows changes nothing, not even a tuple of the latest table;
- two publishers at once for the same runners leave the newest instant;
- a race's latest prices and a day's card read only the latest rows (EXPLAIN ANALYZE row counts),
  where the DISTINCT ON view read every signal of the race, or of all history;
- the migration, applied to a database that already holds signals, gives the same latest rows as
  the view it replaces.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import psycopg
import pytest

from giddyup.db.migrate import migrate
from giddyup.publish import SIGNAL_COLUMNS, publish_signals
from tests.support.databases import migrate_dsn, migrations_up_to

START = dt.datetime(2032, 3, 1, 7, 0, tzinfo=dt.UTC)
DISTINCT_LATEST = """
    SELECT DISTINCT ON (race_id, horse_id, model_id) race_id, horse_id, model_id, as_of, race_date
    FROM modeling.signals ORDER BY race_id, horse_id, model_id, as_of DESC"""


def batch(
    as_of: dt.datetime, model_id: int, races: dict[int, int], seed: int, day: dt.date | None = None
) -> pl.DataFrame:
    """Signals of some races (race_id -> runners) at one instant; horse_id = race_id * 100 + n."""
    rng = np.random.default_rng(seed)
    rows = []
    for race_id, runners in races.items():
        strength = rng.gamma(2.0, 1.0, runners)
        for n, p in enumerate(strength / strength.sum(), start=1):
            rows.append(
                {
                    "as_of": as_of,
                    "race_id": race_id,
                    "horse_id": race_id * 100 + n,
                    "model_id": model_id,
                    "p_win": float(p),
                    "best_odds_win": round(max(1.01, 1.1 / p), 2),
                    "reasons_json": '{"summary": "test"}',
                    "race_date": day or as_of.date(),
                }
            )
    names = ["as_of", "race_id", "horse_id", "model_id", "p_win", "best_odds_win", "reasons_json", "race_date"]
    return pl.DataFrame(rows, schema={n: SIGNAL_COLUMNS[n][0] for n in names})


def latest_table(conn: psycopg.Connection) -> list[tuple]:
    rows = conn.execute(
        "SELECT race_id, horse_id, model_id, as_of, race_date FROM modeling.latest_signal_as_of "
        "ORDER BY race_id, horse_id, model_id"
    ).fetchall()
    conn.commit()
    return rows


def recomputed(conn: psycopg.Connection) -> list[tuple]:
    rows = conn.execute(DISTINCT_LATEST).fetchall()
    conn.commit()
    return rows


@pytest.fixture
def db(migrated_dsn: str) -> Iterator[tuple[psycopg.Connection, list[int]]]:
    with psycopg.connect(migrated_dsn) as conn:
        models = [
            conn.execute("INSERT INTO modeling.models (version) VALUES (%s) RETURNING model_id", (v,)).fetchone()[0]  # type: ignore[index]
            for v in ("m1", "m2")
        ]
        conn.commit()
        yield conn, models


# --- the table follows every write ---------------------------------------------------------------


def test_latest_table_follows_publishes_updates_deletes_and_truncates(db) -> None:  # type: ignore[no-untyped-def]
    conn, (m1, m2) = db
    rng = np.random.default_rng(7)
    instants = [START + dt.timedelta(minutes=10 * i) for i in range(12)]
    races = {101: 4, 102: 3, 103: 5}
    done = set()
    for step in range(40):
        action = rng.choice(["publish", "publish", "publish", "republish_changed", "move", "delete", "redate"])
        at = instants[int(rng.integers(len(instants)))]  # instants arrive in any order
        model = [m1, m2][int(rng.integers(2))]
        chosen = {r: n for r, n in races.items() if rng.random() < 0.6} or {101: 4}
        first_race = next(iter(chosen))
        if action == "publish":
            publish_signals(conn, batch(at, model, chosen, seed=step))
        elif action == "republish_changed":
            existing = conn.execute("SELECT DISTINCT as_of, model_id FROM modeling.signals LIMIT 1").fetchone()
            conn.commit()
            if existing:
                publish_signals(conn, batch(existing[0], existing[1], races, seed=1000 + step))
        elif action == "move":  # a key moves to another instant (as_of is part of the key)
            conn.execute(
                """UPDATE modeling.signals s SET as_of = s.as_of + interval '1 second'
                   WHERE s.signal_id = (SELECT max(signal_id) FROM modeling.signals)
                     AND NOT EXISTS (SELECT 1 FROM modeling.signals t
                                     WHERE (t.race_id, t.horse_id, t.model_id) = (s.race_id, s.horse_id, s.model_id)
                                       AND t.as_of = s.as_of + interval '1 second')"""
            )
        elif action == "delete":  # e.g. the newest instant of a race, so the previous one is latest again
            conn.execute(
                "DELETE FROM modeling.signals WHERE race_id = %s AND as_of = (SELECT max(as_of) FROM modeling.signals WHERE race_id = %s)",
                (first_race, first_race),
            )
        else:  # a race's day corrected
            conn.execute("UPDATE modeling.signals SET race_date = race_date + 1 WHERE race_id = %s", (first_race,))
        conn.commit()
        assert latest_table(conn) == recomputed(conn), f"after step {step} ({action})"
        done.add(str(action))
    assert done == {"publish", "republish_changed", "move", "delete", "redate"} and latest_table(conn)

    conn.execute("DELETE FROM modeling.signals WHERE race_id = 101")
    conn.commit()
    assert [r for r in latest_table(conn) if r[0] == 101] == []
    assert latest_table(conn) == recomputed(conn)

    conn.execute("TRUNCATE modeling.signals")
    conn.commit()
    assert latest_table(conn) == []


def test_republishing_identical_rows_changes_nothing(db) -> None:  # type: ignore[no-untyped-def]
    conn, (m1, _) = db
    morning, later = START, START + dt.timedelta(hours=1)
    publish_signals(conn, batch(morning, m1, {201: 4, 202: 3}, seed=1))
    publish_signals(conn, batch(later, m1, {201: 4}, seed=2))

    def tuples() -> list[tuple]:
        rows = conn.execute(
            "SELECT l.*, l.xmin::text, l.ctid::text FROM modeling.latest_signal_as_of l ORDER BY race_id, horse_id"
        ).fetchall()
        conn.commit()
        return rows

    before = tuples()
    assert publish_signals(conn, batch(later, m1, {201: 4}, seed=2)).unchanged == 4
    assert publish_signals(conn, batch(morning, m1, {201: 4, 202: 3}, seed=1)).unchanged == 7
    assert tuples() == before
    # an older instant published again with new prices updates signals, not the latest instant
    assert publish_signals(conn, batch(morning, m1, {201: 4}, seed=3)).updated == 4
    assert [(r[0], r[3]) for r in tuples()] == [(201, later)] * 4 + [(202, morning)] * 3


@pytest.mark.parametrize("first_is_newer", [True, False], ids=["newer-first", "older-first"])
def test_two_publishers_at_once_leave_the_newest_instant(migrated_dsn: str, first_is_newer: bool) -> None:
    older, newer = START, START + dt.timedelta(minutes=10)
    first_at, second_at = (newer, older) if first_is_newer else (older, newer)
    with psycopg.connect(migrated_dsn) as first, psycopg.connect(migrated_dsn) as second:
        model = first.execute("INSERT INTO modeling.models (version) VALUES ('c') RETURNING model_id").fetchone()[0]  # type: ignore[index]
        first.commit()
        publish_signals(first, batch(START - dt.timedelta(hours=1), model, {301: 3}, seed=0))  # keys exist
        first.commit()
        first.execute("SELECT 1")  # open a transaction: the publish below stays uncommitted
        publish_signals(first, batch(first_at, model, {301: 3}, seed=1))
        errors: list[BaseException] = []

        def publish_second() -> None:
            try:
                publish_signals(second, batch(second_at, model, {301: 3}, seed=2))
                second.commit()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        thread = threading.Thread(target=publish_second)
        thread.start()
        thread.join(timeout=2)
        assert thread.is_alive(), "the second publisher should wait for the first one's latest rows"
        first.commit()
        thread.join(timeout=30)
        assert not errors, errors
        assert {r[3] for r in latest_table(first)} == {newer}
        assert latest_table(first) == recomputed(first)


# --- reads touch only the latest rows ------------------------------------------------------------


def _rows_read(conn: psycopg.Connection, sql: str, params: tuple) -> dict[str, int]:
    """Rows each table's scans produced or discarded (per loop × loops), from EXPLAIN ANALYZE.

    enable_seqscan off: the latest table has ten days here, where a scan of it costs nothing; at a
    year it has 78,000 rows (benchmarks/bench_signal_reads.py prints the plans there)."""
    conn.execute("SET LOCAL enable_seqscan = off")
    plan = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchone()[0][0]["Plan"]  # type: ignore[index]
    conn.rollback()
    read: dict[str, int] = {}

    def walk(node: dict) -> None:
        if "Relation Name" in node:
            rows = (
                node["Actual Rows"]
                + node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Index Recheck", 0)
            )
            read[node["Relation Name"]] = read.get(node["Relation Name"], 0) + rows * node["Actual Loops"]
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return read


@pytest.fixture
def history(db):  # type: ignore[no-untyped-def]
    """Ten days of 3 races x 4 runners, each race priced at 60 instants (a real day's ratio of
    rows to runners), in one INSERT (the trigger takes a multi-row statement too)."""
    conn, (m1, _) = db
    conn.execute(
        """INSERT INTO modeling.signals (as_of, race_id, horse_id, model_id, p_win, race_date)
           SELECT %(start)s + d * interval '1 day' + k * interval '5 minutes', 1000 + 10 * d + r,
                  (1000 + 10 * d + r) * 100 + n, %(model)s, 0.25, %(day)s::date + d
           FROM generate_series(0, 9) d, generate_series(0, 59) k, generate_series(0, 2) r, generate_series(1, 4) n""",
        {"start": START, "model": m1, "day": START.date()},
    )
    conn.commit()
    conn.execute("ANALYZE")  # this database's tables: statistics as autovacuum keeps them
    conn.commit()
    return conn, START.date() + dt.timedelta(days=9), 1000 + 10 * 9 + 1


def test_a_days_card_reads_only_that_days_latest_rows(history) -> None:  # type: ignore[no-untyped-def]
    conn, day, _ = history
    rows_of_day = conn.execute("SELECT count(*) FROM modeling.signals WHERE race_date = %s", (day,)).fetchone()[0]  # type: ignore[index]
    total = conn.execute("SELECT count(*) FROM modeling.signals").fetchone()[0]  # type: ignore[index]
    conn.commit()
    assert (rows_of_day, total) == (720, 7200)

    internal = _rows_read(conn, "SELECT * FROM modeling.latest_signals WHERE race_date = %s", (day,))
    assert internal["signals"] <= rows_of_day  # at most the day's rows (the DISTINCT ON view read all 7200)
    assert len(conn.execute("SELECT * FROM modeling.latest_signals WHERE race_date = %s", (day,)).fetchall()) == 12
    conn.commit()
    api = _rows_read(conn, "SELECT * FROM modeling.api_v1_latest_signals WHERE race_date = %s", (day,))
    assert api["latest_signal_as_of"] == 12  # the day's runners, nothing else
    assert api["signals"] < rows_of_day  # one probe per runner: not even the day's earlier instants


def test_a_races_latest_prices_read_only_its_latest_rows(history) -> None:  # type: ignore[no-untyped-def]
    conn, _, race_id = history
    rows_of_race = conn.execute("SELECT count(*) FROM modeling.signals WHERE race_id = %s", (race_id,)).fetchone()[0]  # type: ignore[index]
    conn.commit()
    assert rows_of_race == 240
    for view in ("latest_signals", "api_v1_latest_signals"):
        read = _rows_read(conn, f"SELECT * FROM modeling.{view} WHERE race_id = %s", (race_id,))
        assert read["signals"] < rows_of_race, view  # the DISTINCT ON view read all 240 and sorted them
        assert read["latest_signal_as_of"] == 4, view
    latest = conn.execute(
        "SELECT horse_id, as_of FROM modeling.latest_signals WHERE race_id = %s", (race_id,)
    ).fetchall()
    assert sorted(latest) == [(race_id * 100 + n, START + dt.timedelta(days=9, minutes=295)) for n in range(1, 5)]


def test_a_price_at_an_instant_reads_one_runners_rows(history) -> None:  # type: ignore[no-untyped-def]
    conn, _, race_id = history
    at = START + dt.timedelta(days=9, minutes=22)
    sql = (
        "SELECT * FROM modeling.api_v1_signals WHERE race_id = %s AND horse_id = %s AND as_of <= %s "
        "ORDER BY as_of DESC, model_id DESC LIMIT 1"
    )
    assert _rows_read(conn, sql, (race_id, race_id * 100 + 1, at))["signals"] == 5  # its 5 rows up to `at`
    row = conn.execute(sql, (race_id, race_id * 100 + 1, at)).fetchone()
    assert row is not None and row[1] == START + dt.timedelta(days=9, minutes=20)


# --- the migration on a database that already holds signals --------------------------------------


def test_migration_with_signals_in_place_keeps_the_latest_rows(fresh_dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        migrate(conn, root=migrations_up_to("009", tmp_path))
    with psycopg.connect(fresh_dsn) as conn:
        m1, m2 = (
            conn.execute("INSERT INTO modeling.models (version) VALUES (%s) RETURNING model_id", (v,)).fetchone()[0]  # type: ignore[index]
            for v in ("old", "new")
        )
        conn.commit()
        for k in range(6):
            publish_signals(conn, batch(START + dt.timedelta(minutes=10 * k), m1, {401: 4, 402: 3}, seed=k))
        publish_signals(conn, batch(START + dt.timedelta(hours=2), m2, {401: 4}, seed=9))  # a second model
        conn.execute(  # a row from a writer that gave no race_date
            "INSERT INTO modeling.signals (as_of, race_id, horse_id, model_id, p_win) VALUES (%s, 403, 40301, %s, 1)",
            (START, m1),
        )
        conn.commit()
        old_view = conn.execute("SELECT * FROM modeling.latest_signals ORDER BY race_id, horse_id, model_id").fetchall()
        conn.commit()
    assert len(old_view) == 4 + 3 + 4 + 1

    migrate_dsn(fresh_dsn, with_racing_reference=False)

    with psycopg.connect(fresh_dsn) as conn:
        new_view = conn.execute("SELECT * FROM modeling.latest_signals ORDER BY race_id, horse_id, model_id").fetchall()
        api = conn.execute(
            "SELECT signal_id FROM modeling.api_v1_latest_signals ORDER BY race_id, horse_id, model_id"
        ).fetchall()
        # The same rows; later migrations append columns (022: execution), never reorder them.
        assert [row[: len(old_view[0])] for row in new_view] == old_view
        assert [r[0] for r in api] == [r[0] for r in old_view]
        assert latest_table(conn) == recomputed(conn)
        # and the triggers work from here on
        publish_signals(conn, batch(START + dt.timedelta(hours=3), m1, {402: 3}, seed=11))
        assert latest_table(conn) == recomputed(conn)
