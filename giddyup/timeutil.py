"""Time zones: off times are UK local (a setting, Europe/London by default), schedules are
Europe/Madrid, and every stored instant is UTC. Both zones change clocks on the same days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

UTC = dt.UTC


def off_instant(race_date: dt.date, off_time: dt.time, race_tz: str | ZoneInfo = "Europe/London") -> dt.datetime:
    """The UTC instant of a race's off, reading `off_time` as local time in `race_tz`."""
    zone = ZoneInfo(race_tz) if isinstance(race_tz, str) else race_tz
    return dt.datetime.combine(race_date, off_time, tzinfo=zone).astimezone(UTC)


def off_instant_expr(
    date_col: str = "race_date", time_col: str = "off_time", race_tz: str = "Europe/London"
) -> pl.Expr:
    """Polars expression: UTC off instant from a Date and a Time column read in `race_tz`."""
    return (
        pl.col(date_col)
        .dt.combine(pl.col(time_col))
        .dt.replace_time_zone(race_tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )


def local_date(instant: dt.datetime, zone: str | ZoneInfo) -> dt.date:
    """The calendar date of a UTC instant in a zone (e.g. the Madrid date a scheduled run is for)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return instant.astimezone(zone).date()


def local_instant(day: dt.date, clock: dt.time, zone: str | ZoneInfo) -> dt.datetime:
    """The UTC instant of a wall-clock time on a day in a zone (e.g. 08:00 Europe/Madrid)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return dt.datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
