"""`giddyup load hkjc`: slices of the real Hong Kong file into a real dev-copy database."""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import polars as pl
import psycopg
import pytest

from giddyup.errors import NotDevCopyError, ValidationError
from giddyup.loaders.hkjc import load_hkjc
from tests.support.cli import run_giddyup
from tests.support.databases import migrate_dsn
from tests.support.paths import REPO_ROOT

HKJC_CSV = REPO_ROOT.parent / "shared" / "data" / "hkjc" / "hkjc_runs_2013_2022.csv"
# The first seven meetings, plus meetings holding a dead heat for first (2013-11-06), a pulled-up
# horse (2013-11-20), a DNF (2014-04-13) and Chinese-only names and margins (2022-01-30).
SLICE_DATES = [
    "2013-09-08", "2013-09-11", "2013-09-15", "2013-09-17", "2013-09-25", "2013-10-01", "2013-10-06",
    "2013-11-06", "2013-11-20", "2014-04-13", "2022-01-30",
]  # fmt: skip

pytestmark = pytest.mark.skipif(not HKJC_CSV.exists(), reason="the shared HKJC file is not here")


def write_slice(path: Path, dates: list[str] = SLICE_DATES, edit=None) -> Path:
    """Rows of the real file for `dates`, text as in the file, optionally edited (a Polars frame -> frame)."""
    frame = pl.read_csv(HKJC_CSV, infer_schema=False).filter(pl.col("date").is_in(dates))
    if edit is not None:
        frame = edit(frame)
    frame.write_csv(path)
    return path


@pytest.fixture(scope="module")
def slice_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_slice(tmp_path_factory.mktemp("hkjc") / "hkjc_slice.csv")


@pytest.fixture(scope="module")
def loaded_slice(slice_csv: Path, database_factory) -> str:
    """A dev copy holding the slice (loaded once for the read-only tests of this module)."""
    dsn = database_factory.create()
    migrate_dsn(dsn)
    with psycopg.connect(dsn) as conn:
        load_hkjc(conn, slice_csv)
    return dsn


