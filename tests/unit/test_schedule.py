"""giddyup.race_day.schedule: the cadence grid, due races, decision points, and the clock changes
(last Sunday of March and of October: BST starts 2026-03-29 01:00 UTC, ends 2026-10-25 01:00 UTC)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from giddyup.race_day.card import CardRace
from giddyup.race_day.schedule import (
    Cadence,
    awaiting_decision,
    current_slot,
    decision_point,
    is_due,
)
from giddyup.timeutil import local_date, local_instant, off_instant

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
MADRID = ZoneInfo("Europe/Madrid")
DEFAULT = Cadence()  # every 10 minutes, every minute in the last 15, decide 5 before the off
OFF = dt.datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
OFF_DAY = OFF.date()


def at(hh: int, mm: int, ss: int = 0, day: dt.date = OFF_DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC)


def race(off: dt.datetime = OFF, last: dt.datetime | None = None, decided: dt.datetime | None = None) -> CardRace:
    return CardRace(
        race_id=1,
        race_date=off.date(),
        off=off,
        off_time=None,
        race_name=None,
        course_name=None,
        handicap=False,
        prelim=True,
        latest_signal_as_of=last,
        latest_model_id=1 if last else None,
        decided_at=decided,
    )


@pytest.mark.parametrize(
    ("instant", "slot"),
    [
        (at(13, 59, 30), at(13, 59)),
        (at(13, 59), at(13, 59)),
        (at(13, 45), at(13, 45)),  # first instant of the near-off window
        (at(13, 44, 59), at(13, 40)),
        (at(13, 40), at(13, 40)),
        (at(13, 39), at(13, 30)),
        (at(12, 1), at(12, 0)),
        (at(8, 0), at(8, 0)),
    ],
)
def test_current_slot_on_the_default_grid(instant: dt.datetime, slot: dt.datetime) -> None:
    assert current_slot(OFF, instant, DEFAULT) == slot


def test_no_slot_at_or_after_the_off() -> None:
    assert current_slot(OFF, OFF, DEFAULT) is None
    assert current_slot(OFF, OFF + dt.timedelta(seconds=1), DEFAULT) is None


def test_window_start_is_a_grid_point_when_the_near_off_step_does_not_divide_it() -> None:
    cadence = Cadence(every_minutes=10, near_off_minutes=15, near_off_every_minutes=2)
    assert current_slot(OFF, at(13, 45, 30), cadence) == at(13, 45)
    assert current_slot(OFF, at(13, 46, 30), cadence) == at(13, 46)
    assert current_slot(OFF, at(13, 47), cadence) == at(13, 46)
    assert current_slot(OFF, at(13, 44), cadence) == at(13, 40)


def test_due_on_grid_caught_up_when_missed_and_not_repeated_in_a_slot() -> None:
    morning = at(7, 0)
    assert is_due(race(last=morning), at(13, 40), DEFAULT)  # on the grid
    assert is_due(race(last=at(13, 40)), at(13, 40), DEFAULT)  # a re-run at the same instant recomputes
    assert not is_due(race(last=at(13, 40)), at(13, 41), DEFAULT)  # slot 13:40 already priced
    assert is_due(race(last=at(13, 30)), at(13, 41), DEFAULT)  # 13:40 was missed: caught up at 13:41
    assert not is_due(race(last=at(13, 41)), at(13, 42), DEFAULT)  # ... and not again in that slot
    assert not is_due(race(last=None), at(13, 40), DEFAULT)  # never scored: nothing to refresh from
    assert not is_due(race(last=morning), OFF, DEFAULT)  # none at or after the off


def _simulate(minutes: list[dt.datetime], cadence: Cadence, off: dt.datetime = OFF) -> list[dt.datetime]:
    """Run the refresh at each instant; return the instants at which the race was priced."""
    last = at(7, 0, day=off.date())
    priced = []
    for instant in minutes:
        clock = race(off=off, last=last)
        if is_due(clock, instant, cadence):
            priced.append(instant)
            last = instant
    return priced


def test_a_run_every_minute_prices_exactly_on_the_grid() -> None:
    minutes = [at(12, 0) + dt.timedelta(minutes=k) for k in range(150)]
    expected = [at(12, 0) + dt.timedelta(minutes=10 * k) for k in range(11)]  # 12:00 .. 13:40
    expected += [at(13, 45) + dt.timedelta(minutes=k) for k in range(15)]  # 13:45 .. 13:59
    assert _simulate(minutes, DEFAULT) == expected


def test_a_missed_minute_is_caught_up_by_the_next_run_and_the_grid_resumes() -> None:
    minutes = [at(12, 0) + dt.timedelta(minutes=k) for k in range(150)]
    missing = {at(13, 20), at(13, 50)}
    priced = _simulate([m for m in minutes if m not in missing], DEFAULT)
    assert at(13, 21) in priced and at(13, 20) not in priced
    assert at(13, 22) not in priced and at(13, 30) in priced
    assert at(13, 51) in priced and at(13, 52) in priced  # every minute near the off anyway
    assert priced[-1] == at(13, 59)


def test_decision_point_and_awaiting_decision() -> None:
    assert decision_point(OFF, DEFAULT) == at(13, 55)
    scored = race(last=at(13, 54))
    assert not awaiting_decision(scored, at(13, 54, 59), DEFAULT)
    assert awaiting_decision(scored, at(13, 55), DEFAULT)
    assert awaiting_decision(scored, at(13, 59, 59), DEFAULT)  # late, but before the off
    assert not awaiting_decision(scored, OFF, DEFAULT)
    assert not awaiting_decision(race(last=at(13, 54), decided=at(13, 55)), at(13, 56), DEFAULT)
    assert not awaiting_decision(race(last=None), at(13, 56), DEFAULT)


# --- clock changes ------------------------------------------------------------------------------
SPRING = dt.date(2026, 3, 29)  # clocks go forward at 01:00 UTC
AUTUMN = dt.date(2026, 10, 25)  # clocks go back at 01:00 UTC


@pytest.mark.parametrize(
    ("day", "off_utc_hour"),
    [
        (dt.date(2026, 3, 28), 14),  # GMT
        (SPRING, 13),  # BST from this morning
        (dt.date(2026, 10, 24), 13),  # BST
        (AUTUMN, 14),  # GMT from this morning
    ],
)
def test_uk_off_times_convert_through_london_on_clock_change_days(day: dt.date, off_utc_hour: int) -> None:
    off = off_instant(day, dt.time(14, 0), LONDON)
    assert off == dt.datetime(day.year, day.month, day.day, off_utc_hour, 0, tzinfo=UTC)
    assert off == off_instant(day, dt.time(14, 0), "Europe/London")  # a zone by name or as ZoneInfo


@pytest.mark.parametrize(("day", "off_utc_hour"), [(SPRING, 13), (AUTUMN, 14)])
def test_due_races_and_decision_points_on_clock_change_days(day: dt.date, off_utc_hour: int) -> None:
    off = off_instant(day, dt.time(14, 0), LONDON)
    morning = local_instant(day, dt.time(8, 0), MADRID)
    clock = race(off, last=morning)
    window_start = dt.datetime(day.year, day.month, day.day, off_utc_hour - 1, 45, tzinfo=UTC)
    assert is_due(clock, window_start, DEFAULT)  # 13:45 London is on the grid
    assert current_slot(off, window_start - dt.timedelta(minutes=1), DEFAULT) == window_start - dt.timedelta(minutes=5)
    assert decision_point(off, DEFAULT) == window_start + dt.timedelta(minutes=10)  # 13:55 London
    assert awaiting_decision(clock, window_start + dt.timedelta(minutes=10), DEFAULT)
    assert not awaiting_decision(clock, window_start + dt.timedelta(minutes=9), DEFAULT)
    # One hour later in UTC would be after the off: the zone is what makes the difference.
    assert not is_due(clock, window_start + dt.timedelta(hours=1), DEFAULT)


def test_a_minute_cadence_across_the_spring_change_prices_on_the_london_grid() -> None:
    off = off_instant(SPRING, dt.time(14, 0), LONDON)  # 13:00 UTC
    minutes = [dt.datetime(2026, 3, 29, 11, 0, tzinfo=UTC) + dt.timedelta(minutes=k) for k in range(120)]
    start = dt.datetime(2026, 3, 29, 11, 0, tzinfo=UTC)
    expected = [start + dt.timedelta(minutes=10 * k) for k in range(11)]  # 12:00..13:40 London
    expected += [start + dt.timedelta(minutes=105 + k) for k in range(15)]  # 13:45..13:59 London
    assert _simulate(minutes, DEFAULT, off=off) == expected


@pytest.mark.parametrize(
    ("instant", "race_day"),
    [
        (dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC), SPRING),  # 00:30 GMT
        (dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC), dt.date(2026, 3, 28)),
        (dt.datetime(2026, 10, 24, 23, 30, tzinfo=UTC), AUTUMN),  # 00:30 BST on the 25th
        (dt.datetime(2026, 10, 25, 23, 30, tzinfo=UTC), AUTUMN),  # 23:30 GMT
    ],
)
def test_race_day_of_an_instant_is_its_london_date(instant: dt.datetime, race_day: dt.date) -> None:
    assert local_date(instant, LONDON) == race_day


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
def test_the_morning_run_scheduled_in_madrid_scores_the_same_uk_day(day: dt.date) -> None:
    """The scoring DAG runs at 08:00 Europe/Madrid and passes its date: that date is the UK card's."""
    scheduled = local_instant(day, dt.time(8, 0), MADRID)
    assert scheduled.hour == (6 if day == SPRING else 7)  # CEST (+2) in spring, CET (+1) after October
    assert local_date(scheduled, MADRID) == day
    assert local_date(scheduled, LONDON) == day
