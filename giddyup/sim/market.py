"""Prices: an informative but imperfect market.

The market reads most of a runner's true strength (ability, connections, weight) but only part of
what form analysis reveals (draw bias, trainer and jockey streaks, trip and ground fit, fitness,
each horse's persistent quirk), and it learns the horse's private condition on the day through the
morning. Its belief at each stage is calibrated: the average softmax over the components it cannot
see (Monte Carlo), so Betfair SP has no favourite-longshot bias and a book of about 1.00. A
fundamental model can find what the market under-reads; the market knows what form cannot.

Bookmaker SP (`dec`) is built from the same belief with a favourite-longshot bias and an
overround of about 1.15-1.30 (larger fields, larger books), rounded down to fractional odds.

The place market (Betfair's): it pays the each-way places of the declared field (pricing.each_way_terms,
as real place markets do: the terms are fixed when the market opens), none under 5 declared or when
no more starters run than it pays. Place SP is the market's belief at the off turned into place
probabilities by the shipped place model (real races' discounts, giddyup.model.place) with the win
SP's noise; its book sums to about places × 1.00, as the real one does (1.003).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from giddyup.model.place import place_probabilities
from giddyup.pricing import each_way_terms, places_paid
from giddyup.race_rules import is_handicap
from giddyup.sim import segments as seg
from giddyup.sim.ladders import to_sp, to_tick
from giddyup.sim.params import Tunables

BOOKMAKERS = np.array(
    [
        "Bet365",
        "William Hill",
        "Paddy Power",
        "Sky Bet",
        "Coral",
        "Ladbrokes",
        "Betfred",
        "BoyleSports",
        "Unibet",
        "Betway",
        "BetVictor",
        "Star Sports",
    ]
)
CLASS_VOLUME = np.array([0, 900e3, 400e3, 250e3, 150e3, 110e3, 80e3, 60e3])  # pre-play matched per race


@dataclass
class Beliefs:
    """The market's calibrated win probabilities per runner at three moments."""

    morning: np.ndarray  # over all declared runners
    preplay: np.ndarray  # over the starters (the pre-play average)
    off: np.ndarray  # over the starters, at the off


