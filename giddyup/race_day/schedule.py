"""When each race is priced and decided during its day.

The cadence grid of a race is counted back from its off (UTC instant of the UK-local off time):
- every `near_off_every_minutes` in the last `near_off_minutes` before the off (the window's first
  instant, off − near_off_minutes, is a grid point too), e.g. off−15, off−14, ..., off−1;
- every `refresh_every_minutes` before that window: off−20, off−30, ... (with the defaults);
- no grid point at or after the off.

The current slot of a race at instant t is the latest grid point ≤ t. The race is *due* at t when
t is before its off, the race has been scored (it has a signal with as_of ≤ t), and either t is
itself a grid point or the race has no signal with as_of in [slot, t]. So a run every minute
prices each race exactly on its grid, a missed minute is caught up by the next run (which prices
at its own instant), and a second run at the same instant recomputes the same rows (the upsert
changes nothing).

The decision point of a race is off − decision_minutes_before_off: the paper-trading step decides
a race at the first run at or after that point and before the off.

Everything here is plain datetime arithmetic and one SQL query (no Polars), so a refresh with
nothing due stays fast.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import psycopg

    from giddyup.config import Settings

UTC = dt.UTC


@dataclass(frozen=True)
class Cadence:
    every_minutes: int = 10
    near_off_minutes: int = 15
    near_off_every_minutes: int = 1
    decision_minutes_before_off: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> Cadence:
        cadence = cls(
            every_minutes=settings.refresh_every_minutes,
            near_off_minutes=settings.near_off_minutes,
            near_off_every_minutes=settings.near_off_every_minutes,
            decision_minutes_before_off=settings.decision_minutes_before_off,
        )
        if min(cadence.every_minutes, cadence.near_off_every_minutes) < 1 or cadence.near_off_minutes < 0:
            from giddyup.errors import GiddyUpError

            raise GiddyUpError(
                "refresh_every_minutes and near_off_every_minutes must be at least 1, near_off_minutes at least 0"
            )
        return cadence


@dataclass(frozen=True)
class RaceClock:
    race_id: int
    race_date: dt.date
    off: dt.datetime  # UTC
    last_signal_as_of: dt.datetime | None  # latest signal with as_of <= the instant
    decided_at: dt.datetime | None  # paper decision made at or before the instant


def off_utc(race_date: dt.date, off_time: dt.time, race_zone: ZoneInfo) -> dt.datetime:
    """UTC instant of a UK-local off time (the same rule as giddyup.timeutil.off_instant, without
    importing Polars on this fast path)."""
    return dt.datetime.combine(race_date, off_time, tzinfo=race_zone).astimezone(UTC)


def race_day_of(instant: dt.datetime, race_zone: ZoneInfo) -> dt.date:
    """The racing day an instant belongs to: its date in the zone of the off times (UK)."""
    return instant.astimezone(race_zone).date()


def _ceil_steps(span: dt.timedelta, step: dt.timedelta) -> int:
    return -((-span) // step)


def current_slot(off: dt.datetime, at: dt.datetime, cadence: Cadence) -> dt.datetime | None:
    """The latest grid point at or before `at` of a race off at `off`; None at or after the off."""
    if at >= off:
        return None
    to_off = off - at
    window = dt.timedelta(minutes=cadence.near_off_minutes)
    if to_off <= window:
        step = dt.timedelta(minutes=cadence.near_off_every_minutes)
        return off - min(_ceil_steps(to_off, step) * step, window)
    step = dt.timedelta(minutes=cadence.every_minutes)
    return off - _ceil_steps(to_off, step) * step


def is_due(race: RaceClock, at: dt.datetime, cadence: Cadence) -> bool:
    slot = current_slot(race.off, at, cadence)
    if slot is None or race.last_signal_as_of is None:
        return False
    return slot == at or race.last_signal_as_of < slot


def decision_point(off: dt.datetime, cadence: Cadence) -> dt.datetime:
    return off - dt.timedelta(minutes=cadence.decision_minutes_before_off)


def awaiting_decision(race: RaceClock, at: dt.datetime, cadence: Cadence) -> bool:
    """Past its decision point, before its off, scored, and not decided yet."""
    return (
        race.decided_at is None
        and race.last_signal_as_of is not None
        and decision_point(race.off, cadence) <= at < race.off
    )


_RACE_CLOCK_SQL = """
SELECT r.race_id, r.race_date, r.off_time,
       (SELECT max(s.as_of) FROM modeling.signals s
         WHERE s.race_id = r.race_id AND s.as_of <= %(at)s) AS last_signal_as_of,
       (SELECT d.decided_at FROM modeling.paper_decisions d
         WHERE d.race_id = r.race_id AND d.decided_at <= %(at)s) AS decided_at
FROM racing.races r
WHERE r.race_date = %(day)s AND r.off_time IS NOT NULL
ORDER BY r.off_time, r.race_id
"""


def load_race_clocks(conn: psycopg.Connection, at: dt.datetime, race_zone: ZoneInfo) -> list[RaceClock]:
    """Every race of the racing day of `at`, with what the schedule needs to know at `at`."""
    rows = conn.execute(_RACE_CLOCK_SQL, {"at": at, "day": race_day_of(at, race_zone)}).fetchall()
    return [
        RaceClock(
            race_id=race_id,
            race_date=race_date,
            off=off_utc(race_date, off_time, race_zone),
            last_signal_as_of=last_as_of,
            decided_at=decided_at,
        )
        for race_id, race_date, off_time, last_as_of, decided_at in rows
    ]


def due_races(clocks: list[RaceClock], at: dt.datetime, cadence: Cadence) -> list[RaceClock]:
    return [race for race in clocks if is_due(race, at, cadence)]


def races_awaiting_decision(clocks: list[RaceClock], at: dt.datetime, cadence: Cadence) -> list[RaceClock]:
    return [race for race in clocks if awaiting_decision(race, at, cadence)]
