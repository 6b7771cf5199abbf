"""`giddyup migrate` against a real PostgreSQL: ordering and bookkeeping, idempotency, checksum
refusal, concurrent runs, the racing reference schema (as the spec lists it), the dev-copy mark and
the API's read-only role."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from giddyup.db.devcopy import is_dev_copy, require_dev_copy
from giddyup.db.migrate import MIGRATE_LOCK_KEY, MigrateResult, migrate, migrations_dir
from giddyup.errors import GiddyUpError, NotDevCopyError
from tests.support.cli import run_giddyup
from tests.support.paths import REPO_ROOT


def _files(kind: str) -> list[Path]:
    return sorted((REPO_ROOT / "migrations" / kind).glob("*.sql"))


MODELING_FILES = [f"modeling/{p.name}" for p in _files("modeling")]
RACING_FILES = [f"racing/{p.name}" for p in _files("racing")]


def _migrate(dsn: str, **kwargs: object) -> MigrateResult:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return migrate(conn, **kwargs)  # type: ignore[arg-type]


def _recorded(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT name, checksum, applied_at, duration_ms FROM modeling.schema_migrations ORDER BY name"
        ).fetchall()


def _exists(dsn: str, relation: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT to_regclass(%s)", (relation,)).fetchone()[0] is not None  # type: ignore[index]


# --- ordering, bookkeeping, idempotency ----------------------------------------------------------


def test_first_run_applies_every_file_in_order_and_records_it(fresh_dsn: str) -> None:
    assert len(MODELING_FILES) >= 5
    with psycopg.connect(fresh_dsn) as conn:
        before = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]

    result = _migrate(fresh_dsn)

    assert result.applied == MODELING_FILES
    assert result.already_applied == 0
    recorded = _recorded(fresh_dsn)
    assert [r[0] for r in recorded] == MODELING_FILES
    for (name, checksum, applied_at, duration_ms), path in zip(recorded, _files("modeling"), strict=True):
        assert checksum == hashlib.sha256(path.read_bytes()).hexdigest(), name
        assert applied_at >= before and applied_at.tzinfo is not None
        assert duration_ms >= 0
    # each file in its own transaction, one after the other: now() of each is later than the last
    applied_times = [r[2] for r in recorded]
    assert applied_times == sorted(applied_times) and len(set(applied_times)) == len(applied_times)
    assert _exists(fresh_dsn, "modeling.signals") and _exists(fresh_dsn, "modeling.latest_signals")
    assert not _exists(fresh_dsn, "racing.races")  # no racing schema without the flag


def test_second_run_applies_nothing_and_leaves_the_records(fresh_dsn: str) -> None:
    _migrate(fresh_dsn, with_racing_reference=True)
    first = _recorded(fresh_dsn)

    again = _migrate(fresh_dsn, with_racing_reference=True)

    assert again.applied == []
    assert again.already_applied == len(MODELING_FILES) + len(RACING_FILES)
    assert again.marked_dev_copy is False  # already marked by the first run
    assert _recorded(fresh_dsn) == first


def test_changed_applied_file_is_refused_and_nothing_is_applied(fresh_dsn: str, tmp_path: Path) -> None:
    root = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), root)
    _migrate(fresh_dsn, root=root)
    first = _recorded(fresh_dsn)

    edited = root / "modeling" / "002_bets.sql"
    edited.write_text(edited.read_text() + "\n-- an innocent-looking edit\n")
    (root / "modeling" / "099_new_table.sql").write_text("CREATE TABLE modeling.would_be_new (x int);\n")

    with pytest.raises(GiddyUpError) as caught:
        _migrate(fresh_dsn, root=root)

    message = str(caught.value)
    assert "modeling/002_bets.sql changed after it was applied" in message
    assert "\n" not in message
    assert first[1][1][:12] in message  # the recorded checksum, to compare with the file
    assert _recorded(fresh_dsn) == first
    assert not _exists(fresh_dsn, "modeling.would_be_new")

    # restoring the file lets the new migration through
    shutil.copy(migrations_dir() / "modeling" / "002_bets.sql", edited)
    assert _migrate(fresh_dsn, root=root).applied == ["modeling/099_new_table.sql"]
    assert _exists(fresh_dsn, "modeling.would_be_new")


def test_misnamed_migration_file_is_refused(fresh_dsn: str, tmp_path: Path) -> None:
    root = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), root)
    (root / "modeling" / "6_Bad Name.sql").write_text("SELECT 1;\n")
    with pytest.raises(GiddyUpError, match=r"6_Bad Name\.sql is not named NNN_lower_snake\.sql"):
        _migrate(fresh_dsn, root=root)
    assert not _exists(fresh_dsn, "modeling.signals")


def test_failing_migration_is_rolled_back_and_named(fresh_dsn: str, tmp_path: Path) -> None:
    root = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), root)
    (root / "modeling" / "099_broken.sql").write_text(
        "CREATE TABLE modeling.half_made (x int);\nSELECT * FROM modeling.no_such_table;\n"
    )
    with pytest.raises(GiddyUpError, match=r"migration modeling/099_broken\.sql failed and was rolled back"):
        _migrate(fresh_dsn, root=root)
    assert [r[0] for r in _recorded(fresh_dsn)] == MODELING_FILES  # the good ones stay applied
    assert not _exists(fresh_dsn, "modeling.half_made")


# --- two runs at once ----------------------------------------------------------------------------


def _advisory_waiters(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            """SELECT count(*) FROM pg_locks
               WHERE locktype = 'advisory' AND NOT granted
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
        ).fetchone()[0]  # type: ignore[index]


