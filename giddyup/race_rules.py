"""What kind of race a race is: the one owner of the handicap rule.

A race is a handicap when its name (racing.races.race_name) says so: one of HANDICAP_WORDS as a
whole word, any case (a nursery is a two-year-old handicap). The rating band is not used:
classified and rated races have one without being handicaps, and every handicap's name says it
is one (the Racing Post's names, Hong Kong's `Class 4 Handicap (60-40)` as the loader writes it,
the simulator's). The model's handicap feature and the each-way terms read this one rule: in
Python (`is_handicap`) and, for the feature query, in SQL (`handicap_sql`), both made from the
same words.
"""

from __future__ import annotations

import re

HANDICAP_WORDS = ("handicap", "hcap", "h'cap", "hcp", "nursery")

_HANDICAP_PATTERN = re.compile(r"\b(" + "|".join(re.escape(w) for w in HANDICAP_WORDS) + r")\b", re.IGNORECASE)


def is_handicap(race_name: str | None) -> bool:
    """Whether a race name names a handicap (see the module docstring)."""
    return bool(race_name) and _HANDICAP_PATTERN.search(race_name) is not None  # type: ignore[arg-type]


def handicap_sql(race_name_column: str) -> str:
    """The same rule as a PostgreSQL boolean expression (`\\y` is PostgreSQL's word boundary)."""
    words = "|".join(w.replace("'", "''") for w in HANDICAP_WORDS)
    return f"coalesce({race_name_column} ~* '\\y({words})\\y', false)"
