"""Build the feature set: for training (resulted races in a window) and for a race day (declarations).

Both read racing.* once (giddyup.features.read) and run the same `features_from_runs`, so the
features a model is trained on and the ones it is scored on are computed by the same code. Every
feature of a runner in a race on day D uses only resulted rows with race_date < D (see
giddyup.features.pointintime); the race's own after-race columns only ever appear in the label
and market columns.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import polars as pl

from giddyup.errors import GiddyUpError
from giddyup.features.catalog import CATEGORICAL_COLUMNS, FEATURE_COLUMNS, FEATURE_DESCRIPTIONS
from giddyup.features.connections import connection_features
from giddyup.features.contract import ID_COLUMNS, LABEL_COLUMNS, MARKET_COLUMNS, FeatureSet
from giddyup.features.draw import draw_features
from giddyup.features.horse_form import horse_form_features
from giddyup.features.market import PRICE_COLUMNS as MARKET_PRICES
from giddyup.features.market import market_columns
from giddyup.features.performance import add_performance_ratings, add_speed_figures
from giddyup.features.prepare import prepare_runs
from giddyup.features.race_context import race_context_features
from giddyup.features.read import READ_PATH, race_day_window, read_runs, training_window
from giddyup.features.relative import relative_features
from giddyup.features.versus_market import add_market_residuals, versus_market_features

__all__ = [
    "CATEGORICAL_COLUMNS",
    "FEATURE_COLUMNS",
    "FEATURE_DESCRIPTIONS",
    "BuildStats",
    "build_race_day_features",
    "build_training_features",
    "features_from_runs",
]

OUTPUT_ORDER = ["race_date", "off_time", "race_id", "runner_id"]


@dataclass
class BuildStats:
    """What a build did, for the manifest and the summary (pass one in to have it filled)."""

    read_path: str = READ_PATH
    rows_read: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[step] = round(self.seconds.get(step, 0.0) + time.perf_counter() - started, 3)


def _labels(targets: pl.DataFrame) -> pl.DataFrame:
    return targets.select(
        pl.col("won"),
        pl.col("win_share"),
        pl.when(~pl.col("prelim")).then(pl.col("pos_num")).alias("pos_num"),
        pl.col("finished"),
    )


def features_from_runs(runs: pl.DataFrame, is_target: pl.Expr, stats: BuildStats | None = None) -> FeatureSet:
    """Features of the starters selected by `is_target`, from rows as `read_runs` returns them.

    History is every resulted starter in `runs`; each target sees only the days before its own.
    """
    stats = stats or BuildStats()
    with stats.timed("prepare"):
        prepared = prepare_runs(runs)
        targets = prepared.filter(is_target).sort(OUTPUT_ORDER, nulls_last=True)
        history = prepared.filter(~pl.col("prelim")).drop(*MARKET_PRICES, "region", "prelim")
        del prepared  # frees it: at the real database's scale every copy is a gigabyte
        history = add_market_residuals(add_speed_figures(add_performance_ratings(history)))
    parts = [targets.select(ID_COLUMNS), _labels(targets), market_columns(targets), race_context_features(targets)]
    with stats.timed("horse_form"):
        parts.append(horse_form_features(history, targets))
    with stats.timed("connections"):
        parts.append(connection_features(history, targets))
    with stats.timed("draw"):
        parts.append(draw_features(history, targets))
    with stats.timed("versus_market"):
        parts.append(versus_market_features(history, targets))
    with stats.timed("relative"):
        frame = pl.concat(parts, how="horizontal")
        frame = pl.concat([frame, relative_features(frame)], how="horizontal")
    frame = frame.select(*ID_COLUMNS, *LABEL_COLUMNS, *MARKET_COLUMNS, *FEATURE_COLUMNS)
    features = FeatureSet(frame, FEATURE_COLUMNS, CATEGORICAL_COLUMNS)
    features.check()
    return features


def _region_filter(regions: Sequence[str] | None) -> pl.Expr:
    if not regions:
        return pl.lit(True)
    wanted = sorted({r.strip().upper() for r in regions if r.strip()})
    if not wanted:
        raise GiddyUpError("--region was given without a region code (e.g. GB, IRE, HK)")
    return pl.col("region").str.to_uppercase().is_in(wanted)


def build_training_features(
    dsn: str,
    *,
    until: dt.date,
    since: dt.date | None = None,
    regions: Sequence[str] | None = None,
    stats: BuildStats | None = None,
) -> FeatureSet:
    """Resulted races (prelim false) with since <= race_date <= until, one row per starter.

    Each race's features use only rows with race_date < that race's date.
    """
    if since is not None and since > until:
        raise GiddyUpError(f"the window starts after it ends: since {since} is later than until {until}")
    stats = stats or BuildStats()
    with stats.timed("read"):
        runs = read_runs(dsn, training_window(until))
    stats.rows_read = runs.height
    in_window = ~pl.col("prelim") & (pl.col("race_date") <= until)
    if since is not None:
        in_window = in_window & (pl.col("race_date") >= since)
    return features_from_runs(runs, in_window & _region_filter(regions), stats)


def build_race_day_features(
    dsn: str,
    *,
    race_date: dt.date,
    regions: Sequence[str] | None = None,
    stats: BuildStats | None = None,
) -> FeatureSet:
    """Declared runners (prelim races, pos_raw NULL) on race_date; history strictly before it; labels NULL."""
    stats = stats or BuildStats()
    with stats.timed("read"):
        runs = read_runs(dsn, race_day_window(race_date))
    stats.rows_read = runs.height
    declared = pl.col("prelim") & (pl.col("race_date") == race_date)
    return features_from_runs(runs, declared & _region_filter(regions), stats)
