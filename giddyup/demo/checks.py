"""What the demo day produced, measured from the database: coverage, refresh cadence, paper bets,
settlement, and whether re-running the jobs for the same instants changes any row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from giddyup.config import Settings
from giddyup.race_day.schedule import Cadence, current_slot
from giddyup.timeutil import off_instant

# Tables the race-day jobs write, with the order that makes a fingerprint deterministic.
_WRITTEN_TABLES = {
    "modeling.signals": "signal_id",
    "modeling.price_snapshots": "runner_id, ts, source",
    "modeling.bets": "bet_id",
    "modeling.paper_decisions": "race_id",
}


def fingerprint(conn: psycopg.Connection) -> dict[str, str]:
    """md5 of every row of the tables the race-day jobs write (row versions included: a rewrite
    of an identical row counts as a change)."""
    prints = {}
    for table, order in _WRITTEN_TABLES.items():
        row = conn.execute(
            f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text || t.xmin::text, '|' ORDER BY {order})), '') "
            f"FROM {table} t"
        ).fetchone()
        prints[table] = row[0]  # type: ignore[index]
    return prints


@dataclass
class CadenceCheck:
    races_checked: int
    races_matching: int
    repricings: int
    mismatches: list[str]


def expected_grid(off: dt.datetime, start: dt.datetime, cadence: Cadence) -> list[dt.datetime]:
    """The instants in [start, off) at which a run every minute must reprice a race."""
    grid = []
    instant = start
    while instant < off:
        if current_slot(off, instant, cadence) == instant:
            grid.append(instant)
        instant += dt.timedelta(minutes=1)
    return grid


def check_cadence(conn: psycopg.Connection, settings: Settings, today: dt.date, morning: dt.datetime) -> CadenceCheck:
    """Each scored race must have been repriced exactly on its grid after the morning run."""
    cadence = Cadence.from_settings(settings)
    races = conn.execute(
        "SELECT r.race_id, r.off_time, array_agg(DISTINCT s.as_of ORDER BY s.as_of) "
        "FROM racing.races r JOIN modeling.signals s ON s.race_id = r.race_id "
        "WHERE r.race_date = %s AND s.as_of > %s GROUP BY r.race_id, r.off_time ORDER BY r.race_id",
        (today, morning),
    ).fetchall()
    first_refresh = morning + dt.timedelta(minutes=1)
    matching, repricings, mismatches = 0, 0, []
    for race_id, off_time, as_ofs in races:
        off = off_instant(today, off_time, settings.race_zone)
        expected = expected_grid(off, first_refresh, cadence)
        repricings += len(as_ofs)
        if list(as_ofs) == expected:
            matching += 1
        else:
            mismatches.append(f"race {race_id}: {len(as_ofs)} repricings, expected {len(expected)}")
    return CadenceCheck(len(races), matching, repricings, mismatches)


@dataclass
class BetCheck:
    bets: int
    distinct_runner_sides: int
    settled: int
    void: int
    open: int
    with_clv: int
    staked: float
    pnl: float
    mean_clv: float | None
    beat_close_share: float | None


def check_bets(conn: psycopg.Connection, today: dt.date) -> BetCheck:
    row = conn.execute(
        """SELECT count(*), count(DISTINCT (race_id, horse_id, side)),
                  count(*) FILTER (WHERE status = 'settled'), count(*) FILTER (WHERE status = 'void'),
                  count(*) FILTER (WHERE status = 'open'), count(clv) FILTER (WHERE status = 'settled'),
                  coalesce(sum(stake) FILTER (WHERE status = 'settled'), 0),
                  coalesce(sum(pnl) FILTER (WHERE status = 'settled'), 0),
                  avg(clv) FILTER (WHERE status = 'settled'),
                  avg((clv > 0)::int) FILTER (WHERE status = 'settled' AND clv IS NOT NULL)
           FROM modeling.bets WHERE source = 'paper' AND race_date = %s""",
        (today,),
    ).fetchone()
    assert row is not None
    return BetCheck(*row)


def stand_down_reasons(conn: psycopg.Connection, today: dt.date) -> list[str]:
    """Why the staking rule stood down on today's signals (empty when it staked or could have)."""
    rows = conn.execute(
        """SELECT DISTINCT s.reasons_json->>'staking' FROM modeling.signals s
           JOIN racing.races r USING (race_id)
           WHERE r.race_date = %s AND s.reasons_json ? 'staking' ORDER BY 1""",
        (today,),
    ).fetchall()
    return [row[0] for row in rows]


def signal_coverage(conn: psycopg.Connection, today: dt.date) -> tuple[int, int]:
    """(races on today's card, races with at least one published signal)."""
    row = conn.execute(
        """SELECT count(*), count(*) FILTER (WHERE EXISTS (
                  SELECT 1 FROM modeling.signals s WHERE s.race_id = r.race_id))
           FROM racing.races r WHERE r.race_date = %s""",
        (today,),
    ).fetchone()
    assert row is not None
    return row[0], row[1]
