"""The signal publisher against a real PostgreSQL: upsert, idempotency (no rewrite), every
validation rule (message names race, horse and rule; nothing written) and atomicity when the
database fails in the middle of a publish."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import random
from collections.abc import Callable, Iterator

import polars as pl
import psycopg
import pytest

from giddyup.errors import GiddyUpError, ValidationError
from giddyup.publish import SIGNAL_COLUMNS, publish_signals

RUNNERS = 3
_instants = itertools.count()


def next_as_of() -> dt.datetime:
    """A fresh scoring instant per batch, so each test's rows are its own."""
    return dt.datetime(2025, 3, 30, 0, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=next(_instants))


def make_batch(
    as_of: dt.datetime, model_id: int, race_ids: list[int], runners: int = RUNNERS, seed: int = 0
) -> pl.DataFrame:
    """A valid batch with every column filled; p_win of each race sums to one."""
    rng = random.Random(seed)
    rows = []
    for race_id in race_ids:
        weights = [rng.uniform(0.5, 5.0) for _ in range(runners)]
        total = sum(weights)
        for index, weight in enumerate(weights):
            p_win = weight / total
            p_place = min(1.0, p_win * 2.5)
            best = round(1 / p_win * rng.uniform(0.9, 1.3), 2) + 0.01
            rows.append(
                {
                    "as_of": as_of,
                    "race_id": race_id,
                    "horse_id": race_id * 100 + index + 1,
                    "model_id": model_id,
                    "p_win": p_win,
                    "p_place": p_place,
                    "fair_odds_win": 1 / p_win,
                    "fair_odds_place": max(1.01, 1 / p_place),
                    "best_odds_win": best,
                    "best_odds_src": rng.choice(["live", "bookmaker", "exchange_wap"]),
                    "ew_places": 2,
                    "ew_fraction": "1/4",
                    "edge_win": p_win * best - 1,
                    "edge_ew": rng.uniform(-0.2, 0.2),
                    "kelly_fraction": max(0.0, (p_win * best - 1) / (best - 1)),
                    "stake_units": rng.uniform(0, 2),
                    "liquidity_ok": rng.random() > 0.3,
                    "reasons_json": json.dumps({"form": round(rng.uniform(-1, 1), 3), "note": f"runner {index}"}),
                    "runner_id": race_id * 1000 + index,
                    "race_date": as_of.date(),
                    "p_model": p_win,
                    "p_market": p_win,
                }
            )
    return pl.DataFrame(rows, schema={name: dtype for name, (dtype, _) in SIGNAL_COLUMNS.items()})


@pytest.fixture(scope="module")
def dsn(database_factory) -> str:  # type: ignore[no-untyped-def]
    from tests.support.databases import migrate_dsn

    dsn = database_factory.create("gu_pub")
    migrate_dsn(dsn, with_racing_reference=False)
    return dsn


def _add_model(conn: psycopg.Connection, version: str) -> int:
    model_id = conn.execute(
        "INSERT INTO modeling.models (name, version) VALUES ('hrd_win_prob', %s) RETURNING model_id", (version,)
    ).fetchone()[0]  # type: ignore[index]
    conn.commit()
    return model_id


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn) as connection:
        yield connection


@pytest.fixture(scope="module")
def model_id(dsn: str) -> int:
    with psycopg.connect(dsn) as connection:
        return _add_model(connection, "test-1")


def snapshot(conn: psycopg.Connection, where: str = "true", args: tuple = ()) -> list[tuple]:
    """Every column of the rows, plus the tuple's xmin and ctid (changed by any rewrite)."""
    rows = conn.execute(
        f"SELECT s.*, s.xmin::text, s.ctid::text FROM modeling.signals s WHERE {where} ORDER BY signal_id", args
    ).fetchall()
    conn.commit()
    return rows


