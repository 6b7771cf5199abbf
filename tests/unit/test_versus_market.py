"""Performance against the market in earlier races (giddyup.features.versus_market), on hand-made
races whose results are an exact function of their prices, so every residual is known."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from giddyup.features import versus_market as vm
from giddyup.features.build import features_from_runs
from giddyup.features.read import RUN_SCHEMA

START = dt.date(2024, 3, 1)
# horse -> 1/decimal odds in every race, and lbs carried. Horse 1's log price is the field's mean,
# so its edge over the market says nothing about how pounds follow prices (the slope).
OTHERS = {2: 0.30, 3: 0.25, 4: 0.12, 5: 0.08, 6: 0.05}
PRICES = {1: math.exp(sum(math.log(p) for p in OTHERS.values()) / len(OTHERS)), **OTHERS}
LBS = {1: 133, 2: 130, 3: 128, 4: 126, 5: 124, 6: 122}
BEATS_MARKET_BY = 6.0  # lbs horse 1 runs above what its price implies, every time


def _log_p_centred() -> dict[int, float]:
    mean = sum(math.log(p) for p in PRICES.values()) / len(PRICES)
    return {h: math.log(p) - mean for h, p in PRICES.items()}


def _races(
    days: int, *, edge: float = BEATS_MARKET_BY, slope: float = vm.PRIOR_SLOPE, declared_last: bool = False
) -> pl.DataFrame:
    """One race a day between the same six horses; RPR = 100 + slope x centred log p + lbs - mean lbs,
    plus `edge` for horse 1 (so horse 1 beats its price by `edge` x 5/6 against the field)."""
    centred = _log_p_centred()
    mean_lbs = sum(LBS.values()) / len(LBS)
    rows = []
    for day in range(days):
        race_id = 1000 + day
        declared = declared_last and day == days - 1
        rpr = {h: 100.0 + slope * centred[h] + (LBS[h] - mean_lbs) + (edge if h == 1 else 0.0) for h in PRICES}
        order = sorted(PRICES, key=lambda h: -(rpr[h] - LBS[h]))  # weight carried slows them
        for pos, horse in enumerate(order, start=1):
            rows.append(
                {
                    "race_id": race_id,
                    "race_date": START + dt.timedelta(days=day),
                    "region": "GB",
                    "course_id": 1,
                    "off_time": dt.time(14, 0),
                    "prelim": declared,
                    "race_type": "Flat",
                    "race_class": "Class 4",
                    "pattern": None,
                    "is_handicap": True,
                    "dist_f": 8.0,
                    "going": "Good",
                    "surface": "Turf",
                    "runner_id": race_id * 10 + horse,
                    "horse_id": horse,
                    "jockey_id": 20 + horse,
                    "trainer_id": 40 + horse,
                    "draw": horse,
                    "age": 4,
                    "sex": "g",
                    "lbs": LBS[horse],
                    "hg": None,
                    "official_rating": 80,
                    "pos_raw": None if declared else str(pos),
                    "pos_num": None if declared else pos,
                    "ovr_btn": None if declared else float(pos - 1),
                    "secs": None,
                    "rpr": None if declared else round(rpr[horse]),
                    "dec": None if declared else 1.0 / PRICES[horse],
                    "win_bsp": None,
                    "win_ppwap": None,
                    "win_morningwap": None,
                    "best_odds": None,
                    "win_pre_vol": None,
                    "win_morning_vol": None,
                }
            )
    return pl.DataFrame(rows, schema=RUN_SCHEMA)


def test_a_market_that_was_right_leaves_no_residual():
    frame = features_from_runs(_races(40, edge=0.0), pl.col("race_id") == 1039).frame
    # RPRs are rounded to whole pounds: residuals within a pound, none systematic.
    for column in ("horse_vs_market", "trainer_vs_market_30d", "jockey_vs_market_90d", "draw_vs_market"):
        assert frame.get_column(column).abs().max() < 0.6, column
    assert frame.get_column("horse_vs_market_runs").to_list() == [39] * 6


def test_a_horse_that_beats_its_price_every_time_is_found_and_shrunk():
    runs = _races(25)
    frame = features_from_runs(runs, pl.col("race_id") == 1024).frame.sort("horse_id")
    beats = BEATS_MARKET_BY * 5 / 6  # against the field's mean, which it lifts by a sixth
    n = 24
    one = frame.row(0, named=True)
    assert one["horse_vs_market_runs"] == n
    assert one["horse_vs_market"] == pytest.approx(beats * n / (n + vm.HORSE_STRENGTH), abs=0.6)
    assert one["horse_vs_market_last"] == pytest.approx(beats, abs=0.6)
    in_window = 24  # days 0..23 are within 30 days of day 24
    assert one["trainer_vs_market_30d"] == pytest.approx(
        beats * in_window / (in_window + vm.CONNECTION_STRENGTH), abs=0.6
    )
    others = frame.filter(pl.col("horse_id") != 1).get_column("horse_vs_market")
    assert (others < 0).all()  # the field ran below its prices by horse 1's margin


def test_residuals_of_a_day_use_a_slope_learned_from_earlier_days_only():
    """Results where pounds follow prices at 12 lb per unit of log probability: the first day has
    no history and uses the prior slope; later days learn the steeper one from earlier days."""
    from giddyup.features.performance import add_performance_ratings
    from giddyup.features.prepare import prepare_runs

    runs = _races(120, edge=0.0, slope=12.0)
    history = vm.add_market_residuals(add_performance_ratings(prepare_runs(runs)))
    first = history.filter(pl.col("race_id") == 1000).sort("horse_id")
    last = history.filter(pl.col("race_id") == 1119).sort("horse_id")
    centred = _log_p_centred()
    # day one: d_perf = 12 x d_m, residual = (12 - PRIOR_SLOPE) x d_m (RPRs are whole pounds)
    for horse, resid in zip(first.get_column("horse_id"), first.get_column("mkt_resid"), strict=True):
        assert resid == pytest.approx((12.0 - vm.PRIOR_SLOPE) * centred[horse], abs=0.6)
    longest = 6  # the longest price, the largest |d_m|
    assert abs(last.filter(pl.col("horse_id") == longest).item(0, "mkt_resid")) < 0.5 * abs(
        first.filter(pl.col("horse_id") == longest).item(0, "mkt_resid")
    )
    # the market rating is the weight-free rating the price implied: the RPR when the market was right
    same_slope = vm.add_market_residuals(add_performance_ratings(prepare_runs(_races(5, edge=0.0))))
    gap = same_slope.select((pl.col("mkt_rating") - pl.col("rpr").cast(pl.Float64)).abs().max()).item()
    assert gap < 0.6


def test_declared_runners_see_their_history_and_not_their_day():
    resulted = features_from_runs(_races(20), pl.col("race_id") == 1019).frame.sort("horse_id")
    declared = features_from_runs(_races(20, declared_last=True), pl.col("race_id") == 1019).frame.sort("horse_id")
    columns = list(vm.DESCRIPTIONS)
    assert declared.select(columns).equals(resulted.select(columns))