def test_concurrent_runs_serialise_and_apply_each_file_once(fresh_dsn: str) -> None:
    results: list[MigrateResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(_migrate(fresh_dsn, with_racing_reference=True))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    # Hold the lock so that both runs are provably waiting on it at the same time.
    with psycopg.connect(fresh_dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK_KEY,))
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        deadline = dt.datetime.now() + dt.timedelta(seconds=30)
        while _advisory_waiters(fresh_dsn) < 2:
            assert dt.datetime.now() < deadline, "the two migrate runs never waited on the lock"
            assert not errors, errors
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK_KEY,))
        for thread in threads:
            thread.join(timeout=60)

    assert not errors, errors
    everything = MODELING_FILES + RACING_FILES
    assert sorted(len(r.applied) for r in results) == [0, len(everything)]
    winner, loser = sorted(results, key=lambda r: -len(r.applied))
    assert winner.applied == everything
    assert loser.already_applied == len(everything)
    recorded = [r[0] for r in _recorded(fresh_dsn)]
    assert sorted(recorded) == sorted(everything)  # primary key: a second insert would have failed anyway
    assert sum(r.marked_dev_copy for r in results) == 1


# --- the racing reference schema -----------------------------------------------------------------

# Written from ../shared/specs/racing-schema.md (not from the migration): the contract.
SPEC_COLUMNS: dict[str, list[str]] = {
    "courses": ["course_id", "course_name", "region", "course_norm"],
    "horses": ["horse_id", "horse_name", "horse_norm"],
    "trainers": ["trainer_id", "trainer_name", "trainer_norm"],
    "jockeys": ["jockey_id", "jockey_name", "jockey_norm"],
    "owners": ["owner_id", "owner_name", "owner_norm"],
    "bloodlines": ["blood_id", "sire", "dam", "damsire", "sire_norm", "dam_norm", "damsire_norm"],
    "races": [
        "race_id", "race_key", "race_date", "region", "course_id", "off_time", "race_name", "race_type",
        "class", "pattern", "rating_band", "age_band", "sex_rest", "dist_raw", "dist_f", "dist_m",
        "going", "surface", "ran", "prelim",
    ],
    "runners": [
        "runner_id", "runner_key", "race_id", "race_date", "horse_id", "trainer_id", "jockey_id",
        "owner_id", "blood_id", "num", "draw", "age", "sex", "lbs", "hg", "or", "pos_raw", "pos_num",
        "win_flag", "ovr_btn", "btn", "time_raw", "secs", "dec", "prize", "prize_raw", "rpr", "comment",
        "win_bsp", "place_bsp", "win_ppwap", "win_morningwap", "win_ppmax", "win_ppmin", "win_ipmax",
        "win_ipmin", "win_morning_vol", "win_pre_vol", "win_ip_vol", "win_lose", "place_ppwap",
        "place_morningwap", "place_ppmax", "place_ppmin", "place_ipmax", "place_ipmin",
        "place_morning_vol", "place_pre_vol", "place_ip_vol", "place_win_lose", "match_jaccard",
        "match_time_diff_min", "match_reason", "betfair_selection_id", "best_odds", "best_bookmaker",
        "price_updated_at",
    ],
    "live_prices": ["race_id", "runner_id", "ts", "back_price", "lay_price", "vwap", "traded_vol"],
}  # fmt: skip

