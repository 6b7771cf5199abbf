"""Match the training reference to the day's card mix before testing for drift.

A day's card is a handful of meetings: a November Thursday may be all jumps racing, a June
evening all flat. The training reference mixes every kind of race, so comparing the day with it
flags every feature whose scale differs between kinds of race (ratings, weights, ages, distances)
although nothing changed. Resampling the reference to the day's shares of race type × surface
keeps that card-mix effect out, so what remains is drift within comparable races.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import polars as pl

CARD_MIX_COLUMNS = ("race_type_code", "race_is_aw")


@dataclass(frozen=True)
class CardMixMatch:
    reference: pl.DataFrame
    matched_on: tuple[str, ...]  # empty: not matched (columns missing)
    unmatched_share: float  # share of today's runners in strata the reference lacks

    def describe(self) -> str:
        if not self.matched_on:
            return "reference used as stored (no card-mix columns to match on)"
        text = f"reference resampled to today's mix of {' × '.join(self.matched_on)}"
        if self.unmatched_share:
            text += f" ({self.unmatched_share:.0%} of today's runners are in kinds of race the reference lacks)"
        return text


def match_card_mix(reference: pl.DataFrame, current: pl.DataFrame, report_date: dt.date) -> CardMixMatch:
    """The reference resampled (same size, deterministic for the date) to the current strata shares."""
    columns = tuple(c for c in CARD_MIX_COLUMNS if c in reference.columns and c in current.columns)
    if not columns or reference.height == 0 or current.height == 0:
        return CardMixMatch(reference, (), 0.0)
    shares = current.group_by(columns).agg((pl.len() / current.height).alias("share"))
    available = reference.select(columns).unique()
    matched = shares.join(available, on=list(columns), how="semi")
    unmatched_share = 1.0 - float(matched.get_column("share").sum())
    if matched.height == 0:  # nothing comparable: keep the stored reference, the report says so
        return CardMixMatch(reference, (), unmatched_share)
    seed = zlib.crc32(report_date.isoformat().encode())
    total = matched.get_column("share").sum()
    parts = []
    for index, row in enumerate(matched.sort(list(columns)).iter_rows(named=True)):
        stratum = reference.filter(pl.all_horizontal(pl.col(c) == row[c] for c in columns))
        wanted = max(1, round(reference.height * row["share"] / total))
        parts.append(stratum.sample(n=wanted, with_replacement=wanted > stratum.height, seed=seed + index))
    return CardMixMatch(pl.concat(parts), columns, unmatched_share)
