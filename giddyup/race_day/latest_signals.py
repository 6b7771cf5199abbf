"""The latest signal set of a race at an instant: the one definition every race-day job reads.

A race's latest signal set at instant t is the rows of its newest scoring instant at or before t
(as_of ≤ t), of one model: where two model versions priced the race at that same instant (a day
re-scored after a promotion), the higher model_id, the newer registration. Rows of one set
therefore never mix models or instants. The refresh reprices from it, the day cap counts the open
races' stakes from it, the paper step bets from it and the schedule asks when it was made.

(The view modeling.latest_signals is another thing: the latest row per race, horse and model,
for the API.)

psycopg only: the schedule runs this every minute.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

# The (as_of, model_id) of a race's latest set at %(at)s, for a row `race` with a race_id column:
# one backward probe of signals (race_id, as_of DESC) per race.
LATEST_SET_OF_RACE = """LATERAL (
    SELECT s.as_of, s.model_id FROM modeling.signals s
    WHERE s.race_id = {race}.race_id AND s.as_of <= %(at)s
    ORDER BY s.as_of DESC, s.model_id DESC
    LIMIT 1)"""

_LATEST_SETS_SQL = f"""
SELECT {{columns}}
FROM unnest(%(races)s::bigint[]) AS k(race_id)
JOIN {LATEST_SET_OF_RACE.format(race="k")} l ON true
JOIN modeling.signals s ON s.race_id = k.race_id AND s.as_of = l.as_of AND s.model_id = l.model_id
ORDER BY s.race_id, s.horse_id
"""


def read_latest_sets(
    conn: psycopg.Connection, race_ids: list[int], at: dt.datetime, columns: tuple[str, ...]
) -> list[tuple]:
    """The rows of each race's latest signal set at `at`: `columns` of modeling.signals, or
    expressions over them (from our own code, never from input), ordered by race and horse."""
    if not race_ids:
        return []
    # Columns of modeling.signals (s.name), or expressions over them such as coalesce(...).
    select = ", ".join(name if "(" in name else f"s.{name}" for name in columns)
    return conn.execute(_LATEST_SETS_SQL.format(columns=select), {"races": list(race_ids), "at": at}).fetchall()
