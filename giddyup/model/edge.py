"""Evidence of edge: does the combined probability beat the market's, race by race, beyond chance?

Per scored race, gain = log p_combined(winner) − log p_market(winner): the market's log loss minus
the combined one, so positive means the combination priced the winner better. Reported: the mean
gain per race and a 95% interval from a bootstrap over race days (the races of one day share the
going, the track's bias and the day's news, so they are resampled together; an interval over
single races would be narrower than the evidence allows). A staking rule needs the interval's
lower end above zero; otherwise nothing shows that the combination knows more than the price.
"""

from __future__ import annotations

import numpy as np
import polars as pl

RESAMPLES = 2000
SEED = 20240601
LEVEL = 0.95


def logloss_gain(
    frame: pl.DataFrame,
    prob: str = "p_win",
    baseline: str = "p_market",
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict:
    """Mean per race of log p_prob(winner) − log p_baseline(winner), with a 95% bootstrap interval
    over race days. `frame`: runner rows of scored races (one winner each) with race_date, won."""
    winners = frame.filter(pl.col("won").cast(pl.Boolean)).select(
        "race_date", (pl.col(prob).log() - pl.col(baseline).log()).alias("gain")
    )
    per_day = (
        winners.group_by("race_date")
        .agg(pl.col("gain").sum().alias("total"), pl.len().alias("races"))
        .sort("race_date")
    )
    totals = per_day.get_column("total").to_numpy()
    races = per_day.get_column("races").to_numpy().astype(float)
    n_races = int(races.sum())
    block: dict = {
        "compared": f"{prob} against {baseline}",
        "mean_gain_per_race": float(totals.sum() / n_races) if n_races else None,
        "ci95": None,
        "n_races": n_races,
        "n_days": int(per_day.height),
        "method": f"bootstrap over race days, {resamples} resamples, percentile interval",
        "evidence_of_edge": False,
    }
    if per_day.height < 2:  # one day cannot show how much days vary
        return block
    rng = np.random.default_rng(seed)
    # Each resample draws n_days days with replacement: a row of multinomial counts per resample.
    counts = rng.multinomial(per_day.height, np.full(per_day.height, 1.0 / per_day.height), size=resamples)
    means = (counts @ totals) / (counts @ races)
    tail = (1.0 - LEVEL) / 2.0
    low, high = (float(v) for v in np.quantile(means, [tail, 1.0 - tail]))
    block["ci95"] = [low, high]
    block["evidence_of_edge"] = low > 0.0
    return block
