"""Making a world in memory: population, calendar, the day loop, prices, today's market, frames.
Nothing here touches a database (see `load` for that)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from giddyup.sim import market
from giddyup.sim.calendar import build_calendar
from giddyup.sim.engine import SimOutput, simulate
from giddyup.sim.frames import WorldFrames, build_frames
from giddyup.sim.live import TodayMarket, today_market
from giddyup.sim.params import DEFAULT_TUNABLES, Tunables, WorldSpec, rng_for
from giddyup.sim.world import build_world


@dataclass
class GeneratedWorld:
    spec: WorldSpec
    tunables: Tunables
    frames: WorldFrames
    ticks: pl.DataFrame  # runner_key, race_key, race_date, ts, back_price, lay_price, vwap, traded_vol (today only)
    # What a replayed day's market is made from (giddyup.sim.replay): the day loop's runners, the
    # market's views of them and their prices.
    sim: SimOutput | None = None
    views: market.Views | None = None
    prices: dict[str, np.ndarray] | None = None


def generate(spec: WorldSpec, tun: Tunables = DEFAULT_TUNABLES) -> GeneratedWorld:
    world = build_world(spec, tun, rng_for(spec.seed, "world"))
    calendar = build_calendar(spec, world.courses, rng_for(spec.seed, "calendar"))
    sim = simulate(spec, world, calendar, tun)
    r = sim.runners
    races = calendar.races
    views = market.views(r, tun)
    beliefs = market.beliefs(rng_for(spec.seed, "market"), r, views, tun)
    prices = market.prices(
        rng_for(spec.seed, "prices"), r, beliefs, races.klass[r["race"]], races.region[r["race"]], tun
    )
    today_rows = calendar.is_today[races.day[r["race"]]]
    prices.update(
        market.in_play(
            rng_for(spec.seed, "in-play"), prices["win_bsp"], r["pos_num"], r["finished"], r["starter"] & ~today_rows
        )
    )
    places = market.place_market_places(r["race"], races.name[r["race"]])
    prices["place_bsp"] = market.place_prices(
        rng_for(spec.seed, "place-prices"), r["race"], r["starter"], beliefs.off, places, tun
    )
    prices["place_win_lose"] = np.where(
        today_rows, np.nan, market.place_result(r["pos_num"], r["finished"], places, prices["place_bsp"])
    )
    prices["_p_off"] = np.where(r["starter"], beliefs.off, np.nan)
    frames = build_frames(sim, prices)
    ticks = _today(spec, sim, views, prices, frames, today_rows)
    return GeneratedWorld(spec=spec, tunables=tun, frames=frames, ticks=ticks, sim=sim, views=views, prices=prices)


def day_market(
    rng: np.random.Generator,
    day: dt.date,
    sim: SimOutput,
    views: market.Views,
    prices: dict[str, np.ndarray],
    rows: np.ndarray,
) -> TodayMarket:
    """The exchange market through a racing day for the day loop's runners `rows` (one day's)."""
    r = sim.runners
    race_ids, local = np.unique(r["race"][rows], return_inverse=True)
    off_min = sim.calendar.races.off_min[race_ids]
    off_times = [dt.time(int(m) // 60, int(m) % 60) for m in off_min]
    sub = market.Views(
        starts=np.zeros(0, dtype=np.int64),
        counts=np.zeros(0, dtype=np.int64),
        **{k: getattr(views, k)[rows] for k in ("x_morning", "x_pre", "x_off", "sd_morning", "sd_pre", "sd_off")},
    )
    return today_market(rng, day, local, off_times, r["starter"][rows], sub, prices["win_pre_vol"][rows])


def _today(
    spec: WorldSpec,
    sim: SimOutput,
    views: market.Views,
    prices: dict[str, np.ndarray],
    frames: WorldFrames,
    today_rows: np.ndarray,
) -> pl.DataFrame:
    """Live ticks for today's card; also sets the card's first prices and the withdrawal times."""
    empty = pl.DataFrame(
        schema={
            "runner_key": pl.String,
            "race_key": pl.String,
            "race_date": pl.Date,
            "ts": pl.Datetime("us", "UTC"),
            "back_price": pl.Float64,
            "lay_price": pl.Float64,
            "vwap": pl.Float64,
            "traded_vol": pl.Float64,
        }
    )
    rows = np.flatnonzero(today_rows)
    runners = frames.runners
    if spec.today is None or rows.size == 0:
        frames.runners = runners.with_columns(
            pl.lit(None, dtype=pl.Datetime("us")).alias("price_updated_at"),
            pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("t_withdrawn_at"),
        )
        return empty
    live = day_market(rng_for(spec.seed, "live"), spec.today, sim, views, prices, rows)
    card_price = np.full(runners.height, np.nan)
    card_time = np.full(runners.height, np.datetime64("NaT"), dtype="datetime64[us]")
    withdrawn = np.full(runners.height, np.datetime64("NaT"), dtype="datetime64[us]")
    card_price[rows] = live.card_price
    card_time[rows] = live.card_time
    withdrawn[rows] = live.withdrawn_at
    frames.runners = runners.with_columns(
        pl.when(pl.Series(today_rows))
        .then(pl.Series(card_price))
        .otherwise(pl.col("win_ppwap"))
        .fill_nan(None)
        .alias("win_ppwap"),
        pl.Series("price_updated_at", card_time),  # UTC, as timestamp without zone
        pl.Series("t_withdrawn_at", withdrawn).dt.replace_time_zone("UTC"),
    )
    keys = runners.select("runner_key", "race_key", "race_date")[rows]
    ticks = live.ticks.with_columns(
        pl.Series("runner_key", keys["runner_key"].to_numpy()[live.ticks["row"].to_numpy()])
    )
    ticks = ticks.join(keys, on="runner_key", how="left", maintain_order="left")
    return ticks.select(empty.columns)
