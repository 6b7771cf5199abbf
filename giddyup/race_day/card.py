"""The day's card as the race-day jobs see it at an instant: one read, one owner.

`read_card(conn, race_date, at, race_zone)` returns every race of the racing day, in off order:
its off (the UTC instant of its UK-local off time, giddyup.timeutil), name, course, whether it is
a handicap (giddyup.race_rules), whether it is still a card (prelim), its latest signal set at
`at` (giddyup.race_day.latest_signals) and when the paper step decided it (at or before `at`).

Decided, precisely: the paper step runs after pricing at the same instant. So a race decided at
`at` itself is decided for the paper step at `at` (it must not decide it again) but not for the
pricing at `at` (a re-run of that pricing must see what the first run saw): `decided_before(at)`.

`runner_prices(conn, races, at)` adds the declared runners of some of those races with every
price candidate known at `at` and the best one (giddyup.race_day.prices), and records what was
seen as price snapshots.

Score and refresh both read the card here; they differ only in where p_model comes from.
Only psycopg at import: a refresh with nothing due reads the card and nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from giddyup.race_day.latest_signals import LATEST_SET_OF_RACE
from giddyup.race_rules import is_handicap
from giddyup.timeutil import off_instant

if TYPE_CHECKING:
    import polars as pl
    import psycopg


@dataclass(frozen=True)
class CardRace:
    race_id: int
    race_date: dt.date
    off: dt.datetime | None  # UTC; None when the race has no off time
    off_time: dt.time | None  # as stored (UK local)
    race_name: str | None
    course_name: str | None
    handicap: bool
    prelim: bool  # still a card (no results yet)
    latest_signal_as_of: dt.datetime | None  # instant of the latest signal set at the card's instant
    latest_model_id: int | None  # its model
    decided_at: dt.datetime | None  # when the paper step decided the race, if at or before the card's instant

    def is_open(self, at: dt.datetime) -> bool:
        """Has an off, and `at` is before it."""
        return self.off is not None and at < self.off

    def decided_before(self, at: dt.datetime) -> bool:
        """Decided by a paper step that ran before `at` (see the module docstring)."""
        return self.decided_at is not None and self.decided_at < at


@dataclass(frozen=True)
class Card:
    race_date: dt.date
    at: dt.datetime
    races: tuple[CardRace, ...]

    def race_ids(self) -> list[int]:
        return [race.race_id for race in self.races]


_CARD_SQL = f"""
SELECT r.race_id, r.race_date, r.off_time, r.race_name, c.course_name, coalesce(r.prelim, false),
       l.as_of, l.model_id, d.decided_at
FROM racing.races r
LEFT JOIN racing.courses c ON c.course_id = r.course_id
LEFT JOIN {LATEST_SET_OF_RACE.format(race="r")} l ON true
LEFT JOIN modeling.paper_decisions d
       ON d.race_id = r.race_id AND d.source = %(source)s AND d.decided_at <= %(at)s
WHERE r.race_date = %(day)s
ORDER BY r.off_time, r.race_id
"""


def read_card(
    conn: psycopg.Connection, race_date: dt.date, at: dt.datetime, race_zone: ZoneInfo, bet_source: str = "paper"
) -> Card:
    """Every race of `race_date` as known at `at`, decided by `bet_source`'s decision step (see the
    module docstring)."""
    rows = conn.execute(_CARD_SQL, {"at": at, "day": race_date, "source": bet_source}).fetchall()
    races = tuple(
        CardRace(
            race_id=race_id,
            race_date=day,
            off=off_instant(day, off_time, race_zone) if off_time is not None else None,
            off_time=off_time,
            race_name=name,
            course_name=course,
            handicap=is_handicap(name),
            prelim=prelim,
            latest_signal_as_of=as_of,
            latest_model_id=model_id,
            decided_at=decided_at,
        )
        for race_id, day, off_time, name, course, prelim, as_of, model_id, decided_at in rows
    )
    return Card(race_date=race_date, at=at, races=races)


def runner_prices(conn: psycopg.Connection, races: list[CardRace], at: dt.datetime) -> tuple[pl.DataFrame, int]:
    """The declared runners of `races` with their price candidates at `at`, the best price
    (odds, odds_src, volume) and the race's handicap flag; and how many snapshot rows were written."""
    import polars as pl

    from giddyup.race_day import prices

    if not races:
        seen = pl.DataFrame(schema=prices.RUNNER_PRICE_SCHEMA)
    else:
        seen = prices.read_runner_prices(conn, [race.race_id for race in races], races[0].race_date, at)
    written = prices.write_snapshots(conn, prices.snapshot_rows(seen, at))
    handicap = pl.DataFrame(
        {"race_id": [race.race_id for race in races], "handicap": [race.handicap for race in races]},
        schema={"race_id": pl.Int64, "handicap": pl.Boolean},
    )
    return prices.choose_best_prices(seen).join(handicap, on="race_id", how="left"), written
