"""The Go API's contract: the modeling.api_v1_* views, docs/API.md, the read-only role.

- every api_v1 view has exactly the columns docs/API.md lists (names, order, SQL types,
  nullability of the column underneath, the Go type the page's rules give, the Go structs);
- the v1 columns frozen below stay a prefix of each view (a later migration may append, never
  rename, retype, drop or reorder);
- giddyup_api reads every view and writes none;
- every query the page documents runs as giddyup_api and returns what an endpoint expects.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.databases import migrate_dsn
from tests.support.paths import REPO_ROOT

API_DOC = REPO_ROOT / "docs" / "API.md"
API_ROLE = "giddyup_api"
BASE_TABLE = {
    "api_v1_models": "models",
    "api_v1_signals": "signals",
    "api_v1_latest_signals": "signals",
    "api_v1_bets": "bets",
}

_SIGNAL_V1 = [
    ("signal_id", "bigint"), ("as_of", "timestamp with time zone"), ("race_id", "bigint"), ("race_date", "date"),
    ("runner_id", "bigint"), ("horse_id", "bigint"), ("model_id", "bigint"), ("p_win", "double precision"),
    ("p_place", "double precision"), ("fair_odds_win", "double precision"), ("fair_odds_place", "double precision"),
    ("best_odds_win", "double precision"), ("best_odds_src", "text"), ("ew_places", "integer"), ("ew_fraction", "text"),
    ("edge_win", "double precision"), ("edge_ew", "double precision"), ("kelly_fraction", "double precision"),
    ("stake_units", "double precision"), ("liquidity_ok", "boolean"), ("reasons_json", "jsonb"),
    ("p_model", "double precision"), ("p_market", "double precision"), ("created_at", "timestamp with time zone"),
]  # fmt: skip
# Published: never change these lists (append-only views; a break is an api_v2 view).
FROZEN_V1: dict[str, list[tuple[str, str]]] = {
    "api_v1_models": [
        ("model_id", "bigint"), ("name", "text"), ("version", "text"), ("stage", "text"), ("artifact_uri", "text"),
        ("metrics_json", "jsonb"), ("created_at", "timestamp with time zone"), ("updated_at", "timestamp with time zone"),
    ],
    "api_v1_signals": _SIGNAL_V1,
    "api_v1_latest_signals": _SIGNAL_V1,
    "api_v1_bets": [
        ("bet_id", "bigint"), ("ts", "timestamp with time zone"), ("race_id", "bigint"), ("race_date", "date"),
        ("runner_id", "bigint"), ("horse_id", "bigint"), ("model_id", "bigint"),
        ("signal_as_of", "timestamp with time zone"), ("side", "text"), ("odds", "double precision"),
        ("stake", "double precision"), ("expected_ev", "double precision"), ("source", "text"), ("exchange", "boolean"),
        ("ew_places", "integer"), ("ew_fraction", "text"), ("status", "text"), ("result_pos_raw", "text"),
        ("dead_heat_ways", "integer"), ("close_odds_src", "text"), ("clv_close_odds", "double precision"),
        ("clv", "double precision"), ("commission", "double precision"), ("pnl", "double precision"),
        ("settled_at", "timestamp with time zone"),
    ],
}  # fmt: skip
SQL_TYPE_SPELLING = {"timestamptz": "timestamp with time zone"}


# --- what docs/API.md says -----------------------------------------------------------------------


def _table_rows(lines: list[str]) -> list[list[str]]:
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines if line.startswith("|")]
    return [row for row in rows[2:]]  # header and separator


def documented_views() -> dict[str, list[dict[str, str]]]:
    """{view: [{column, sql_type, null, go_type}, ...]} from the '### modeling.api_v1_*' tables."""
    text = API_DOC.read_text()
    views = {}
    for match in re.finditer(r"^### modeling\.(api_v1_\w+)\n(.*?)(?=^#)", text, flags=re.S | re.M):
        table = [line for line in match.group(2).splitlines() if line.startswith("|")]
        views[match.group(1)] = [
            {"column": c, "sql_type": SQL_TYPE_SPELLING.get(t, t), "null": n, "go_type": g}
            for c, t, n, g, _meaning in _table_rows(table)
        ]
    return views


def go_type_rules() -> dict[str, tuple[str, str]]:
    """{sql type: (Go type NOT NULL, Go type nullable)} from the page's 'Go types' table."""
    section = API_DOC.read_text().split("## Go types", 1)[1].split("\n## ", 1)[0]
    rules = {}
    for sql_type, not_null, nullable, _note in _table_rows(section.splitlines()):
        rules[SQL_TYPE_SPELLING.get(sql_type, sql_type)] = (not_null.strip("`"), nullable.strip("`"))
    return rules


def documented_go_structs() -> dict[str, list[tuple[str, str]]]:
    """{view: [(db column, Go type), ...]} from the '<!-- go: view -->' blocks."""
    structs = {}
    for view, body in re.findall(r"<!-- go: (\w+) -->\n```go\n(.*?)```", API_DOC.read_text(), flags=re.S):
        structs[view] = re.findall(r"^\s+\w+\s+(\S+)\s+`db:\"(\w+)\"", body, flags=re.M)
    return {view: [(column, go) for go, column in fields] for view, fields in structs.items()}


