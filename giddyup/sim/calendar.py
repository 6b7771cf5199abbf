"""Meetings and races: how many meetings each day (weekday, season, region), which courses, Flat
turf / all-weather / jumps, off times in UK local time, and each race's type, class, distance,
going and planned field size. Everything but the per-day meeting choice is vectorised."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from giddyup.sim.courses import Courses
from giddyup.sim.params import WorldSpec

# race_type codes
FLAT, HURDLE, CHASE, NHF = 0, 1, 2, 3
RACE_TYPES = np.array(["Flat", "Hurdle", "Chase", "NH Flat"])
# race categories
HANDICAP, NOVICE, CONDITIONS, SELLER, PATTERN = 0, 1, 2, 3, 4
# age bands
AGE_BANDS = np.array(["2yo", "3yo", "3yo+", "4yo+", "5yo+", "4yo", "4-6yo"])
AGE_MIN = np.array([2, 3, 3, 4, 5, 4, 4])
AGE_MAX = np.array([2, 3, 99, 99, 99, 4, 6])

# Meeting kinds by month (F turf, A all-weather, J jumps): shares per region.
KIND_SHARE_GB = np.array(
    [
        [0.00, 0.45, 0.55],
        [0.00, 0.45, 0.55],
        [0.05, 0.40, 0.55],
        [0.40, 0.20, 0.40],
        [0.55, 0.12, 0.33],
        [0.65, 0.10, 0.25],
        [0.65, 0.10, 0.25],
        [0.65, 0.10, 0.25],
        [0.55, 0.15, 0.30],
        [0.40, 0.20, 0.40],
        [0.05, 0.40, 0.55],
        [0.00, 0.45, 0.55],
    ]
)
KIND_SHARE_IRE = np.array(
    [
        [0.00, 0.35, 0.65],
        [0.00, 0.35, 0.65],
        [0.15, 0.25, 0.60],
        [0.45, 0.10, 0.45],
        [0.55, 0.05, 0.40],
        [0.60, 0.05, 0.35],
        [0.60, 0.05, 0.35],
        [0.60, 0.05, 0.35],
        [0.55, 0.10, 0.35],
        [0.40, 0.15, 0.45],
        [0.05, 0.35, 0.60],
        [0.00, 0.35, 0.65],
    ]
)
WEEKDAY_FACTOR = np.array([0.8, 0.85, 1.0, 1.0, 1.15, 1.6, 0.6])  # Mon..Sun

# Distances (furlongs) offered per race type, with how common each is.
DISTANCES = {
    FLAT: (
        np.array([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 18]),
        np.array([14, 16, 14, 15, 6, 12, 4, 9, 2, 3, 4, 1], dtype=float),
    ),
    HURDLE: (
        np.array([16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]),
        np.array([30, 8, 7, 6, 14, 6, 5, 4, 12, 4, 4], dtype=float),
    ),
    CHASE: (
        np.array([16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28, 30]),
        np.array([18, 7, 5, 6, 14, 7, 5, 4, 14, 6, 7, 5, 2], dtype=float),
    ),
    NHF: (np.array([13, 14, 16, 17, 18, 20]), np.array([4, 5, 60, 12, 8, 11], dtype=float)),
}
CLASS_UPPER_FLAT = {1: 120, 2: 105, 3: 95, 4: 85, 5: 75, 6: 65, 7: 55}
CLASS_UPPER_JUMPS = {1: 170, 2: 145, 3: 135, 4: 120, 5: 100}
SPONSORS = np.array(
    """Racing TV|Sky Sports Racing|At The Races|Download The App|Watch Every Race Live|Book Your Hospitality
