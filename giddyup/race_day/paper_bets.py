"""Paper trading: at each race's decision point, the runners with a stake become paper bets.

A race is decided by the first run at or after its decision point (off − decision minutes) and
before its off: every runner of the race's latest signal set at the instant
(giddyup.race_day.latest_signals) with stake_units > 0 becomes a `win` bet with source `paper` (`backtest` in a replay: settings.bet_source), at that
signal's best_odds_win and stake, ts = the run's instant. The decision is recorded in
modeling.paper_decisions (with or without bets), so the race is decided exactly once per source: later runs,
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

from giddyup.odds import EXCHANGE_SOURCES
from giddyup.race_day.card import CardRace, read_card
from giddyup.race_day.latest_signals import read_latest_sets
from giddyup.race_day.schedule import Cadence, races_awaiting_decision
from giddyup.timeutil import local_date

if TYPE_CHECKING:
    import psycopg

    from giddyup.config import Settings


@dataclass
class PaperResult:
    at: dt.datetime
    races_decided: list[int] = field(default_factory=list)
    bets_placed: int = 0
    staked: float = 0.0


# What a bet is made from: the race's latest signal set (giddyup.race_day.latest_signals).
_PICK_COLUMNS = (
    "race_id",
    "horse_id",
    "runner_id",
    "race_date",
    "model_id",
    "as_of",
    "best_odds_win",
    "stake_units",
    "edge_win",
    "best_odds_src",
)

_INSERT_BET_SQL = """
INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, expected_ev, source,
                           runner_id, race_date, model_id, signal_as_of, exchange, status)
VALUES (%(at)s, %(race_id)s, %(horse_id)s, 'win', %(odds)s, %(stake)s, %(expected_ev)s, %(source)s,
        %(runner_id)s, %(race_date)s, %(model_id)s, %(signal_as_of)s, %(exchange)s, 'open')
ON CONFLICT (race_id, horse_id, side, source) WHERE source IN ('paper', 'backtest') DO NOTHING
RETURNING stake
"""

_INSERT_DECISION_SQL = """
INSERT INTO modeling.paper_decisions (race_id, race_date, decided_at, signal_as_of, model_id, n_bets, total_stake, source)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (race_id, source) DO NOTHING
RETURNING race_id
"""


def _decide_race(
    conn: psycopg.Connection, race: CardRace, signals: list[tuple], at: dt.datetime, source: str
) -> tuple[bool, int, float]:
    placed, staked = 0, 0.0
    signal_as_of, model_id = race.latest_signal_as_of, race.latest_model_id
    for _, horse_id, runner_id, signal_date, model, as_of, odds, stake, edge, price_source in signals:
        if not stake or stake <= 0 or odds is None:
            continue
        row = conn.execute(
            _INSERT_BET_SQL,
            {
                "at": at,
                "race_id": race.race_id,
                "horse_id": horse_id,
                "odds": odds,
                "stake": stake,
                "expected_ev": None if edge is None else edge * stake,
                "runner_id": runner_id,
                "race_date": signal_date or race.race_date,
                "model_id": model,
                "signal_as_of": as_of,
                "exchange": price_source in EXCHANGE_SOURCES,
                "source": source,
            },
        ).fetchone()
        if row is not None:
            placed += 1
            staked = round(staked + float(row[0]), 6)  # stakes are whole hundredths: no 2.1900000000000004
    decided = conn.execute(
        _INSERT_DECISION_SQL, (race.race_id, race.race_date, at, signal_as_of, model_id, placed, staked, source)
    ).fetchone()
    return decided is not None, placed, staked


def place_paper_bets(conn: psycopg.Connection, at: dt.datetime, settings: Settings) -> PaperResult:
    """Decide every race whose decision point has come and whose off has not (one transaction)."""
    cadence = Cadence.from_settings(settings)
    card = read_card(conn, local_date(at, settings.race_zone), at, settings.race_zone, settings.bet_source)
    result = PaperResult(at=at)
    pending = races_awaiting_decision(card, at, cadence)
    if not pending:
        return result
    sets: dict[int, list[tuple]] = {race.race_id: [] for race in pending}
    for row in read_latest_sets(conn, list(sets), at, _PICK_COLUMNS):
        sets[row[0]].append(row)
    with conn.transaction():
        for race in pending:
            decided, placed, staked = _decide_race(conn, race, sets[race.race_id], at, settings.bet_source)
            if decided:
                result.races_decided.append(race.race_id)
                result.bets_placed += placed
                result.staked = round(result.staked + staked, 6)
    return result
