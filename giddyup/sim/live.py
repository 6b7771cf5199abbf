"""Today's exchange market, tick by tick: every few minutes from 06:00 UK time, every 45 seconds
in the last 15 minutes, the last tick before the off. Each runner's price drifts from the
market's morning view toward its view at the off (as news of the horses' condition arrives), with
noise along the way; a runner withdrawn during the day stops trading and the rest of the book
closes up. Ticks are written up front with their timestamps; consumers read ts <= their instant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from giddyup.sim import segments as seg
from giddyup.sim.ladders import ticks_up, to_tick
from giddyup.sim.market import Views
from giddyup.timeutil import local_instant, off_instant

MARKET_OPENS = dt.time(6, 0)  # UK local time on race day
EARLY_STEP_S = 300
LATE_STEP_S = 45
LATE_WINDOW_S = 15 * 60
SAMPLES = 16


@dataclass
class TodayMarket:
    ticks: pl.DataFrame  # row (index into today's runners), ts, back_price, lay_price, vwap, traded_vol
    withdrawn_at: np.ndarray  # per runner: datetime64[us] UTC, NaT for starters
    card_price: np.ndarray  # first back price of the day (the card's win_ppwap)
    card_time: np.ndarray  # its timestamp (datetime64[us] UTC)


def tick_offsets(open_s: int, off_s: int) -> np.ndarray:
    """Seconds (UTC epoch) of each tick of a race: 5-minutely, then every 45 s near the off."""
    late_from = off_s - LATE_WINDOW_S
    early = np.arange(open_s, late_from, EARLY_STEP_S)
    late = np.arange(late_from, off_s, LATE_STEP_S)
    return np.concatenate((early, late))


def today_market(
    rng: np.random.Generator,
    race_date: dt.date,
    race_of_runner: np.ndarray,
    off_times: list[dt.time],
    starter: np.ndarray,
    v: Views,
    pre_vol: np.ndarray,
    race_tz: str = "Europe/London",
) -> TodayMarket:
    """`race_of_runner`: 0-based race of each of today's runners (grouped); `off_times` per race."""
    n = race_of_runner.size
    opens = int(local_instant(race_date, MARKET_OPENS, race_tz).timestamp())
    offs = np.array([int(off_instant(race_date, t, race_tz).timestamp()) for t in off_times])

    # Withdrawals: some time between an hour after the market opens and 45 minutes before the off.
    off_r = offs[race_of_runner]
    window = np.maximum(off_r - 45 * 60 - (opens + 3600), 600)
    withdrawn = np.where(starter, np.iinfo(np.int64).max, opens + 3600 + (rng.random(n) * window).astype(np.int64))

    rows_runner: list[np.ndarray] = []
    rows_ts: list[np.ndarray] = []
    rows_tick: list[np.ndarray] = []
    for race in range(offs.size):
        runners = np.flatnonzero(race_of_runner == race)
        ts = tick_offsets(opens, int(offs[race]))
        grid_ts = np.repeat(ts, runners.size)
        grid_runner = np.tile(runners, ts.size)
        keep = grid_ts < withdrawn[grid_runner]
        rows_runner.append(grid_runner[keep])
        rows_ts.append(grid_ts[keep])
        rows_tick.append(np.repeat(np.arange(ts.size), runners.size)[keep])
    runner = np.concatenate(rows_runner)
    ts = np.concatenate(rows_ts)
    tick = np.concatenate(rows_tick)
    race = race_of_runner[runner]

    # Information arrives through the day; a Brownian bridge adds noise that vanishes at the off.
    span = (offs[race] - opens).astype(float)
    tau = np.clip((ts - opens) / span, 0.0, 1.0)
    info = tau**1.5
    path_order = np.lexsort((ts, runner))
    p_runner = runner[path_order]
    p_tau = tau[path_order]
    starts = seg.starts_of(p_runner)
    counts = seg.counts_of(starts, p_runner.size)
    d_tau = np.diff(np.concatenate(([0.0], p_tau)))
    d_tau[starts] = p_tau[starts]
    walk = seg.seg_cumsum(rng.normal(0, 1, p_runner.size) * np.sqrt(np.maximum(d_tau, 0)), starts, counts)
    walk_end = np.repeat(walk[starts + counts - 1], counts)
    end_tau = np.repeat(np.maximum(p_tau[starts + counts - 1], 1e-9), counts)
    bridge = np.empty(p_runner.size)
    bridge[path_order] = walk - p_tau / end_tau * walk_end
    x = v.x_morning[runner] + (v.x_off[runner] - v.x_morning[runner]) * info + 0.12 * bridge
    sd = np.sqrt(v.sd_off[runner] ** 2 + (v.sd_morning[runner] ** 2 - v.sd_off[runner] ** 2) * (1 - info))

    # The book at each tick: the runners still in that race at that moment.
    book_order = np.lexsort((runner, tick, race))
    g_race, g_tick = race[book_order], tick[book_order]
    key = g_race * 100_000 + g_tick
    b_starts = seg.starts_of(key)
    b_counts = seg.counts_of(b_starts, key.size)
    z = rng.standard_normal((key.size, SAMPLES))
    draws = x[book_order][:, None] + sd[book_order][:, None] * z
    p = np.empty(key.size)
    p[book_order] = seg.seg_softmax(draws, b_starts, b_counts).mean(axis=1)

    fair = 1.0 / np.clip(p, 1e-3, 1.0)
    back = to_tick(np.clip(fair * 0.99, 1.01, 1000.0), "down")
    spread = np.where(tau < 0.3, 3, np.where(tau < 0.8, 2, 1))
    lay = ticks_up(back, spread)
    vwap = np.round(np.clip(fair * np.exp(rng.normal(0, 0.01, fair.size)), 1.01, 1000.0), 2)
    volume = np.round(np.nan_to_num(pre_vol[runner], nan=50.0) * (0.02 + 0.98 * tau**3), 2)

    frame = pl.DataFrame(
        {
            "row": runner,
            "ts": (ts * 1_000_000).astype("datetime64[us]"),
            "back_price": back,
            "lay_price": lay,
            "vwap": vwap,
            "traded_vol": volume,
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    first = np.lexsort((ts, runner))
    first = first[seg.starts_of(runner[first])]
    card_price = np.full(n, np.nan)
    card_time = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    card_price[runner[first]] = back[first]
    card_time[runner[first]] = (ts[first] * 1_000_000).astype("datetime64[us]")
    withdrawn_at = np.where(
        starter, np.datetime64("NaT"), (np.minimum(withdrawn, 2**40) * 1_000_000).astype("datetime64[us]")
    )
    return TodayMarket(ticks=frame, withdrawn_at=withdrawn_at, card_price=card_price, card_time=card_time)
