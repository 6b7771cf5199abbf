"""`giddyup data summary` on a tiny hand-made racing world, written with the racing writer."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import polars as pl
import psycopg
import pytest

from giddyup.data_summary import data_summary, season_label
from giddyup.db.devcopy import is_dev_copy
from giddyup.errors import GiddyUpError
from giddyup.loaders.racing_writer import ensure_partitions, upsert_courses, upsert_keyed
from tests.support.cli import run_giddyup
from tests.support.paths import REPO_ROOT

# (key, region, date, prelim, positions, dec, win_bsp); a runner with position None is a non-runner.
WORLD = [
    ("A", "GB", "2024-05-01", False, ["2", "1", "3"], [2.0, 3.0, 6.0], [2.2, 3.5, 7.0]),
    ("B", "GB", "2024-06-01", False, ["2", "1", None], [1.5, 2.5, None], [1.6, 2.8, None]),
    ("C", "GB", "2024-07-01", False, ["1DH", "1DH", "3"], [2.0, 4.0, 5.0], [None, None, None]),
    ("D", "GB", "2025-01-01", False, ["1", "2", "PU"], [2.0, None, 3.0], [1.9, 3.1, 4.0]),
    ("P", "GB", "2025-01-02", True, [None, None], [None, None], [None, None]),
    ("E", "HK", "2019-09-15", False, ["1", "2", "3", "4"], [3.0, 3.0, 5.0, 10.0], [None] * 4),
    ("F", "HK", "2020-03-01", False, ["3", "2", "1"], [2.0, 3.0, 8.0], [None] * 3),
    ("G", "HK", "2020-09-10", False, ["2", "1"], [1.8, 2.2], [None] * 2),
]


def write_world(conn: psycopg.Connection) -> None:
    dates = pl.Series([dt.date.fromisoformat(w[2]) for w in WORLD])
    with conn.transaction():
        ensure_partitions(conn, dates)
        courses = upsert_courses(conn, pl.DataFrame({"course_name": ["Ascot", "Sha Tin"], "region": ["GB", "HK"]}))
        course_of = dict(zip(courses["region"], courses["course_id"], strict=True))
        races = pl.DataFrame(
            {
                "race_key": [w[0] for w in WORLD],
                "race_date": dates,
                "region": [w[1] for w in WORLD],
                "course_id": [course_of[w[1]] for w in WORLD],
                "race_name": [f"Race {w[0]}" for w in WORLD],
                "race_type": ["Flat"] * len(WORLD),
                "ran": [sum(p is not None for p in w[4]) for w in WORLD],
                "prelim": [w[3] for w in WORLD],
            }
        )
        ids = upsert_keyed(conn, "races", races, ("race_key", "race_date"), returning=("race_key", "race_id"))
        race_id = dict(zip(ids["race_key"], ids["race_id"], strict=True))
        rows = [
            {"runner_key": f"{key}{n}", "race_id": race_id[key], "race_date": dt.date.fromisoformat(day),
             "pos_raw": pos, "dec": dec, "win_bsp": bsp}
            for key, _, day, _, positions, decs, bsps in WORLD
            for n, (pos, dec, bsp) in enumerate(zip(positions, decs, bsps, strict=True))
        ]  # fmt: skip
        schema = {"runner_key": pl.String, "race_id": pl.Int64, "race_date": pl.Date, "pos_raw": pl.String,
                  "dec": pl.Float64, "win_bsp": pl.Float64}  # fmt: skip
        upsert_keyed(conn, "runners", pl.DataFrame(rows, schema=schema), ("runner_key", "race_date"))


@pytest.fixture
def world_dsn(migrated_dsn: str) -> str:
    with psycopg.connect(migrated_dsn) as conn:
        write_world(conn)
    return migrated_dsn


def row_of(rows: list[dict], region: str, season: str) -> dict:
    (row,) = [r for r in rows if r["region"] == region and r["season"] == season]
    return row


def mcfadden(p_winners: list[float], fields: list[int]) -> float:
    return 1 - sum(-math.log(p) for p in p_winners) / sum(math.log(n) for n in fields)


def test_figures_of_the_hand_made_world(world_dsn: str) -> None:
    with psycopg.connect(world_dsn) as conn:
        summary = data_summary(conn)
    assert summary.price_columns == ["dec", "win_bsp"]
    assert summary.prelim_races == {"GB": 1}
    assert [(r["region"], r["season"]) for r in summary.rows] == [
        ("GB", "2024"), ("GB", "2025"), ("GB", "all"), ("HK", "2019/20"), ("HK", "2020/21"), ("HK", "all"),
    ]  # fmt: skip

    gb24 = row_of(summary.rows, "GB", "2024")
    assert (gb24["races"], gb24["runners"], gb24["non_runners"], gb24["single_winner_races"]) == (3, 8, 1, 2)
    dec = gb24["prices"]["dec"]
    # Scored: A (winner at 3.0 in a book of 1/2 + 1/3 + 1/6 = 1) and B (winner at 2.5, book 1/1.5 + 1/2.5);
    # C is a dead heat (two winners): in the overround, not in the R².
    book_b = 1 / 1.5 + 1 / 2.5
    assert dec["priced_share"] == 1.0
    assert (dec["fully_priced_races"], dec["scored_races"]) == (3, 2)
    assert dec["pseudo_r2"] == pytest.approx(mcfadden([1 / 3, (1 / 2.5) / book_b], [3, 2]))
    assert dec["mean_overround"] == pytest.approx((1.0 + book_b + (1 / 2 + 1 / 4 + 1 / 5)) / 3)
    bsp = gb24["prices"]["win_bsp"]
    book_a, book_b = 1 / 2.2 + 1 / 3.5 + 1 / 7.0, 1 / 1.6 + 1 / 2.8
    assert bsp["priced_share"] == pytest.approx(5 / 8)
    assert (bsp["fully_priced_races"], bsp["scored_races"]) == (2, 2)
    assert bsp["pseudo_r2"] == pytest.approx(mcfadden([(1 / 3.5) / book_a, (1 / 2.8) / book_b], [3, 2]))
    assert bsp["mean_overround"] == pytest.approx((book_a + book_b) / 2)

    gb25 = row_of(summary.rows, "GB", "2025")  # D: one starter without SP; the prelim card P not counted
    assert (gb25["races"], gb25["runners"]) == (1, 3)
    assert gb25["prices"]["dec"] == {
        "priced_share": pytest.approx(2 / 3), "fully_priced_races": 0, "scored_races": 0,
        "pseudo_r2": None, "mean_overround": None,
    }  # fmt: skip
    book_d = 1 / 1.9 + 1 / 3.1 + 1 / 4.0
    assert gb25["prices"]["win_bsp"]["pseudo_r2"] == pytest.approx(mcfadden([(1 / 1.9) / book_d], [3]))

    gb_all = row_of(summary.rows, "GB", "all")  # pooled over seasons, not averaged
    assert gb_all["races"] == 4
    assert gb_all["prices"]["win_bsp"]["pseudo_r2"] == pytest.approx(
        mcfadden([(1 / 3.5) / book_a, (1 / 2.8) / book_b, (1 / 1.9) / book_d], [3, 2, 3])
    )

    # HK seasons run September to July: E (Sept 2019) and F (March 2020) are both 2019/20.
    book_e, book_f = 1 / 3 + 1 / 3 + 1 / 5 + 1 / 10, 1 / 2 + 1 / 3 + 1 / 8
    hk = row_of(summary.rows, "HK", "2019/20")
    assert (hk["races"], hk["runners"]) == (2, 7)
    assert hk["prices"]["dec"]["pseudo_r2"] == pytest.approx(mcfadden([(1 / 3) / book_e, (1 / 8) / book_f], [4, 3]))
    assert hk["prices"]["dec"]["mean_overround"] == pytest.approx((book_e + book_f) / 2)
    assert hk["prices"]["win_bsp"] == {
        "priced_share": 0.0, "fully_priced_races": 0, "scored_races": 0, "pseudo_r2": None, "mean_overround": None,
    }  # fmt: skip
    assert row_of(summary.rows, "HK", "2020/21")["races"] == 1


def test_season_labels() -> None:
    frame = pl.DataFrame(
        {
            "region": ["HK", "HK", "HK", "GB", "IRE"],
            "race_date": [
                dt.date(2019, 9, 1),
                dt.date(2020, 7, 15),
                dt.date(2020, 8, 31),
                dt.date(2019, 9, 1),
                dt.date(2020, 1, 1),
            ],
        }
    )
    labels = frame.select(season_label(pl.col("region"), pl.col("race_date")).alias("season"))["season"].to_list()
    assert labels == ["2019/20", "2019/20", "2019/20", "2019", "2020"]


def test_works_on_a_racing_database_that_is_not_a_dev_copy(fresh_dsn: str) -> None:
    sql = (REPO_ROOT / "migrations" / "racing" / "001_racing_reference.sql").read_text()
    with psycopg.connect(fresh_dsn) as conn:
        conn.execute(sql.encode())  # type: ignore[arg-type]
        conn.commit()
        write_world(conn)
        assert not is_dev_copy(conn)
        summary = data_summary(conn)
    assert row_of(summary.rows, "GB", "all")["races"] == 4


def test_a_database_without_racing_data_is_refused_clearly(fresh_dsn: str) -> None:
    with psycopg.connect(fresh_dsn) as conn, pytest.raises(GiddyUpError, match="no racing schema"):
        data_summary(conn)


def test_an_empty_racing_schema_gives_an_empty_report(migrated_dsn: str) -> None:
    with psycopg.connect(migrated_dsn) as conn:
        summary = data_summary(conn)
    assert (summary.price_columns, summary.rows, summary.prelim_races) == ([], [], {})


def test_cli_prints_the_table_and_writes_the_same_json(world_dsn: str, giddyup_env, tmp_path: Path) -> None:
    out = tmp_path / "report" / "summary.json"
    result = run_giddyup("data", "summary", "--json", str(out), env=giddyup_env(world_dsn))
    assert result.returncode == 0, result.stderr
    header = result.stdout.split("GB")[0]
    assert header.count("pseudo-R²") == 2 and "dec" in header and "win_bsp" in header
    assert "GB: 1 racecard races (prelim) not counted" in result.stdout
    with psycopg.connect(world_dsn) as conn:
        expected = data_summary(conn).as_json()
    assert json.loads(out.read_text()) == expected