|Follow Us On Social|Join The Members|Visit The Paddock Bar|Racecourse Media Group|Bet Boost|Free Tips Daily
|Best Odds Guaranteed|Family Fun Day|Summer Series|Ladies Day|Local Business|Harvest Festival|Jockey Club
|Cash Out|Each Way Extra|Quick Pick|Stable Lads Welfare|Injured Jockeys Fund|Golden Moments|Grand Day Out""".replace(
        "\n", ""
    ).split("|")
)


@dataclass
class Races:
    """One entry per planned race, sorted by day, off time and course."""

    day: np.ndarray  # index into Calendar.dates
    meeting: np.ndarray
    course: np.ndarray
    region: np.ndarray  # 0 GB, 1 IRE
    off_min: np.ndarray  # minutes after midnight, UK local
    race_type: np.ndarray
    category: np.ndarray
    klass: np.ndarray  # 1..7 (also kept for IRE, where the written class is NULL)
    band_upper: np.ndarray  # handicap ceiling (lbs); par of the race = upper - 10
    pattern: np.ndarray  # str or ''
    age_band: np.ndarray
    sex_rest: np.ndarray  # '', 'F', 'F & M', 'M'
    dist_f: np.ndarray
    going_index: np.ndarray  # + soft; all-weather: the surface's own index
    aw: np.ndarray  # bool
    target_field: np.ndarray
    name: np.ndarray

    @property
    def size(self) -> int:
        return int(self.day.size)

    @property
    def jumps(self) -> np.ndarray:
        return self.race_type != FLAT

    @property
    def par(self) -> np.ndarray:
        return self.band_upper - 10.0


@dataclass
class Calendar:
    dates: list[dt.date]
    races: Races
    is_today: np.ndarray  # per day


def racing_days(spec: WorldSpec) -> list[dt.date]:
    days = [spec.start + dt.timedelta(days=i) for i in range(spec.days)]
    # No racing on Christmas Eve and Christmas Day (as in Britain and Ireland).
    days = [d for d in days if not (d.month == 12 and d.day in (24, 25))]
    if spec.today is not None:
        days.append(spec.today)
    return days


def build_calendar(spec: WorldSpec, courses: Courses, rng: np.random.Generator) -> Calendar:
    dates = racing_days(spec)
    meetings = _meetings(dates, spec.scale, courses, rng)
    races = _races(meetings, dates, courses, rng)
    is_today = np.zeros(len(dates), dtype=bool)
    if spec.today is not None:
        is_today[-1] = True
    return Calendar(dates=dates, races=races, is_today=is_today)


def _meetings(dates: list[dt.date], scale: float, courses: Courses, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per day: how many meetings in each region, of which kind, at which course, when."""
    rows: list[tuple[int, int, int, int, int]] = []  # day, course, kind, start minute, races
    gb = np.flatnonzero(courses.region == "GB")
    ire = np.flatnonzero(courses.region == "IRE")
    for day_index, day in enumerate(dates):
        month = day.month - 1
        season = 1.12 if month in (5, 6, 7) else (0.92 if month in (0, 11) else 1.0)
        weekday = WEEKDAY_FACTOR[day.weekday()]
        n_gb = rng.poisson(3.25 * scale * weekday * season)
        n_ire = rng.poisson(0.85 * scale * weekday * season)
        n_gb = max(n_gb, 2 - n_ire, 1)
        day_rows = []
        used: set[int] = set()
        for pool, count, shares in ((gb, n_gb, KIND_SHARE_GB), (ire, n_ire, KIND_SHARE_IRE)):
            for _ in range(count):
                kind = int(rng.choice(3, p=shares[month]))
                options = [c for c in pool if courses.hosts[c, kind] and c not in used]
                if not options:
                    continue
                weight = courses.weight[options]
                course = int(rng.choice(options, p=weight / weight.sum()))
                used.add(course)
                day_rows.append([course, kind])
        _timetable(day_rows, month, courses, rng, used, gb)
        rows.extend((day_index, c, k, start, n) for c, k, start, n in day_rows)
    table = np.array(rows, dtype=np.int64).reshape(-1, 5)
    return {"day": table[:, 0], "course": table[:, 1], "kind": table[:, 2], "start": table[:, 3], "n": table[:, 4]}