def calibrated_softmax(
    rng: np.random.Generator,
    x: np.ndarray,
    sd: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    mask: np.ndarray,
    samples: int,
) -> np.ndarray:
    """E[softmax(x + sd * Z)] within each race over the rows in `mask`, by Monte Carlo, in chunks of races."""
    out = np.zeros(x.size)
    race_chunks = np.array_split(np.arange(starts.size), max(1, x.size // 40_000))
    for chunk in race_chunks:
        if chunk.size == 0:
            continue
        lo = starts[chunk[0]]
        hi = starts[chunk[-1]] + counts[chunk[-1]]
        c_starts = starts[chunk] - lo
        c_counts = counts[chunk]
        z = rng.standard_normal((hi - lo, samples))
        draws = x[lo:hi, None] + sd[lo:hi, None] * z
        out[lo:hi] = seg.seg_softmax(draws, c_starts, c_counts, mask=mask[lo:hi]).mean(axis=1)
    return np.where(mask, out, 0.0)


@dataclass
class Views:
    """The market's view of each runner (strength units it can see) and the spread of what it
    cannot, in the morning, through the pre-play period, and at the off."""

    starts: np.ndarray
    counts: np.ndarray
    x_morning: np.ndarray
    x_pre: np.ndarray
    x_off: np.ndarray
    sd_morning: np.ndarray
    sd_pre: np.ndarray
    sd_off: np.ndarray


def views(r: dict[str, np.ndarray], tun: Tunables) -> Views:
    race = r["race"]
    starts = seg.starts_of(race)
    counts = seg.counts_of(starts, race.size)
    starter = r["starter"]
    jumps = r["lbs_per_unit"] != tun.lbs_per_unit_flat
    # What the market cannot see, as a variance per code (measured within races, over starters).
    n_start = np.maximum(seg.seg_sum(starter * 1.0, starts), 1)
    hidden = r["hidden"] - np.repeat(seg.seg_sum(r["hidden"] * starter, starts) / n_start, counts)

    def by_code(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        flat_rows, jumps_rows = rows & ~jumps, rows & jumps
        flat_v = float(np.mean(values[flat_rows])) if flat_rows.any() else 0.0
        jumps_v = float(np.mean(values[jumps_rows])) if jumps_rows.any() else 0.0
        return np.where(jumps, jumps_v, flat_v)

    everyone = np.ones(race.size, dtype=bool)
    v_off = by_code(hidden**2, starter)
    v_late = by_code(r["private_late"] ** 2, everyone)
    v_mid = by_code(r["private_mid"] ** 2, everyone)
    x_off = r["known_off"]
    v_off = v_off + r["talent_sd"] ** 2  # per runner: debutants are the least known
    return Views(
        starts=starts,
        counts=counts,
        x_morning=x_off - r["private_late"] - r["private_mid"],
        x_pre=x_off - 0.5 * r["private_late"],
        x_off=x_off,
        sd_morning=np.sqrt(v_off + v_late + v_mid),
        sd_pre=np.sqrt(v_off + 0.25 * v_late),
        sd_off=np.sqrt(v_off),
    )


def beliefs(rng: np.random.Generator, r: dict[str, np.ndarray], v: Views, tun: Tunables) -> Beliefs:
    starter = r["starter"]
    declared = np.ones(starter.size, dtype=bool)
    k = tun.market_samples
    return Beliefs(
        morning=calibrated_softmax(rng, v.x_morning, v.sd_morning, v.starts, v.counts, declared, k),
        preplay=calibrated_softmax(rng, v.x_pre, v.sd_pre, v.starts, v.counts, starter, k),
        off=calibrated_softmax(rng, v.x_off, v.sd_off, v.starts, v.counts, starter, k),
    )


def prices(
    rng: np.random.Generator,
    r: dict[str, np.ndarray],
    b: Beliefs,
    klass: np.ndarray,
    region: np.ndarray,
    tun: Tunables,
) -> dict[str, np.ndarray]:
    """Every price column of racing.runners (NaN where a real row would be NULL).

    `klass` and `region` are per runner (the race's). Non-runners keep only their morning prices
    (best_odds); starters get exchange, SP and BSP prices; in-play extremes need the result."""
    race = r["race"]
    n = race.size
    starts = seg.starts_of(race)
    counts = seg.counts_of(starts, n)
    starter = r["starter"]
    field = np.repeat(seg.seg_sum(starter.astype(np.int64), starts), counts)
    declared = np.repeat(counts, counts)
    nan = np.full(n, np.nan)

    # Betfair SP: the belief at the off, give or take a little, book about 1.00.
    off = np.where(starter, b.off, 1.0)
    pre = np.where(starter, b.preplay, 1.0)
    bsp = 1.0 / (off * np.exp(rng.normal(0.004, tun.bsp_noise, n)))
    bsp = np.where(starter, np.round(np.clip(bsp, 1.01, 1000.0), 2), np.nan)

    # Exchange weighted averages: pre-play (a day's average, so a touch noisier) and morning.
    ppwap = np.where(starter, np.round(np.clip(1.0 / (pre * np.exp(rng.normal(0, 0.03, n))), 1.01, 1000), 2), nan)
    swing = (0.04 + np.abs(rng.normal(0, 0.08, n))) * (1 + 0.3 * np.log(np.nan_to_num(ppwap, nan=2.0)))
    ppmax = np.where(starter, to_tick(ppwap * np.exp(swing), "up"), nan)
    ppmin = np.where(starter, to_tick(ppwap * np.exp(-swing * rng.uniform(0.6, 1.2, n)), "down"), nan)
    morningwap = np.where(
        starter, np.round(np.clip(1.0 / (b.morning * np.exp(rng.normal(0, 0.04, n))), 1.01, 1000), 2), nan
    )

    # Volumes: bigger races trade more; money follows the market's fancy.
    race_volume = CLASS_VOLUME[np.clip(klass, 1, 7)] * np.where(region == 1, 0.5, 1.0)
    race_volume = race_volume * np.repeat(np.exp(rng.normal(0, 0.35, starts.size)), counts)
    share = np.where(starter, np.nan_to_num(b.preplay) ** 0.8, 0.0)
    share = share / np.repeat(np.maximum(seg.seg_sum(share, starts), 1e-12), counts)
    pre_vol = np.where(starter, np.round(race_volume * share, 2), nan)
    morning_vol = np.where(starter, np.round(pre_vol * 0.06 * np.exp(rng.normal(0, 0.4, n)), 2), nan)
    ip_vol = np.where(starter, np.round(pre_vol * 0.5 * np.exp(rng.normal(0, 0.4, n)), 2), nan)

    # Bookmaker SP: favourite-longshot bias (p^alpha), overround growing with the field, fractional odds.
    believed = np.where(starter, b.off * np.exp(rng.normal(0, 0.06, n)), 0.0)
    biased = believed**tun.sp_flb_alpha
    book = np.clip(1.10 + 0.011 * field + np.repeat(rng.normal(0, 0.02, starts.size), counts), 1.08, 1.45)
    p_sp = biased / np.repeat(np.maximum(seg.seg_sum(biased, starts), 1e-12), counts) * book
    dec = np.where(starter, to_sp(1.0 / np.maximum(p_sp, 1e-6)), nan)

    # Best bookmaker price when the card was scraped (morning; the best of several firms).
    morning = b.morning * np.exp(rng.normal(0, 0.05, n))
    biased_m = morning ** (tun.sp_flb_alpha + 0.04)
    book_m = np.clip(1.04 + 0.008 * declared, 1.04, 1.25)
    p_best = biased_m / np.repeat(seg.seg_sum(biased_m, starts), counts) * book_m
    best_odds = to_sp(1.0 / np.maximum(p_best, 1e-6))
    best_bookmaker = BOOKMAKERS[rng.integers(0, BOOKMAKERS.size, n)].astype(object)

    return {
        "win_bsp": bsp,
        "win_ppwap": ppwap,
        "win_ppmax": ppmax,
        "win_ppmin": ppmin,
        "win_morningwap": morningwap,
        "win_pre_vol": pre_vol,
        "win_morning_vol": morning_vol,
        "win_ip_vol": ip_vol,
        "dec": dec,
        "best_odds": best_odds,
        "best_bookmaker": best_bookmaker,
    }


def in_play(
    rng: np.random.Generator, bsp: np.ndarray, pos_num: np.ndarray, finished: np.ndarray, starter: np.ndarray
) -> dict[str, np.ndarray]:
    """In-play extremes and the win/lose flag, which depend on the result."""
    n = bsp.size
    won = pos_num == 1
    placed = finished & (pos_num >= 2) & (pos_num <= 3)
    low = np.where(won, 1.01, np.where(placed, bsp * rng.uniform(0.1, 0.8, n), bsp * rng.uniform(0.4, 1.0, n)))
    high = np.where(
        won, bsp * rng.uniform(1.0, 2.5, n), np.where(finished & (pos_num <= 5), bsp * rng.uniform(1.5, 8, n), 1000.0)
    )
    return {
        "win_ipmin": np.where(starter, to_tick(np.clip(low, 1.01, 1000), "down"), np.nan),
        "win_ipmax": np.where(starter, to_tick(np.clip(np.maximum(high, bsp), 1.01, 1000), "up"), np.nan),
        "win_lose": np.where(starter, won.astype(float), np.nan),
    }


def place_market_places(race: np.ndarray, race_names: np.ndarray) -> np.ndarray:
    """Places the race's place market pays, per declared runner (0: no place market): the each-way
    places of the declared field. `race` is sorted; `race_names` per runner."""
    starts = seg.starts_of(race)
    counts = seg.counts_of(starts, race.size)
    per_race = np.array(
        [
            places_paid(terms) if (terms := each_way_terms(int(n), is_handicap(str(name)))) else 0
            for n, name in zip(counts, race_names[starts], strict=True)
        ],
        dtype=np.int64,
    )
    return np.repeat(per_race, counts)


def place_prices(
    rng: np.random.Generator,
    race: np.ndarray,
    starter: np.ndarray,
    belief_off: np.ndarray,
    places: np.ndarray,
    tun: Tunables,
) -> np.ndarray:
    """Place SP per declared runner (NaN: a non-runner, or no place market). `places` from
    place_market_places; a race whose starters do not outnumber its places has no market."""
    starts = seg.starts_of(race)
    counts = seg.counts_of(starts, race.size)
    runs = np.repeat(seg.seg_sum(starter.astype(np.int64), starts), counts)
    market = starter & (places > 0) & (runs > places)
    bsp = np.full(race.size, np.nan)
    if not market.any():
        return bsp
    p_place = place_probabilities(race[market], belief_off[market], places[market])
    noisy = p_place * np.exp(rng.normal(0.003, tun.bsp_noise, int(market.sum())))
    bsp[market] = np.round(np.clip(1.0 / noisy, 1.01, 1000.0), 2)
    return bsp


def place_result(pos_num: np.ndarray, finished: np.ndarray, places: np.ndarray, place_bsp: np.ndarray) -> np.ndarray:
    """place_win_lose: 1 when the runner finished within its place market's places, 0 when not,
    NaN without a place market (a dead heat for the last place pays both: both count as 1)."""
    placed = finished & (pos_num >= 1) & (pos_num <= places)
    return np.where(np.isfinite(place_bsp), placed.astype(float), np.nan)
