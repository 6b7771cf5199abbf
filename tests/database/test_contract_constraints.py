"""What the modeling tables promise their readers (migrations 011-013):

- no double precision column of any modeling table holds NaN, Infinity or -Infinity (JSON
  encoders refuse them; PostgreSQL orders NaN above every number, so `odds >= 1.01` let it in);
- the checks are validated on rows already there: a bad row fails the migration by name;
- bets.ts defaults to now(), signals.liquidity_ok to true;
- a race's bets are read through an index on bets(race_id);
- reasons_json is a JSON object (or NULL), and the publisher says so in one line.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import psycopg
import pytest

from giddyup.db.migrate import migrate
from giddyup.errors import GiddyUpError, ValidationError
from giddyup.publish import SIGNAL_COLUMNS, publish_signals
from tests.support.databases import migrate_dsn, migrations_up_to

AT = dt.datetime(2033, 4, 2, 12, 0, tzinfo=dt.UTC)

# One valid row per modeling table that has a double precision column ({model_id}: a model).
VALID_ROWS = {
    "signals": "INSERT INTO modeling.signals (as_of, race_id, horse_id, model_id, p_win, p_place, fair_odds_win, "
    "fair_odds_place, best_odds_win, edge_win, edge_ew, kelly_fraction, stake_units, p_model, p_market, "
    "vs_market_logit) VALUES ('2033-04-02 12:00Z', 1, 1, {model_id}, 1, 1, 1.01, 1.01, 2, 1, 0.5, 0.2, 1, 1, 1, 0)",
    "bets": "INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, expected_ev, clv_close_odds, pnl, "
    "clv, commission) VALUES ('2033-04-02 12:00Z', 1, 1, 'win', 2, 1, 0.1, 2.2, -1, -0.09, 0)",
    "price_snapshots": "INSERT INTO modeling.price_snapshots (race_id, runner_id, horse_id, ts, source, back_price, "
    "lay_price, traded_vol) VALUES (1, 1, 1, '2033-04-02 12:00Z', 'live', 2, 2.02, 100)",
    "drift_reports": "INSERT INTO modeling.drift_reports (report_date, model_version, n_features, n_drifted, "
    "share_drifted, status, html_path, json_path) VALUES ('2033-04-02', 'v', 10, 1, 0.1, 'ok', 'a.html', 'a.json')",
    "paper_decisions": "INSERT INTO modeling.paper_decisions (race_id, race_date, decided_at, n_bets, total_stake) "
    "VALUES (1, '2033-04-02', '2033-04-02 12:00Z', 1, 1)",
}


def _double_columns(conn: psycopg.Connection) -> dict[str, list[str]]:
    rows = conn.execute(
        """SELECT c.table_name, c.column_name FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
           WHERE c.table_schema = 'modeling' AND t.table_type = 'BASE TABLE' AND c.data_type = 'double precision'
           ORDER BY c.table_name, c.ordinal_position"""
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


@pytest.fixture
def conn(migrated_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(migrated_dsn) as connection:
        model_id = connection.execute(
            "INSERT INTO modeling.models (version) VALUES ('t') RETURNING model_id"
        ).fetchone()[0]  # type: ignore[index]
        for sql in VALID_ROWS.values():
            connection.execute(sql.format(model_id=model_id))
        connection.commit()
        yield connection


def test_no_double_column_of_any_modeling_table_takes_nan_or_infinity(conn: psycopg.Connection) -> None:
    columns = _double_columns(conn)
    conn.commit()
    assert set(columns) == set(VALID_ROWS), "a modeling table with a double column needs a row in VALID_ROWS"
    accepted = []
    for table, names in columns.items():
        for column in names:
            for value in ("NaN", "Infinity", "-Infinity"):
                try:
                    with conn.transaction():
                        conn.execute(f"UPDATE modeling.{table} SET {column} = %s::float8", (value,))
                except psycopg.errors.CheckViolation as exc:
                    assert exc.diag.constraint_name is not None
                else:
                    accepted.append(f"{table}.{column}={value}")
    assert accepted == []


def test_finite_values_and_null_still_go_in(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("UPDATE modeling.bets SET pnl = -1e300, clv = NULL, commission = 0")
        conn.execute("UPDATE modeling.signals SET edge_win = -0.99, vs_market_logit = NULL, p_market = NULL")
    assert conn.execute("SELECT pnl, clv FROM modeling.bets").fetchone() == (-1e300, None)


def test_a_nan_already_stored_fails_the_validation_by_name(fresh_dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(fresh_dsn, autocommit=True) as admin:
        migrate(admin, root=migrations_up_to("009", tmp_path))
        admin.execute(
            """INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, pnl)
               VALUES ('2033-04-02 12:00Z', 5, 5, 'win', 'NaN', 1, 'Infinity')"""
        )  # odds >= 1.01 let NaN in
        with pytest.raises(GiddyUpError, match=r"013_validate_finite_double_checks\.sql failed .*bets_odds_finite"):
            migrate(admin)
        applied = {r[0] for r in admin.execute("SELECT name FROM modeling.schema_migrations").fetchall()}
        assert "modeling/012_finite_double_checks.sql" in applied  # new rows are checked already
        assert "modeling/013_validate_finite_double_checks.sql" not in applied
        with pytest.raises(psycopg.errors.CheckViolation):
            admin.execute("UPDATE modeling.bets SET clv = 'NaN'")

        admin.execute("UPDATE modeling.bets SET odds = 2.0, pnl = NULL WHERE race_id = 5")
        migrate(admin)  # the fixed row lets the rest through
        validated = admin.execute(
            "SELECT bool_and(convalidated) FROM pg_constraint WHERE conname LIKE '%%\\_finite'"
        ).fetchone()[0]  # type: ignore[index]
        assert validated is True


# --- defaults and the bets index -----------------------------------------------------------------


def test_a_bet_inserted_without_ts_is_timestamped(conn: psycopg.Connection) -> None:
    started = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    conn.commit()
    ts = conn.execute(
        "INSERT INTO modeling.bets (race_id, horse_id, side, odds, stake, source) "
        "VALUES (2, 2, 'win', 3.5, 2, 'manual') RETURNING ts"
    ).fetchone()[0]  # type: ignore[index]
    assert ts >= started


def test_a_signal_inserted_without_liquidity_ok_is_liquid(conn: psycopg.Connection) -> None:
    model_id = conn.execute("SELECT max(model_id) FROM modeling.models").fetchone()[0]  # type: ignore[index]
    row = conn.execute(
        "INSERT INTO modeling.signals (as_of, race_id, horse_id, model_id, p_win) VALUES (%s, 3, 3, %s, 1) "
        "RETURNING liquidity_ok",
        (AT, model_id),
    ).fetchone()
    assert row == (True,)


def test_publisher_keeps_null_liquidity_as_unknown(conn: psycopg.Connection) -> None:
    model_id = conn.execute("SELECT max(model_id) FROM modeling.models").fetchone()[0]  # type: ignore[index]
    conn.commit()
    names = ["as_of", "race_id", "horse_id", "model_id", "p_win", "liquidity_ok"]
    batch = pl.DataFrame(
        [(AT, 4, 41, model_id, 0.5, None), (AT, 4, 42, model_id, 0.5, False)],
        schema={n: SIGNAL_COLUMNS[n][0] for n in names},
        orient="row",
    )
    publish_signals(conn, batch)
    rows = conn.execute("SELECT horse_id, liquidity_ok FROM modeling.signals WHERE race_id = 4 ORDER BY 1").fetchall()
    assert rows == [(41, None), (42, False)]  # GiddyUp's NULL means "volume unknown"; the default is for others


def test_a_races_bets_are_read_through_an_index(conn: psycopg.Connection) -> None:
    conn.execute("SET LOCAL enable_seqscan = off")  # a handful of bets here; thousands a year
    plan = conn.execute("EXPLAIN (FORMAT JSON) SELECT * FROM modeling.bets WHERE race_id = 1").fetchone()[0][0]["Plan"]  # type: ignore[index]
    conn.rollback()
    found = json.dumps(plan)
    assert '"Node Type": "Seq Scan"' not in found
    assert "(race_id = 1)" in found and "bets_race_idx" in found


# --- reasons_json is an object -------------------------------------------------------------------


def test_reasons_json_that_is_not_an_object_is_refused(conn: psycopg.Connection) -> None:
    model_id = conn.execute("SELECT max(model_id) FROM modeling.models").fetchone()[0]  # type: ignore[index]
    conn.commit()
    with pytest.raises(psycopg.errors.CheckViolation, match="signals_reasons_json_object"):
        conn.execute(
            "INSERT INTO modeling.signals (as_of, race_id, horse_id, model_id, p_win, reasons_json) "
            "VALUES (%s, 6, 6, %s, 1, '[\"a list\"]')",
            (AT, model_id),
        )
    conn.rollback()
    names = ["as_of", "race_id", "horse_id", "model_id", "p_win", "reasons_json"]
    for reasons, kind in (('["a list"]', "array"), ('"text"', "string"), ("null", "null")):
        batch = pl.DataFrame(
            [(AT, 7, 71, model_id, 1.0, reasons)], schema={n: SIGNAL_COLUMNS[n][0] for n in names}, orient="row"
        )
        with pytest.raises(
            ValidationError, match=rf"race_id=7 horse_id=71: reasons_json is a JSON {kind}, not an object"
        ):
            publish_signals(conn, batch)
    objects = pl.DataFrame(
        [(AT, 7, 71, model_id, 1.0, ["a", "list"])],
        schema={**{n: SIGNAL_COLUMNS[n][0] for n in names[:-1]}, "reasons_json": pl.Object},
        orient="row",
    )
    with pytest.raises(ValidationError, match="reasons_json is a JSON array, not an object"):
        publish_signals(conn, objects)


def test_the_migrations_apply_to_a_database_holding_rows_of_every_table(fresh_dsn: str, tmp_path: Path) -> None:
    with psycopg.connect(fresh_dsn, autocommit=True) as admin:
        migrate(admin, root=migrations_up_to("009", tmp_path))
        model_id = admin.execute("INSERT INTO modeling.models (version) VALUES ('t') RETURNING model_id").fetchone()[0]  # type: ignore[index]
        for sql in VALID_ROWS.values():
            admin.execute(sql.format(model_id=model_id))
    migrate_dsn(fresh_dsn, with_racing_reference=False)
    with psycopg.connect(fresh_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM modeling.api_v1_latest_signals").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM modeling.api_v1_bets").fetchone() == (1,)
