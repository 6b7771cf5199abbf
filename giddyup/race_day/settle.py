"""Settlement and closing-line value of a day's bets, once their races have results.

A race has results when racing.races.prelim is false and at least one runner has pos_raw. Every
bet of such a race (any source, open or already settled) is recomputed (payouts.py) and written
only where something changed, so a second run changes no row and a corrected result (pos_raw
changed afterwards) re-settles the bet. settled_at is the instant of the run that last changed it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import psycopg

from giddyup.config import Settings
from giddyup.odds import PRICE_SOURCES
from giddyup.race_day.payouts import Bet, Leg, RunnerResult, closing_line_value, commission_by_bet, legs_of
from giddyup.race_rules import is_handicap
from giddyup.timeutil import off_instant

log = logging.getLogger(__name__)


@dataclass
class SettleResult:
    race_date: dt.date
    bets_seen: int = 0
    settled: int = 0
    void: int = 0
    changed: int = 0
    awaiting_results: int = 0
    pnl: float = 0.0
    staked: float = 0.0
    unsettled_races: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Settlement:
    bet_id: int
    status: str
    pnl: float
    commission: float
    result_pos_raw: str | None
    dead_heat_ways: int | None
    clv_close_odds: float | None
    close_odds_src: str | None
    clv: float | None


_BETS_SQL = """
SELECT b.bet_id, b.race_id, b.horse_id, b.side, b.odds, b.stake, b.source, b.exchange,
       b.ew_places, b.ew_fraction, b.places_paid
FROM modeling.bets b
WHERE b.race_id IN (SELECT race_id FROM racing.races WHERE race_date = %s)
ORDER BY b.bet_id
"""

_RACES_SQL = """
SELECT r.race_id, r.race_name, r.off_time, coalesce(r.prelim, false),
       EXISTS (SELECT 1 FROM racing.runners x
               WHERE x.race_date = r.race_date AND x.race_id = r.race_id AND x.pos_raw IS NOT NULL)
FROM racing.races r WHERE r.race_date = %s AND r.race_id = ANY(%s)
"""

_RUNNERS_SQL = """
SELECT race_id, horse_id, runner_id, pos_raw, pos_num, win_bsp, place_bsp, dec
FROM racing.runners WHERE race_date = %s AND race_id = ANY(%s)
"""

# The last snapshot before the off of each runner: latest instant, then the preferred source.
_LAST_SNAPSHOT_SQL = """
SELECT DISTINCT ON (p.race_id, p.horse_id) p.race_id, p.horse_id, p.back_price
FROM modeling.price_snapshots p
JOIN unnest(%s::bigint[], %s::timestamptz[]) AS o(race_id, off) ON o.race_id = p.race_id
WHERE p.ts < o.off AND p.back_price IS NOT NULL
ORDER BY p.race_id, p.horse_id, p.ts DESC, array_position(%s::text[], p.source)
"""

_UPDATE_SQL = """
UPDATE modeling.bets b SET
    status = u.status, pnl = u.pnl, commission = u.commission, result_pos_raw = u.result_pos_raw,
    dead_heat_ways = u.dead_heat_ways, clv_close_odds = u.clv_close_odds,
    close_odds_src = u.close_odds_src, clv = u.clv, settled_at = %s
FROM unnest(%s::bigint[], %s::text[], %s::float8[], %s::float8[], %s::text[], %s::int[], %s::float8[],
            %s::text[], %s::float8[])
     AS u(bet_id, status, pnl, commission, result_pos_raw, dead_heat_ways, clv_close_odds, close_odds_src, clv)
WHERE b.bet_id = u.bet_id
  AND (b.status, b.pnl, b.commission, b.result_pos_raw, b.dead_heat_ways, b.clv_close_odds, b.close_odds_src, b.clv)
      IS DISTINCT FROM
      (u.status, u.pnl, u.commission, u.result_pos_raw, u.dead_heat_ways, u.clv_close_odds, u.close_odds_src, u.clv)