def stored_batch(conn: psycopg.Connection, as_of: dt.datetime) -> pl.DataFrame:
    columns = ", ".join(SIGNAL_COLUMNS)
    rows = conn.execute(
        f"SELECT {columns} FROM modeling.signals WHERE as_of = %s ORDER BY race_id, horse_id", (as_of,)
    ).fetchall()
    conn.commit()
    reasons_at = list(SIGNAL_COLUMNS).index("reasons_json")
    # jsonb comes back parsed; compare as canonical JSON text
    rows = [(*r[:reasons_at], json.dumps(r[reasons_at], sort_keys=True), *r[reasons_at + 1 :]) for r in rows]
    return pl.DataFrame(rows, schema={n: d for n, (d, _) in SIGNAL_COLUMNS.items()}, orient="row")


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("race_id", "horse_id").with_columns(
        pl.col("reasons_json").map_elements(
            lambda text: json.dumps(json.loads(text), sort_keys=True), return_dtype=pl.String
        )
    )


# --- upsert and idempotency ----------------------------------------------------------------------


def test_publish_stores_every_column_as_given(conn: psycopg.Connection, model_id: int) -> None:
    as_of = next_as_of()
    batch = make_batch(as_of, model_id, [101, 102], seed=1)
    result = publish_signals(conn, batch)
    assert (result.rows, result.inserted, result.updated, result.unchanged) == (6, 6, 0, 0)
    assert stored_batch(conn, as_of).equals(canonical(batch))


def test_upsert_adds_new_instants_and_updates_the_same_key(conn: psycopg.Connection, model_id: int) -> None:
    first_as_of, later_as_of = next_as_of(), next_as_of()
    publish_signals(conn, make_batch(first_as_of, model_id, [201, 202], seed=2))
    before = {r[2:4]: r for r in snapshot(conn, "as_of = %s", (first_as_of,))}  # (race_id, horse_id) -> row

    later = publish_signals(conn, make_batch(later_as_of, model_id, [201, 202], seed=3))
    assert (later.inserted, later.updated) == (6, 0)
    later_rows = snapshot(conn, "as_of = %s", (later_as_of,))

    changed = make_batch(first_as_of, model_id, [201, 202], seed=4)  # same keys, new prices
    result = publish_signals(conn, changed)
    assert (result.rows, result.inserted, result.updated, result.unchanged) == (6, 0, 6, 0)

    assert stored_batch(conn, first_as_of).equals(canonical(changed))
    after = {r[2:4]: r for r in snapshot(conn, "as_of = %s", (first_as_of,))}
    assert after.keys() == before.keys()
    for key, row in after.items():
        assert row[0] == before[key][0], "an update keeps the row's signal_id"
        assert row[-2] != before[key][-2], "the updated row is a new row version"
    assert snapshot(conn, "as_of = %s", (later_as_of,)) == later_rows  # the other instant untouched
    assert conn.execute("SELECT count(*) FROM modeling.signals WHERE race_id IN (201, 202)").fetchone()[0] == 12  # type: ignore[index]


def test_publishing_the_same_batch_twice_changes_nothing(conn: psycopg.Connection, model_id: int) -> None:
    as_of = next_as_of()
    batch = make_batch(as_of, model_id, [301, 302, 303], seed=5)
    publish_signals(conn, batch)
    first = snapshot(conn, "as_of = %s", (as_of,))

    again = publish_signals(conn, batch)

    assert (again.rows, again.inserted, again.updated, again.unchanged) == (9, 0, 0, 9)
    assert snapshot(conn, "as_of = %s", (as_of,)) == first  # every column, signal_id, xmin and ctid


def test_one_changed_row_updates_only_that_row(conn: psycopg.Connection, model_id: int) -> None:
    as_of = next_as_of()
    batch = make_batch(as_of, model_id, [351, 352], seed=6)
    publish_signals(conn, batch)
    first = {r[0]: r for r in snapshot(conn, "as_of = %s", (as_of,))}

    edited = batch.with_columns(
        pl.when(pl.col("horse_id") == 35102).then(pl.lit("manual")).otherwise("best_odds_src").alias("best_odds_src")
    )
    result = publish_signals(conn, edited)

    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 5)
    after = {r[0]: r for r in snapshot(conn, "as_of = %s", (as_of,))}
    changed = [signal_id for signal_id in after if after[signal_id] != first[signal_id]]
    assert len(changed) == 1 and after[changed[0]][3] == 35102 and after[changed[0]][10] == "manual"


