"""When each job runs: the DAGs' schedules, declared once (Europe/Madrid wall clock).

The DAG files build their timetables from these, and the backtest replays a day at the instants
they give, so a replayed day runs its jobs exactly when a live day would. Standard library only:
the Airflow image carries this module beside giddyup/artifacts.py.

Only the cron forms the DAGs use are understood: minute and hour fields of `*`, numbers, ranges
`a-b` and lists `a,b`, every day of every month.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SCHEDULE_TZ = "Europe/Madrid"

NIGHTLY_RETRAIN = ("30 2 * * *",)  # 02:30
MORNING_SCORING = ("0 8 * * *",)  # 08:00
INTRADAY_REFRESH = ("* 11-22 * * *",)  # every minute, 11:00-22:59
# Results arrive through the afternoon and evening; the late run catches the last ones.
SETTLEMENT = ("0,30 13-22 * * *", "45 23 * * *")


def _field(text: str, low: int, high: int) -> list[int]:
    values: set[int] = set()
    for part in text.split(","):
        if part == "*":
            values.update(range(low, high + 1))
        elif "-" in part:
            first, last = (int(v) for v in part.split("-"))
            values.update(range(first, last + 1))
        else:
            values.add(int(part))
    if not values or min(values) < low or max(values) > high:
        raise ValueError(f"cron field {text!r} is outside {low}-{high}")
    return sorted(values)


def run_instants(crons: tuple[str, ...], day: dt.date, zone: str = SCHEDULE_TZ) -> list[dt.datetime]:
    """The UTC instants at which a daily schedule runs on a local calendar day, in order. A wall
    time that does not exist that day (the spring clock change) is skipped; one that happens twice
    (autumn) runs once, at its first occurrence, as Airflow's cron timetables do."""
    tz = ZoneInfo(zone)
    instants: set[dt.datetime] = set()
    for cron in crons:
        minute, hour, *days = cron.split()
        if days != ["*", "*", "*"]:
            raise ValueError(f"only daily schedules are understood here, not {cron!r}")
        for h in _field(hour, 0, 23):
            for m in _field(minute, 0, 59):
                local = dt.datetime.combine(day, dt.time(h, m), tzinfo=tz)
                instant = local.astimezone(dt.UTC)
                if instant.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
                    instants.add(instant)
    return sorted(instants)
