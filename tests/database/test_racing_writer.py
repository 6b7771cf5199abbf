"""giddyup.loaders.racing_writer against a real dev-copy database: loading the same frames twice
leaves the same rows and ids (no rewrite), names that normalise equal share one dimension row."""

from __future__ import annotations

import datetime as dt

import polars as pl
import psycopg
import pytest

from giddyup.db.devcopy import require_dev_copy
from giddyup.errors import GiddyUpError
from giddyup.loaders.racing_writer import (
    ensure_partitions,
    norm,
    stable_key,
    upsert_courses,
    upsert_dimension,
    upsert_keyed,
)

RACES = pl.DataFrame(
    {
        "race_date": [dt.date(2024, 3, 30), dt.date(2024, 3, 31), dt.date(2024, 4, 1)],
        "region": ["GB", "GB", "IRE"],
        "course_name": ["Kempton", "Kempton Park", "Fairyhouse"],  # different courses by name
        "off_time": [dt.time(13, 30), dt.time(14, 5), dt.time(15, 40)],
        "race_name": ["Easter Stakes", "Spring Handicap", "Irish Grand National"],
        "race_type": ["Flat", "Flat", "Chase"],
        "dist_f": [8.0, 12.0, 29.0],
        "ran": [3, 2, 2],
        "prelim": [False, False, True],
    }
)

# One row per runner; horse names vary in case and punctuation but several are the same horse.
RUNNERS = pl.DataFrame(
    {
        "race_name": ["Easter Stakes"] * 3 + ["Spring Handicap"] * 2 + ["Irish Grand National"] * 2,
        "horse_name": ["Sea The Stars", "O'Brien's Gift", "Kauto Star", "SEA-THE-STARS", "Frankel", "sea the stars ", "Kauto  Star"],
        "jockey_name": ["R. Moore", "W Buick", "R Moore", "W. Buick", "R Moore", "P Townend", "P. Townend"],
        "trainer_name": ["A O'Brien", "J Gosden", "A OBrien", "J Gosden", "Sir H Cecil", "W Mullins", "W Mullins"],
        "num": [1, 2, 3, 1, 2, 1, 2],
        "draw": [3, 1, 2, 2, 1, None, None],
        "lbs": [126, 126, 126, 133, 140, 158, 166],
        "pos_raw": ["1", "2DH", "2DH", "PU", "1", None, None],
        "dec": [2.5, 4.0, 6.0, 3.25, 1.5, None, None],
        "price_updated_at": [None, None, None, None, None, dt.datetime(2024, 4, 1, 9, 15, 3), None],
    }
)  # fmt: skip


