"""Time zones, the one owner of "off time → instant": off times are UK local (a setting,
Europe/London by default), schedules are Europe/Madrid, and every stored instant is UTC. Both
zones change clocks on the same days. Standard library only: the schedule's fast path uses it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.UTC


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def off_instant(race_date: dt.date, off_time: dt.time, race_tz: str | ZoneInfo = "Europe/London") -> dt.datetime:
    """The UTC instant of a race's off, reading `off_time` as local time in `race_tz`."""
    return dt.datetime.combine(race_date, off_time, tzinfo=_zone(race_tz)).astimezone(UTC)


def local_date(instant: dt.datetime, zone: str | ZoneInfo) -> dt.date:
    """The calendar date of an instant in a zone: the Madrid date a scheduled run is for, or (in
    the zone of the off times) the racing day an instant belongs to."""
    return instant.astimezone(_zone(zone)).date()


def local_instant(day: dt.date, clock: dt.time, zone: str | ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time on a day in a zone (e.g. 08:00 Europe/Madrid)."""
    return dt.datetime.combine(day, clock, tzinfo=_zone(zone)).astimezone(UTC)
