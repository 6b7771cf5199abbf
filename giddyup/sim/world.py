"""The people and horses of a simulated world, with their hidden qualities.

Horses come in yearly crops (Flat horses debut at two or three, jumpers at four to seven), each
with a latent mature rating, a development curve (improving young, declining after a peak age),
preferences for trip, ground and all-weather, a liking (or not) for racing fresh, and a persistent
quirk the market under-reads. Trainers and jockeys have skill; their form streaks are drawn day by
day by the engine. Days are counted from the world's start (day 0).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from giddyup.sim import names
from giddyup.sim.courses import Courses, build_courses
from giddyup.sim.params import Tunables, WorldSpec

GB, IRE = 0, 1
FLAT_CODE, JUMPS_CODE = 0, 1
# Full-scale sizes per (region, code): (GB Flat, GB jumps, IRE Flat, IRE jumps)
CROP_SIZE = {(GB, FLAT_CODE): 4300, (GB, JUMPS_CODE): 1700, (IRE, FLAT_CODE): 1200, (IRE, JUMPS_CODE): 1100}
TRAINERS = {(GB, FLAT_CODE): 220, (GB, JUMPS_CODE): 220, (IRE, FLAT_CODE): 80, (IRE, JUMPS_CODE): 120}
JOCKEYS = {(GB, FLAT_CODE): 150, (GB, JUMPS_CODE): 140, (IRE, FLAT_CODE): 60, (IRE, JUMPS_CODE): 80}
HEADGEAR = np.array(["", "b", "p", "t", "h", "v", "tp", "bt"])
HEADGEAR_P = np.array([0.72, 0.06, 0.07, 0.06, 0.04, 0.02, 0.02, 0.01])


@dataclass
class People:
    """Trainers or jockeys."""

    name: list[str]
    region: np.ndarray
    code: np.ndarray
    skill: np.ndarray  # lbs
    weight: np.ndarray  # share of the work they get


@dataclass
class Horses:
    name: list[str]
    code: np.ndarray
    region: np.ndarray
    trainer: np.ndarray
    owner: np.ndarray
    foal_day: np.ndarray  # day index of birth (negative: before the world starts)
    foal_year: np.ndarray
    female: np.ndarray
    gelding: np.ndarray
    base: np.ndarray  # mature rating, lbs
    dev_gap: np.ndarray  # lbs below maturity at the start of the career
    dev_tau: np.ndarray  # years
    peak_age: np.ndarray
    decline: np.ndarray  # lbs a year after the peak
    dist_pref: np.ndarray  # furlongs
    going_pref: np.ndarray
    going_sens: np.ndarray
    aw_pref: np.ndarray  # lbs on all-weather
    fresh: np.ndarray  # + goes well after a break
    jump_skill: np.ndarray
    chaser: np.ndarray
    blind: np.ndarray  # lbs the market misreads, persistently
    talent: np.ndarray  # lbs of the mature rating nobody can see before the horse has raced
    headgear: np.ndarray
    selection_id: np.ndarray
    debut_day: np.ndarray
    retire_day: np.ndarray

    @property
    def size(self) -> int:
        return int(self.code.size)

    def ability(self, day: int | np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Rating (lbs) of horses `idx` on `day`, from their development curve (without form)."""
        age = (day - self.foal_day[idx]) / 365.25
        start_age = np.where(self.code[idx] == FLAT_CODE, 2.0, 4.0)
        growing = self.dev_gap[idx] * np.exp(-np.maximum(age - start_age, 0.0) / self.dev_tau[idx])
        ageing = self.decline[idx] * np.maximum(age - self.peak_age[idx], 0.0)
        return self.base[idx] - growing - ageing


@dataclass
class World:
    courses: Courses
    horses: Horses
    trainers: People
    jockeys: People
    owners: list[str]


def _people(
    rng: np.random.Generator, sizes: dict[tuple[int, int], int], scale: float, skill_sd: float, what: str
) -> People:
    keys = sorted(sizes)
    counts = [max(12, round(sizes[k] * scale)) for k in keys]
    total = sum(counts)
    region = np.concatenate([np.full(c, k[0]) for k, c in zip(keys, counts, strict=True)]).astype(np.int8)
    code = np.concatenate([np.full(c, k[1]) for k, c in zip(keys, counts, strict=True)]).astype(np.int8)
    weight = rng.pareto(1.3, total) + 0.2  # a few big yards / busy riders, many small ones
    # Busier people tend to be better (big yards get good horses; top jockeys get the rides).
    skill = skill_sd * (
        0.6 * (np.log(weight) - np.log(weight).mean()) / np.log(weight).std() + 0.8 * rng.normal(0, 1, total)
    )
    return People(names.person_names(rng, total, what), region, code, skill, weight)


