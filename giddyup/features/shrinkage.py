"""Empirical-Bayes shrinkage of small-sample records toward the population mean.

Records are expressed as actual / expected (A/E): wins against the wins a runner would expect
from its field sizes (1/field each run) or from its past market prices. Over all runners the
expected wins of a race sum to one and so do the actual wins, so the population mean of A/E is
exactly 1; that is the mean shrunk toward. A record with few expected wins says little, so it is
pulled toward 1 by a prior worth `strength` expected wins (a beta-binomial posterior mean):

    shrunk A/E = (actual + strength) / (expected + strength)

The strengths are fixed, not re-estimated per build: an estimate from the data being built would
make a runner's features depend on races after it (and on the build's date window).
"""

from __future__ import annotations

import polars as pl

HORSE_RECORD_STRENGTH = 1.0  # expected wins: a horse's career or course/distance/going record
CONNECTION_STRENGTH = 3.0  # jockeys, trainers and pairs over a window
DRAW_STRENGTH = 5.0  # draw buckets pool many horses, but the effect is small
MEAN_STRENGTH = 20.0  # runs, for shrunk means of a per-run excess (e.g. draw position)


def shrunk_ratio(actual: pl.Expr, expected: pl.Expr, strength: float) -> pl.Expr:
    """(actual + s) / (expected + s): 1 with no record, the raw ratio with a long one."""
    return (actual.fill_null(0.0) + strength) / (expected.fill_null(0.0) + strength)


def shrunk_mean(total: pl.Expr, count: pl.Expr, strength: float, prior: float | pl.Expr = 0.0) -> pl.Expr:
    """(total + s·prior) / (count + s): the prior with no data, the raw mean with much."""
    return (total.fill_null(0.0) + strength * prior) / (count.fill_null(0.0) + strength)
