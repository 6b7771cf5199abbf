"""Declarations: which horses run in which of the day's races, with what weight, draw, number and
jockey. Trainers pick the race that suits each ready horse best (code, age, sex, class or
handicap mark, trip, surface, ground); oversubscribed races keep the best-suited entries.
All of a day's races are matched at once (a races x horses score matrix)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from giddyup.sim import segments as seg
from giddyup.sim.calendar import (
    AGE_BANDS,
    AGE_MAX,
    AGE_MIN,
    CHASE,
    FLAT,
    HANDICAP,
    HURDLE,
    NHF,
    NOVICE,
    PATTERN,
    SELLER,
    Races,
)
from giddyup.sim.world import FLAT_CODE, JUMPS_CODE, People

TOP_WEIGHT = {FLAT_CODE: 136, JUMPS_CODE: 166}  # 9st 10lb, 11st 12lb
MIN_WEIGHT = {FLAT_CODE: 112, JUMPS_CODE: 140}  # 8st 0lb, 10st 0lb


@dataclass
class HorseView:
    """What the matching needs to know about the day's ready horses (arrays aligned with `idx`)."""

    idx: np.ndarray
    code: np.ndarray
    region: np.ndarray
    age: np.ndarray
    female: np.ndarray
    rated: np.ndarray
    rating: np.ndarray  # official rating (nan if unrated)
    estimate: np.ndarray  # the trainer's view of the horse's level (lbs)
    wins: np.ndarray
    obstacle_runs: np.ndarray
    obstacle_wins: np.ndarray
    chase_wins: np.ndarray
    runs: np.ndarray
    chaser: np.ndarray
    trip: np.ndarray  # the trainer's belief about the best trip
    aw_pref: np.ndarray
    going_pref: np.ndarray
    going_sens: np.ndarray


def match(rng: np.random.Generator, races: Races, rows: np.ndarray, h: HorseView) -> tuple[np.ndarray, np.ndarray]:
    """(race row, horse index) of every declaration for the races `rows`, sorted by race.

    Flat and jumps are matched separately (a Flat horse never runs over jumps here), which keeps
    the score matrices small."""
    picked_race, picked_horse = [], []
    for jumps in (False, True):
        block_rows = rows[(races.race_type[rows] != FLAT) == jumps]
        cols = np.flatnonzero((h.code == JUMPS_CODE) == jumps)
        if block_rows.size == 0 or cols.size == 0:
            continue
        sub = HorseView(**{k: getattr(h, k)[cols] for k in HorseView.__dataclass_fields__})
        race_sel, horse_sel = _match_block(rng, races, block_rows, sub)
        picked_race.append(race_sel)
        picked_horse.append(horse_sel)
    if not picked_race:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    race_all = np.concatenate(picked_race)
    horse_all = np.concatenate(picked_horse)
    order = np.argsort(race_all, kind="stable")
    return race_all[order], horse_all[order]