def load(conn: psycopg.Connection, races: pl.DataFrame, runners: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What a loader does: dimensions by name, races by key, runners by key. Returns the ids."""
    require_dev_copy(conn, "test-load")
    ensure_partitions(conn, races["race_date"])
    courses = upsert_courses(conn, races.select("course_name", "region"))
    races = races.join(courses, on=["course_name", "region"]).with_columns(
        stable_key(pl.col("race_date"), pl.col("region"), pl.col("course_name"), pl.col("off_time"), pl.col("race_name"), pl.col("race_type")).alias("race_key")
    )  # fmt: skip
    race_ids = upsert_keyed(
        conn,
        "races",
        races.drop("course_name"),
        key=("race_key", "race_date"),
        returning=("race_key", "race_date", "race_id"),
    )
    horses = upsert_dimension(conn, "horses", runners["horse_name"])
    jockeys = upsert_dimension(conn, "jockeys", runners["jockey_name"])
    trainers = upsert_dimension(conn, "trainers", runners["trainer_name"])
    frame = (
        runners.join(races.select("race_name", "race_key", "race_date"), on="race_name")
        .join(race_ids, on=["race_key", "race_date"])
        .join(horses, on="horse_name")
        .join(jockeys, on="jockey_name")
        .join(trainers, on="trainer_name")
        .with_columns(stable_key(pl.col("race_key"), pl.col("horse_name"), pl.col("num"), pl.col("draw")).alias("runner_key"))
        .drop("race_name", "race_key", "horse_name", "jockey_name", "trainer_name")
    )  # fmt: skip
    runner_ids = upsert_keyed(
        conn, "runners", frame, key=("runner_key", "race_date"), returning=("runner_key", "race_date", "runner_id")
    )
    return race_ids.sort("race_id"), runner_ids.sort("runner_id")


@pytest.fixture(scope="module")
def dev_copy_dsn(database_factory) -> str:  # type: ignore[no-untyped-def]
    from tests.support.databases import migrate_dsn

    dsn = database_factory.create("gu_writer")
    migrate_dsn(dsn, with_racing_reference=True)
    return dsn


@pytest.fixture
def migrated_dsn(dev_copy_dsn: str) -> str:
    """The module's dev copy with racing.* emptied and its ids restarted (one database, not one per test)."""
    with psycopg.connect(dev_copy_dsn) as conn:
        conn.execute(
            "TRUNCATE racing.runners, racing.races, racing.horses, racing.jockeys, racing.trainers, "
            "racing.owners, racing.courses, racing.bloodlines RESTART IDENTITY CASCADE"
        )
    return dev_copy_dsn


def table_state(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    """Every row of every table written, with xmin and ctid (a rewrite changes them)."""
    state = {}
    for table, order in [
        ("courses", "course_id"),
        ("horses", "horse_id"),
        ("jockeys", "jockey_id"),
        ("trainers", "trainer_id"),
        ("races", "race_id"),
        ("runners", "runner_id"),
    ]:
        state[table] = conn.execute(
            f"SELECT t.*, t.xmin::text, t.ctid::text FROM racing.{table} t ORDER BY {order}"
        ).fetchall()
    return state


def test_loading_the_same_frames_twice_gives_the_same_rows_and_ids(migrated_dsn: str) -> None:
    with psycopg.connect(migrated_dsn) as conn:
        first_races, first_runners = load(conn, RACES, RUNNERS)
        conn.commit()
        first = table_state(conn)
        conn.commit()

        second_races, second_runners = load(conn, RACES, RUNNERS)
        conn.commit()

        assert second_races.equals(first_races) and second_runners.equals(first_runners)
        assert table_state(conn) == first
        assert len(first["races"]) == 3 and len(first["runners"]) == 7
        stored = conn.execute(
            """SELECT h.horse_name, r.pos_raw, r.pos_num, r.win_flag, r.dec, r.price_updated_at, r.lbs
               FROM racing.runners r JOIN racing.horses h USING (horse_id) ORDER BY r.runner_id"""
        ).fetchall()
        assert [row[1:] for row in stored] == [
            ("1", 1, True, 2.5, None, 126),
            ("2DH", 2, False, 4.0, None, 126),
            ("2DH", 2, False, 6.0, None, 126),
            ("PU", None, None, 3.25, None, 133),
            ("1", 1, True, 1.5, None, 140),
            (None, None, None, None, dt.datetime(2024, 4, 1, 9, 15, 3), 158),
            (None, None, None, None, None, 166),
        ]
        partitions = conn.execute(
            """SELECT tableoid::regclass::text, count(*) FROM racing.races GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        assert partitions == [("racing.races_2024_03", 2), ("racing.races_2024_04", 1)]


def test_names_that_normalise_equal_share_one_row(migrated_dsn: str) -> None:
    with psycopg.connect(migrated_dsn) as conn:
        load(conn, RACES, RUNNERS)
        conn.commit()
        horses = conn.execute("SELECT horse_name, horse_norm FROM racing.horses ORDER BY horse_norm").fetchall()
        norms = [h[1] for h in horses]
        assert norms == ["frankel", "kautostar", "obriensgift", "seathestars"]
        # the three spellings of Sea The Stars run under one horse_id
        ids = conn.execute(
            """SELECT count(DISTINCT horse_id) FROM racing.runners r JOIN racing.horses h USING (horse_id)
               WHERE h.horse_norm = 'seathestars'"""
        ).fetchone()[0]  # type: ignore[index]
        runs = conn.execute(
            "SELECT count(*) FROM racing.runners r JOIN racing.horses h USING (horse_id) WHERE h.horse_norm = 'seathestars'"
        ).fetchone()[0]  # type: ignore[index]
        assert (ids, runs) == (1, 3)
        assert conn.execute("SELECT count(*) FROM racing.jockeys").fetchone()[0] == 3  # type: ignore[index]
        assert conn.execute("SELECT count(*) FROM racing.trainers").fetchone()[0] == 4  # type: ignore[index]
        # Python's norm() agrees with the generated column
        python_norms = sorted(set(RUNNERS.select(norm(pl.col("horse_name")))["horse_name"].to_list()))
        assert python_norms == norms

        # a new spelling later maps to the existing row; a new horse gets a new id
        mapping = upsert_dimension(conn, "horses", pl.Series(["Sea the Stars!", "Enable"]))
        conn.commit()
        existing = conn.execute("SELECT horse_id FROM racing.horses WHERE horse_norm = 'seathestars'").fetchone()[0]  # type: ignore[index]
        assert dict(mapping.iter_rows())["Sea the Stars!"] == existing
        assert conn.execute("SELECT count(*) FROM racing.horses").fetchone()[0] == 5  # type: ignore[index]


def test_a_changed_runner_updates_only_that_row(migrated_dsn: str) -> None:
    with psycopg.connect(migrated_dsn) as conn:
        load(conn, RACES, RUNNERS)
        conn.commit()
        before = {row[0]: row for row in table_state(conn)["runners"]}
        conn.commit()

        results_in = RUNNERS.with_columns(
            pl.when(pl.col("lbs") == 158).then(pl.lit("3")).otherwise("pos_raw").alias("pos_raw")
        )
        load(conn, RACES, results_in)
        conn.commit()

        after = {row[0]: row for row in table_state(conn)["runners"]}
        assert after.keys() == before.keys()
        changed = [runner_id for runner_id in after if after[runner_id] != before[runner_id]]
        assert len(changed) == 1
        row = conn.execute(
            "SELECT pos_raw, pos_num, win_flag FROM racing.runners WHERE runner_id = %s", (changed[0],)
        ).fetchone()
        assert row == ("3", 3, False)


def test_writes_work_on_an_autocommit_connection(migrated_dsn: str) -> None:
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        race_ids, runner_ids = load(conn, RACES, RUNNERS)
        assert (race_ids.height, runner_ids.height) == (3, 7)
        assert conn.execute("SELECT count(*) FROM racing.runners").fetchone()[0] == 7  # type: ignore[index]


def test_a_batch_with_a_repeated_key_is_refused(migrated_dsn: str) -> None:
    with psycopg.connect(migrated_dsn) as conn:
        load(conn, RACES, RUNNERS)
        conn.commit()
        repeated = pl.DataFrame(
            {"race_key": ["k1", "k1"], "race_date": [dt.date(2024, 3, 30)] * 2, "region": ["GB"] * 2,
             "race_name": ["A", "B"], "race_type": ["Flat"] * 2, "ran": [5, 6]}
        )  # fmt: skip
        with pytest.raises(
            GiddyUpError, match=r"racing.races batch holds the key \(race_key=k1, race_date=2024-03-30\)"
        ):
            upsert_keyed(conn, "races", repeated, key=("race_key", "race_date"))
