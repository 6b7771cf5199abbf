"""The day loop: each racing day, ready horses are declared, every runner's true strength is
assembled from its parts, non-runners drop out, the truth (P(win) = softmax of strength over the
starters) is recorded and, for resulted days, the result is drawn and the horses' ratings, form
and freshness move on. Work inside a day is vectorised over all its races; only days loop.

Strength parts (lbs): ability (development curve, including a talent racing reveals over the
first runs), form (run-to-run), blind (a quirk the market under-reads), distance / going / surface
fit, draw, jockey and trainer skill and form streaks, fitness after a break, intent (some runners
are not out to win today), weight carried, and private on-the-day condition. Strength in units =
lbs / lbs_per_unit (a Gumbel performance draw per runner on that scale decides the race).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from giddyup.sim import entries
from giddyup.sim import segments as seg
from giddyup.sim.calendar import FLAT, Calendar, Races
from giddyup.sim.params import Tunables, WorldSpec, rng_for
from giddyup.sim.results import RaceInputs, draw_results
from giddyup.sim.world import FLAT_CODE, World

COMPONENTS = (
    "ability",
    "form",
    "blind",
    "distance",
    "going",
    "surface",
    "draw",
    "jockey",
    "jockey_form",
    "trainer",
    "trainer_form",
    "fitness",
    "weight",
    "intent",
)
NEVER = -100_000
WIN_PRIZE = {1: 60000.0, 2: 22000.0, 3: 10000.0, 4: 6500.0, 5: 4200.0, 6: 3300.0, 7: 2800.0}


@dataclass
class Runs:
    """One row per declared runner, grouped by race (races in calendar order)."""

    cols: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **arrays: np.ndarray) -> None:
        for key, values in arrays.items():
            self.cols.setdefault(key, []).append(values)

    def frame(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.cols.items()}


@dataclass
class SimOutput:
    world: World
    calendar: Calendar
    runners: dict[str, np.ndarray]  # per declared runner
    race_kept: np.ndarray  # per calendar race: it had at least two declarations
    race_ran: np.ndarray  # starters (or declarations, for today's card)


class HorseState:
    """What changes as horses run: marks, form, record, when they may run next."""

    def __init__(self, world: World, tun: Tunables, rng: np.random.Generator) -> None:
        h = world.horses
        n = h.size
        self.form = rng.normal(0, tun.form_sd / np.sqrt(1 - tun.form_rho**2), n)
        years_in = np.maximum(-h.debut_day, 0) / 365.25  # racing before the world starts
        self.runs = rng.poisson(6.0 * years_in)
        self.wins = rng.binomial(self.runs, 0.12)
        self.obstacle_runs = np.where(h.code == FLAT_CODE, 0, self.runs)
        self.obstacle_wins = np.where(h.code == FLAT_CODE, 0, self.wins)
        self.chase_wins = np.where(h.chaser, self.obstacle_wins // 2, 0)
        ability0 = h.ability(0, np.arange(n)) + self.form + h.blind
        self.rating = np.where((self.runs >= 3) | (self.wins > 0), ability0 + rng.normal(0, 4, n), np.nan)
        self.rpr_mean = np.where(self.runs > 0, ability0, np.nan)
        self.last_run = np.where(self.runs > 0, -rng.integers(7, 60, n), NEVER)
        self.next_ok = np.maximum(h.debut_day, rng.integers(0, 25, n))
        self.retire = h.retire_day.copy()
        # The trainer's view of the best trip: close to the truth, not exact.
        self.trip = h.dist_pref * np.exp(rng.normal(0, 0.12, n))


def ar1_paths(rng: np.random.Generator, days: int, size: int, rho: float, sd: float) -> np.ndarray:
    """[day, person] stationary AR(1) streaks (lbs)."""
    out = np.empty((days, size))
    innovation = sd * np.sqrt(1 - rho**2)
    current = rng.normal(0, sd, size)
    for d in range(days):
        out[d] = current
        current = rho * current + rng.normal(0, innovation, size)
    return out


def simulate(spec: WorldSpec, world: World, calendar: Calendar, tun: Tunables) -> SimOutput:
    rng = rng_for(spec.seed, "engine")
    h = world.horses
    races = calendar.races
    state = HorseState(world, tun, rng)
    day_numbers = np.array([(d - spec.start).days for d in calendar.dates])
    span = int(day_numbers.max()) + 1
    trainer_form = ar1_paths(rng, span, len(world.trainers.name), tun.trainer_form_rho, tun.trainer_form_sd)
    jockey_form = ar1_paths(rng, span, len(world.jockeys.name), tun.jockey_form_rho, tun.jockey_form_sd)
    first_jockey = _first_jockeys(rng, world)
    name_rank = np.argsort(np.argsort(np.array(h.name, dtype=object)))
    race_inputs = _race_inputs(world, races)

    day_bounds = np.searchsorted(races.day, np.arange(len(calendar.dates) + 1))
    kept = np.zeros(races.size, dtype=bool)
    ran = np.zeros(races.size, dtype=np.int64)
    out = Runs()
    for k, date in enumerate(calendar.dates):
        t = int(day_numbers[k])
        rows = np.arange(day_bounds[k], day_bounds[k + 1])
        view = _ready_horses(rng, world, state, t, date.year, tun)
        race, horse = entries.match(rng, races, rows, view)
        # A race needs two declarations to be run at all (otherwise it is abandoned).
        starts = seg.starts_of(race)
        counts = seg.counts_of(starts, race.size)
        big_enough = np.repeat(counts >= 2, counts)
        race, horse = race[big_enough], horse[big_enough]
        if race.size == 0:
            continue
        day = _declare(
            rng,
            world,
            state,
            races,
            race,
            horse,
            t,
            date.year,
            date.month,
            name_rank,
            first_jockey,
            trainer_form[t],
            jockey_form[t],
            tun,
        )
        kept[np.unique(race)] = True
        starter = day["starter"]
        if calendar.is_today[k]:
            ran[race] = 0
            np.add.at(ran, race, 1)
            out.add(**day, **_empty_results(race.size))
            continue
        np.add.at(ran, race[starter], 1)
        res = _results(rng, race_inputs, race, day, tun)
        _move_on(rng, world, state, race, horse, day, res, races, t, tun)
        out.add(**day, **res)
    return SimOutput(world=world, calendar=calendar, runners=out.frame(), race_kept=kept, race_ran=ran)


def _first_jockeys(rng: np.random.Generator, world: World) -> np.ndarray:
    """Each trainer's retained rider: of the trainer's region and code, better yards get better riders."""
    tr, jk = world.trainers, world.jockeys
    out = np.empty(len(tr.name), dtype=np.int64)
    for i in range(len(tr.name)):
        pool = np.flatnonzero((jk.region == tr.region[i]) & (jk.code == tr.code[i]))
        logits = np.log(jk.weight[pool]) + 0.5 * jk.skill[pool] * np.sign(tr.skill[i])
        out[i] = pool[np.argmax(logits + rng.gumbel(size=pool.size))]
    return out


def race_prizes(races: Races) -> np.ndarray:
    """Prize to the winner by class (Irish races a little less)."""
    prize = np.vectorize(WIN_PRIZE.get)(np.clip(races.klass, 1, 7)) * np.where(races.region == 1, 0.8, 1.0)
    return np.round(prize, -1)


def _race_inputs(world: World, races: Races) -> RaceInputs:
    return RaceInputs(
        race_type=races.race_type,
        dist_f=races.dist_f.astype(float),
        going_index=races.going_index,
        aw=races.aw,
        speed=world.courses.speed[races.course],
        par=races.par,
        prize=race_prizes(races),
    )


def _ready_horses(
    rng: np.random.Generator, world: World, state: HorseState, t: int, year: int, tun: Tunables
) -> entries.HorseView:
    h = world.horses
    ready = np.flatnonzero((h.debut_day <= t) & (state.retire > t) & (state.next_ok <= t))
    ready = ready[rng.random(ready.size) < 0.4]  # not every ready horse is aimed at today's races
    rated = ~np.isnan(state.rating[ready])
    # An unrated horse's trainer knows roughly how good it is, but not the talent racing has yet to
    # reveal (otherwise entries would select on what the market is told it cannot know).
    seen = (
        h.ability(t, ready)
        + state.form[ready]
        + h.blind[ready]
        - h.talent[ready] * np.exp(-state.runs[ready] / tun.talent_runs)
    )
    estimate = np.where(rated, state.rating[ready], seen + rng.normal(0, 5, ready.size))
    return entries.HorseView(
        idx=ready,
        code=h.code[ready],
        region=h.region[ready],
        age=year - h.foal_year[ready],
        female=h.female[ready],
        rated=rated,
        rating=state.rating[ready],
        estimate=estimate,
        wins=state.wins[ready],
        obstacle_runs=state.obstacle_runs[ready],
        obstacle_wins=state.obstacle_wins[ready],
        chase_wins=state.chase_wins[ready],
        runs=state.runs[ready],
        chaser=h.chaser[ready],
        trip=state.trip[ready],
        aw_pref=h.aw_pref[ready],
        going_pref=h.going_pref[ready],
        going_sens=h.going_sens[ready],
    )


def _declare(
    rng: np.random.Generator,
    world: World,
    state: HorseState,
    races: Races,
    race: np.ndarray,
    horse: np.ndarray,
    t: int,
    year: int,
    month: int,
    name_rank: np.ndarray,
    first_jockey: np.ndarray,
    trainer_form: np.ndarray,
    jockey_form: np.ndarray,
    tun: Tunables,
) -> dict[str, np.ndarray]:
    """Everything about the day's declared runners known before the off, plus the hidden truth."""
    h = world.horses
    n = race.size
    starts = seg.starts_of(race)
    counts = seg.counts_of(starts, n)
    field = np.repeat(counts, counts)
    age = year - h.foal_year[horse]  # ages go up on 1 January, the racing convention
    rating = state.rating[horse]
    rated = ~np.isnan(rating)
    lbs = entries.weights(races, race, h.code[horse], age, h.female[horse], np.round(rating), state.wins[horse], month)
    draw, num = entries.draws_and_numbers(rng, races, race, lbs, rating, name_rank[horse])
    level = np.where(rated, rating, h.ability(t, horse))
    quality = np.clip((level - np.repeat(seg.seg_mean(level, starts, counts), counts)) / 10.0, -2, 2)
    region = races.region[race]
    code = np.where(races.race_type[race] == FLAT, 0, 1)
    jockey = entries.assign_jockeys(rng, world.jockeys, first_jockey, h.trainer[horse], race, region, code, quality)

    # --- true strength parts (lbs)
    dist = races.dist_f[race]
    going = races.going_index[race]
    aw = races.aw[race]
    comp: dict[str, np.ndarray] = {}
    comp["ability"] = h.ability(t, horse)
    comp["form"] = state.form[horse]
    comp["blind"] = h.blind[horse]
    comp["distance"] = -tun.dist_penalty * np.log(dist / h.dist_pref[horse]) ** 2
    comp["going"] = np.where(aw, 0.0, -tun.going_penalty * h.going_sens[horse] * (going - h.going_pref[horse]) ** 2)
    comp["surface"] = np.where(aw, h.aw_pref[horse], 0.0)
    position = np.where(field > 1, (draw - 1) / np.maximum(field - 1, 1) - 0.5, 0.0)
    sprint = np.sqrt(np.clip(8.0 / dist, 0.5, 1.6))
    bias = world.courses.draw_bias[races.course[race]]
    comp["draw"] = np.where(draw > 0, -bias * position * np.minimum(field / 12.0, 1.2) * sprint, 0.0)
    comp["jockey"] = world.jockeys.skill[jockey]
    comp["jockey_form"] = jockey_form[jockey]
    comp["trainer"] = world.trainers.skill[h.trainer[horse]]
    comp["trainer_form"] = trainer_form[h.trainer[horse]]
    since = t - state.last_run[horse]
    debut = state.last_run[horse] == NEVER
    layoff = np.clip((since - 45) / 150.0, 0, 1) * tun.layoff_penalty * (1 - 0.5 * np.tanh(h.fresh[horse]))
    comp["fitness"] = np.where(debut, -2.0 + 1.5 * h.fresh[horse], -layoff - np.where(since < 10, 1.5, 0.0))
    comp["weight"] = -(lbs - np.repeat(seg.seg_mean(lbs.astype(float), starts, counts), counts))
    # Some runners are not there to win today (an educational run, needing the outing after a
    # break, out of their depth): the market mostly knows; the form book only hints at it.
    not_today = rng.random(n) < tun.not_today_rate * (1 + 1.5 * (since > 120) + 1.0 * debut)
    comp["intent"] = np.where(not_today, -rng.exponential(tun.not_today_lbs, n), 0.0)
    private_sd = tun.private_sd * np.sqrt(
        [
            tun.private_morning_share,
            tun.private_preplay_share,
            1 - tun.private_morning_share - tun.private_preplay_share,
        ]
    )
    private = rng.normal(0, 1, (n, 3)) * private_sd
    lbs_total = sum(comp.values()) + private.sum(axis=1)
    per_unit = np.where(code == 0, tun.lbs_per_unit_flat, tun.lbs_per_unit_jumps)
    # Unraced and lightly raced horses: part of their ability is unknown to the market (and to form).
    unrevealed = np.exp(-state.runs[horse] / tun.talent_runs)
    talent_hidden = h.talent[horse] * unrevealed
    known = sum(tun.market_reads[k] * v for k, v in comp.items()) - talent_hidden

    # --- non-runners: some declared horses come out (more when the ground is against them)
    misery = np.where(aw, 0.0, h.going_sens[horse] * (going - h.going_pref[horse]) ** 2)
    nr = rng.random(n) < tun.non_runner_rate * (0.6 + 0.5 * np.minimum(misery, 3.0))
    remaining = np.repeat(seg.seg_sum((~nr).astype(np.int64), starts), counts)
    nr &= remaining >= 2
    starter = ~nr
    strength = lbs_total / per_unit
    p_true = seg.seg_softmax(strength, starts, counts, mask=starter)

    return {
        "race": race,
        "horse": horse,
        "jockey": jockey,
        "trainer": h.trainer[horse],
        "owner": h.owner[horse],
        "age": age,
        "lbs": lbs,
        "draw": draw,
        "num": num,
        "rating": np.round(rating),
        "since": np.where(debut, -1, since),
        "starter": starter,
        "strength": strength,
        "lbs_per_unit": per_unit,
        "p_true": np.where(starter, p_true, 0.0),
        "known_off": (known + private.sum(axis=1)) / per_unit,
        "private_late": private[:, 2] / per_unit,
        "private_mid": private[:, 1] / per_unit,
        "weight_adj": -comp["weight"],
        "jump_skill": h.jump_skill[horse],
        "c_ability": comp["ability"] + comp["form"] + comp["blind"],
        "c_fit": comp["distance"] + comp["going"] + comp["surface"],
        "c_draw": comp["draw"],
        "c_connections": comp["jockey"] + comp["jockey_form"] + comp["trainer"] + comp["trainer_form"],
        "c_fitness": comp["fitness"] + comp["intent"],
        "c_private": private.sum(axis=1),
        "c_weight": comp["weight"],
        "hidden": (lbs_total - known - private.sum(axis=1) - talent_hidden) / per_unit,
        "talent_sd": tun.talent_sd * unrevealed / per_unit,
    }