def _match_block(
    rng: np.random.Generator, races: Races, rows: np.ndarray, h: HorseView
) -> tuple[np.ndarray, np.ndarray]:
    rt = races.race_type[rows][:, None]
    cat = races.category[rows][:, None]
    upper = races.band_upper[rows].astype(np.float32)[:, None]
    par = upper - 10.0
    age_band = races.age_band[rows][:, None]
    jumps_race = rt != FLAT

    ok = (AGE_MIN[age_band] <= h.age[None, :]) & (h.age[None, :] <= AGE_MAX[age_band])
    ok &= (races.sex_rest[rows] == "")[:, None] | h.female[None, :]
    ok &= (rt != NHF) | ((h.obstacle_runs == 0) & (h.runs < 6))[None, :]
    ok &= (rt != CHASE) | (h.chaser & (h.age >= 5))[None, :]
    ok &= (rt != HURDLE) | (h.runs >= 1)[None, :] | (h.age >= 5)[None, :]
    flat_novice = (rt == FLAT) & (cat == NOVICE)
    ok &= ~flat_novice | (h.wins == 0)[None, :]
    ok &= ~((rt == HURDLE) & (cat == NOVICE)) | (h.obstacle_wins == 0)[None, :]
    ok &= ~((rt == CHASE) & (cat == NOVICE)) | (h.chase_wins == 0)[None, :]
    rating = np.nan_to_num(h.rating, nan=-999.0).astype(np.float32)[None, :]
    handicap = cat == HANDICAP
    ok &= ~handicap | (h.rated[None, :] & (rating <= upper + 3) & (rating >= upper - np.where(jumps_race, 35, 28)))
    level = h.estimate.astype(np.float32)[None, :]
    ok &= (cat != PATTERN) | (level >= par - 8)
    ok &= (cat != SELLER) | (level <= par + 15)

    # Suitability: class or mark, trip, surface, ground, staying at home; plus the trainer's whims.
    log_dist = np.log(races.dist_f[rows]).astype(np.float32)[:, None]
    score = -40.0 * (log_dist - np.log(h.trip).astype(np.float32)[None, :]) ** 2
    fit_mark = np.where(handicap, (rating - (upper - 8)) / 10.0, (level - par) / 9.0)
    score -= 0.5 * fit_mark**2
    aw = races.aw[rows][:, None]
    score += np.where(aw, (h.aw_pref / 3.0).astype(np.float32)[None, :], np.float32(0))
    going = races.going_index[rows].astype(np.float32)[:, None]
    sens = (0.3 * h.going_sens).astype(np.float32)[None, :]
    score -= np.where(aw, np.float32(0), sens * (going - h.going_pref.astype(np.float32)[None, :]) ** 2)
    score -= np.where(races.region[rows][:, None] != h.region[None, :], np.float32(2.5), np.float32(0))
    if jumps_race.any():
        score -= np.where((rt == HURDLE) & (h.chaser & (h.age >= 6))[None, :], np.float32(1.0), np.float32(0))
        score += np.where(rt == NHF, np.float32(1.5), np.float32(0))  # bumpers are where jumpers start
    score += np.where((races.sex_rest[rows] != "")[:, None], np.float32(1.0), np.float32(0))  # targeted races
    score += 1.2 * rng.standard_normal(score.shape, dtype=np.float32)
    score = np.where(ok, score, -np.inf).astype(np.float32)

    # Each horse goes for its best race; oversubscribed races keep the best-suited entries, and
    # horses squeezed out try their next-best race that still has room (a second round).
    target = races.target_field[rows].astype(np.int64)
    taken = np.zeros(rows.size, dtype=np.int64)
    chosen_race: list[np.ndarray] = []
    chosen_horse: list[np.ndarray] = []
    free = np.ones(h.idx.size, dtype=bool)
    for _ in range(2):
        live = np.where((taken < target)[:, None] & free[None, :], score, -np.inf)
        best = np.argmax(live, axis=0)
        best_score = live[best, np.arange(h.idx.size)]
        keen = best_score > -3.0  # nothing suitable today: wait
        race_pick, horse_pick, pick_score = best[keen], np.flatnonzero(keen), best_score[keen]
        order = np.lexsort((-pick_score, race_pick))
        race_pick, horse_pick = race_pick[order], horse_pick[order]
        starts = seg.starts_of(race_pick)
        counts = seg.counts_of(starts, race_pick.size)
        rank = np.arange(race_pick.size) - np.repeat(starts, counts)
        keep = rank < (target - taken)[race_pick]
        chosen_race.append(race_pick[keep])
        chosen_horse.append(horse_pick[keep])
        np.add.at(taken, race_pick[keep], 1)
        free[horse_pick[keep]] = False
    race_sel = np.concatenate(chosen_race)
    horse_sel = np.concatenate(chosen_horse)
    return rows[race_sel], h.idx[horse_sel]


