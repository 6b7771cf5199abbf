"""Bad win_odds and bad paths for `giddyup load hkjc` (issue 13): NaN, Infinity, an overflow, a
negative or text are no odds, never a stored price. The runner stays (dec NULL), the report names
file, line and race; --strict fails with one line; `data summary` shows no `nan`.

The file is tests/fixtures/hkjc/hkjc_three_races.csv with one value planted on line 3 (race
2013-09-08_ST_01, horse M395, win_odds 25.0 in the file).
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import psycopg
import pytest

from giddyup.data_summary import data_summary
from giddyup.errors import ValidationError
from tests.support.cli import run_giddyup
from tests.support.paths import FIXTURES

THREE_RACES = FIXTURES / "hkjc" / "hkjc_three_races.csv"
RACE, HORSE, LINE = "2013-09-08_ST_01", "M395", 3
ROWS, RACES = 41, 3


def with_odds(path: Path, text: str) -> Path:
    frame = pl.read_csv(THREE_RACES, infer_schema=False)
    planted = pl.when(pl.int_range(pl.len()) == LINE - 2).then(pl.lit(text)).otherwise(pl.col("win_odds"))
    frame.with_columns(win_odds=planted).write_csv(path)
    return path


def counts(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM racing.races), (SELECT count(*) FROM racing.runners)")
        return row.fetchone()  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nan", "is not a finite number"),
        ("Infinity", "is not a finite number"),
        ("-inf", "is not a finite number"),
        ("1e400", "is not a finite number"),  # overflows a double: Infinity
        ("-2.5", "is below 1.0 (decimal odds include the stake)"),
        ("evens", "is not a number"),
    ],
)
def test_bad_odds_are_no_odds(tmp_path: Path, migrated_dsn: str, giddyup_env, text: str, problem: str) -> None:
    path = with_odds(tmp_path / "odds.csv", text)
    env = giddyup_env(migrated_dsn)

    result = run_giddyup("load", "hkjc", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert (
        f"  win_odds {problem}: 1 value, stored as dec NULL (no odds); first at line {LINE}, race {RACE}: {text!r}"
    ) in result.stdout.splitlines()
    assert counts(migrated_dsn) == (RACES, ROWS)  # the same rows as the file without the bad value
    with psycopg.connect(migrated_dsn) as conn:
        dec = conn.execute("SELECT dec FROM racing.runners WHERE runner_key = %s", (f"{RACE}_{HORSE}",)).fetchone()
        non_finite = conn.execute("SELECT count(*) FROM racing.runners WHERE dec IN ('NaN', 'Infinity')").fetchone()
        summary = data_summary(conn)
    assert dec == (None,) and non_finite == (0,)
    (hk,) = [row for row in summary.rows if row["season"] == "all"]
    figures = hk["prices"]["dec"]
    # The race with an unpriced starter is not scored; the other two are, with finite figures.
    assert figures["scored_races"] == RACES - 1
    assert math.isfinite(figures["mean_overround"]) and math.isfinite(figures["pseudo_r2"])

    with psycopg.connect(migrated_dsn) as conn:
        conn.execute("TRUNCATE racing.runners, racing.races CASCADE")
    strict = run_giddyup("load", "hkjc", "--strict", str(path), env=env)
    assert strict.returncode == ValidationError.exit_code
    assert strict.stderr.strip().splitlines() == [f"error: {path}: column win_odds, line {LINE}: {text!r} {problem}"]
    assert counts(migrated_dsn) == (0, 0)  # nothing written


def test_the_pools_one_is_still_stored_as_the_floor(tmp_path: Path, migrated_dsn: str, giddyup_env) -> None:
    # 1.0 is a real HKJC price (a pool that pays the stake back): 1.01, the dec column's floor.
    path = with_odds(tmp_path / "odds.csv", "1.0")
    result = run_giddyup("load", "hkjc", str(path), env=giddyup_env(migrated_dsn))
    assert result.returncode == 0, result.stderr
    assert "values set aside, their rows loaded (0): none" in result.stdout
    with psycopg.connect(migrated_dsn) as conn:
        row = conn.execute("SELECT dec FROM racing.runners WHERE runner_key = %s", (f"{RACE}_{HORSE}",)).fetchone()
    assert row == (1.01,)


def test_a_directory_is_named_as_one(tmp_path: Path, migrated_dsn: str, giddyup_env) -> None:
    result = run_giddyup("load", "hkjc", str(tmp_path), env=giddyup_env(migrated_dsn))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path}: is a directory, not a results file (give the CSV file inside it)"
    ]
    missing = run_giddyup("load", "hkjc", str(tmp_path / "nope.csv"), env=giddyup_env(migrated_dsn))
    assert missing.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.csv'}: no such file"]