def _timetable(
    day_rows: list[list[int]], month: int, courses: Courses, rng: np.random.Generator, used: set[int], gb: np.ndarray
) -> None:
    """Start times and race counts: afternoon cards from 12:00-14:00, and (on a day with two or
    more meetings) one evening card, so the day's last race is run between 17:00 and 21:00."""
    summer = 4 <= month <= 8
    evening_kinds = (0, 1) if summer else (1,)
    evening = -1
    if len(day_rows) >= 2:
        candidates = [i for i, (_, kind) in enumerate(day_rows) if kind in evening_kinds]
        if not candidates:  # a winter day of jumps only: an all-weather evening card as in Britain
            options = [c for c in gb if courses.hosts[c, 1] and c not in used]
            if options:
                day_rows[-1] = [int(rng.choice(options)), 1]
                candidates = [len(day_rows) - 1]
        if candidates:
            evening = candidates[int(rng.integers(0, len(candidates)))]
    for i, row in enumerate(day_rows):
        region_ire = courses.region[row[0]] == "IRE"
        n_races = int(rng.choice([6, 7, 8, 9], p=[0.1, 0.4, 0.4, 0.1] if region_ire else [0.25, 0.5, 0.2, 0.05]))
        if i == evening:  # evening cards are shorter and done by 21:00
            n_races = int(rng.choice([6, 7]))
            latest = 21 * 60 - (n_races - 1) * (35 if row[1] == 2 else 30)
            earliest = 17 * 60 if summer else 16 * 60 + 30
            start = earliest + 5 * int(rng.integers(0, (latest - earliest) // 5 + 1))
        else:
            start = 12 * 60 + 5 * int(rng.integers(0, 22 if summer else 14))
        row.extend([start, n_races])


def _races(meetings: dict[str, np.ndarray], dates: list[dt.date], courses: Courses, rng: np.random.Generator) -> Races:
    n_per = meetings["n"]
    meeting = np.repeat(np.arange(n_per.size), n_per)
    slot = np.arange(meeting.size) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    day = meetings["day"][meeting]
    course = meetings["course"][meeting]
    kind = meetings["kind"][meeting]
    region = (courses.region[course] == "IRE").astype(np.int8)
    month = np.array([d.month for d in dates])[day]
    n = meeting.size

    jumps = kind == 2
    gap = np.where(jumps, 35, 30)
    off_min = meetings["start"][meeting] + slot * gap

    # Race type: jumps cards mix hurdles and chases; the last race is often a bumper.
    last = slot == n_per[meeting] - 1
    u = rng.random(n)
    race_type = np.where(~jumps, FLAT, np.where(u < 0.55, HURDLE, CHASE))
    bumper = jumps & last & (rng.random(n) < np.where(region == 1, 0.8, 0.5))
    race_type = np.where(bumper, NHF, race_type)

    tier = courses.tier[course]
    category = _categories(race_type, tier, rng)
    klass = _classes(race_type, category, tier, kind, rng)
    pattern = np.full(n, "", dtype=object)
    grades = np.where(race_type == FLAT, 0, 1)
    names_pattern = np.array([["Group 1", "Group 2", "Group 3", "Listed"], ["Grade 1", "Grade 2", "Grade 3", "Listed"]])
    level = rng.choice(4, size=n, p=[0.1, 0.15, 0.35, 0.4])
    pattern = np.where(category == PATTERN, names_pattern[grades, level], pattern)
    upper_flat = np.vectorize(CLASS_UPPER_FLAT.get)(np.clip(klass, 1, 7))
    upper_jumps = np.vectorize(CLASS_UPPER_JUMPS.get)(np.clip(klass, 1, 5))
    band_upper = np.asarray(np.where(race_type == FLAT, upper_flat, upper_jumps), dtype=float)
    band_upper = band_upper + np.where(category == PATTERN, 8.0 * (2 - np.minimum(level, 2)), 0.0)

    age_band = _age_bands(race_type, category, month, rng)
    # Nurseries (juvenile handicaps) start in August, once two-year-olds have marks; sellers are
    # not for juveniles here; Flat maidens and novices are for two- and three-year-olds (and up).
    juvenile = AGE_BANDS[age_band] == "2yo"
    category = np.where(juvenile & (category == HANDICAP) & (month < 8), NOVICE, category)
    category = np.where(juvenile & (category == SELLER), NOVICE, category)
    older_novice = (race_type == FLAT) & (category == NOVICE) & (AGE_BANDS[age_band] == "4yo+")
    age_band = np.where(older_novice, 2, age_band)
    klass = np.where(juvenile & (category == NOVICE) & (klass > 5), 5, klass)
    sex_u = rng.random(n)
    sex_rest = np.where(
        race_type == FLAT,
        np.where(sex_u < 0.06, "F", np.where(sex_u < 0.1, "F & M", "")),
        np.where(sex_u < 0.07, "M", ""),
    )
    sex_rest = np.where((race_type == FLAT) & (AGE_BANDS[age_band] == "2yo") & (sex_rest == "F & M"), "F", sex_rest)

    dist_f = _distances(race_type, course, age_band, courses.size, rng)
    going_index = _going(meetings, dates, courses, rng)[meeting]
    aw = kind == 1
    target = _target_fields(race_type, category, aw, courses.max_field[course], rng)
    name = _race_names(race_type, category, age_band, sex_rest, pattern, region, rng)

    order = np.lexsort((course, off_min, day))
    fields = dict(
        day=day,
        meeting=meeting,
        course=course,
        region=region,
        off_min=off_min,
        race_type=race_type,
        category=category,
        klass=klass,
        band_upper=band_upper,
        pattern=pattern,
        age_band=age_band,
        sex_rest=sex_rest,
        dist_f=dist_f,
        going_index=going_index,
        aw=aw,
        target_field=target,
        name=name,
    )
    return Races(**{k: np.asarray(v)[order] for k, v in fields.items()})


def _categories(race_type: np.ndarray, tier: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pattern_share = np.select([tier == 1, tier == 2], [0.12, 0.02], 0.0)
    u = rng.random(race_type.size)
    flat = np.select(
        [u < pattern_share, u < pattern_share + 0.68, u < pattern_share + 0.86, u < pattern_share + 0.92],
        [PATTERN, HANDICAP, NOVICE, CONDITIONS],
        SELLER,
    )
    jumps = np.select(
        [u < pattern_share, u < pattern_share + 0.64, u < pattern_share + 0.95], [PATTERN, HANDICAP, NOVICE], CONDITIONS
    )
    category = np.where(race_type == FLAT, flat, jumps)
    return np.where(race_type == NHF, NOVICE, category)


def _classes(
    race_type: np.ndarray, category: np.ndarray, tier: np.ndarray, kind: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    n = race_type.size
    u = rng.random(n)

    def pick(choices: list[int], probs: list[float]) -> np.ndarray:
        cum = np.cumsum(probs) / np.sum(probs)
        return np.array(choices)[np.searchsorted(cum, u, side="right").clip(0, len(choices) - 1)]

    flat_hcp = np.select(
        [kind == 1, tier == 1, tier == 2],
        [
            pick([2, 3, 4, 5, 6, 7], [2, 8, 25, 30, 30, 5]),
            pick([2, 3, 4, 5, 6, 7], [25, 35, 25, 15, 0, 0]),
            pick([2, 3, 4, 5, 6, 7], [8, 25, 32, 25, 10, 0]),
        ],
        pick([2, 3, 4, 5, 6, 7], [0, 8, 30, 35, 22, 5]),
    )
    flat_nov = np.where(tier == 1, pick([2, 3, 4], [2, 4, 4]), pick([4, 5], [5, 5]))
    flat_cond = pick([2, 3], [5, 5])
    flat_sell = pick([5, 6, 7], [3, 5, 2])
    jumps_hcp = np.select(
        [tier == 1, tier == 2],
        [pick([2, 3, 4, 5], [35, 40, 25, 0]), pick([2, 3, 4, 5], [10, 35, 40, 15])],
        pick([2, 3, 4, 5], [0, 20, 50, 30]),
    )
    jumps_nov = np.where(tier == 3, pick([4, 5], [6, 4]), pick([3, 4], [5, 5]))
    flat = np.select(
        [category == HANDICAP, category == NOVICE, category == CONDITIONS, category == SELLER],
        [flat_hcp, flat_nov, flat_cond, flat_sell],
        1,
    )
    jumps = np.select(
        [category == HANDICAP, category == NOVICE, category == CONDITIONS],
        [jumps_hcp, jumps_nov, pick([2, 3], [5, 5])],
        1,
    )
    klass = np.where(race_type == FLAT, flat, jumps)
    return np.where(race_type == NHF, np.where(tier == 1, 4, 5), klass)


def _age_bands(race_type: np.ndarray, category: np.ndarray, month: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    two_share = np.array([0, 0, 0, 0.04, 0.09, 0.13, 0.17, 0.2, 0.2, 0.18, 0.1, 0.04])[month - 1]
    three_share = np.array([0.1, 0.1, 0.18, 0.18, 0.18, 0.18, 0.18, 0.05, 0.05, 0.05, 0.05, 0.1])[month - 1]
    u = rng.random(race_type.size)
    flat = np.select([u < two_share, u < two_share + three_share, u < 0.72], [0, 1, 2], 3)
    flat = np.where((category == SELLER) & (flat == 0), 2, flat)
    juvenile = (month >= 11) | (month <= 4)
    hurdle = np.select([juvenile & (u < 0.06), u < 0.88], [5, 3], 4)
    chase = np.where(u < 0.6, 4, 3)
    band = np.select([race_type == FLAT, race_type == HURDLE, race_type == CHASE], [flat, hurdle, chase], 6)
    return band.astype(np.int64)


def _distances(
    race_type: np.ndarray, course: np.ndarray, age_band: np.ndarray, n_courses: int, rng: np.random.Generator
) -> np.ndarray:
    """Each course offers its own handful of trips per race type (so course-and-distance form exists)."""
    dist = np.zeros(race_type.size)
    for rtype, (values, weights) in DISTANCES.items():
        offered = rng.random((n_courses, values.size)) < 0.6
        offered[np.arange(n_courses), rng.choice(values.size, n_courses, p=weights / weights.sum())] = True
        table = weights[None, :] * offered
        rows = np.flatnonzero(race_type == rtype)
        if rows.size == 0:
            continue
        w = table[course[rows]].copy()
        if rtype == FLAT:  # juveniles race short
            young = AGE_BANDS[age_band[rows]] == "2yo"
            w[young] *= np.where(values <= 8, 1.0, 0.0)[None, :]
            empty = w.sum(axis=1) == 0
            w[empty & young] = np.where(values <= 7, 1.0, 0.0)
        cum = np.cumsum(w, axis=1)
        pick = (rng.random(rows.size)[:, None] * cum[:, -1:] < cum).argmax(axis=1)
        dist[rows] = values[pick]
    return dist


def _going(
    meetings: dict[str, np.ndarray], dates: list[dt.date], courses: Courses, rng: np.random.Generator
) -> np.ndarray:
    """Going index per meeting: wetter in winter, firmer in summer, softer in Ireland; jumps tracks are
    watered (never firmer than good to firm). All-weather: the surface's own small variation."""
    doy = np.array([d.timetuple().tm_yday for d in dates])[meetings["day"]]
    course = meetings["course"]
    season = 0.8 * np.cos(2 * np.pi * (doy - 20) / 365.25) - 0.05
    ire = courses.region[course] == "IRE"
    g = season + courses.going_offset[course] + np.where(ire, 0.35, 0.0) + rng.normal(0, 0.55, course.size)
    g = np.where(meetings["kind"] == 2, np.maximum(g, -0.9), g)
    g = np.clip(g, -2.2, 3.0)
    return np.where(meetings["kind"] == 1, rng.normal(0, 0.45, course.size), g)


def going_text(going_index: np.ndarray, aw: np.ndarray, ire: np.ndarray) -> np.ndarray:
    gb = np.select(
        [going_index < -1.7, going_index < -0.8, going_index < -0.1, going_index < 0.6, going_index < 1.5],
        ["Firm", "Good To Firm", "Good", "Good To Soft", "Soft"],
        "Heavy",
    )
    irish = np.select(
        [
            going_index < -1.7,
            going_index < -0.8,
            going_index < -0.1,
            going_index < 0.35,
            going_index < 0.8,
            going_index < 1.2,
            going_index < 1.8,
            going_index < 2.4,
        ],
        ["Firm", "Good To Firm", "Good", "Good To Yielding", "Yielding", "Yielding To Soft", "Soft", "Soft To Heavy"],
        "Heavy",
    )
    all_weather = np.select(
        [going_index < -0.8, going_index < 0.6, going_index < 1.3],
        ["Standard To Fast", "Standard", "Standard To Slow"],
        "Slow",
    )
    return np.where(aw, all_weather, np.where(ire, irish, gb))


def _target_fields(
    race_type: np.ndarray, category: np.ndarray, aw: np.ndarray, max_field: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Declared runners wanted by the race (the entries may fall short)."""
    mean = np.select(
        [
            (race_type == FLAT) & (category == HANDICAP) & ~aw,
            (race_type == FLAT) & (category == HANDICAP),
            (race_type == FLAT) & (category == PATTERN),
            (race_type == FLAT) & (category == CONDITIONS),
            race_type == FLAT,
            (race_type == HURDLE) & (category == HANDICAP),
            (race_type == CHASE) & (category == HANDICAP),
            race_type == HURDLE,
            race_type == CHASE,
        ],
        [12.5, 10.0, 8.5, 6.5, 9.5, 11.0, 9.0, 9.0, 7.0],
        10.5,
    )
    dispersion = 12.0
    extra = rng.negative_binomial(dispersion, dispersion / (dispersion + mean - 3.0))
    return np.clip(3 + extra, 2, np.minimum(max_field, 24))


def _race_names(
    race_type: np.ndarray,
    category: np.ndarray,
    age_band: np.ndarray,
    sex_rest: np.ndarray,
    pattern: np.ndarray,
    region: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    n = race_type.size
    sponsor = SPONSORS[rng.integers(0, SPONSORS.size, n)]
    band = AGE_BANDS[age_band]
    fillies = np.where(sex_rest == "F", "Fillies' ", np.where(sex_rest == "F & M", "Fillies' And Mares' ", ""))
    mares = np.where(sex_rest == "M", "Mares' ", "")
    flat_desc = np.select(
        [category == HANDICAP, category == NOVICE, category == CONDITIONS, category == SELLER],
        [
            np.where(band == "2yo", "Nursery Handicap", fillies + "Handicap"),
            np.where(rng.random(n) < 0.5, fillies + "Maiden Stakes", fillies + "Novice Stakes"),
            np.char.add(fillies.astype(str), "Conditions Stakes"),
            np.where(rng.random(n) < 0.5, "Claiming Stakes", "Selling Stakes"),
        ],
        "Stakes",
    )
    hurdle_desc = np.select(
        [category == HANDICAP, band == "4yo", category == NOVICE],
        [
            mares + "Handicap Hurdle",
            "Juvenile Hurdle",
            np.where(rng.random(n) < 0.6, mares + "Novices' Hurdle", mares + "Maiden Hurdle"),
        ],
        "Hurdle",
    )
    chase_desc = np.select(
        [category == HANDICAP, category == NOVICE],
        [mares + "Handicap Chase", np.where(rng.random(n) < 0.5, "Novices' Chase", "Beginners' Chase")],
        "Chase",
    )
    nhf_desc = np.where(region == 1, "INH Flat Race", "Standard Open NH Flat Race")
    desc = np.select(
        [race_type == FLAT, race_type == HURDLE, race_type == CHASE], [flat_desc, hurdle_desc, chase_desc], nhf_desc
    )
    name = np.char.add(np.char.add(sponsor.astype(str), " "), desc.astype(str))
    with_pattern = np.char.add(np.char.add(name, " ("), np.char.add(pattern.astype(str), ")"))
    return np.where(pattern != "", with_pattern, name).astype(object)
