"""Paper trading: at each race's decision point, the runners with a stake become paper bets.

A race is decided by the first run at or after its decision point (off − decision minutes) and
before its off: every runner of the race's latest signal set (the signals with the race's latest
as_of ≤ the instant) with stake_units > 0 becomes a `win` bet with source `paper`, at that
signal's best_odds_win and stake, ts = the run's instant. The decision is recorded in
modeling.paper_decisions (with or without bets), so the race is decided exactly once: later runs,
however many, add nothing, and a run after the off decides nothing. Bets are inserted with
ON CONFLICT DO NOTHING on the unique index (race, horse, side, source) as a second guard.

expected_ev = edge_win × stake (expected profit in units). `exchange` is true for prices from
the exchange (live, exchange_wap): settlement charges commission on those only.

Only psycopg here: this runs every minute inside `giddyup refresh`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from giddyup.race_day.schedule import Cadence, load_race_clocks, races_awaiting_decision

if TYPE_CHECKING:
    import psycopg

    from giddyup.config import Settings

EXCHANGE_SOURCES = ("live", "exchange_wap")


@dataclass
class PaperResult:
    at: dt.datetime
    races_decided: list[int] = field(default_factory=list)
    bets_placed: int = 0
    staked: float = 0.0


_PICK_SQL = """
WITH latest AS (
    SELECT race_id, max(as_of) AS as_of FROM modeling.signals
    WHERE race_id = %(race_id)s AND as_of <= %(at)s GROUP BY race_id)
SELECT DISTINCT ON (s.horse_id)
       s.horse_id, s.runner_id, s.race_date, s.model_id, s.as_of,
       s.best_odds_win, s.stake_units, s.edge_win, s.best_odds_src
FROM modeling.signals s JOIN latest l ON l.race_id = s.race_id AND l.as_of = s.as_of
ORDER BY s.horse_id, s.model_id DESC
"""

_INSERT_BET_SQL = """
INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, expected_ev, source,
                           runner_id, race_date, model_id, signal_as_of, exchange, status)
VALUES (%(at)s, %(race_id)s, %(horse_id)s, 'win', %(odds)s, %(stake)s, %(expected_ev)s, 'paper',
        %(runner_id)s, %(race_date)s, %(model_id)s, %(signal_as_of)s, %(exchange)s, 'open')
ON CONFLICT (race_id, horse_id, side, source) WHERE source = 'paper' DO NOTHING
RETURNING stake
"""

_INSERT_DECISION_SQL = """
INSERT INTO modeling.paper_decisions (race_id, race_date, decided_at, signal_as_of, model_id, n_bets, total_stake)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (race_id) DO NOTHING
RETURNING race_id
"""


def _decide_race(
    conn: psycopg.Connection, race_id: int, race_date: dt.date, at: dt.datetime
) -> tuple[bool, int, float]:
    signals = conn.execute(_PICK_SQL, {"race_id": race_id, "at": at}).fetchall()
    placed, staked = 0, 0.0
    signal_as_of, model_id = None, None
    for horse_id, runner_id, signal_date, model, as_of, odds, stake, edge, source in signals:
        signal_as_of, model_id = as_of, model
        if not stake or stake <= 0 or odds is None:
            continue
        row = conn.execute(
            _INSERT_BET_SQL,
            {
                "at": at,
                "race_id": race_id,
                "horse_id": horse_id,
                "odds": odds,
                "stake": stake,
                "expected_ev": None if edge is None else edge * stake,
                "runner_id": runner_id,
                "race_date": signal_date or race_date,
                "model_id": model,
                "signal_as_of": as_of,
                "exchange": source in EXCHANGE_SOURCES,
            },
        ).fetchone()
        if row is not None:
            placed += 1
            staked = round(staked + float(row[0]), 6)  # stakes are whole hundredths: no 2.1900000000000004
    decided = conn.execute(
        _INSERT_DECISION_SQL, (race_id, race_date, at, signal_as_of, model_id, placed, staked)
    ).fetchone()
    return decided is not None, placed, staked


def place_paper_bets(conn: psycopg.Connection, at: dt.datetime, settings: Settings) -> PaperResult:
    """Decide every race whose decision point has come and whose off has not (one transaction)."""
    cadence = Cadence.from_settings(settings)
    clocks = load_race_clocks(conn, at, settings.race_zone)
    result = PaperResult(at=at)
    pending = races_awaiting_decision(clocks, at, cadence)
    if not pending:
        return result
    with conn.transaction():
        for race in pending:
            decided, placed, staked = _decide_race(conn, race.race_id, race.race_date, at)
            if decided:
                result.races_decided.append(race.race_id)
                result.bets_placed += placed
                result.staked = round(result.staked + staked, 6)
    return result