def documented_queries() -> dict[str, str]:
    """{name: SQL with psycopg placeholders} from the '<!-- query: name -->' blocks."""
    found = re.findall(r"<!-- query: (\w+) -->\n```sql\n(.*?)```", API_DOC.read_text(), flags=re.S)
    return {name: re.sub(r"\$(\d+)", r"%(p\1)s", sql) for name, sql in found}


# --- what the database has -----------------------------------------------------------------------


def _view_columns(conn: psycopg.Connection, view: str) -> list[tuple[str, str]]:
    return conn.execute(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
           WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
        (f"modeling.{view}",),
    ).fetchall()


def _not_null(conn: psycopg.Connection, table: str) -> set[str]:
    rows = conn.execute(
        """SELECT attname FROM pg_attribute
           WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped AND attnotnull""",
        (f"modeling.{table}",),
    ).fetchall()
    return {r[0] for r in rows}


def test_every_api_view_has_exactly_the_documented_columns(session_dsn: str) -> None:
    documented = documented_views()
    rules = go_type_rules()
    structs = documented_go_structs()
    with psycopg.connect(session_dsn) as conn:
        views = {
            r[0]
            for r in conn.execute(
                "SELECT viewname FROM pg_views WHERE schemaname = 'modeling' AND viewname LIKE 'api\\_%'"
            ).fetchall()
        }
        assert views == set(documented) == set(FROZEN_V1)
        for view, columns in documented.items():
            actual = _view_columns(conn, view)
            assert actual == [(c["column"], c["sql_type"]) for c in columns], f"{view} differs from docs/API.md"
            not_null = _not_null(conn, BASE_TABLE[view])
            for column in columns:
                assert column["null"] == ("no" if column["column"] in not_null else "yes"), (view, column)
                expected_go = rules[column["sql_type"]][0 if column["null"] == "no" else 1]
                assert column["go_type"] == expected_go, (view, column)
            struct_view = "api_v1_signals" if view == "api_v1_latest_signals" else view
            assert structs[struct_view] == [(c["column"], c["go_type"]) for c in columns], f"Go struct of {view}"


def test_published_v1_columns_are_never_renamed_retyped_or_dropped(session_dsn: str) -> None:
    with psycopg.connect(session_dsn) as conn:
        for view, frozen in FROZEN_V1.items():
            actual = _view_columns(conn, view)
            assert actual[: len(frozen)] == frozen, f"modeling.{view} changed a published column"


# --- the read-only role --------------------------------------------------------------------------


@pytest.fixture
def as_api(session_dsn: str) -> Iterator[psycopg.Connection]:
    """A connection acting as giddyup_api (SET ROLE inside a transaction rolled back at the end)."""
    with psycopg.connect(session_dsn) as conn:
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (API_ROLE,)).fetchone(), "no API role"
        conn.execute(f"SET LOCAL ROLE {API_ROLE}")
        yield conn
        conn.rollback()


@pytest.mark.parametrize("view", sorted(FROZEN_V1))
def test_api_role_reads_each_view(as_api: psycopg.Connection, view: str) -> None:
    cur = as_api.execute(f"SELECT * FROM modeling.{view} LIMIT 1")
    assert [d.name for d in cur.description][: len(FROZEN_V1[view])] == [c for c, _ in FROZEN_V1[view]]


def test_api_role_may_write_no_view(session_dsn: str) -> None:
    with psycopg.connect(session_dsn) as conn:
        for view in FROZEN_V1:
            for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                granted = conn.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", (API_ROLE, f"modeling.{view}", privilege)
                ).fetchone()[0]  # type: ignore[index]
                assert not granted, (view, privilege)


@pytest.mark.parametrize("target", ["modeling.api_v1_signals", "modeling.signals", "modeling.latest_signal_as_of"])
def test_api_role_write_is_refused(as_api: psycopg.Connection, target: str) -> None:
    # api_v1_signals is a simple (auto-updatable) view: the attempt reaches the privilege check
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        as_api.execute(f"DELETE FROM {target}")


# --- the documented queries ----------------------------------------------------------------------

DAY = dt.date(2031, 5, 6)
T0 = dt.datetime(2031, 5, 6, 7, 0, tzinfo=dt.UTC)  # the morning run
T1 = T0 + dt.timedelta(hours=2)  # a refresh
T2 = T0 + dt.timedelta(hours=3)  # the new production model's first run
RACE, OTHER_RACE, YESTERDAY_RACE = 9_100_001, 9_100_002, 9_100_000


