"""`giddyup load hkjc` on files with odd values (issue 12 §1): what is not understood is set aside and
counted by reason with file, line and race; the load fails only when the file is unusable, or on
the first odd value with --strict.

The files are tests/fixtures/hkjc/hkjc_three_races.csv (three real races, see its README) with odd
values planted: the later-season file of the issue is not available here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import psycopg
import pytest

from giddyup.errors import ValidationError
from giddyup.loaders import hkjc_parse
from giddyup.loaders.hkjc import load_hkjc
from giddyup.loaders.hkjc_read import HkjcTables, parse_hkjc, read_hkjc_csv
from tests.support.cli import run_giddyup
from tests.support.paths import FIXTURES

THREE_RACES = FIXTURES / "hkjc" / "hkjc_three_races.csv"
# Lines of the fixture (the header is line 1): 2-15 race 1, 16-28 race 2 (28: withdrawn), 29-42 race 3.
RACE_1, RACE_2, RACE_3 = "2013-09-08_ST_01", "2013-09-17_HV_07", "2022-01-30_ST_01"
ROWS, RACES = 41, 3


def planted(path: Path, **values_by_line: dict[int, str]) -> Path:
    """The fixture, text as in the file, with `column={line: text}` planted."""
    frame = pl.read_csv(THREE_RACES, infer_schema=False).with_row_index("line", offset=2)
    for column, by_line in values_by_line.items():
        text = pl.col("line").replace_strict(by_line, default=None, return_dtype=pl.String)
        frame = frame.with_columns(pl.coalesce(text, pl.col(column)).alias(column))
    frame.drop("line").write_csv(path)
    return path


def parsed(path: Path, strict: bool = False) -> HkjcTables:
    return parse_hkjc(read_hkjc_csv(path), str(path), strict=strict)


def runner_at(tables: HkjcTables, line: int) -> dict:
    return tables.runners.filter(pl.col("line") == line).row(0, named=True)


def query(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


# --- margins: the words HKJC writes, in English and Chinese ---------------------------------------


@pytest.mark.parametrize(
    ("lbw", "lengths"),
    [
        ("-", 0.0),  # the winner
        ("NOSE", 0.05), ("+NOSE", 0.05), ("鼻位", 0.05),
        ("SH", 0.1), ("短馬頭位", 0.1), ("sh", 0.1),
        ("HD", 0.2), ("頭位", 0.2),
        ("N", 0.3), ("頸位", 0.3),
        ("1/2", 0.5), ("3/4", 0.75), ("1", 1.0), ("1-1/4", 1.25), ("1 1/4", 1.25), ("12-3/4", 12.75),
        ("DIST", None), ("遙遙落後", None),  # a distance: far behind, no number
        ("ML", None), ("多個馬位", None), ("TO", None), ("---", None),
    ],
)  # fmt: skip
def test_known_margin_words(lbw: str, lengths: float | None) -> None:
    value, understood = hkjc_parse.beaten_lengths(pl.col("lbw"))
    row = pl.DataFrame({"lbw": [lbw]}).select(value=value, understood=understood).row(0, named=True)
    assert row == {"value": pytest.approx(lengths) if lengths is not None else None, "understood": True}


@pytest.mark.parametrize("lbw", ["ABOUT 3", "1/0", "3-", "遙遙", "NK"])
def test_unknown_margins_are_not_understood(lbw: str) -> None:
    _, understood = hkjc_parse.beaten_lengths(pl.col("lbw"))
    assert pl.DataFrame({"lbw": [lbw]}).select(understood).item() is False


# --- the file: odd values, all 41 rows loaded, each odd value reported ----------------------


def test_odd_values_are_set_aside_and_reported_not_fatal(tmp_path: Path, migrated_dsn: str, giddyup_env) -> None:
    path = planted(
        tmp_path / "later_season.csv",
        lbw={2: "DIST", 35: "遙遙落後", 8: "ABOUT 3"},  # last of race 1, last of race 3, 6th of race 1
        distance_m={3: "1400"},  # race 1: 13 rows 1200, one row 1400
    )
    report_json = tmp_path / "report" / "load.json"
    result = run_giddyup("load", "hkjc", str(path), "--json", str(report_json), env=giddyup_env(migrated_dsn))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"rows not loaded (0 of {ROWS}): none" in lines
    assert "values set aside, their rows loaded (2):" in lines
    assert (
        f"  distance_m differs between the rows of a race: 1 race, stored as the value on most rows (NULL on a "
        f"tie); first at line 3, race {RACE_1}: '1200' on 13 rows, '1400' on 1 row -> 1200"
    ) in lines
    assert (
        f"  lbw is not a margin in lengths: 1 value, stored as ovr_btn and btn NULL; first at line 8, race {RACE_1}: "
        "'ABOUT 3'"
    ) in lines

    assert query(migrated_dsn, "SELECT count(*) FROM racing.runners") == [(ROWS,)]
    assert query(migrated_dsn, "SELECT race_key, dist_m FROM racing.races ORDER BY race_key") == [
        (RACE_1, 1200), (RACE_2, 1200), (RACE_3, 1200)
    ]  # fmt: skip
    margins = dict(
        query(migrated_dsn, "SELECT split_part(runner_key, '_', 4), row(ovr_btn, btn)::text FROM racing.runners")
    )
    assert margins["P010"] == margins["G113"] == "(,)"  # DIST, 遙遙落後: understood, no number
    assert margins["N047"] == "(,)"  # ABOUT 3: set aside
    assert margins["J307"] == "(4.25,)"  # 7th: the horse just ahead (6th, N047) has no margin
    assert margins["N243"] == "(5,0.75)"  # 8th: 0.75 behind the 7th, as in the file

    written = json.loads(report_json.read_text(encoding="utf-8"))
    assert (written["rows_read"], written["races"], written["rows_not_loaded"]["total"]) == (ROWS, RACES, 0)
    assert written["set_aside"] == [
        {"reason": "distance_m differs between the rows of a race", "outcome": "the value on most rows (NULL on a tie)",
         "line": 3, "race": RACE_1, "column": "distance_m", "value": "'1200' on 13 rows, '1400' on 1 row",
         "stored": "1200"},
        {"reason": "lbw is not a margin in lengths", "outcome": "ovr_btn and btn NULL", "line": 8, "race": RACE_1,
         "column": "lbw", "value": "ABOUT 3", "stored": None},
    ]  # fmt: skip

    # --strict: the first odd value stops the load with one line naming file, column and line.
    with psycopg.connect(migrated_dsn) as conn:
        conn.execute("TRUNCATE racing.runners, racing.races CASCADE")
    strict = run_giddyup("load", "hkjc", "--strict", str(path), env=giddyup_env(migrated_dsn))
    assert strict.returncode == ValidationError.exit_code
    assert strict.stderr.strip().splitlines() == [
        f"error: {path}: column lbw, line 8: 'ABOUT 3' is not a margin in lengths"
    ]
    assert query(migrated_dsn, "SELECT count(*) FROM racing.runners") == [(0,)]


def test_strict_disagreement_is_todays_error(tmp_path: Path) -> None:
    path = planted(tmp_path / "two_distances.csv", distance_m={3: "1400"})
    with pytest.raises(ValidationError) as error:
        parsed(path, strict=True)
    assert (
        str(error.value)
        == f"{path}: column distance_m: race {RACE_1} has different values on its rows ('1200', '1400')"
    )


def test_a_tie_stores_null(tmp_path: Path) -> None:
    path = planted(tmp_path / "tie.csv", distance_m=dict.fromkeys(range(2, 9), "1400"))  # 7 rows 1400, 7 rows 1200
    tables = parsed(path)
    assert tables.races.filter(pl.col("race_key") == RACE_1)["dist_m"].to_list() == [None]
    (item,) = tables.report.set_aside
    assert (item.line, item.value, item.stored) == (2, "'1400' on 7 rows, '1200' on 7 rows", None)


# --- each kind of value: what is stored, what is reported; no row lost --------------------------


@pytest.mark.parametrize(
    ("column", "line", "text", "reason", "outcome", "check"),
    [
        ("win_odds", 5, "2,5", "win_odds is not a number", "dec NULL (no odds)",
         lambda t: runner_at(t, 5)["dec"] is None),
        ("finish_time", 5, "72.4s", "finish_time is not a time (M:SS.ss)", "time_raw and secs NULL",
         lambda t: (runner_at(t, 5)["time_raw"], runner_at(t, 5)["secs"]) == (None, None)),
        ("horse_no", 5, "four", "horse_no is not a whole number", "num NULL", lambda t: runner_at(t, 5)["num"] is None),
        ("draw", 5, "5.5", "draw is not a whole number", "draw NULL", lambda t: runner_at(t, 5)["draw"] is None),
        ("actual_wt", 5, "131lb", "actual_wt is not a whole number", "lbs NULL",
         lambda t: runner_at(t, 5)["lbs"] is None),
        ("rating", 20, "abc", "rating is not a whole number", "or NULL", lambda t: runner_at(t, 20)["or"] is None),
        ("distance_m", 5, "1,200", "distance_m is not a whole number", "NULL on this row (the race's other rows decide)",
         lambda t: t.races.filter(pl.col("race_key") == RACE_1)["dist_m"].item() == 1200),
        ("surface", 5, "GRASS", "surface is not one of TURF, AWT", "NULL on this row (the race's other rows decide)",
         lambda t: t.races.filter(pl.col("race_key") == RACE_1)["surface"].item() == "Turf"),
    ],
)  # fmt: skip
def test_a_value_not_understood_is_stored_as_null(
    tmp_path: Path, column: str, line: int, text: str, reason: str, outcome: str, check: Callable[[HkjcTables], bool]
) -> None:
    tables = parsed(planted(tmp_path / "odd.csv", **{column: {line: text}}))
    report = tables.report
    assert (report.races, report.starters + report.non_runners, report.rows_skipped) == (RACES, ROWS, 0)
    (item,) = report.set_aside
    race = RACE_1 if line < 16 else RACE_2
    assert (item.reason, item.outcome, item.line, item.race, item.value) == (reason, outcome, line, race, text)
    assert check(tables)
    with pytest.raises(ValidationError, match=f"column {column}, line {line}: '{text}' "):
        parsed(planted(tmp_path / "odd.csv", **{column: {line: text}}), strict=True)


# --- rows and races that cannot be loaded honestly -----------------------------------------------


@pytest.mark.parametrize(
    ("column", "text", "reason", "strict_error"),
    [
        ("place_raw", "ZZ", "place_raw is not a placing, non-finisher or withdrawal code",
         "column place_raw, line 20: 'ZZ' is not a placing"),
        ("place_raw", "", "no place_raw (runner or non-runner unknown)", None),
        ("venue", "SH", "venue is not one of ST, HV", "column venue, line 20: 'SH' is not one of ST, HV"),
        ("date", "17/09/2013", "date is not a date (YYYY-MM-DD)",
         "column date, line 20: '17/09/2013' is not a date (YYYY-MM-DD)"),
        ("date", "2013-09-18", "race_id does not start with the row's date and venue",
         f"column race_id, line 20: '{RACE_2}' does not start with the row's date and venue"),
    ],
)  # fmt: skip
def test_a_race_that_cannot_be_stored_honestly_is_left_out_whole(
    tmp_path: Path, column: str, text: str, reason: str, strict_error: str | None
) -> None:
    path = planted(tmp_path / "odd.csv", **{column: {20: text}})  # a runner of race 2 (13 rows)
    report = parsed(path).report
    assert (report.races, report.rows_skipped, report.skipped, report.races_skipped) == (
        RACES - 1, 13, {reason: 13}, {reason: 1}
    )  # fmt: skip
    first = report.first_set_aside(reason)
    assert first is not None and (first.line, first.race, first.outcome) == (20, RACE_2, "race left out")
    if strict_error is not None:
        with pytest.raises(ValidationError) as error:
            parsed(path, strict=True)
        assert str(error.value).startswith(f"{path}: {strict_error}")
    else:  # an empty placing is a rule, not a misread value: strict leaves the race out too
        assert parsed(path, strict=True).report.skipped == {reason: 13}


def test_a_race_with_two_faults_is_counted_once_and_none_of_its_values_counts_as_loaded(tmp_path: Path) -> None:
    report = parsed(planted(tmp_path / "odd.csv", venue={20: "SH"}, place_raw={21: "ZZ"})).report
    assert report.skipped == {"venue is not one of ST, HV": 13}
    assert [(item.reason, item.outcome, item.line) for item in report.set_aside] == [
        ("venue is not one of ST, HV", "race left out", 20),
        ("place_raw is not a placing, non-finisher or withdrawal code", "race left out", 21),
        ("race_id does not start with the row's date and venue", "race left out", 20),  # SH is not HV
    ]
    assert report.values_set_aside() == {}


def test_rows_and_races_left_out_are_reported_with_line_and_race(
    tmp_path: Path, migrated_dsn: str, giddyup_env
) -> None:
    path = planted(tmp_path / "odd.csv", place_raw={20: "ZZ"}, horse_code={4: "K-360"})
    result = run_giddyup("load", "hkjc", str(path), env=giddyup_env(migrated_dsn))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"rows not loaded (14 of {ROWS}):" in lines
    assert (
        f"  place_raw is not a placing, non-finisher or withdrawal code: 1 race left out (13 rows); first at line 20, "
        f"race {RACE_2}: 'ZZ'"
    ) in lines
    assert (
        "  horse_code is not an HKJC brand code (letters then digits, e.g. P010): 1 row left out; first at line 4, "
        f"race {RACE_1}: 'K-360'"
    ) in lines
    assert query(migrated_dsn, "SELECT count(*), count(DISTINCT race_id) FROM racing.runners") == [(ROWS - 14, 2)]


# --- the file itself unusable ----------------------------------------------------------------------


def test_nothing_loadable_fails(tmp_path: Path, migrated_dsn: str, giddyup_env) -> None:
    path = planted(tmp_path / "nowhere.csv", venue=dict.fromkeys(range(2, 43), "XX"))
    result = run_giddyup("load", "hkjc", str(path), env=giddyup_env(migrated_dsn))
    assert result.returncode == ValidationError.exit_code
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: nothing to load: all {ROWS} rows were left out (venue is not one of ST, HV: {ROWS} rows)"
    ]
    header_only = tmp_path / "header.csv"
    header_only.write_text(THREE_RACES.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with psycopg.connect(migrated_dsn) as conn, pytest.raises(ValidationError) as error:
        load_hkjc(conn, header_only)
    assert str(error.value) == f"{header_only}: no rows under the header: nothing to load"
    assert query(migrated_dsn, "SELECT count(*) FROM racing.races") == [(0,)]
