"""A tiny deterministic racing world for the feature and leakage tests.

Not the simulator: just enough structure for features to have something to find (horse ability,
jockey and trainer skill, a draw bias at one course, going preferences, a noisy market) and every
data quirk the features must survive: non-runners (pos_raw NULL, dec NULL) in resulted races,
non-finishers (PU, F, UR) that stay in the book, dead heats (`1DH`), a horse running twice on one
day, missing official ratings, and two flavours of data:

- `style="uk"`: furlongs, RPR, SP (`dec`), Betfair SP, exchange WAPs, best_odds;
- `style="hk"`: metres only (dist_f NULL), no RPR, no Betfair prices, ratings missing for many
  runners in the later part of the period, only `dec` as a price.

Rows go in through giddyup.loaders.racing_writer like every real loader's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import psycopg

from giddyup.db.devcopy import require_dev_copy
from giddyup.loaders import racing_writer as rw

GOINGS_UK = ["Firm", "Good To Firm", "Good", "Good To Soft", "Soft", "Heavy"]
GOINGS_HK = ["GOOD TO FIRM", "GOOD", "GOOD TO YIELDING", "YIELDING", "SOFT"]
NON_FINISH_CODES = ["PU", "F", "UR"]


@dataclass(frozen=True)
class WorldSpec:
    seed: int = 7
    style: str = "uk"  # "uk" or "hk"
    start: dt.date = dt.date(2022, 1, 3)
    racing_days: int = 60
    day_step: int = 2  # a meeting every `day_step` calendar days
    races_per_day: int = 4
    n_horses: int = 220
    n_jockeys: int = 25
    n_trainers: int = 15
    n_courses: int = 3
    min_field: int = 4
    max_field: int = 12
    prelim_day: bool = False  # add one day of declarations (prelim races) after the last day


def generate(spec: WorldSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(races, runners) frames in racing-schema shape, with names instead of dimension ids."""
    rng = np.random.default_rng(spec.seed)
    hk = spec.style == "hk"
    ability = rng.normal(0.0, 1.0, spec.n_horses)
    going_pref = rng.normal(0.0, 0.3, spec.n_horses)  # + likes soft ground
    trainer_of = rng.integers(0, spec.n_trainers, spec.n_horses)
    trainer_skill = rng.normal(0.0, 0.3, spec.n_trainers)
    jockey_skill = rng.normal(0.0, 0.3, spec.n_jockeys)
    age0 = rng.integers(2, 7, spec.n_horses)
    sexes = np.array(["g", "f", "c", "m"])[rng.integers(0, 4, spec.n_horses)]
    goings = GOINGS_HK if hk else GOINGS_UK
    regions = ["HK"] if hk else ["GB", "IRE"]
    course_names = [f"{'Sha Tin' if hk else 'Course'} {i}" for i in range(spec.n_courses)]
    course_region = [regions[i % len(regions)] for i in range(spec.n_courses)]
    race_types = ["Flat"] if hk else ["Flat", "Flat", "Hurdle", "Chase"]

    race_rows: list[dict] = []
    runner_rows: list[dict] = []
    days = [spec.start + dt.timedelta(days=spec.day_step * i) for i in range(spec.racing_days)]
    if spec.prelim_day:
        days.append(days[-1] + dt.timedelta(days=spec.day_step))
    for day_index, day in enumerate(days):
        prelim = spec.prelim_day and day_index == len(days) - 1
        late_season = day_index > 0.6 * spec.racing_days
        ran_today: set[int] = set()
        for race_no in range(spec.races_per_day):
            course = int(rng.integers(0, spec.n_courses))
            race_type = race_types[int(rng.integers(0, len(race_types)))]
            dist_f = float(rng.choice([5.0, 6.0, 7.0, 8.0, 10.0, 12.0] if race_type == "Flat" else [16.0, 20.0, 24.0]))
            going = goings[int(rng.integers(0, len(goings)))]
            softness = goings.index(going) / (len(goings) - 1) - 0.5
            field = int(rng.integers(spec.min_field, spec.max_field + 1))
            pool = np.setdiff1d(np.arange(spec.n_horses), np.fromiter(ran_today, int, len(ran_today)))
            horses = rng.choice(pool, size=min(field, pool.size), replace=False)
            runs_twice = day_index == 5 and race_no == 1 and not prelim
            if runs_twice:  # a horse that started in the day's previous race runs again
                previous = race_rows[-1]["race_key"]
                horses[0] = next(r["_horse"] for r in runner_rows if r["race_key"] == previous and r.get("pos_raw"))
            ran_today.update(int(h) for h in horses)
            jockeys = rng.choice(spec.n_jockeys, size=horses.size, replace=False)
            handicap = bool(rng.random() < 0.5)
            race_key = f"{spec.style}-{spec.seed}-{day.isoformat()}-{race_no}"
            race_rows.append(
                {
                    "race_key": race_key,
                    "race_date": day,
                    "region": course_region[course],
                    "course_name": course_names[course],
                    "off_time": dt.time(12 + race_no % 9, 5 * (race_no // 9) + (30 if race_no % 2 else 0)),
                    "race_name": f"{'Handicap' if handicap else 'Stakes'} {race_no}",
                    "race_type": race_type,
                    "class": f"Class {int(rng.integers(1, 6))}",
                    "rating_band": "0-100" if handicap else None,
                    "dist_f": None if hk else dist_f,
                    "dist_m": int(round(dist_f * 201.168 / 10) * 10),
                    "going": going,
                    "surface": "TURF" if hk else "Turf",
                    "ran": int(horses.size),
                    "prelim": prelim,
                }
            )
            draws = rng.permutation(horses.size) + 1 if race_type == "Flat" else np.full(horses.size, -1)
            draw_effect = np.where(draws > 0, -0.15 * (draws - 1) / max(horses.size - 1, 1), 0.0)
            if course != 0:
                draw_effect = draw_effect * 0.0  # only course 0 has a draw bias
            strength = (
                ability[horses]
                + trainer_skill[trainer_of[horses]]
                + jockey_skill[jockeys]
                + going_pref[horses] * softness
                + draw_effect
            )
            perf = strength + rng.normal(0.0, 0.9, horses.size)
            rating = np.round(70 + 12 * ability[horses] + rng.normal(0, 3, horses.size))
            lbs = np.round(133 + (rating - rating.mean()) * (0.8 if handicap else 0.1)).astype(int)
            nonrunner = rng.random(horses.size) < 0.04
            nonfinish = (rng.random(horses.size) < (0.08 if race_type != "Flat" else 0.01)) & ~nonrunner
            if nonrunner.sum() >= horses.size - 1:
                nonrunner[:] = False
            if runs_twice:
                nonrunner[0] = False
            order = np.argsort(-np.where(nonrunner | nonfinish, -np.inf, perf), kind="stable")
            starters = ~nonrunner
            true_p = np.exp(1.6 * strength) * starters
            true_p = true_p / true_p.sum()
            noisy = np.exp(np.log(np.maximum(true_p, 1e-9)) + rng.normal(0, 0.25, horses.size)) * starters
            market_p = noisy / noisy.sum()
            winner_secs = dist_f * 12.5 * (1.0 + 0.03 * softness) - 0.4 * perf.max() + rng.normal(0, 0.3)
            finishers = [i for i in order if starters[i] and not nonfinish[i]]
            leader_perf = perf[finishers[0]]
            dead_heat = len(finishers) > 3 and rng.random() < 0.05
            for i in range(horses.size):
                row: dict = {
                    "runner_key": f"{race_key}-{int(horses[i])}",
                    "race_key": race_key,
                    "race_date": day,
                    "horse_name": f"Horse {spec.style} {int(horses[i])}",
                    "jockey_name": f"Jockey {spec.style} {int(jockeys[i])}",
                    "trainer_name": f"Trainer {spec.style} {int(trainer_of[horses[i]])}",
                    "num": i + 1,
                    "draw": int(draws[i]) if draws[i] > 0 else None,
                    "age": int(age0[horses[i]] + day_index // 200),
                    "sex": str(sexes[horses[i]]),
                    "lbs": int(lbs[i]),
                    "hg": "b" if (horses[i] + day_index) % 9 == 0 else None,
                    "or": None
                    if (hk and late_season and rng.random() < 0.6) or rng.random() < 0.05
                    else int(rating[i]),
                    "_horse": int(horses[i]),
                }
                if not prelim and starters[i]:
                    if nonfinish[i]:
                        row["pos_raw"] = NON_FINISH_CODES[int(rng.integers(0, 3))]
                    else:
                        place = finishers.index(i) + 1
                        row["pos_raw"] = str(place)
                        gap = float(np.clip((leader_perf - perf[i]) * 6.0, 0.0, 60.0))
                        row["ovr_btn"] = round(gap * 4) / 4
                        row["secs"] = round(winner_secs + 0.2 * row["ovr_btn"], 2)
                        if dead_heat and place <= 2:
                            row["pos_raw"] = "1DH"
                            row["ovr_btn"] = 0.0
                            row["secs"] = round(winner_secs, 2)
                    row["btn"] = row.get("ovr_btn")
                    row["time_raw"] = None if "secs" not in row else f"{row['secs']:.2f}"
                    row["dec"] = round(float(max(1.01, 1.0 / (market_p[i] * 1.18))), 2)
                    if not hk:
                        row["rpr"] = round(float(70 + 12 * perf[i])) if not nonfinish[i] else None
                        row["win_bsp"] = round(float(max(1.01, 1.0 / market_p[i] * rng.uniform(0.95, 1.1))), 2)
                    row["comment"] = "led, kept on" if row["pos_raw"] == "1" else "never nearer"
                if not hk and starters[i]:
                    row["win_ppwap"] = round(float(max(1.01, 1.0 / market_p[i] * rng.uniform(0.9, 1.1))), 2)
                    row["win_morningwap"] = round(float(max(1.01, 1.0 / market_p[i] * rng.uniform(0.8, 1.2))), 2)
                    row["best_odds"] = round(float(max(1.01, 1.0 / (market_p[i] * 1.1))), 2)
                    row["win_pre_vol"] = round(float(rng.uniform(100, 50000)), 0)
                    row["win_morning_vol"] = round(float(rng.uniform(10, 5000)), 0)
                runner_rows.append(row)
    races = pl.DataFrame(race_rows, infer_schema_length=None)
    runners = pl.DataFrame(runner_rows, infer_schema_length=None).drop("_horse")
    return races, runners


RUNNER_VALUE_COLUMNS = {
    "num": pl.Int32,
    "draw": pl.Int32,
    "age": pl.Int32,
    "sex": pl.String,
    "lbs": pl.Int32,
    "hg": pl.String,
    "or": pl.Int32,
    "pos_raw": pl.String,
    "ovr_btn": pl.Float64,
    "btn": pl.Float64,
    "time_raw": pl.String,
    "secs": pl.Float64,
    "dec": pl.Float64,
    "rpr": pl.Int32,
    "comment": pl.String,
    "win_bsp": pl.Float64,
    "win_ppwap": pl.Float64,
    "win_morningwap": pl.Float64,
    "best_odds": pl.Float64,
    "win_pre_vol": pl.Float64,
    "win_morning_vol": pl.Float64,
}


def write(conn: psycopg.Connection, races: pl.DataFrame, runners: pl.DataFrame) -> None:
    """Write a generated world into racing.* of a dev copy (idempotent, like every loader)."""
    require_dev_copy(conn, "test world")
    with conn.transaction():
        rw.ensure_partitions(conn, races.get_column("race_date"))
        courses = rw.upsert_courses(conn, races.select("course_name", "region"))
        race_frame = races.join(courses, on=["course_name", "region"], how="left").drop("course_name")
        race_frame = race_frame.with_columns(pl.col("off_time").cast(pl.Time), pl.col("dist_f").cast(pl.Float64))
        race_ids = rw.upsert_keyed(
            conn, "races", race_frame, key=("race_key", "race_date"), returning=("race_key", "race_date", "race_id")
        )
        ids = {}
        for table, column in (("horses", "horse_name"), ("jockeys", "jockey_name"), ("trainers", "trainer_name")):
            ids[table] = rw.upsert_dimension(conn, table, runners.get_column(column))
        frame = runners
        for column in RUNNER_VALUE_COLUMNS:
            if column not in frame.columns:
                frame = frame.with_columns(pl.lit(None).alias(column))
        frame = (
            frame.with_columns([pl.col(c).cast(t) for c, t in RUNNER_VALUE_COLUMNS.items()])
            .join(race_ids, on=["race_key", "race_date"], how="left")
            .join(ids["horses"], on="horse_name", how="left")
            .join(ids["jockeys"], on="jockey_name", how="left")
            .join(ids["trainers"], on="trainer_name", how="left")
            .drop("race_key", "horse_name", "jockey_name", "trainer_name")
        )
        rw.upsert_keyed(conn, "runners", frame, key=("runner_key", "race_date"))


def build_world(dsn: str, spec: WorldSpec) -> None:
    races, runners = generate(spec)
    with psycopg.connect(dsn) as conn:
        write(conn, races, runners)
