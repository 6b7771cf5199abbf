"""From the simulator's arrays to frames shaped like racing.races / racing.runners (with names in
place of dimension ids, which the loader resolves), plus the hidden truth for the sim schema."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from giddyup.loaders.racing_writer import stable_key
from giddyup.sim.calendar import HANDICAP, RACE_TYPES, going_text
from giddyup.sim.engine import SimOutput, race_prizes
from giddyup.sim.world import FLAT_CODE

AT_OFF_PRICE_COLUMNS = (
    "dec",
    "win_bsp",
    "win_ppwap",
    "win_ppmax",
    "win_ppmin",
    "win_morningwap",
    "win_morning_vol",
    "win_pre_vol",
    "win_ip_vol",
    "place_bsp",
)
RESULT_COLUMNS = (
    "pos_raw",
    "ovr_btn",
    "btn",
    "time_raw",
    "secs",
    "prize",
    "rpr",
    "comment",
    "win_ipmax",
    "win_ipmin",
    "win_lose",
    "place_win_lose",
)


@dataclass
class WorldFrames:
    courses: pl.DataFrame  # course_name, region
    races: pl.DataFrame  # racing.races columns + course_name (+ sim-only columns prefixed t_)
    runners: pl.DataFrame  # racing.runners columns + names (+ sim-only columns prefixed t_)


def text(values: np.ndarray) -> pl.Series:
    """A text column from a numpy array where None or '' mean NULL."""
    return pl.Series([v if v else None for v in values.tolist()], dtype=pl.String)


def dist_raw(furlongs: pl.Expr) -> pl.Expr:
    miles = (furlongs // 8).cast(pl.Int64)
    rest = (furlongs % 8).cast(pl.Int64)
    return pl.when(miles > 0).then(pl.format("{}m", miles)).otherwise(pl.lit("")) + pl.when(rest > 0).then(
        pl.format("{}f", rest)
    ).otherwise(pl.lit(""))


def time_raw(secs: pl.Expr) -> pl.Expr:
    """Race time as printed in results: `1:38.20`, or `59.87` under a minute."""
    cents = (secs * 100).round(0).cast(pl.Int64)
    minutes = cents // 6000
    seconds = (cents % 6000) // 100
    hundredths = cents % 100
    tail = seconds.cast(pl.String).str.zfill(2) + "." + hundredths.cast(pl.String).str.zfill(2)
    short = seconds.cast(pl.String) + "." + hundredths.cast(pl.String).str.zfill(2)
    return (
        pl.when(secs.is_null()).then(None).when(minutes > 0).then(minutes.cast(pl.String) + ":" + tail).otherwise(short)
    )


def build_frames(sim: SimOutput, prices: dict[str, np.ndarray]) -> WorldFrames:
    w, cal = sim.world, sim.calendar
    races = cal.races
    kept = np.flatnonzero(sim.race_kept)
    dates = np.array(cal.dates, dtype="datetime64[D]")
    day = races.day[kept]
    region = np.where(races.region[kept] == 1, "IRE", "GB")
    ire = races.region[kept] == 1
    handicap = races.category[kept] == HANDICAP
    upper = races.band_upper[kept].astype(np.int64)
    klass = races.klass[kept]
    prelim = cal.is_today[day]
    race_frame = pl.DataFrame(
        {
            "race_date": dates[day],
            "region": region,
            "course_name": w.courses.name[races.course[kept]],
            "off_time": pl.Series(races.off_min[kept].astype(np.int64) * 60 * 1_000_000_000).cast(pl.Time),
            "race_name": races.name[kept].astype(str),
            "race_type": RACE_TYPES[races.race_type[kept]],
            # Irish races carry no class (as in the real data); their handicaps show a rating band.
            "class": text(np.where(ire, "", np.char.add("Class ", klass.astype(str)))),
            "pattern": text(races.pattern[kept]),
            "rating_band": text(
                np.where(
                    handicap,
                    np.where(
                        ire,
                        np.char.add(np.char.add((upper - 20).astype(str), "-"), upper.astype(str)),
                        np.char.add("0-", upper.astype(str)),
                    ),
                    "",
                )
            ),
            "age_band": np.array(["2yo", "3yo", "3yo+", "4yo+", "5yo+", "4yo", "4-6yo"])[races.age_band[kept]],
            "sex_rest": text(races.sex_rest[kept]),
            "dist_f": races.dist_f[kept].astype(float),
            "going": going_text(races.going_index[kept], races.aw[kept], ire),
            "surface": np.where(races.aw[kept], "AW", "Turf"),
            "ran": sim.race_ran[kept].astype(np.int64),
            "prelim": prelim,
            "t_race": kept,
            "t_race_type": races.race_type[kept].astype(np.int64),
            "t_going_index": races.going_index[kept],
            "t_speed": w.courses.speed[races.course[kept]],
            "t_par": races.par[kept],
            "t_prize": race_prizes(races)[kept],
        },
        strict=False,
    ).with_columns(
        pl.col("race_date").cast(pl.Date),
        dist_raw(pl.col("dist_f")).alias("dist_raw"),
        (pl.col("dist_f") * 201.168).round(0).cast(pl.Int32).alias("dist_m"),
    )
    race_frame = race_frame.with_columns(
        stable_key(
            pl.col("race_date"),
            pl.col("region"),
            pl.col("course_name"),
            pl.col("off_time").dt.strftime("%H:%M"),
            pl.col("race_name"),
            pl.col("race_type"),
        ).alias("race_key")
    )
    runner_frame = _runners(sim, prices, race_frame)
    courses = pl.DataFrame({"course_name": w.courses.name, "region": np.where(w.courses.region == "IRE", "IRE", "GB")})
    return WorldFrames(courses=courses, races=race_frame, runners=runner_frame)


def _sex(code: np.ndarray, female: np.ndarray, gelding: np.ndarray, age: np.ndarray) -> np.ndarray:
    young = age <= 4
    flat = np.where(female, np.where(young, "f", "m"), np.where(gelding, "g", np.where(young, "c", "h")))
    jumps = np.where(female, "m", np.where(gelding, "g", "h"))
    return np.where(code == FLAT_CODE, flat, jumps)


def _runners(sim: SimOutput, prices: dict[str, np.ndarray], race_frame: pl.DataFrame) -> pl.DataFrame:
    w = sim.world
    h = w.horses
    r = sim.runners
    horse = r["horse"]
    starter = r["starter"]
    resulted = ~sim.calendar.is_today[sim.calendar.races.day[r["race"]]]
    show = starter & resulted  # after-race columns exist only for starters of run races

    def after(values: np.ndarray) -> np.ndarray:
        return np.where(show, values, np.nan)

    names = np.array(h.name, dtype=object)
    frame = pl.DataFrame(
        {
            "t_race": r["race"],
            "horse_name": names[horse],
            "jockey_name": np.array(w.jockeys.name, dtype=object)[r["jockey"]],
            "trainer_name": np.array(w.trainers.name, dtype=object)[r["trainer"]],
            "owner_name": np.array(w.owners, dtype=object)[r["owner"]],
            "num": r["num"],
            "draw": np.where(r["draw"] > 0, r["draw"], -1),
            "age": r["age"],
            "sex": _sex(h.code[horse], h.female[horse], h.gelding[horse], r["age"]),
            "lbs": r["lbs"],
            "hg": text(h.headgear[horse]),
            "or": r["rating"],
            "pos_raw": text(np.where(show, r["pos_raw"], np.array(None, dtype=object))),
            "ovr_btn": after(r["ovr_btn"]),
            "btn": after(r["btn"]),
            "secs": np.round(after(r["secs"]), 2),
            "prize": after(r["prize"]),
            "rpr": after(r["rpr"]),
            "comment": text(np.where(show, r["comment"], np.array(None, dtype=object))),
            **{k: (after(v) if k in AT_OFF_PRICE_COLUMNS or k in RESULT_COLUMNS else v) for k, v in prices.items()},
            "betfair_selection_id": h.selection_id[horse],
            # hidden truth, for the sim schema only
            "t_starter": starter,
            "t_p_true": np.where(starter, r["p_true"], np.nan),
            "t_strength": r["strength"],
            "t_lbs_per_unit": r["lbs_per_unit"],
            "t_weight_adj": r["weight_adj"],
            "t_jump_skill": r["jump_skill"],
            "t_p_market": prices["_p_off"],
            **{
                f"t_{k}": r[k]
                for k in ("c_ability", "c_fit", "c_draw", "c_connections", "c_fitness", "c_private", "c_weight")
            },
            # at-the-off prices of today's starters, revealed by `giddyup results`
            **{f"t_close_{k}": np.where(starter & ~resulted, prices[k], np.nan) for k in AT_OFF_PRICE_COLUMNS},
        },
        strict=False,
    )
    frame = frame.drop([c for c in frame.columns if c.startswith("_")])
    frame = frame.with_columns(
        pl.col("draw").replace(-1, None),
        pl.col(pl.Float64).fill_nan(None),
    ).with_columns(
        time_raw(pl.col("secs")).alias("time_raw"),
        pl.col("or").cast(pl.Int64),
        pl.col("rpr").cast(pl.Int64),
        pl.col("win_lose").cast(pl.Int64),
        pl.col("place_win_lose").cast(pl.Int64),
    )
    frame = frame.join(
        race_frame.select("t_race", "race_key", "race_date"), on="t_race", how="left", maintain_order="left"
    )
    return frame.with_columns(
        stable_key(pl.col("race_key"), pl.col("horse_name"), pl.col("num"), pl.col("draw")).alias("runner_key")
    )
