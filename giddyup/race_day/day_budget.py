"""What the day cap sees at an instant: stakes already committed to paper bets, and the open
races not being priced in this run (as their latest signal sets left them).

All reads are point-in-time (bets placed before the instant, signals with as_of ≤ the instant), so
pricing the same instant again gives the same stakes whatever happened later in the day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg

from giddyup.race_day.latest_signals import read_latest_sets
from giddyup.race_day.price_card import OpenStakes


def committed_stake(conn: psycopg.Connection, race_date: dt.date, at: dt.datetime, source: str = "paper") -> float:
    """Units staked by the decision step's bets (of `source`) of the day before `at`. Bets placed at
    `at` itself come from the paper step that follows pricing at `at`, so pricing `at` again must
    not count them."""
    row = conn.execute(
        """SELECT coalesce(sum(stake), 0) FROM modeling.bets
           WHERE source = %s AND race_date = %s AND ts < %s""",
        (source, race_date, at),
    ).fetchone()
    return float(row[0]) if row else 0.0


def day_budget(
    conn: psycopg.Connection, race_date: dt.date, at: dt.datetime, max_per_day: float, source: str = "paper"
) -> float:
    return max(0.0, max_per_day - committed_stake(conn, race_date, at, source))


def open_stakes_from_signals(conn: psycopg.Connection, race_ids: list[int], at: dt.datetime) -> OpenStakes:
    """Kelly, edge and whether a bet could be struck, per runner of each race's latest signal set."""
    rows = read_latest_sets(
        conn, race_ids, at, ("race_id", "kelly_fraction", "edge_win", "best_odds_win", "liquidity_ok")
    )
    if not rows:
        return OpenStakes.none()
    race_id, kelly, edge, odds, liquidity = zip(*rows, strict=True)
    return OpenStakes(
        np.array(race_id, dtype=np.int64),
        np.array([k or 0.0 for k in kelly], dtype=float),
        np.array([-1.0 if e is None else e for e in edge], dtype=float),
        np.array([o is not None and ok is not False for o, ok in zip(odds, liquidity, strict=True)], dtype=bool),
    )