def _empty_results(n: int) -> dict[str, np.ndarray]:
    return {
        "pos_num": np.zeros(n, dtype=np.int64),
        "pos_raw": np.full(n, None, dtype=object),
        "won": np.zeros(n, dtype=bool),
        "btn": np.full(n, np.nan),
        "ovr_btn": np.full(n, np.nan),
        "secs": np.full(n, np.nan),
        "rpr": np.full(n, np.nan),
        "comment": np.full(n, None, dtype=object),
        "prize": np.full(n, np.nan),
        "finished": np.zeros(n, dtype=bool),
    }


def _results(
    rng: np.random.Generator, race_inputs: RaceInputs, race: np.ndarray, day: dict[str, np.ndarray], tun: Tunables
) -> dict[str, np.ndarray]:
    starter = day["starter"]
    s_race = race[starter]
    # Renumber the starters' races 0..k-1 for the per-race arrays.
    uniq, local = np.unique(s_race, return_inverse=True)
    sub = RaceInputs(**{k: getattr(race_inputs, k)[uniq] for k in RaceInputs.__dataclass_fields__})
    res = draw_results(
        rng,
        local,
        day["strength"][starter],
        day["lbs_per_unit"][starter],
        day["weight_adj"][starter],
        day["jump_skill"][starter],
        sub,
        tun.dead_heat_share,
        tun.finish_exponents,
        tun.finish_favourite_discount,
    )
    out = _empty_results(race.size)
    for key in out:
        out[key][starter] = getattr(res, key)
    return out