def build_world(spec: WorldSpec, tun: Tunables, rng: np.random.Generator) -> World:
    courses = build_courses(rng, tun)
    trainers = _people(rng, TRAINERS, spec.scale, tun.trainer_skill_sd, "trainer")
    jockeys = _people(rng, JOCKEYS, spec.scale, tun.jockey_skill_sd, "jockey")
    horses = _horses(spec, tun, trainers, rng)
    owners = names.owner_names(rng, max(50, horses.size // 8))
    horses.owner = rng.integers(0, len(owners), horses.size)
    return World(courses, horses, trainers, jockeys, owners)


def _day_of(date: dt.date, start: dt.date) -> int:
    return (date - start).days


def _horses(spec: WorldSpec, tun: Tunables, trainers: People, rng: np.random.Generator) -> Horses:
    last = _day_of(spec.last_day, spec.start)
    first_year, last_year = spec.start.year, spec.last_day.year
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("code", "region", "crop", "foal", "debut", "retire")}
    for (crop_region, crop_code), size in sorted(CROP_SIZE.items()):
        # Fewer races to choose from at a reduced scale: keep a little more than proportional stock.
        per_crop = max(20, round(size * spec.scale**0.8))
        crops = np.arange(first_year - 13, last_year - 1)
        crop = np.repeat(crops, per_crop)
        n = crop.size
        foal = np.array([_day_of(dt.date(int(c), 1, 20), spec.start) for c in crops]).repeat(per_crop)
        foal = foal + rng.integers(0, 110, n)
        if crop_code == FLAT_CODE:
            two = rng.random(n) < 0.65
            debut_year = crop + np.where(two, 2, 3)
            debut_offset = np.where(two, rng.integers(90, 260, n), rng.integers(30, 240, n))
            career = 0.3 + rng.gamma(2.0, 1.0, n)
        else:
            debut_age = rng.choice([4, 5, 6, 7], size=n, p=[0.3, 0.4, 0.2, 0.1])
            debut_year = crop + debut_age
            debut_offset = rng.integers(-90, 120, n)
            career = 0.5 + rng.gamma(2.0, 1.4, n)
        year_start = np.array([_day_of(dt.date(int(y), 1, 1), spec.start) for y in range(crops.min(), last_year + 12)])
        debut = year_start[debut_year - crops.min()] + debut_offset
        retire = debut + (career * 365.25).astype(np.int64)
        keep = (debut <= last) & (retire > 0)
        for key, values in (
            ("code", np.full(n, crop_code)),
            ("region", np.full(n, crop_region)),
            ("crop", crop),
            ("foal", foal),
            ("debut", debut),
            ("retire", retire),
        ):
            cols[key].append(values[keep])
    code = np.concatenate(cols["code"]).astype(np.int8)
    region = np.concatenate(cols["region"]).astype(np.int8)
    n = code.size

    # Trainer: one of the right region and code, busier yards more likely.
    trainer = np.empty(n, dtype=np.int64)
    for r in (GB, IRE):
        for c in (FLAT_CODE, JUMPS_CODE):
            rows = np.flatnonzero((region == r) & (code == c))
            pool = np.flatnonzero((trainers.region == r) & (trainers.code == c))
            w = trainers.weight[pool]
            trainer[rows] = rng.choice(pool, size=rows.size, p=w / w.sum())

    flat = code == FLAT_CODE
    female = rng.random(n) < np.where(flat, 0.48, 0.2)
    gelding = ~female & (rng.random(n) < np.where(flat, 0.4, 0.97))
    mean = np.where(flat, tun.ability_flat[0], tun.ability_jumps[0])
    sd = np.where(flat, tun.ability_flat[1], tun.ability_jumps[1])
    talent = rng.normal(0, tun.talent_sd, n)
    base = mean + sd * rng.normal(0, 1, n) + 0.8 * trainers.skill[trainer] - 3.0 * female + talent
    headgear = HEADGEAR[rng.choice(HEADGEAR.size, size=n, p=HEADGEAR_P)]
    return Horses(
        name=names.horse_names(rng, n),
        code=code,
        region=region,
        trainer=trainer,
        owner=np.zeros(n, dtype=np.int64),
        foal_day=np.concatenate(cols["foal"]),
        foal_year=np.concatenate(cols["crop"]),
        female=female,
        gelding=gelding,
        base=base,
        dev_gap=np.where(flat, rng.normal(22, 6, n), rng.normal(18, 6, n)).clip(2, None),
        dev_tau=np.where(flat, rng.uniform(0.6, 1.2, n), rng.uniform(1.2, 2.2, n)),
        peak_age=np.where(flat, rng.normal(4.5, 0.7, n), rng.normal(8.5, 1.0, n)),
        decline=np.where(flat, rng.uniform(2, 6, n), rng.uniform(3, 7, n)),
        dist_pref=np.where(
            flat,
            np.exp(rng.normal(np.log(8.5), 0.3, n)).clip(5, 20),
            np.exp(rng.normal(np.log(20.0), 0.16, n)).clip(15, 32),
        ),
        going_pref=rng.normal(0, 0.9, n),
        going_sens=rng.exponential(0.8, n),
        aw_pref=rng.normal(0, tun.aw_sd, n),
        fresh=rng.normal(0, 1, n),
        jump_skill=rng.normal(0, 1, n),
        chaser=~flat & (rng.random(n) < 0.6),
        blind=rng.normal(0, tun.blind_sd, n),
        talent=talent,
        headgear=headgear,
        selection_id=1_000_000 + rng.choice(89_000_000, size=n, replace=False),
        debut_day=np.concatenate(cols["debut"]),
        retire_day=np.concatenate(cols["retire"]),
    )