# Types the spec states (information_schema spelling).
SPEC_TYPES: dict[tuple[str, str], str] = {
    ("races", "race_id"): "bigint",
    ("races", "race_key"): "text",
    ("races", "race_date"): "date",
    ("races", "course_id"): "bigint",
    ("races", "off_time"): "time without time zone",
    ("races", "dist_f"): "double precision",
    ("races", "dist_m"): "integer",
    ("races", "ran"): "integer",
    ("races", "prelim"): "boolean",
    ("runners", "runner_id"): "bigint",
    ("runners", "race_id"): "bigint",
    ("runners", "or"): "integer",
    ("runners", "pos_num"): "integer",
    ("runners", "win_flag"): "boolean",
    ("runners", "secs"): "double precision",
    ("runners", "dec"): "double precision",
    ("runners", "win_bsp"): "double precision",
    ("runners", "win_lose"): "integer",
    ("runners", "place_win_lose"): "integer",
    ("runners", "match_time_diff_min"): "integer",
    ("runners", "betfair_selection_id"): "bigint",
    ("runners", "best_bookmaker"): "character varying",
    ("runners", "price_updated_at"): "timestamp without time zone",
    ("live_prices", "ts"): "timestamp with time zone",
}

NOT_NULL = {
    "races": {"race_id", "race_key", "race_date", "region", "race_name", "race_type", "ran"},
    "runners": {"runner_id", "runner_key", "race_id", "race_date"},
}


@pytest.fixture(scope="module")
def racing_dsn(database_factory) -> str:  # type: ignore[no-untyped-def]
    dsn = database_factory.create("gu_mig")
    _migrate(dsn, with_racing_reference=True)
    return dsn


def test_racing_reference_has_exactly_the_spec_columns(racing_dsn: str) -> None:
    with psycopg.connect(racing_dsn) as conn:
        rows = conn.execute(
            """SELECT table_name, column_name, data_type, is_nullable, is_generated,
                      character_maximum_length
               FROM information_schema.columns WHERE table_schema = 'racing'
               ORDER BY table_name, ordinal_position"""
        ).fetchall()
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'racing' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            ).fetchall()
        }
    assert tables == set(SPEC_COLUMNS)
    actual: dict[str, list[str]] = {}
    info = {}
    for table, column, data_type, nullable, generated, max_len in rows:
        actual.setdefault(table, []).append(column)
        info[(table, column)] = (data_type, nullable, generated, max_len)
    for table, expected in SPEC_COLUMNS.items():
        missing = sorted(set(expected) - set(actual[table]))
        extra = sorted(set(actual[table]) - set(expected))
        assert not missing and not extra, f"racing.{table}: missing {missing}, not in the spec {extra}"
    for key, data_type in SPEC_TYPES.items():
        assert info[key][0] == data_type, key
    assert info[("runners", "best_bookmaker")][3] == 100
    for table, columns in NOT_NULL.items():
        for column in columns:
            assert info[(table, column)][1] == "NO", (table, column)
    generated = {key for key, value in info.items() if value[2] == "ALWAYS"}
    assert generated == {
        ("courses", "course_norm"),
        ("horses", "horse_norm"),
        ("trainers", "trainer_norm"),
        ("jockeys", "jockey_norm"),
        ("owners", "owner_norm"),
        ("bloodlines", "sire_norm"),
        ("bloodlines", "dam_norm"),
        ("bloodlines", "damsire_norm"),
        ("runners", "pos_num"),
        ("runners", "win_flag"),
    }