def test_two_publishes_inside_one_caller_transaction(conn: psycopg.Connection, model_id: int) -> None:
    first_as_of, second_as_of = next_as_of(), next_as_of()
    conn.execute("SELECT 1")  # the caller has a transaction open
    publish_signals(conn, make_batch(first_as_of, model_id, [371], seed=7))
    publish_signals(conn, make_batch(second_as_of, model_id, [371], seed=8))
    conn.rollback()  # the caller's decision: both go
    assert snapshot(conn, "as_of IN (%s, %s)", (first_as_of, second_as_of)) == []


def test_as_of_in_another_zone_is_stored_as_the_same_instant(conn: psycopg.Connection, model_id: int) -> None:
    as_of = next_as_of()
    batch = make_batch(as_of, model_id, [381], seed=9)
    london = batch.with_columns(pl.col("as_of").dt.convert_time_zone("Europe/London"))
    publish_signals(conn, london)
    assert stored_batch(conn, as_of).height == RUNNERS


def test_reasons_as_python_objects_are_serialised(conn: psycopg.Connection, model_id: int) -> None:
    as_of = next_as_of()
    reasons = [{"form": 1.5, "draw": [1, 2]}, {"other": "keys", "nested": {"a": None}}, None]
    batch = make_batch(as_of, model_id, [391], seed=10).with_columns(
        pl.Series("reasons_json", reasons, dtype=pl.Object)
    )
    publish_signals(conn, batch)
    stored = conn.execute(
        "SELECT reasons_json FROM modeling.signals WHERE as_of = %s ORDER BY horse_id", (as_of,)
    ).fetchall()
    assert [r[0] for r in stored] == reasons


def test_null_odds_accepted_and_1_01_is_the_floor(conn: psycopg.Connection, model_id: int) -> None:
    as_of = next_as_of()
    batch = make_batch(as_of, model_id, [401], seed=11).with_columns(
        pl.Series("best_odds_win", [None, 1.01, 7.5]),
        pl.Series("fair_odds_place", [None, None, 1.01]),
        pl.lit(None, dtype=pl.Float64).alias("fair_odds_win"),
    )
    publish_signals(conn, batch)
    stored = conn.execute(
        "SELECT best_odds_win, fair_odds_place, fair_odds_win FROM modeling.signals WHERE as_of = %s ORDER BY horse_id",
        (as_of,),
    ).fetchall()
    assert stored == [(None, None, None), (1.01, None, None), (7.5, 1.01, None)]


def test_sum_within_tolerance_is_accepted(conn: psycopg.Connection, model_id: int) -> None:
    as_of = next_as_of()
    batch = make_batch(as_of, model_id, [411], seed=12)
    nudged = batch.with_columns(
        pl.when(pl.col("horse_id") == 41102).then(pl.col("p_win") + 9e-7).otherwise("p_win").alias("p_win")
    )
    assert abs(nudged["p_win"].sum() - 1) > 8e-7
    assert publish_signals(conn, nudged).inserted == RUNNERS


def test_latest_signals_view_gives_the_newest_row_per_runner(conn: psycopg.Connection, model_id: int) -> None:
    morning, refresh = next_as_of(), next_as_of()
    publish_signals(conn, make_batch(morning, model_id, [421, 422], seed=20))
    publish_signals(conn, make_batch(refresh, model_id, [421], seed=21))  # only race 421 refreshed
    latest = conn.execute(
        "SELECT race_id, horse_id, as_of FROM modeling.latest_signals WHERE race_id IN (421, 422) AND model_id = %s "
        "ORDER BY race_id, horse_id",
        (model_id,),
    ).fetchall()
    conn.commit()
    assert latest == [(421, 42100 + i, refresh) for i in (1, 2, 3)] + [(422, 42200 + i, morning) for i in (1, 2, 3)]


# --- validation: one bad row, nothing written ----------------------------------------------------

BAD_RACE, BAD_HORSE = 502, 50202  # the middle runner of the middle race


def _set(column: str, value: object, dtype: pl.DataType | None = None) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def change(frame: pl.DataFrame) -> pl.DataFrame:
        target = frame.schema[column] if dtype is None else dtype
        return frame.with_columns(
            pl.when(pl.col("horse_id") == BAD_HORSE)
            .then(pl.lit(value, dtype=target))
            .otherwise(pl.col(column).cast(target))
            .alias(column)
        )

    return change