def _move_on(
    rng: np.random.Generator,
    world: World,
    state: HorseState,
    race: np.ndarray,
    horse: np.ndarray,
    day: dict[str, np.ndarray],
    res: dict[str, np.ndarray],
    races: Races,
    t: int,
    tun: Tunables,
) -> None:
    """After racing: marks reassessed, form evolves, record updated, next run planned."""
    h = world.horses
    ran = day["starter"]
    hr = horse[ran]
    flat = h.code[hr] == FLAT_CODE
    rpr = res["rpr"][ran]
    finished = res["finished"][ran]
    won = res["won"][ran]
    state.runs[hr] += 1
    state.wins[hr] += won
    obstacle = races.race_type[race[ran]] != FLAT
    state.obstacle_runs[hr] += obstacle & (races.race_type[race[ran]] != 3)
    state.obstacle_wins[hr] += won & obstacle & (races.race_type[race[ran]] != 3)
    state.chase_wins[hr] += won & (races.race_type[race[ran]] == 2)
    state.last_run[hr] = t
    # Handicapper: marks follow performances, up quicker than down; new marks after three runs or a win.
    mark = state.rating[hr]
    rated = ~np.isnan(mark)
    seen = np.where(finished, rpr, np.nan)
    mean = np.where(
        np.isnan(state.rpr_mean[hr]), seen, 0.6 * state.rpr_mean[hr] + 0.4 * np.nan_to_num(seen, nan=state.rpr_mean[hr])
    )
    state.rpr_mean[hr] = np.where(finished, mean, state.rpr_mean[hr])
    step = np.where(seen > mark, np.where(won, 0.45, 0.3), 0.15)
    new_mark = np.where(finished & rated, mark + step * (seen - mark), mark)
    first_mark = ~rated & finished & ((state.runs[hr] >= 3) | won)
    new_mark = np.where(first_mark, state.rpr_mean[hr] - 2.0, new_mark)
    state.rating[hr] = np.clip(new_mark, 0, np.where(flat, 140, 180))
    state.form[hr] = tun.form_rho * state.form[hr] + rng.normal(0, tun.form_sd, hr.size)
    # Next run: a few weeks, sometimes a long break (injury), longer after a fall or pull-up.
    gap = np.where(flat, 9 + rng.gamma(2.0, 9.0, hr.size), 13 + rng.gamma(2.0, 11.0, hr.size))
    injured = rng.random(hr.size) < np.where(finished, 0.04, 0.14)
    gap = np.where(injured, rng.integers(90, 380, hr.size), gap)
    state.next_ok[hr] = t + gap.astype(np.int64)
    state.retire[hr] = np.where(rng.random(hr.size) < 0.006, t + 1, state.retire[hr])
    # Non-runners may be declared again soon.
    out = horse[~ran]
    state.next_ok[out] = t + rng.integers(3, 12, out.size)