def _constraint_columns(conn: psycopg.Connection, table: str, kind: str) -> set[tuple[str, ...]]:
    rows = conn.execute(
        """SELECT array_agg(a.attname ORDER BY k.ord)
           FROM pg_constraint c
           CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
           WHERE c.conrelid = %s::regclass AND c.contype = %s
           GROUP BY c.oid""",
        (f"racing.{table}", kind),
    ).fetchall()
    return {tuple(r[0]) for r in rows}


def test_racing_reference_keys_and_partitioning(racing_dsn: str) -> None:
    with psycopg.connect(racing_dsn) as conn:
        assert _constraint_columns(conn, "races", "p") == {("race_id", "race_date")}
        assert _constraint_columns(conn, "races", "u") == {("race_key", "race_date")}
        assert _constraint_columns(conn, "runners", "p") == {("runner_id", "race_date")}
        assert _constraint_columns(conn, "runners", "u") == {("runner_key", "race_date")}
        assert _constraint_columns(conn, "live_prices", "p") == {("runner_id", "ts")}
        assert _constraint_columns(conn, "horses", "u") == {("horse_norm",)}
        partitioned = dict(
            conn.execute(
                """SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_partitioned_table p
                   JOIN pg_class c ON c.oid = p.partrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'racing'"""
            ).fetchall()
        )
        assert partitioned == {"races": "RANGE (race_date)", "runners": "RANGE (race_date)"}
        defaults = dict(
            conn.execute(
                """SELECT column_name, column_default FROM information_schema.columns
                   WHERE table_schema = 'racing' AND table_name = 'races'
                     AND column_name IN ('race_id', 'prelim')"""
            ).fetchall()
        )
        assert defaults["prelim"] == "false"
        assert defaults["race_id"].startswith("nextval(")  # bigserial


def _insert_race(conn: psycopg.Connection, race_date: dt.date, key: str) -> int:
    return conn.execute(
        """INSERT INTO racing.races (race_key, race_date, region, race_name, race_type, ran)
           VALUES (%s, %s, 'GB', 'Test Stakes', 'Flat', 4) RETURNING race_id""",
        (key, race_date),
    ).fetchone()[0]  # type: ignore[index]


def test_generated_pos_num_and_win_flag(racing_dsn: str) -> None:
    day = dt.date(2023, 6, 14)
    expected = {
        "1": (1, True),
        "2DH": (2, False),
        "PU": (None, None),
        "1DH": (1, True),
        "10": (10, False),
        "DSQ": (None, None),
        None: (None, None),  # a declared runner, before the race
    }
    with psycopg.connect(racing_dsn) as conn:
        conn.execute("SELECT racing.ensure_month_partitions(%s, %s)", (day, day))
        race_id = _insert_race(conn, day, f"pos-{uuid.uuid4().hex}")
        for index, pos_raw in enumerate(expected):
            conn.execute(
                """INSERT INTO racing.runners (runner_key, race_id, race_date, pos_raw)
                   VALUES (%s, %s, %s, %s)""",
                (f"{race_id}-{index}", race_id, day, pos_raw),
            )
        rows = conn.execute(
            "SELECT pos_raw, pos_num, win_flag FROM racing.runners WHERE race_id = %s", (race_id,)
        ).fetchall()
        assert {r[0]: (r[1], r[2]) for r in rows} == expected
        with pytest.raises(psycopg.errors.GeneratedAlways):
            conn.execute(
                "INSERT INTO racing.runners (runner_key, race_id, race_date, pos_num) VALUES ('x', %s, %s, 1)",
                (race_id, day),
            )
        conn.rollback()


def test_price_checks_refuse_odds_below_1_01(racing_dsn: str) -> None:
    day = dt.date(2023, 6, 15)
    with psycopg.connect(racing_dsn) as conn:
        conn.execute("SELECT racing.ensure_month_partitions(%s, %s)", (day, day))
        race_id = _insert_race(conn, day, f"odds-{uuid.uuid4().hex}")
        conn.commit()
        for column in ("dec", "win_bsp"):
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(
                    f"INSERT INTO racing.runners (runner_key, race_id, race_date, {column}) VALUES (%s, %s, %s, 1.0)",
                    (f"{race_id}-{column}", race_id, day),
                )
            conn.rollback()
        conn.execute(
            "INSERT INTO racing.runners (runner_key, race_id, race_date, dec, win_bsp) VALUES (%s, %s, %s, 1.01, 1.01)",
            (f"{race_id}-ok", race_id, day),
        )