def weights(
    races: Races,
    race: np.ndarray,
    code: np.ndarray,
    age: np.ndarray,
    female: np.ndarray,
    rating: np.ndarray,
    wins: np.ndarray,
    month: int,
) -> np.ndarray:
    """Weight carried (lbs). Handicaps: the official rating sets it (top weight for the highest
    mark, down to the minimum). Other races: weight for age and sex, penalties for winners."""
    starts = seg.starts_of(race)
    counts = seg.counts_of(starts, race.size)
    top = np.where(code == FLAT_CODE, TOP_WEIGHT[FLAT_CODE], TOP_WEIGHT[JUMPS_CODE])
    bottom = np.where(code == FLAT_CODE, MIN_WEIGHT[FLAT_CODE], MIN_WEIGHT[JUMPS_CODE])
    mark = np.nan_to_num(rating, nan=0.0)
    highest = np.repeat(seg.seg_max(mark, starts), counts)
    handicap = np.clip(top - (highest - mark), bottom, top)

    band = AGE_BANDS[races.age_band[race]]
    wfa = max(2, 13 - month)  # weight-for-age: three-year-olds get most in spring
    flat = np.select([band == "2yo", band == "3yo"], [131, 131], 133 - np.where(age == 3, wfa, 0))
    flat = flat - np.where(female & (races.sex_rest[race] == ""), 5, 0) + np.minimum(wins, 3) * 3
    jumps = 156 - np.where(age == 4, 7, 0) - np.where(female & (races.sex_rest[race] == ""), 7, 0)
    jumps = jumps + np.where(races.category[race] == NOVICE, 0, np.minimum(wins, 3) * 4)
    jumps = np.where(races.race_type[race] == NHF, jumps - 2, jumps)
    other = np.where(code == FLAT_CODE, flat, jumps)
    return np.where(races.category[race] == HANDICAP, handicap, other).astype(np.int64)


def draws_and_numbers(
    rng: np.random.Generator, races: Races, race: np.ndarray, lbs: np.ndarray, rating: np.ndarray, name_rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Stall draw (Flat only; 0 = none) and saddle-cloth number (handicaps by weight, else by name)."""
    n = race.size
    starts = seg.starts_of(race)
    counts = seg.counts_of(starts, n)
    draw = seg.rank_within(race, rng.random(n), starts, counts) + 1
    draw = np.where(races.race_type[race] == FLAT, draw, 0)
    handicap = races.category[race] == HANDICAP
    key = np.where(handicap, lbs * 1000.0 + np.nan_to_num(rating) - name_rank / 1e7, -name_rank.astype(float))
    num = seg.rank_within(race, key, starts, counts) + 1
    return draw, num


def assign_jockeys(
    rng: np.random.Generator,
    jockeys: People,
    first_jockey: np.ndarray,
    trainer: np.ndarray,
    race: np.ndarray,
    region: np.ndarray,
    code: np.ndarray,
    quality: np.ndarray,
) -> np.ndarray:
    """Retained riders for some, the best available riders for the best horses, never two
    runners of one race with the same rider."""
    n = race.size
    jockey = np.full(n, -1, dtype=np.int64)
    for r in (0, 1):
        for c in (FLAT_CODE, JUMPS_CODE):
            rows = np.flatnonzero((region == r) & (code == c))
            pool = np.flatnonzero((jockeys.region == r) & (jockeys.code == c))
            if rows.size == 0 or pool.size == 0:
                continue
            logits = np.log(jockeys.weight[pool])[None, :] + 0.6 * jockeys.skill[pool][None, :] * quality[rows][:, None]
            jockey[rows] = pool[np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)]
    retained = (
        (rng.random(n) < 0.3)
        & (jockeys.region[first_jockey[trainer]] == region)
        & (jockeys.code[first_jockey[trainer]] == code)
    )
    jockey = np.where(retained, first_jockey[trainer], jockey)
    for _ in range(20):  # re-book the second rider of any pair booked for the same race
        order = np.lexsort((jockey, race))
        dup = np.zeros(n, dtype=bool)
        same = (race[order][1:] == race[order][:-1]) & (jockey[order][1:] == jockey[order][:-1])
        dup[order[1:][same]] = True
        if not dup.any():
            break
        rows = np.flatnonzero(dup)
        for r in (0, 1):
            for c in (FLAT_CODE, JUMPS_CODE):
                sub = rows[(region[rows] == r) & (code[rows] == c)]
                pool = np.flatnonzero((jockeys.region == r) & (jockeys.code == c))
                if sub.size and pool.size:
                    jockey[sub] = rng.choice(pool, size=sub.size)
    return jockey
