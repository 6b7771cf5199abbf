"""The steps of a walk-forward evaluation (`giddyup evaluate --retrain-every`): dates only.

- `season`: a season opens on 1 September in Hong Kong (its racing runs September to July) and on
  1 January elsewhere (UK and Irish Flat and jumps seasons overlap, so the calendar year is used);
  races mixing HK with other regions have no single season and are refused.
- `month`: calendar months.
- DAYS: blocks of that many days from the first test day.
The first and last steps are cut by the test window. No heavy import: the CLI checks the option
with it before building anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from giddyup.errors import GiddyUpError

HK_SEASON_MONTH = 9  # Hong Kong's season opens in September
CALENDAR_SEASON_MONTH = 1


@dataclass(frozen=True)
class Cadence:
    """How often the walk-forward retrains: kind "season", "month" or "days" (with `days`)."""

    kind: str
    days: int = 0

    @property
    def label(self) -> str:
        return f"{self.days} days" if self.kind == "days" else self.kind

    @classmethod
    def parse(cls, value: str, option: str = "--retrain-every") -> Cadence:
        text = value.strip().lower()
        if text in ("season", "month"):
            return cls(text)
        if text.isdigit() and int(text) > 0:
            return cls("days", int(text))
        raise GiddyUpError(f"{option} {value!r} is not season, month or a positive number of days")


def season_start_month(regions: Iterable[str]) -> int:
    """The month a racing season opens: September for Hong Kong, January (calendar year) elsewhere."""
    found = {str(r).upper() for r in regions if r is not None}
    if "HK" in found and len(found) > 1:
        others = ", ".join(sorted(found - {"HK"}))
        raise GiddyUpError(
            f"--retrain-every season: the races mix HK (seasons from September) with {others} (calendar "
            "years); choose one with --region, or retrain every month or N days"
        )
    return HK_SEASON_MONTH if found == {"HK"} else CALENDAR_SEASON_MONTH


def season_start(day: dt.date, month: int) -> dt.date:
    """First day of the season holding `day`, for seasons opening on the 1st of `month`."""
    return dt.date(day.year if day.month >= month else day.year - 1, month, 1)


def season_label(day: dt.date, month: int) -> str:
    """`2018/19` for a September season, `2019` for a calendar year."""
    start = season_start(day, month)
    return str(start.year) if month == 1 else f"{start.year}/{(start.year + 1) % 100:02d}"


def _next_boundary(day: dt.date, cadence: Cadence, season_month: int) -> dt.date:
    if cadence.kind == "season":
        start = season_start(day, season_month)
        return start.replace(year=start.year + 1)
    if cadence.kind == "month":
        return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return day + dt.timedelta(days=cadence.days)


def step_windows(
    test_from: dt.date, test_until: dt.date, cadence: Cadence, season_month: int = CALENDAR_SEASON_MONTH
) -> list[tuple[dt.date, dt.date]]:
    """(first day, last day) of each step, covering test_from..test_until without gap or overlap."""
    if test_from > test_until:
        raise GiddyUpError(f"the test window starts after it ends: {test_from} > {test_until}")
    windows = []
    start = test_from
    while start <= test_until:
        end = min(_next_boundary(start, cadence, season_month) - dt.timedelta(days=1), test_until)
        windows.append((start, end))
        start = end + dt.timedelta(days=1)
    return windows