def test_ensure_month_partitions_on_demand_and_idempotent(racing_dsn: str) -> None:
    with psycopg.connect(racing_dsn) as conn:
        with pytest.raises(psycopg.errors.CheckViolation, match="no partition"):
            _insert_race(conn, dt.date(1999, 2, 10), "no-partition-yet")
        conn.rollback()

        created = conn.execute(
            "SELECT racing.ensure_month_partitions(%s, %s)", (dt.date(1999, 1, 31), dt.date(1999, 3, 1))
        ).fetchone()[0]  # type: ignore[index]
        assert created == 6  # January, February, March for races and runners
        again = conn.execute(
            "SELECT racing.ensure_month_partitions(%s, %s)", (dt.date(1999, 1, 1), dt.date(1999, 3, 31))
        ).fetchone()[0]  # type: ignore[index]
        assert again == 0
        bounds = dict(
            conn.execute(
                """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
                   JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent = 'racing.races'::regclass AND c.relname LIKE 'races_1999_%'"""
            ).fetchall()
        )
        assert bounds == {
            "races_1999_01": "FOR VALUES FROM ('1999-01-01') TO ('1999-02-01')",
            "races_1999_02": "FOR VALUES FROM ('1999-02-01') TO ('1999-03-01')",
            "races_1999_03": "FOR VALUES FROM ('1999-03-01') TO ('1999-04-01')",
        }
        runner_parts = conn.execute(
            """SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'racing.runners'::regclass AND c.relname LIKE 'runners_1999_%'"""
        ).fetchone()[0]  # type: ignore[index]
        assert runner_parts == 3

        race_id = _insert_race(conn, dt.date(1999, 2, 28), "leap-less-february")
        where = conn.execute(
            "SELECT tableoid::regclass::text FROM racing.races WHERE race_id = %s", (race_id,)
        ).fetchone()[0]  # type: ignore[index]
        assert where == "racing.races_1999_02"
        conn.rollback()


# --- the dev-copy mark ---------------------------------------------------------------------------


def test_dev_copy_mark_set_only_with_racing_reference(racing_dsn: str, fresh_dsn: str) -> None:
    with psycopg.connect(racing_dsn) as conn:
        assert is_dev_copy(conn)
        require_dev_copy(conn, "sim generate")  # does not raise
    _migrate(fresh_dsn)
    with psycopg.connect(fresh_dsn) as conn:
        assert not is_dev_copy(conn)
        with pytest.raises(NotDevCopyError, match="`giddyup load-x` writes racing"):
            require_dev_copy(conn, "load-x")


def test_racing_reference_refused_on_a_database_with_a_real_racing_schema(fresh_dsn: str) -> None:
    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA racing")
        conn.execute("CREATE TABLE racing.races (race_id bigint)")

    with pytest.raises(NotDevCopyError) as caught:
        _migrate(fresh_dsn, with_racing_reference=True)

    assert "already has a racing schema and is not a giddyup dev copy" in str(caught.value)
    with psycopg.connect(fresh_dsn) as conn:
        assert not is_dev_copy(conn)
        assert conn.execute("SELECT to_regclass('modeling.dev_copy')").fetchone()[0] is None  # type: ignore[index]
        assert conn.execute("SELECT count(*) FROM modeling.schema_migrations").fetchone()[0] == 0  # type: ignore[index]
        assert conn.execute("SELECT to_regclass('racing.runners')").fetchone()[0] is None  # type: ignore[index]
    # without the flag the modeling schema still goes in, and racing is left alone
    assert _migrate(fresh_dsn).applied == MODELING_FILES


# --- the API's read-only role --------------------------------------------------------------------


