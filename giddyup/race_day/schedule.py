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

Everything here is plain datetime arithmetic on the card (giddyup.race_day.card, no Polars), so a
refresh with nothing due stays fast.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from giddyup.config import Settings
    from giddyup.race_day.card import Card, CardRace


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


def is_due(race: CardRace, at: dt.datetime, cadence: Cadence) -> bool:
    if race.off is None or race.latest_signal_as_of is None:
        return False
    slot = current_slot(race.off, at, cadence)
    if slot is None:
        return False
    return slot == at or race.latest_signal_as_of < slot


def decision_point(off: dt.datetime, cadence: Cadence) -> dt.datetime:
    return off - dt.timedelta(minutes=cadence.decision_minutes_before_off)


def awaiting_decision(race: CardRace, at: dt.datetime, cadence: Cadence) -> bool:
    """Past its decision point, before its off, scored, and not decided yet (at or before `at`)."""
    return (
        race.off is not None
        and race.decided_at is None
        and race.latest_signal_as_of is not None
        and decision_point(race.off, cadence) <= at < race.off
    )


def due_races(card: Card, at: dt.datetime, cadence: Cadence) -> list[CardRace]:
    return [race for race in card.races if is_due(race, at, cadence)]


def races_awaiting_decision(card: Card, at: dt.datetime, cadence: Cadence) -> list[CardRace]:
    return [race for race in card.races if awaiting_decision(race, at, cadence)]
