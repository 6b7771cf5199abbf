"""The simulated world in memory: reproducible, shaped like UK/IRE racing, with an informative
but imperfect market. (Database behaviour is in test_sim_load.py.)"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from giddyup.sim.compare import market_summary
from giddyup.sim.generate import GeneratedWorld, generate
from giddyup.sim.params import spec_from_args
from giddyup.timeutil import off_instant

TODAY = dt.date(2025, 6, 1)
R2 = "pseudo-R² (McFadden, 1/price normalised)"


@pytest.fixture(scope="module")
def world() -> GeneratedWorld:
    return generate(spec_from_args(seed=11, preset="small", start=None, days=None, today=TODAY))


def _starters(world: GeneratedWorld) -> pl.DataFrame:
    runners = world.frames.runners.filter(pl.col("pos_raw").is_not_null())
    return runners.with_columns(
        pl.col("pos_raw").str.extract(r"^(\d+)").cast(pl.Int64).eq(1).fill_null(False).alias("won")
    )


def test_same_seed_same_world_different_seed_another(world: GeneratedWorld) -> None:
    again = generate(world.spec)
    assert_frame_equal(again.frames.races, world.frames.races)
    assert_frame_equal(again.frames.runners, world.frames.runners)
    assert_frame_equal(again.ticks, world.ticks)
    other = generate(spec_from_args(seed=12, preset="small", start=None, days=None, today=TODAY))
    assert set(other.frames.runners["horse_name"]) != set(world.frames.runners["horse_name"])
    assert not other.frames.races["race_key"].equals(world.frames.races["race_key"])


def test_racing_looks_like_uk_and_irish_racing(world: GeneratedWorld) -> None:
    races = world.frames.races
    assert set(races["region"]) == {"GB", "IRE"}
    assert set(races["race_type"]) == {"Flat", "Hurdle", "Chase", "NH Flat"}
    assert set(races["surface"]) == {"Turf", "AW"}
    assert races["dist_raw"].str.contains(r"^(\d+m)?(\d+f)?$").all()
    assert (races["dist_m"] - races["dist_f"] * 201.168).abs().max() < 1  # type: ignore[operator]
    assert (
        races.filter(pl.col("region") == "IRE")["class"].null_count() == races.filter(pl.col("region") == "IRE").height
    )
    assert races.filter(pl.col("region") == "GB")["class"].str.contains(r"^Class [1-7]$").all()
    resulted = races.filter(~pl.col("prelim"))
    assert resulted["ran"].min() >= 2 and resulted["ran"].max() <= 24  # type: ignore[operator]
    # Several courses, and draw biases only at some of them (checked through the truth: draw effects vary).
    assert races["course_name"].n_unique() > 30
    assert races["going"].n_unique() >= 5


def test_handicap_weights_follow_the_official_rating(world: GeneratedWorld) -> None:
    runners = world.frames.runners.join(
        world.frames.races.select("race_key", "race_name", "rating_band"), on="race_key"
    )
    hcp = runners.filter(pl.col("rating_band").is_not_null() & pl.col("or").is_not_null())
    # Within a handicap, a higher mark never carries less weight.
    inverted = (
        hcp.sort("race_key", "or")
        .with_columns(pl.col("lbs").diff().over("race_key").alias("step"))
        .filter(pl.col("step") < 0)
    )
    assert hcp.height > 1000 and inverted.height == 0


def test_day_shape_off_times_in_uk_local_time(world: GeneratedWorld) -> None:
    per_day = world.frames.races.group_by("race_date").agg(
        pl.col("off_time").min().alias("first"),
        pl.col("off_time").max().alias("last"),
        pl.col("course_name").n_unique().alias("meetings"),
    )
    assert per_day["first"].min() >= dt.time(12, 0) and per_day["first"].max() <= dt.time(14, 0)  # type: ignore[operator]
    busy = per_day.filter(pl.col("meetings") >= 2)
    assert busy["last"].min() >= dt.time(17, 0) and busy["last"].max() <= dt.time(21, 30)  # type: ignore[operator]


def test_results_and_non_runners(world: GeneratedWorld) -> None:
    runners = world.frames.runners.filter(pl.col("race_date") != TODAY)
    non_runners = runners.filter(pl.col("pos_raw").is_null())
    assert non_runners.height > 0
    assert non_runners.select(
        pl.col("dec").is_null().all(), pl.col("win_bsp").is_null().all(), pl.col("secs").is_null().all()
    ).row(0) == (True, True, True)
    starters = _starters(world).filter(pl.col("race_date") != TODAY)
    assert starters.select(pl.col("dec").is_not_null().all(), pl.col("win_bsp").is_not_null().all()).row(0) == (
        True,
        True,
    )
    winners = starters.group_by("race_key").agg(pl.col("won").sum().alias("n"))
    assert winners["n"].min() >= 1
    dead_heats = starters.filter(pl.col("pos_raw").str.ends_with("DH"))
    assert dead_heats.height < 0.01 * starters.height  # rare
    jumps = starters.join(world.frames.races.select("race_key", "race_type"), on="race_key").filter(
        pl.col("race_type") == "Chase"
    )
    assert jumps.filter(pl.col("pos_raw").is_in(["PU", "F", "UR"])).height > 0
    assert (
        jumps.filter(pl.col("pos_raw").is_in(["PU", "F", "UR"]))["secs"].null_count()
        == jumps.filter(pl.col("pos_raw").is_in(["PU", "F", "UR"])).height
    )
    finishers = starters.filter(pl.col("pos_raw").str.contains(r"^\d"))
    assert finishers.select(
        pl.col("btn").is_not_null().all(), pl.col("rpr").is_not_null().all(), pl.col("time_raw").is_not_null().all()
    ).row(0) == (True, True, True)
    first = finishers.filter(pl.col("won"))
    assert (first["ovr_btn"] == 0).all()


def test_truth_is_a_distribution_over_the_starters(world: GeneratedWorld) -> None:
    runners = world.frames.runners
    sums = runners.filter(pl.col("t_starter")).group_by("race_key").agg(pl.col("t_p_true").sum())
    assert np.allclose(sums["t_p_true"].to_numpy(), 1.0)
    assert runners.filter(~pl.col("t_starter"))["t_p_true"].null_count() == runners.filter(~pl.col("t_starter")).height
    assert "p_true" not in runners.columns  # only the t_ (sim schema) columns carry the truth


def test_market_informative_but_imperfect(world: GeneratedWorld) -> None:
    starters = _starters(world).filter(pl.col("race_date") != TODAY)
    frame = starters.select(
        pl.col("race_key").alias("race_id"), "win_bsp", "dec", "won", (1 / pl.col("t_p_true")).alias("oracle")
    )
    bsp, sp, oracle = (market_summary(frame, c) for c in ("win_bsp", "dec", "oracle"))
    assert 0.10 < bsp[R2] < 0.30
    assert oracle[R2] > bsp[R2]  # the market misses part of the truth
    assert 0.98 < bsp["book Σ1/price, mean"] < 1.03
    assert 1.12 < sp["book Σ1/price, mean"] < 1.35 and sp["book Σ1/price, mean"] > bsp["book Σ1/price, mean"]
    assert sp["A/E outsiders (p < 0.05)"] < bsp["A/E outsiders (p < 0.05)"]  # favourite-longshot bias at SP only


def test_todays_card_and_ticks(world: GeneratedWorld) -> None:
    card = world.frames.runners.filter(pl.col("race_date") == TODAY)
    races = world.frames.races.filter(pl.col("race_date") == TODAY)
    assert races.height > 5 and races["prelim"].all()
    assert (
        card.select(pl.col(c).is_null().all() for c in ("pos_raw", "dec", "win_bsp", "secs", "rpr")).row(0)
        == (True,) * 5
    )
    assert (
        card.select(pl.col(c).is_not_null().all() for c in ("num", "age", "lbs", "best_odds", "win_ppwap")).row(0)
        == (True,) * 5
    )
    ticks = world.ticks.join(races.select("race_key", "off_time"), on="race_key")
    assert set(ticks["runner_key"]) == set(card["runner_key"])
    offs = ticks.with_columns(
        pl.struct("race_date", "off_time")
        .map_elements(lambda s: off_instant(s["race_date"], s["off_time"]), return_dtype=pl.Datetime("us", "UTC"))
        .alias("off")
    )
    assert (offs["ts"] < offs["off"]).all()
    last_gap = offs.group_by("runner_key").agg((pl.col("off") - pl.col("ts")).min().alias("gap"))
    withdrawn = card.filter(pl.col("t_withdrawn_at").is_not_null())
    assert withdrawn.height > 0
    late = last_gap.join(withdrawn.select("runner_key"), on="runner_key", how="anti")
    assert late["gap"].max() <= dt.timedelta(seconds=60)  # starters trade into the last minute
    stopped = ticks.join(withdrawn.select("runner_key", "t_withdrawn_at"), on="runner_key")
    assert (stopped["ts"] < stopped["t_withdrawn_at"]).all()
    assert (ticks["lay_price"] > ticks["back_price"]).all()