"""


def _results(
    conn: psycopg.Connection, race_date: dt.date, race_ids: list[int]
) -> tuple[dict[tuple[int, int], RunnerResult], dict[tuple[int, int], tuple], list[int]]:
    """Runner results and closing prices of the races that have results; and those that do not."""
    races = conn.execute(_RACES_SQL, (race_date, race_ids)).fetchall()
    resulted = {
        race_id: (name, off_time) for race_id, name, off_time, prelim, has_pos in races if not prelim and has_pos
    }
    unsettled = sorted(set(race_ids) - set(resulted))
    rows = conn.execute(_RUNNERS_SQL, (race_date, list(resulted))).fetchall()
    starters: dict[int, int] = {}
    ties: dict[tuple[int, int], int] = {}
    for race_id, _, _, pos_raw, pos_num, *_ in rows:
        if pos_raw is not None:
            starters[race_id] = starters.get(race_id, 0) + 1
        if pos_num is not None:
            ties[(race_id, pos_num)] = ties.get((race_id, pos_num), 0) + 1
    results, closes = {}, {}
    for race_id, horse_id, _, pos_raw, pos_num, win_bsp, place_bsp, dec in rows:
        results[(race_id, horse_id)] = RunnerResult(
            pos_raw=pos_raw,
            pos_num=pos_num,
            tied=ties.get((race_id, pos_num), 1) if pos_num is not None else 1,
            starters=starters.get(race_id, 0),
            handicap=is_handicap(resulted[race_id][0]),
        )
        closes[(race_id, horse_id)] = (win_bsp, dec, place_bsp)
    return results, closes, unsettled


def _last_snapshots(
    conn: psycopg.Connection, race_date: dt.date, offs: dict[int, dt.datetime]
) -> dict[tuple[int, int], float]:
    if not offs:
        return {}
    rows = conn.execute(_LAST_SNAPSHOT_SQL, (list(offs), list(offs.values()), list(PRICE_SOURCES))).fetchall()
    return {(race_id, horse_id): price for race_id, horse_id, price in rows}


def closing_odds(bet: Bet, close: tuple, snapshot: float | None) -> tuple[float | None, str | None]:
    win_bsp, dec, place_bsp = close
    if bet.side == "place":
        return (place_bsp, "place_bsp") if place_bsp else (None, None)
    if win_bsp:
        return win_bsp, "win_bsp"
    if dec:
        return dec, "sp"
    if snapshot:
        return snapshot, "snapshot"
    return None, None


def settle_bets(
    bets: list[Bet],
    results: dict[tuple[int, int], RunnerResult],
    closes: dict[tuple[int, int], tuple],
    snapshots: dict[tuple[int, int], float],
    horse_of: dict[int, int],
    commission_rate: float,
) -> list[Settlement]:
    """Settle bets whose race has results (pure: the database work is around it)."""
    legs: list[tuple[Bet, Leg]] = []
    voids: set[int] = set()
    for bet in bets:
        key = (bet.race_id, horse_of[bet.bet_id])
        result = results.get(key, RunnerResult(None, None, 1, 0, False))  # absent: a non-runner
        bet_legs = legs_of(bet, result)
        if bet_legs is None:
            voids.add(bet.bet_id)
        else:
            legs.extend((bet, leg) for leg in bet_legs)
    commission = commission_by_bet(legs, commission_rate)
    gross: dict[int, float] = {}
    for _, leg in legs:
        gross[leg.bet_id] = gross.get(leg.bet_id, 0.0) + leg.pnl
    settlements = []
    for bet in bets:
        key = (bet.race_id, horse_of[bet.bet_id])
        found = results.get(key)
        if bet.bet_id in voids:
            settlements.append(
                Settlement(bet.bet_id, "void", 0.0, 0.0, found.pos_raw if found else None, None, None, None, None)
            )
            continue
        assert found is not None
        result = found
        close, source = closing_odds(bet, closes.get(key, (None, None, None)), snapshots.get(key))
        paid = commission.get(bet.bet_id, 0.0)
        settlements.append(
            Settlement(
                bet_id=bet.bet_id,
                status="settled",
                pnl=round(gross[bet.bet_id] - paid, 10),
                commission=round(paid, 10),
                result_pos_raw=result.pos_raw,
                dead_heat_ways=result.tied if result.pos_num is not None else 1,
                clv_close_odds=close,
                close_odds_src=source,
                clv=closing_line_value(bet.odds, close),
            )
        )
    return settlements


def settle_day(
    conn: psycopg.Connection, race_date: dt.date, settled_at: dt.datetime, settings: Settings
) -> SettleResult:
    """Settle every bet of the day's resulted races; write only what changed (one transaction)."""
    result = SettleResult(race_date=race_date)
    rows = conn.execute(_BETS_SQL, (race_date,)).fetchall()
    result.bets_seen = len(rows)
    if not rows:
        return result
    bets = [Bet(b[0], b[1], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10]) for b in rows]
    horse_of = {b[0]: b[2] for b in rows}
    race_ids = sorted({bet.race_id for bet in bets})
    results, closes, unsettled = _results(conn, race_date, race_ids)
    result.unsettled_races = unsettled
    waiting = set(unsettled)
    ready = [bet for bet in bets if bet.race_id not in waiting]
    result.awaiting_results = len(bets) - len(ready)
    offs = _offs(conn, race_date, sorted({bet.race_id for bet in ready}), settings)
    settlements = settle_bets(
        ready, results, closes, _last_snapshots(conn, race_date, offs), horse_of, settings.exchange_commission
    )
    with conn.transaction():
        result.changed = _write(conn, settlements, settled_at)
    for item, bet in zip(settlements, ready, strict=True):
        if item.status == "void":
            result.void += 1
        else:
            result.settled += 1
            result.pnl += item.pnl
            result.staked += bet.stake
    return result


def _offs(
    conn: psycopg.Connection, race_date: dt.date, race_ids: list[int], settings: Settings
) -> dict[int, dt.datetime]:
    rows = conn.execute(
        "SELECT race_id, off_time FROM racing.races WHERE race_date = %s AND race_id = ANY(%s) AND off_time IS NOT NULL",
        (race_date, race_ids),
    ).fetchall()
    return {race_id: off_instant(race_date, off_time, settings.race_zone) for race_id, off_time in rows}


def _write(conn: psycopg.Connection, settlements: list[Settlement], settled_at: dt.datetime) -> int:
    if not settlements:
        return 0
    fields = (
        *("bet_id", "status", "pnl", "commission", "result_pos_raw", "dead_heat_ways"),
        *("clv_close_odds", "close_odds_src", "clv"),
    )
    columns = [[getattr(item, name) for item in settlements] for name in fields]
    return conn.execute(_UPDATE_SQL, (settled_at, *columns)).rowcount