def test_read_only_role_where_roles_may_be_created(racing_dsn: str) -> None:
    with psycopg.connect(racing_dsn) as conn:
        can_create = conn.execute(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]  # type: ignore[index]
        assert can_create, "the test server's user should be able to create roles"
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'giddyup_api'").fetchone() is not None
        modeling_tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'modeling'"
            ).fetchall()
        ]
        racing_tables = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'racing' AND c.relkind IN ('r', 'p')"
            ).fetchall()
        ]
        assert {"models", "signals", "latest_signals", "bets", "price_snapshots", "drift_reports"} <= set(
            modeling_tables
        )

        def privilege(sql: str, *args: object) -> bool:
            return conn.execute(sql, args).fetchone()[0]  # type: ignore[index]

        assert privilege("SELECT has_schema_privilege('giddyup_api', 'modeling', 'USAGE')")
        assert not privilege("SELECT has_schema_privilege('giddyup_api', 'modeling', 'CREATE')")
        for table in modeling_tables:
            name = f"modeling.{table}"
            assert privilege("SELECT has_table_privilege('giddyup_api', %s, 'SELECT')", name), name
            for write in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                assert not privilege("SELECT has_table_privilege('giddyup_api', %s, %s)", name, write), (name, write)
        assert not privilege("SELECT has_schema_privilege('giddyup_api', 'racing', 'USAGE')")
        assert not privilege("SELECT has_schema_privilege('giddyup_api', 'racing', 'CREATE')")
        for table in racing_tables:
            name = f"racing.{table}"
            for any_privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                assert not privilege("SELECT has_table_privilege('giddyup_api', %s, %s)", name, any_privilege), name

        # tables added by later migrations (same owner) are readable too: default privileges
        conn.execute("CREATE TABLE modeling.added_later (x int)")
        assert privilege("SELECT has_table_privilege('giddyup_api', 'modeling.added_later', 'SELECT')")
        conn.rollback()


def test_no_role_created_and_a_plain_notice_without_createrole(server_dsn: str, fresh_dsn: str) -> None:
    role = f"gu_norole_{uuid.uuid4().hex[:8]}"
    database = conninfo.conninfo_to_dict(fresh_dsn)["dbname"]
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB')
        admin.execute(f'GRANT CREATE ON DATABASE "{database}" TO "{role}"')
    try:
        dsn = conninfo.make_conninfo(fresh_dsn, user=role)
        done = run_giddyup(
            "migrate", "--with-racing-reference", env={"PATH": "/usr/bin:/bin", "PG_DSN": dsn}, timeout=120
        )

        assert done.returncode == 0, done.stderr
        notes = [line for line in done.stdout.splitlines() if "giddyup_api" in line]
        assert notes == [
            f"note: role giddyup_api NOT created: user {role} may not create roles; "
            "ask a DBA to run migrations/modeling/005_api_read_role.sql"
        ]
        assert f"{len(MODELING_FILES) + len(RACING_FILES)} applied, 0 already applied" in done.stdout
        with psycopg.connect(dsn) as conn:
            recorded = [r[0] for r in conn.execute("SELECT name FROM modeling.schema_migrations").fetchall()]
            assert sorted(recorded) == sorted(MODELING_FILES + RACING_FILES)
            assert is_dev_copy(conn)
            owner = conn.execute(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'modeling' AND tablename = 'signals'"
            )
            assert owner.fetchone() == (role,)
            granted = conn.execute(
                """SELECT count(*) FROM pg_roles r
                   WHERE r.rolname = 'giddyup_api' AND has_schema_privilege(r.oid, 'modeling', 'USAGE')"""
            ).fetchone()[0]  # type: ignore[index]
            assert granted == 0  # nothing granted (whether or not another database made the role)
    finally:
        # no DROP DATABASE here (each one forces a checkpoint): hand the objects back, drop the role
        with psycopg.connect(fresh_dsn, autocommit=True) as admin:
            admin.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')


def test_latest_signals_view_shows_every_signals_column(racing_dsn: str) -> None:
    # The view selects `*`, which PostgreSQL expands once: a migration adding a signals column
    # must recreate the view, or the API never sees the column.
    sql = (
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'modeling' AND table_name = %s ORDER BY ordinal_position"
    )
    with psycopg.connect(racing_dsn) as conn:
        table = [r[0] for r in conn.execute(sql, ("signals",)).fetchall()]
        view = [r[0] for r in conn.execute(sql, ("latest_signals",)).fetchall()]
    assert "vs_market_logit" in table
    assert view == table