def _scale_race(factor: float) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def change(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("race_id") == BAD_RACE).then(pl.col("p_win") * factor).otherwise("p_win").alias("p_win")
        )

    return change


def _shift_bad_horse(delta: float) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def change(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("horse_id") == BAD_HORSE).then(pl.col("p_win") + delta).otherwise("p_win").alias("p_win")
        )

    return change


def _duplicate_bad_row(frame: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame, frame.filter(pl.col("horse_id") == BAD_HORSE)])


def _unknown_model_for_bad_race(frame: pl.DataFrame) -> pl.DataFrame:
    # a whole race (its p_win still sums to one) under a model that was never registered
    return frame.with_columns(
        pl.when(pl.col("race_id") == BAD_RACE).then(pl.lit(987_654_321)).otherwise("model_id").alias("model_id")
    )


def _horse_ids_as_floats(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("horse_id") == BAD_HORSE)
        .then(pl.lit(BAD_HORSE + 0.5))
        .otherwise(pl.col("horse_id").cast(pl.Float64))
        .alias("horse_id")
    )


ROW_RULES: list[tuple[str, Callable[[pl.DataFrame], pl.DataFrame], str]] = [
    ("p_win NaN", _set("p_win", math.nan), "p_win=nan is NaN or infinite"),
    ("p_win inf", _set("p_win", math.inf), "p_win=inf is NaN or infinite"),
    ("edge_win NaN", _set("edge_win", math.nan), "edge_win=nan is NaN or infinite"),
    ("kelly -inf", _set("kelly_fraction", -math.inf), "kelly_fraction=-inf is NaN or infinite"),
    ("p_win NULL", _set("p_win", None), "p_win is NULL"),
    ("p_win zero", _set("p_win", 0.0), "p_win=0.0 is outside (0, 1]"),
    ("p_win negative", _set("p_win", -0.1), "p_win=-0.1 is outside (0, 1]"),
    ("p_win above one", _set("p_win", 1.2), "p_win=1.2 is outside (0, 1]"),
    ("p_place above one", _set("p_place", 1.0000001), "p_place=1.0000001 is outside (0, 1]"),
    ("fair_odds_win", _set("fair_odds_win", 1.0), "fair_odds_win=1.0 is below 1.01"),
    ("fair_odds_place", _set("fair_odds_place", 1.009), "fair_odds_place=1.009 is below 1.01"),
    ("best_odds_win", _set("best_odds_win", 0.5), "best_odds_win=0.5 is below 1.01"),
    ("duplicate key", _duplicate_bad_row, "appears twice in the batch"),
    ("bad reasons_json", _set("reasons_json", "{'single': 'quotes'}"), "reasons_json is not valid JSON"),
    ("NaN in reasons_json", _set("reasons_json", '{"x": NaN}'), "reasons_json is not valid JSON"),
    ("NUL in reasons_json", _set("reasons_json", '{"x": "a\\u0000b"}'), "reasons_json holds \\u0000"),
    ("fractional id", _horse_ids_as_floats, "horse_id=50202.5 is not a whole number"),
]


@pytest.mark.parametrize(("change", "rule"), [(c, r) for _, c, r in ROW_RULES], ids=[i for i, _, _ in ROW_RULES])
def test_invalid_row_fails_the_whole_batch_naming_it(
    conn: psycopg.Connection, model_id: int, change: Callable[[pl.DataFrame], pl.DataFrame], rule: str
) -> None:
    as_of = next_as_of()
    batch = change(make_batch(as_of, model_id, [501, BAD_RACE, 503], seed=13))
    before = snapshot(conn)

    with pytest.raises(ValidationError) as caught:
        publish_signals(conn, batch)

    message = str(caught.value)
    assert f"race_id={BAD_RACE}" in message and f"horse_id={BAD_HORSE}" in message, message
    assert rule in message
    assert "\n" not in message
    assert snapshot(conn) == before


