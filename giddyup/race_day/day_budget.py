"""What the day cap sees at an instant: stakes already committed to paper bets, and the open
races not being priced in this run (as their latest signal sets left them).

All reads are point-in-time (bets placed before the instant, signals with as_of ≤ the instant), so
pricing the same instant again gives the same stakes whatever happened later in the day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg

from giddyup.odds import EXCHANGE_SOURCES
from giddyup.pricing import StakeRules, edge_threshold, net_odds
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


def open_stakes_from_signals(
    conn: psycopg.Connection, race_ids: list[int], at: dt.datetime, rules: StakeRules
) -> OpenStakes:
    """Kelly, whether the stake rule wants a bet, and whether one could be struck, per runner of
    each race's latest signal set (as that set was priced: its p_win at its execution odds)."""
    rows = read_latest_sets(
        conn,
        race_ids,
        at,
        ("race_id", "kelly_fraction", "p_win", "coalesce(execution_odds, best_odds_win)", "best_odds_src",
         "best_odds_win", "liquidity_ok"),
    )  # fmt: skip
    if not rows:
        return OpenStakes.none()
    race_id, kelly, p_win, odds, source, best, liquidity = zip(*rows, strict=True)
    execution_odds = np.array([np.nan if o is None else o for o in odds], dtype=float)
    exchange = np.isin(np.asarray(source, dtype=object), EXCHANGE_SOURCES)
    p = np.array([np.nan if v is None else v for v in p_win], dtype=float)
    edge = p * net_odds(execution_odds, exchange, rules.commission) - 1.0
    with np.errstate(invalid="ignore"):
        wanted = np.isfinite(edge) & (edge > edge_threshold(execution_odds, rules))
    return OpenStakes(
        np.array(race_id, dtype=np.int64),
        np.array([k or 0.0 for k in kelly], dtype=float),
        wanted,
        np.array([o is not None and ok is not False for o, ok in zip(best, liquidity, strict=True)], dtype=bool),
    )