@pytest.fixture(scope="module")
def priced(database_factory) -> dict:  # type: ignore[no-untyped-def]
    """A day: race RACE priced at T0 and T1 by model A, then (production changed) two of its three
    runners by model B at T2; OTHER_RACE priced at T0; a race of the day before; two bets."""
    dsn = database_factory.create("gu_api")
    migrate_dsn(dsn, with_racing_reference=False)
    with psycopg.connect(dsn) as conn:
        model_a, model_b = (
            conn.execute(
                "INSERT INTO modeling.models (version, stage) VALUES (%s, %s) RETURNING model_id", (version, stage)
            ).fetchone()[0]  # type: ignore[index]
            for version, stage in (("a", "development"), ("b", "production"))
        )

        def signal(as_of: dt.datetime, race_id: int, horse_id: int, model_id: int, p_win: float, day: dt.date) -> None:
            conn.execute(
                """INSERT INTO modeling.signals (as_of, race_id, horse_id, model_id, p_win, race_date, reasons_json)
                   VALUES (%s, %s, %s, %s, %s, %s, '{"summary": "test"}')""",
                (as_of, race_id, horse_id, model_id, p_win, day),
            )

        for as_of in (T0, T1):
            for horse, p in ((1, 0.5), (2, 0.3), (3, 0.2)):
                signal(as_of, RACE, horse, model_a, p, DAY)
        signal(T2, RACE, 1, model_b, 0.6, DAY)
        signal(T2, RACE, 2, model_b, 0.4, DAY)
        signal(T0, OTHER_RACE, 7, model_a, 1.0, DAY)
        signal(T0 - dt.timedelta(days=1), YESTERDAY_RACE, 1, model_a, 1.0, DAY - dt.timedelta(days=1))
        conn.execute(
            """INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, source, race_date)
               VALUES (%s, %s, 1, 'win', 2.5, 1, 'paper', %s), (%s, %s, 7, 'win', 1.5, 2, 'manual', %s)""",
            (T1, RACE, DAY, T0, OTHER_RACE, DAY),
        )
        conn.commit()
    return {"dsn": dsn, "model_a": model_a, "model_b": model_b}


def _run(dsn: str, name: str, **params: object) -> list[dict]:
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET LOCAL ROLE {API_ROLE}")
        cur = conn.execute(documented_queries()[name], params)
        names = [d.name for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        conn.rollback()
    return rows


def test_race_latest_prices_give_each_runner_its_newest_signal(priced: dict) -> None:
    rows = _run(priced["dsn"], "race_latest_prices", p1=RACE)
    got = [(r["horse_id"], r["model_id"], r["as_of"], r["p_win"]) for r in rows]
    assert got == [(1, priced["model_b"], T2, 0.6), (2, priced["model_b"], T2, 0.4), (3, priced["model_a"], T1, 0.2)]
    assert rows[0]["reasons_json"] == {"summary": "test"}
    assert rows[0]["liquidity_ok"] is True  # the column's default


def test_day_card_holds_every_race_of_the_date_and_nothing_else(priced: dict) -> None:
    rows = _run(priced["dsn"], "day_card", p1=DAY)
    assert [(r["race_id"], r["horse_id"], r["as_of"]) for r in rows] == [
        (RACE, 1, T2),
        (RACE, 2, T2),
        (RACE, 3, T1),
        (OTHER_RACE, 7, T0),
    ]


def test_price_at_an_instant_is_the_newest_signal_at_or_before_it(priced: dict) -> None:
    between = T1 - dt.timedelta(minutes=1)
    assert [(r["as_of"], r["p_win"]) for r in _run(priced["dsn"], "price_at", p1=RACE, p2=1, p3=between)] == [(T0, 0.5)]
    assert [r["as_of"] for r in _run(priced["dsn"], "price_at", p1=RACE, p2=1, p3=T1)] == [T1]
    assert _run(priced["dsn"], "price_at", p1=RACE, p2=1, p3=T0 - dt.timedelta(seconds=1)) == []
    history = _run(priced["dsn"], "price_history", p1=RACE, p2=1)
    assert [(r["as_of"], r["model_id"]) for r in history] == [
        (T0, priced["model_a"]),
        (T1, priced["model_a"]),
        (T2, priced["model_b"]),
    ]


def test_bets_and_the_production_model(priced: dict) -> None:
    assert [(r["race_id"], r["source"]) for r in _run(priced["dsn"], "race_bets", p1=RACE)] == [(RACE, "paper")]
    assert [r["race_id"] for r in _run(priced["dsn"], "day_bets", p1=DAY)] == [OTHER_RACE, RACE]  # by ts
    models = _run(priced["dsn"], "production_model", p1="hrd_win_prob")
    assert [(m["model_id"], m["stage"]) for m in models] == [(priced["model_b"], "production")]


def test_the_documented_bet_insert_works_without_ts(priced: dict) -> None:
    with psycopg.connect(priced["dsn"]) as conn:
        before = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        conn.commit()
        bet_id, ts = conn.execute(
            documented_queries()["record_bet"], {"p1": RACE, "p2": 3, "p3": "win", "p4": 4.0, "p5": 1.0, "p6": "manual"}
        ).fetchone()  # type: ignore[misc]
        status, exchange = conn.execute(
            "SELECT status, exchange FROM modeling.bets WHERE bet_id = %s", (bet_id,)
        ).fetchone()  # type: ignore[misc]
        conn.rollback()
    assert ts >= before and ts.tzinfo is not None
    assert (status, exchange) == ("open", True)
