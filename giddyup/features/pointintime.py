"""The point-in-time machinery every feature module goes through.

History is summarised as a table of *states at the end of a day* per key (a horse, a jockey, a
course/distance/going, ...): running totals through that day, or the last values seen by that
day. A runner in a race on day D is given the latest state dated strictly before D, by an as-of
join with `allow_exact_matches=False`. So nothing from day D itself (the race, the horse's other
races that day, other races that day) nor from later days can reach a feature, whatever order rows
come in, and several races of one horse on one day see none of each other.

Windows (the last N days) are differences of two such joins: totals before D minus totals before
D - N, i.e. the days D-N .. D-1.

Speed: frames are kept sorted by (key, race_date), which is all an as-of join with `by` needs,
so the targets are joined as they are (no de-duplication and join back) and put back in their
original order once, at the end of a module (`in_key_order` / `restore_order`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

DATE = "race_date"
FIXED_POINT = 1e9  # running totals are exact multiples of 1e-9 (int64 holds 9e9 units of 1)
ROW = "_row"
_PROBE = "_probe_date"


def _known(by: Sequence[str]) -> pl.Expr:
    return pl.all_horizontal(pl.col(list(by)).is_not_null())


def new_key(by: Sequence[str]) -> pl.Expr:
    """True on the first row of each key in a frame sorted by key."""
    return pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in by])


def running_total(value: str | pl.Expr, by: Sequence[str]) -> pl.Expr:
    """Running total of `value` within each key of a frame sorted by key (and time within it).

    One cumulative sum over the whole frame minus its value where the key began: no window per
    key (far faster with hundreds of thousands of small keys). The sums are kept in integer
    fixed point (1e-9), so a key's totals come out bit for bit the same whatever other keys the
    frame holds (a float sum across keys would carry their rounding into this one's).
    """
    expr = pl.col(value) if isinstance(value, str) else value
    fixed = (expr.cast(pl.Float64).fill_null(0.0) * FIXED_POINT).round(0).cast(pl.Int64)
    total = fixed.cum_sum()
    before_key = pl.when(new_key(by)).then(total - fixed).forward_fill()
    return (total - before_key).cast(pl.Float64) / FIXED_POINT


def end_of_day_totals(
    frame: pl.DataFrame | pl.LazyFrame, by: Sequence[str], totals: Mapping[str, pl.Expr]
) -> pl.DataFrame:
    """Per key and day: running totals through the end of that day, sorted by (key, day)."""
    by = list(by)
    # Lazy, so only the columns the totals use are read out of `frame` (no copy of the rest).
    daily = frame.lazy().filter(_known(by)).group_by([*by, DATE]).agg(**totals).sort([*by, DATE])
    return daily.with_columns(running_total(name, by).alias(name) for name in totals).collect()


def end_of_day_last(running: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """The last row of each key and day of a frame sorted by (key, day, order within the day)."""
    by = list(by)
    last_of_day = pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(-1)) for c in [*by, DATE]])
    return running.filter(_known(by)).filter(last_of_day.fill_null(True))


def in_key_order(targets: pl.DataFrame, by: Sequence[str], columns: Sequence[str] = ()) -> pl.DataFrame:
    """The targets' keys (plus `columns`) with their row number, sorted by (key, day) for the joins."""
    wanted = list(dict.fromkeys([*by, DATE, *columns]))
    return targets.select(wanted).with_row_index(ROW).sort([*by, DATE])


def restore_order(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """`columns` of a frame made by `in_key_order`, back in the targets' order."""
    return frame.sort(ROW).select(columns)


def state_before(left: pl.DataFrame, states: pl.DataFrame, by: Sequence[str], *, days_back: int = 0) -> pl.DataFrame:
    """`left` (sorted by key and day) plus the latest state dated strictly before race_date - days_back.

    `states` must be sorted by (key, day), as the builders above return them. Rows whose key has
    a NULL part, or with no earlier state, get NULLs. Row order of `left` is kept.
    """
    by = list(by)
    probe = left.with_columns((pl.col(DATE) - pl.duration(days=days_back)).alias(_PROBE))
    joined = probe.join_asof(
        states.filter(_known(by)).rename({DATE: _PROBE}),
        on=_PROBE,
        by=by,
        strategy="backward",
        allow_exact_matches=False,  # strictly before: the day itself is never seen
        check_sortedness=False,  # sorted within each key, which is what the join needs
    )
    return joined.drop(_PROBE)


def totals_in_window(
    left: pl.DataFrame, totals: pl.DataFrame, by: Sequence[str], columns: Sequence[str], days: int | None
) -> pl.DataFrame:
    """`left` plus totals over the days before its race_date: all of them (`days=None`) or the last `days`."""
    table = totals.select([*by, DATE, *columns])
    out = state_before(left, table, by).with_columns(pl.col(c).fill_null(0) for c in columns)
    if days is None:
        return out
    earlier = state_before(left.select(*by, DATE), table.rename({c: f"_then_{c}" for c in columns}), by, days_back=days)
    return (
        pl.concat([out, earlier.select(f"_then_{c}" for c in columns)], how="horizontal")
        .with_columns((pl.col(c) - pl.col(f"_then_{c}").fill_null(0)).alias(c) for c in columns)
        .drop(f"_then_{c}" for c in columns)
    )
