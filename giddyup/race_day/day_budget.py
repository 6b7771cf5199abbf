"""What the day cap sees at an instant: stakes already committed to paper bets, and the open
races not being priced in this run (as their latest signals left them).

All reads are point-in-time (bets placed before the instant, signals with as_of ≤ the instant), so
pricing the same instant again gives the same stakes whatever happened later in the day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg

from giddyup.race_day.price_card import OpenStakes


def committed_stake(conn: psycopg.Connection, race_date: dt.date, at: dt.datetime) -> float:
    """Units staked by paper bets of the day before `at`. Bets placed at `at` itself come from the
    paper step that follows pricing at `at`, so pricing `at` again must not count them."""
    row = conn.execute(
        """SELECT coalesce(sum(stake), 0) FROM modeling.bets
           WHERE source = 'paper' AND race_date = %s AND ts < %s""",
        (race_date, at),
    ).fetchone()
    return float(row[0]) if row else 0.0


def decided_races(conn: psycopg.Connection, race_date: dt.date, at: dt.datetime) -> frozenset[int]:
    """Races the paper step decided before `at` (their bets are placed and counted as committed)."""
    rows = conn.execute(
        "SELECT race_id FROM modeling.paper_decisions WHERE race_date = %s AND decided_at < %s", (race_date, at)
    ).fetchall()
    return frozenset(race_id for (race_id,) in rows)


def day_budget(conn: psycopg.Connection, race_date: dt.date, at: dt.datetime, max_per_day: float) -> float:
    return max(0.0, max_per_day - committed_stake(conn, race_date, at))


def open_stakes_from_signals(conn: psycopg.Connection, race_ids: list[int], at: dt.datetime) -> OpenStakes:
    """Kelly, edge and whether a bet could be struck, per runner of each race's latest signal set."""
    if not race_ids:
        return OpenStakes.none()
    rows = conn.execute(
        """WITH latest AS (
               SELECT race_id, max(as_of) AS as_of FROM modeling.signals
               WHERE race_id = ANY(%(races)s) AND as_of <= %(at)s GROUP BY race_id)
           SELECT DISTINCT ON (s.race_id, s.horse_id)
                  s.race_id, coalesce(s.kelly_fraction, 0), coalesce(s.edge_win, -1),
                  s.best_odds_win IS NOT NULL AND s.liquidity_ok IS NOT FALSE
           FROM modeling.signals s JOIN latest l ON l.race_id = s.race_id AND l.as_of = s.as_of
           ORDER BY s.race_id, s.horse_id, s.model_id DESC""",
        {"races": race_ids, "at": at},
    ).fetchall()
    if not rows:
        return OpenStakes.none()
    race_id, kelly, edge, stakeable = zip(*rows, strict=True)
    return OpenStakes(
        np.array(race_id, dtype=np.int64),
        np.array(kelly, dtype=float),
        np.array(edge, dtype=float),
        np.array(stakeable, dtype=bool),
    )
