"""The performance report (giddyup.reports.performance): figures by odds band and by day, files
that depend only on the rows, and the `giddyup report` command, on a real database."""

from __future__ import annotations

import base64
import datetime as dt
import json

import polars as pl
import psycopg
import pytest

from giddyup.loaders.racing_writer import ensure_partitions, stable_key, upsert_courses, upsert_keyed
from giddyup.reports.performance import BET_SCHEMA, odds_band, performance_tables, write_performance_report
from tests.support.cli import run_giddyup
from tests.support.databases import migrate_dsn

UTC = dt.UTC
D1, D2 = dt.date(2026, 6, 5), dt.date(2026, 6, 6)


def test_odds_bands_at_their_edges() -> None:
    odds = pl.DataFrame({"odds": [1.01, 1.99, 2.0, 2.99, 3.0, 4.99, 5.0, 9.99, 10.0, 19.99, 20.0, 150.0]})
    bands = odds.select(odds_band(pl.col("odds"))).to_series().to_list()
    assert bands == ["1.01-2", "1.01-2", "2-3", "2-3", "3-5", "3-5", "5-10", "5-10", "10-20", "10-20", "20+", "20+"]


def _bets(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=BET_SCHEMA, orient="row")


def test_figures_overall_by_band_and_by_day() -> None:
    ts = dt.datetime(2026, 6, 5, 12, tzinfo=UTC)
    bets = _bets(
        [
            (1, ts, D1, "win", "paper", 2.5, 1.0, 1.45, 0.25, "settled"),  # won, beat the close
            (2, ts, D1, "win", "paper", 6.0, 2.0, -2.0, -0.1, "settled"),
            (3, ts, D2, "win", "paper", 2.2, 1.0, -1.0, None, "settled"),  # no close known
            (4, ts, D2, "win", "paper", 12.0, 0.5, 0.0, None, "void"),
            (5, ts, D2, "win", "paper", 4.0, 1.0, None, None, "open"),
        ]
    )
    summary, by_band, by_day = performance_tables(bets)
    assert summary["bets"] == 3 and summary["void"] == 1 and summary["open"] == 1
    assert summary["staked"] == pytest.approx(4.0) and summary["pnl"] == pytest.approx(-1.55)
    assert summary["roi"] == pytest.approx(-1.55 / 4.0)
    assert summary["mean_clv"] == pytest.approx(0.075) and summary["beat_close_share"] == pytest.approx(0.5)
    assert summary["bets_with_close"] == 2
    assert by_band.get_column("odds_band").to_list() == ["2-3", "5-10"]
    assert by_band.filter(pl.col("odds_band") == "2-3").get_column("bets").item() == 2
    assert by_day.get_column("race_date").to_list() == [D1, D2]
    assert by_day.get_column("pnl").to_list() == pytest.approx([-0.55, -1.0])


def test_no_settled_bets_gives_empty_figures_not_errors() -> None:
    summary, by_band, by_day = performance_tables(_bets([]))
    assert summary["bets"] == 0 and summary["roi"] is None and by_band.height == 0 and by_day.height == 0


@pytest.fixture(scope="module")
def report_db(database_factory) -> str:
    """Two race days of settled paper bets written directly (settlement is tested elsewhere)."""
    dsn = database_factory.create()
    migrate_dsn(dsn)
    races = pl.DataFrame(
        {
            "race_date": [D1, D1, D2],
            "region": ["GB"] * 3,
            "course_name": ["Ascot"] * 3,
            "off_time": [dt.time(14), dt.time(15), dt.time(14)],
            "race_name": ["A", "B", "C"],
            "race_type": ["Flat"] * 3,
            "ran": [8] * 3,
            "prelim": [False] * 3,
        }
    )
    with psycopg.connect(dsn) as conn:
        ensure_partitions(conn, races["race_date"])
        courses = upsert_courses(conn, races.select("course_name", "region"))
        races = races.join(courses, on=["course_name", "region"]).with_columns(
            stable_key(pl.col("race_date"), pl.col("race_name")).alias("race_key")
        )
        ids = upsert_keyed(
            conn, "races", races.drop("course_name"), key=("race_key", "race_date"), returning=("race_key", "race_id")
        )
        race_ids = races.join(ids, on="race_key").sort("race_date", "off_time").get_column("race_id").to_list()
        bets = [
            (race_ids[0], 1, 3.0, 1.0, 2.0, 0.2, "settled"),
            (race_ids[0], 2, 8.0, 0.5, -0.5, -0.05, "settled"),
            (race_ids[1], 3, 1.5, 2.0, -2.0, 0.1, "settled"),
            (race_ids[2], 4, 25.0, 0.3, 7.2, 0.3, "settled"),
            (race_ids[2], 5, 4.0, 1.0, 0.0, None, "void"),
        ]
        for k, (race_id, horse_id, odds, stake, pnl, clv, status) in enumerate(bets):
            race_date = D1 if race_id != race_ids[2] else D2
            conn.execute(
                """INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, source, race_date, pnl, clv, status)
                   VALUES (%s, %s, %s, 'win', %s, %s, 'paper', %s, %s, %s, %s)""",
                (
                    dt.datetime.combine(race_date, dt.time(12, k), tzinfo=UTC),
                    race_id,
                    horse_id,
                    odds,
                    stake,
                    race_date,
                    pnl,
                    clv,
                    status,
                ),
            )
        conn.commit()
    return dsn


def test_report_files_hold_the_figures_and_two_inline_plots(report_db, tmp_path) -> None:
    with psycopg.connect(report_db) as conn:
        report = write_performance_report(conn, D1, D2, tmp_path / "out")
    data = json.loads(report.json_path.read_text())
    assert data["summary"]["bets"] == 4 and data["summary"]["void"] == 1
    assert data["summary"]["staked"] == pytest.approx(3.8) and data["summary"]["pnl"] == pytest.approx(6.7)
    assert data["summary"]["roi"] == pytest.approx(6.7 / 3.8)
    assert data["summary"]["beat_close_share"] == pytest.approx(0.75)
    assert [d["race_date"] for d in data["by_day"]] == [D1.isoformat(), D2.isoformat()]
    assert [b["odds_band"] for b in data["by_odds_band"]] == ["1.01-2", "3-5", "5-10", "20+"]
    page = report.html_path.read_text()
    images = page.split('src="data:image/png;base64,')[1:]
    assert len(images) == 2
    for image in images:
        assert base64.b64decode(image.split('"')[0])[:8] == b"\x89PNG\r\n\x1a\n"
    with psycopg.connect(report_db) as conn:
        only_first_day = write_performance_report(conn, D1, D1, tmp_path / "d1")
    assert only_first_day.summary["bets"] == 3


def test_report_command_writes_the_same_files_twice(report_db, giddyup_env, tmp_path) -> None:
    env = giddyup_env(report_db)
    out = tmp_path / "report"
    first = run_giddyup("report", "--from", D1.isoformat(), "--to", D2.isoformat(), "--out", str(out), env=env)
    assert first.returncode == 0, first.stderr
    assert "4 bets" in first.stdout and "beat the close 75%" in first.stdout
    contents = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(contents) == {"performance.html", "performance.json"}
    second = run_giddyup("report", "--from", D1.isoformat(), "--to", D2.isoformat(), "--out", str(out), env=env)
    assert second.returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == contents
    backwards = run_giddyup("report", "--from", D2.isoformat(), "--to", D1.isoformat(), "--out", str(out), env=env)
    assert backwards.returncode != 0 and "error: --to 2026-06-05 is before --from 2026-06-06" in backwards.stderr