@pytest.mark.parametrize(
    ("change", "first_horse"),
    [(_scale_race(1.01), BAD_RACE * 100 + 1), (_shift_bad_horse(2e-6), BAD_RACE * 100 + 1)],
    ids=["off by 1%", "off by 2e-6"],
)
def test_race_whose_p_win_does_not_sum_to_one_fails(
    conn: psycopg.Connection, model_id: int, change: Callable[[pl.DataFrame], pl.DataFrame], first_horse: int
) -> None:
    batch = change(make_batch(next_as_of(), model_id, [501, BAD_RACE, 503], seed=14))
    before = snapshot(conn)
    with pytest.raises(ValidationError) as caught:
        publish_signals(conn, batch)
    message = str(caught.value)
    assert f"race_id={BAD_RACE} horse_id={first_horse}" in message
    assert "not 1 within 1e-06" in message
    assert snapshot(conn) == before


def test_unknown_model_id_fails(conn: psycopg.Connection, model_id: int) -> None:
    batch = _unknown_model_for_bad_race(make_batch(next_as_of(), model_id, [501, BAD_RACE, 503], seed=15))
    before = snapshot(conn)
    with pytest.raises(ValidationError) as caught:
        publish_signals(conn, batch)
    assert str(caught.value) == (
        f"signal row race_id={BAD_RACE} horse_id={BAD_RACE * 100 + 1}: "
        "model_id=987654321 does not exist in modeling.models"
    )
    assert snapshot(conn) == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda f: f.with_columns(pl.col("as_of").dt.replace_time_zone(None)),
            "as_of must be a time-zone-aware datetime",
        ),
        (lambda f: f.with_columns(pl.lit("bay").alias("colour")), "columns modeling.signals does not: colour"),
        (lambda f: f.drop("p_win"), "lacks required column(s): p_win"),
        (lambda f: f.with_columns(pl.lit("x").alias("ew_places")), "column of the wrong type"),
        (lambda f: f.with_columns(pl.lit(3).alias("reasons_json")), "reasons_json must hold JSON text"),
    ],
    ids=["naive as_of", "unknown column", "missing p_win", "wrong type", "reasons not text"],
)
def test_invalid_batch_shape_fails_naming_the_column(
    conn: psycopg.Connection, model_id: int, change: Callable[[pl.DataFrame], pl.DataFrame], expected: str
) -> None:
    # whole-column faults: the message names the column (no single row is to blame)
    batch = change(make_batch(next_as_of(), model_id, [601, 602], seed=16))
    before = snapshot(conn)
    with pytest.raises(ValidationError) as caught:
        publish_signals(conn, batch)
    assert expected in str(caught.value)
    assert isinstance(caught.value, GiddyUpError)
    assert snapshot(conn) == before


# --- atomicity when the database fails mid-publish -----------------------------------------------


def test_database_failure_mid_publish_leaves_no_part_of_the_batch(migrated_dsn: str) -> None:
    with psycopg.connect(migrated_dsn) as conn:
        model_id = _add_model(conn, "atomic-1")
        old_as_of, new_as_of = next_as_of(), next_as_of()
        races = [701, 702, 703, 704, 705]
        publish_signals(conn, make_batch(old_as_of, model_id, races, seed=17))
        before = snapshot(conn)
        conn.execute(
            """CREATE FUNCTION modeling.fail_on_horse() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                   IF NEW.horse_id = 70302 THEN RAISE EXCEPTION 'injected failure for horse %', NEW.horse_id; END IF;
                   RETURN NEW;
               END $$"""
        )
        conn.execute(
            "CREATE TRIGGER fail_on_horse BEFORE INSERT OR UPDATE ON modeling.signals "
            "FOR EACH ROW EXECUTE FUNCTION modeling.fail_on_horse()"
        )
        conn.commit()

        # a batch that inserts a new instant and updates the old one; horse 70302 is in the middle of both
        batch = pl.concat(
            [make_batch(new_as_of, model_id, races, seed=18), make_batch(old_as_of, model_id, races, seed=19)]
        )
        with pytest.raises(psycopg.errors.RaiseException, match="injected failure for horse 70302"):
            publish_signals(conn, batch)

        assert snapshot(conn, "as_of = %s", (new_as_of,)) == []
        assert snapshot(conn) == before
        # the connection is usable again, and the same batch goes in once the fault is gone
        conn.execute("DROP TRIGGER fail_on_horse ON modeling.signals")
        conn.commit()
        result = publish_signals(conn, batch)
        assert (result.inserted, result.updated) == (15, 15)