def query(dsn: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchall()  # type: ignore[arg-type]


def runner(dsn: str, race_key: str, horse_code: str) -> dict:
    with psycopg.connect(dsn) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute(
            """SELECT u.*, h.horse_name, j.jockey_name, t.trainer_name
               FROM racing.runners u JOIN racing.races r ON r.race_id = u.race_id AND r.race_date = u.race_date
               LEFT JOIN racing.horses h USING (horse_id) LEFT JOIN racing.jockeys j USING (jockey_id)
               LEFT JOIN racing.trainers t USING (trainer_id)
               WHERE r.race_key = %s AND u.runner_key = %s""",
            (race_key, f"{race_key}_{horse_code}"),
        ).fetchone()
    assert row is not None, f"no runner {horse_code} in {race_key}"
    return row


def snapshot(dsn: str) -> dict[str, list[tuple]]:
    tables = {
        "races": "race_id",
        "runners": "runner_id",
        "horses": "horse_id",
        "jockeys": "jockey_id",
        "trainers": "trainer_id",
        "courses": "course_id",
    }
    return {t: query(dsn, f"SELECT * FROM racing.{t} ORDER BY {key}") for t, key in tables.items()}


def counts_from_file(path: Path) -> dict:
    """The expected counts, read with the csv module (independently of the loader's Polars code)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    withdrawn = [r for r in rows if r["place_raw"].startswith("W")]
    starters = Counter(r["race_id"] for r in rows if not r["place_raw"].startswith("W"))
    return {"rows": len(rows), "races": len({r["race_id"] for r in rows}), "withdrawn": len(withdrawn), "ran": starters}


# --- what is stored ------------------------------------------------------------------------------


def test_slice_counts_match_the_file(slice_csv: Path, loaded_slice: str) -> None:
    expected = counts_from_file(slice_csv)
    races = query(loaded_slice, "SELECT race_key, ran, region, prelim FROM racing.races")
    assert len(races) == expected["races"]
    assert {key: ran for key, ran, _, _ in races} == dict(expected["ran"])
    assert {(region, prelim) for _, _, region, prelim in races} == {("HK", False)}
    starters, non_runners, priced_non_runners = query(
        loaded_slice,
        """SELECT count(*) FILTER (WHERE pos_raw IS NOT NULL), count(*) FILTER (WHERE pos_raw IS NULL),
                  count(*) FILTER (WHERE pos_raw IS NULL AND dec IS NOT NULL) FROM racing.runners""",
    )[0]
    assert non_runners == expected["withdrawn"] > 0
    assert starters == sum(expected["ran"].values())
    assert priced_non_runners == 0
    courses = query(loaded_slice, "SELECT course_name, region FROM racing.courses ORDER BY course_name")
    assert courses == [("Happy Valley", "HK"), ("Sha Tin", "HK")]


def test_race_fields(loaded_slice: str) -> None:
    with psycopg.connect(loaded_slice) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        race = cur.execute(
            """SELECT r.*, c.course_name FROM racing.races r JOIN racing.courses c USING (course_id)
               WHERE race_key = '2013-09-08_ST_01'"""
        ).fetchone()
    assert race is not None
    assert race["course_name"] == "Sha Tin"
    assert str(race["race_date"]) == "2013-09-08"
    assert race["off_time"] is None
    assert (race["race_type"], race["class"], race["rating_band"]) == ("Flat", "Class 5", "40-15")
    assert race["race_name"] == "Class 5 Handicap (40-15)"
    assert (race["dist_m"], race["dist_raw"]) == (1200, "1200m")
    assert race["dist_f"] == pytest.approx(1200 / 201.168)
    assert (race["going"], race["surface"], race["ran"]) == ("Good", "Turf", 14)


def test_a_finisher_with_margin_time_and_odds(loaded_slice: str) -> None:
    # File: 2013-09-08_ST_01, P010 ALL LUCKY, no 1, draw 5, 131 lb, 21.0, placed 14, lbw 12-3/4, 1:12.40
    row = runner(loaded_slice, "2013-09-08_ST_01", "P010")
    assert row["horse_name"] == "ALL LUCKY (P010)"
    assert (row["jockey_name"], row["trainer_name"]) == ("T H So", "A S Cruz")
    assert (row["num"], row["draw"], row["lbs"], row["hg"], row["or"]) == (1, 5, 131, None, None)
    assert (row["pos_raw"], row["pos_num"], row["win_flag"]) == ("14", 14, False)
    assert row["ovr_btn"] == 12.75
    assert (row["time_raw"], row["secs"]) == ("1:12.40", pytest.approx(72.40))
    assert row["dec"] == 21.0
    # 13th was 12-1/2 lengths behind the winner, so 1/4 length behind the horse in front.
    assert row["btn"] == pytest.approx(0.25)
    winner = query(
        loaded_slice, "SELECT ovr_btn, btn FROM racing.runners WHERE runner_key LIKE '2013-09-08_ST_01_%' AND win_flag"
    )
    assert winner == [(0.0, 0.0)]


@pytest.mark.parametrize(
    ("race_key", "horse_code", "lbw", "lengths"),
    [
        ("2013-09-08_ST_06", "N035", "NOSE", 0.05),
        ("2022-01-30_ST_01", "E436", "短馬頭位", 0.1),  # short head, Chinese spelling
        ("2022-01-30_ST_01", "G215", "頸位", 0.3),  # neck
    ],
)
def test_short_margins(loaded_slice: str, race_key: str, horse_code: str, lbw: str, lengths: float) -> None:
    assert runner(loaded_slice, race_key, horse_code)["ovr_btn"] == pytest.approx(lengths), lbw


def test_dead_heat_for_first(loaded_slice: str) -> None:
    # File: 2013-11-06_HV_04, P234 and N202 both `1 DH`, lbw `-`, 1:40.64.
    for code in ("P234", "N202"):
        row = runner(loaded_slice, "2013-11-06_HV_04", code)
        assert (row["pos_raw"], row["pos_num"], row["win_flag"]) == ("1DH", 1, True)
        assert (row["ovr_btn"], row["btn"], row["secs"]) == (0.0, 0.0, pytest.approx(100.64))
    winners = query(
        loaded_slice,
        "SELECT count(*) FROM racing.runners WHERE runner_key LIKE '2013-11-06_HV_04_%' AND win_flag",
    )
    assert winners == [(2,)]


def test_withdrawn_horse_is_a_non_runner(loaded_slice: str) -> None:
    # File: 2013-09-17_HV_07, P018 DISCIPLES TWELVE, WV, no number, no draw, no odds, 112 lb, rating 61, gear --
    row = runner(loaded_slice, "2013-09-17_HV_07", "P018")
    assert row["horse_name"] == "DISCIPLES TWELVE (P018)"
    assert (row["pos_raw"], row["dec"], row["secs"], row["ovr_btn"], row["btn"]) == (None, None, None, None, None)
    assert (row["num"], row["draw"], row["lbs"], row["or"], row["hg"]) == (None, None, 112, 61, None)
    ran, listed = query(
        loaded_slice,
        """SELECT r.ran, count(u.*) FROM racing.races r JOIN racing.runners u USING (race_id, race_date)
           WHERE r.race_key = '2013-09-17_HV_07' GROUP BY r.ran""",
    )[0]
    assert ran == listed - 1  # ran counts starters only


@pytest.mark.parametrize(
    ("race_key", "horse_code", "place_raw", "pos_raw", "dec"),
    [
        ("2013-11-20_HV_01", "N215", "PU", "PU", 61.0),
        ("2014-04-13_ST_11", "M254", "DNF", "PU", 8.2),
        ("2013-09-15_ST_10", "P131", "UR", "UR", 99.0),
    ],
)
def test_non_finishers_are_losing_starters(
    loaded_slice: str, race_key: str, horse_code: str, place_raw: str, pos_raw: str, dec: float
) -> None:
    row = runner(loaded_slice, race_key, horse_code)
    assert (row["pos_raw"], row["pos_num"], row["dec"]) == (pos_raw, None, dec), place_raw
    assert (row["secs"], row["ovr_btn"], row["btn"]) == (None, None, None)
    assert not row["win_flag"]


def test_chinese_only_names_keep_keys_of_their_own(loaded_slice: str) -> None:
    # File: 2022-01-30_ST_01, E325 團結必勝 (no English name), ridden by 嘉里 (no English name).
    row = runner(loaded_slice, "2022-01-30_ST_01", "E325")
    assert row["horse_name"] == "團結必勝 (E325)"
    assert row["jockey_name"] == "嘉里 [5609-91CC]"
    assert row["pos_raw"] == "1"
    names = query(loaded_slice, "SELECT jockey_norm FROM racing.jockeys WHERE jockey_norm = ''")
    assert names == []


# --- idempotent, replace-whole races, one row per horse ------------------------------------------


def test_loading_twice_gives_the_same_rows_and_ids(slice_csv: Path, migrated_dsn: str) -> None:
    with psycopg.connect(migrated_dsn) as conn:
        first_report = load_hkjc(conn, slice_csv)
    first = snapshot(migrated_dsn)
    with psycopg.connect(migrated_dsn) as conn:
        second_report = load_hkjc(conn, slice_csv)
    assert snapshot(migrated_dsn) == first
    assert len(first["runners"]) == first_report.starters + first_report.non_runners
    assert (first_report.races, first_report.starters) == (second_report.races, second_report.starters)


def test_reloading_a_race_removes_a_runner_the_file_dropped(tmp_path: Path, migrated_dsn: str) -> None:
    dates = ["2013-09-08"]
    full = write_slice(tmp_path / "full.csv", dates)
    fewer = write_slice(
        tmp_path / "fewer.csv",
        dates,
        edit=lambda f: f.filter(~((pl.col("race_id") == "2013-09-08_ST_01") & (pl.col("horse_code") == "P010"))),
    )
    with psycopg.connect(migrated_dsn) as conn:
        load_hkjc(conn, full)
    before = dict(query(migrated_dsn, "SELECT runner_key, runner_id FROM racing.runners"))
    with psycopg.connect(migrated_dsn) as conn:
        load_hkjc(conn, fewer)
    after = dict(query(migrated_dsn, "SELECT runner_key, runner_id FROM racing.runners"))
    assert set(before) - set(after) == {"2013-09-08_ST_01_P010"}
    assert all(after[key] == before[key] for key in after)


def test_a_horse_keeps_its_row_when_a_later_file_names_it_in_english(tmp_path: Path, migrated_dsn: str) -> None:
    dates = ["2013-09-08"]
    chinese = write_slice(
        tmp_path / "zh.csv",
        dates,
        edit=lambda f: f.with_columns(
            horse_name_en=pl.when(pl.col("horse_code") == "P010").then(None).otherwise(pl.col("horse_name_en")),
            horse_name_zh=pl.when(pl.col("horse_code") == "P010")
            .then(pl.lit("全運"))
            .otherwise(pl.col("horse_name_zh")),
        ),
    )
    with psycopg.connect(migrated_dsn) as conn:
        load_hkjc(conn, chinese)
    ((horse_id, name),) = query(
        migrated_dsn, "SELECT horse_id, horse_name FROM racing.horses WHERE horse_name LIKE '%(P010)'"
    )
    assert name == "全運 (P010)"
    with psycopg.connect(migrated_dsn) as conn:
        load_hkjc(conn, write_slice(tmp_path / "en.csv", dates))
    assert query(migrated_dsn, "SELECT horse_id, horse_name FROM racing.horses WHERE horse_name LIKE '%(P010)'") == [
        (horse_id, "ALL LUCKY (P010)")
    ]
    runners = query(migrated_dsn, "SELECT DISTINCT horse_id FROM racing.runners WHERE runner_key LIKE '%_P010'")
    assert runners == [(horse_id,)]


# --- rows it cannot use, bad files, wrong databases ----------------------------------------------


def test_unusable_rows_are_counted_by_reason(tmp_path: Path, migrated_dsn: str, giddyup_env) -> None:
    def spoil(frame: pl.DataFrame) -> pl.DataFrame:
        frame = frame.with_columns(
            horse_code=pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("horse_code"))
        )
        return pl.concat([frame, frame.slice(0, 1)])  # the first runner listed twice

    path = write_slice(tmp_path / "spoilt.csv", ["2013-09-08"], edit=spoil)
    rows = counts_from_file(path)["rows"]
    result = run_giddyup("load", "hkjc", str(path), env=giddyup_env(migrated_dsn))
    assert result.returncode == 0, result.stderr
    assert "no horse_code (the horse cannot be identified)" in result.stdout
    assert "the same horse_code twice in a race (later rows)" in result.stdout
    assert f"rows not loaded (2 of {rows})" in result.stdout
    assert query(migrated_dsn, "SELECT count(*) FROM racing.runners") == [(rows - 2,)]


def _nothing_written(dsn: str) -> None:
    for table in ("races", "runners", "horses", "jockeys", "trainers", "courses"):
        assert query(dsn, f"SELECT count(*) FROM racing.{table}") == [(0,)], table


def test_missing_column_fails_naming_file_and_column(tmp_path: Path, migrated_dsn: str) -> None:
    path = write_slice(tmp_path / "no_lbw.csv", ["2013-09-08"], edit=lambda f: f.drop("lbw"))
    with psycopg.connect(migrated_dsn) as conn, pytest.raises(ValidationError) as error:
        load_hkjc(conn, path)
    assert str(error.value) == f"{path}: missing column lbw"
    _nothing_written(migrated_dsn)


def test_unreadable_value_fails_naming_file_column_and_line(tmp_path: Path, migrated_dsn: str, giddyup_env) -> None:
    def spoil(frame: pl.DataFrame) -> pl.DataFrame:  # the 6th runner (line 7): a margin nobody can read
        return frame.with_columns(lbw=pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("ABOUT 3")).otherwise("lbw"))

    path = write_slice(tmp_path / "bad_lbw.csv", ["2013-09-08"], edit=spoil)
    result = run_giddyup("load", "hkjc", str(path), env=giddyup_env(migrated_dsn))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {path}: column lbw, line 7: 'ABOUT 3' is not a margin in lengths"]
    _nothing_written(migrated_dsn)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("win_odds", "2,5", "column win_odds, line 3: '2,5' is not a number"),
        ("date", "08/09/2013", "column date, line 3: '08/09/2013' is not a date (YYYY-MM-DD)"),
        ("place_raw", "ZZ", "column place_raw, line 3: 'ZZ' is not a placing"),
        ("finish_time", "72.4s", "column finish_time, line 3: '72.4s' is not a time"),
    ],
)
def test_other_unreadable_values(tmp_path: Path, migrated_dsn: str, column: str, value: str, message: str) -> None:
    path = write_slice(
        tmp_path / "bad.csv",
        ["2013-09-08"],
        edit=lambda f: f.with_columns(
            pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(value)).otherwise(column).alias(column)
        ),
    )
    with psycopg.connect(migrated_dsn) as conn, pytest.raises(ValidationError) as error:
        load_hkjc(conn, path)
    assert str(error.value).startswith(f"{path}: {message}")
    _nothing_written(migrated_dsn)


def test_rows_of_a_race_that_disagree_fail(tmp_path: Path, migrated_dsn: str) -> None:
    path = write_slice(
        tmp_path / "two_distances.csv",
        ["2013-09-08"],
        edit=lambda f: f.with_columns(
            distance_m=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("1400")).otherwise("distance_m")
        ),
    )
    with (
        psycopg.connect(migrated_dsn) as conn,
        pytest.raises(ValidationError, match="column distance_m: race 2013-09-08_ST_01"),
    ):
        load_hkjc(conn, path)
    _nothing_written(migrated_dsn)


def test_refuses_a_database_that_is_not_a_dev_copy(slice_csv: Path, fresh_dsn: str, giddyup_env) -> None:
    migrate_dsn(fresh_dsn, with_racing_reference=False)
    with psycopg.connect(fresh_dsn) as conn, pytest.raises(NotDevCopyError, match="not a giddyup dev copy"):
        load_hkjc(conn, slice_csv)
    result = run_giddyup("load", "hkjc", str(slice_csv), env=giddyup_env(fresh_dsn))
    assert result.returncode == NotDevCopyError.exit_code
    assert "`giddyup load hkjc` writes racing.* and this database is not a giddyup dev copy" in result.stderr


# --- the whole file: the figures of ../shared/data/README.md -------------------------------------


@pytest.mark.slow
def test_full_file_matches_the_published_market_figures(migrated_dsn: str) -> None:
    from giddyup.data_summary import data_summary

    with psycopg.connect(migrated_dsn) as conn:
        report = load_hkjc(conn, HKJC_CSV)
    assert report.rows_read == 90_745 and report.rows_skipped == 0
    with psycopg.connect(migrated_dsn) as conn:
        summary = data_summary(conn)
    (hk_all,) = [row for row in summary.rows if row["region"] == "HK" and row["season"] == "all"]
    dec = hk_all["prices"]["dec"]
    assert dec["scored_races"] == hk_all["single_winner_races"] >= 7000
    assert math.isclose(dec["pseudo_r2"], 0.1967, abs_tol=0.0005)
    assert math.isclose(dec["mean_overround"], 1.228, abs_tol=0.001)
