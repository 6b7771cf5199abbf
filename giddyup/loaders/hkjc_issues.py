"""What the Hong Kong loader could not take as it stands: each value set aside, where, and what was done.

Three outcomes, each counted by reason in the load report with file, line and race:
- a value the loader does not understand in a field that is not essential (a margin, a time, the
  odds, a weight, a draw, a race attribute) is stored as NULL; a race attribute on which the rows of
  a race disagree is the value on most of its rows (NULL on a tie); the rows are loaded;
- a row whose horse cannot be identified is left out;
- a race whose result cannot be stored honestly (a runner with no readable placing, a date or venue
  that is not one) is left out whole: a race missing a runner would be a different race.
With `strict`, the first value not understood stops the load instead, with a one-line error naming
file, column and line (rows left out by rule are still left out: they are not values misread).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import polars as pl

from giddyup.errors import ValidationError

ROW_LEFT_OUT = "row left out"
RACE_LEFT_OUT = "race left out"
MOST_ROWS = "the value on most rows (NULL on a tie)"


@dataclass(frozen=True)
class SetAside:
    """One value the loader did not take as written, and what it did instead."""

    reason: str  # what was wrong, without the value: `lbw is not a margin in lengths`
    outcome: str  # ROW_LEFT_OUT, RACE_LEFT_OUT or what was stored: `ovr_btn and btn NULL`
    line: int  # line in the file (the header is line 1); a race attribute: the race's first line
    race: str | None  # race_id of the row
    column: str
    value: str | None  # the text in the file (a disagreement: each value and how many rows have it)
    stored: str | None = None  # a disagreement: the value stored

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class IssueLog:
    """Collects SetAside records while a file is parsed; raises on the first one when strict."""

    def __init__(self, source: str, *, strict: bool) -> None:
        self.source = source
        self.strict = strict
        self.items: list[SetAside] = []
        self.rows_left_out: Counter[str] = Counter()  # reason -> rows
        self.races_left_out: Counter[str] = Counter()  # reason -> races

    def flag(
        self,
        frame: pl.DataFrame,
        bad: pl.Expr,
        column: str,
        problem: str,
        outcome: str,
        *,
        misread: bool = True,
        reason: str | None = None,
    ) -> pl.Series:
        """The rows where `bad` holds, each recorded as set aside under `reason` (default: column and
        problem). A `misread` value (one the loader does not understand) fails a strict load."""
        mask = frame.select(bad.fill_null(False).alias("bad")).to_series()
        if not mask.any():
            return mask
        rows = frame.filter(mask).select("line", "race_id", pl.col(column).cast(pl.String).alias("value"))
        if self.strict and misread:
            line, _, value = rows.row(0)
            more = f" ({rows.height - 1} more such rows)" if rows.height > 1 else ""
            raise ValidationError(f"{self.source}: column {column}, line {line}: {value!r} {problem}{more}")
        reason = reason or f"{column} {problem}"
        self.items.extend(
            SetAside(reason, outcome, line, race, column, value) for line, race, value in rows.iter_rows()
        )
        return mask

    def drop_rows(
        self,
        frame: pl.DataFrame,
        bad: pl.Expr,
        column: str,
        problem: str,
        *,
        misread: bool = False,
        reason: str | None = None,
    ) -> pl.DataFrame:
        """Leave out the rows where `bad` holds (a race or horse that cannot be identified)."""
        reason = reason or f"{column} {problem}"
        mask = self.flag(frame, bad, column, problem, ROW_LEFT_OUT, misread=misread, reason=reason)
        if mask.any():
            self.rows_left_out[reason] += int(mask.sum())
        return frame.filter(~mask)

    def mark_races(
        self,
        frame: pl.DataFrame,
        bad: pl.Expr,
        column: str,
        problem: str,
        *,
        misread: bool = True,
        reason: str | None = None,
    ) -> pl.DataFrame:
        """Mark the races of the rows where `bad` holds as left out (`_race_out`: the first reason wins)."""
        reason = reason or f"{column} {problem}"
        mask = self.flag(frame, bad, column, problem, RACE_LEFT_OUT, misread=misread, reason=reason)
        if not mask.any():
            return frame
        races = frame.filter(mask)["race_id"].unique()
        marked = pl.when(pl.col("race_id").is_in(races.implode())).then(pl.lit(reason))
        return frame.with_columns(_race_out=pl.coalesce(pl.col("_race_out"), marked))

    def drop_marked_races(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Leave out every row of the races marked by `mark_races`, counted under the race's first reason."""
        out = frame.filter(pl.col("_race_out").is_not_null())
        if out.height:
            per_reason = out.group_by("_race_out").agg(rows=pl.len(), races=pl.col("race_id").n_unique())
            for reason, rows, races in per_reason.iter_rows():
                self.rows_left_out[reason] += rows
                self.races_left_out[reason] += races
        return frame.filter(pl.col("_race_out").is_null())

    def set_null(
        self, frame: pl.DataFrame, bad: pl.Expr, column: str, problem: str, outcome: str, *targets: str
    ) -> pl.DataFrame:
        """Store NULL in `targets` (default: the column itself) where `bad` holds."""
        mask = self.flag(frame, bad, column, problem, outcome)
        if not mask.any():
            return frame
        return frame.with_columns(pl.when(mask).then(None).otherwise(pl.col(t)).alias(t) for t in targets or (column,))

    def resolve_disagreement(self, race: str, column: str, counts: list[tuple[object, int, int]]) -> object:
        """The value on most of a race's rows, None on a tie; `counts`: (value, rows, first line).

        Recorded at the first line holding a value not stored; strict: today's one-line error."""
        ordered = sorted(counts, key=lambda vnl: (-vnl[1], vnl[2]))
        if self.strict:
            values = ", ".join(repr(str(v)) for v in sorted((v for v, _, _ in counts), key=str))
            raise ValidationError(
                f"{self.source}: column {column}: race {race} has different values on its rows ({values})"
            )
        tie = ordered[0][1] == ordered[1][1]
        chosen = None if tie else ordered[0][0]
        line = min(first for value, _, first in ordered if tie or value != chosen)
        written = ", ".join(f"{str(v)!r} on {n} row{'s' if n > 1 else ''}" for v, n, _ in ordered)
        stored = None if chosen is None else str(chosen)
        self.items.append(
            SetAside(f"{column} differs between the rows of a race", MOST_ROWS, line, race, column, written, stored)
        )
        return chosen
