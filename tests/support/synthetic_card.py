"""A synthetic race day for tests and the race-day benchmark: a prelim card, intraday exchange
ticks, results, and a rating-based stand-in win model.

Written through the racing writer into a dev-copy database. Each runner has a hidden strength;
its official rating carries part of it (what the stand-in model sees), the market another part
(bookmaker and exchange prices), and results are drawn from the true probabilities, so model,
market and outcomes are related as in a real day without being the same thing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import psycopg

from giddyup.db.devcopy import require_dev_copy
from giddyup.features.contract import FeatureSet
from giddyup.loaders.racing_writer import (
    copy_to_temp,
    ensure_partitions,
    stable_key,
    upsert_courses,
    upsert_dimension,
    upsert_keyed,
)

COURSES = ("Kempton", "Ascot", "Newbury", "Leopardstown", "Musselburgh", "Wolverhampton")
BOOKMAKER_OVERROUND = 1.18
EXCHANGE_OVERROUND = 1.01


@dataclass(frozen=True)
class Card:
    race_date: dt.date
    races: pl.DataFrame  # race_id, race_name, off_time, course_name, ran
    runners: pl.DataFrame  # race_id, runner_id, horse_id, strength, p_true, or


def _softmax_by_race(race_index: np.ndarray, scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max())
    totals = np.bincount(race_index, weights=exp)
    return exp / totals[race_index]


def _unless(missing: np.ndarray, values: np.ndarray) -> pl.Series:
    return pl.Series(np.where(missing, np.nan, values), dtype=pl.Float64).fill_nan(None)


def write_card(
    conn: psycopg.Connection,
    race_date: dt.date,
    *,
    n_races: int = 48,
    seed: int = 1,
    first_off: dt.time = dt.time(12, 0),
    last_off: dt.time = dt.time(20, 45),
    field_sizes: tuple[int, int] = (5, 16),
    handicap_share: float = 0.4,
    no_price_share: float = 0.0,
) -> Card:
    """Write `n_races` prelim races of `race_date` (UK-local off times between first and last off)."""
    require_dev_copy(conn, "synthetic card")
    rng = np.random.default_rng(seed)
    span = (dt.datetime.combine(race_date, last_off) - dt.datetime.combine(race_date, first_off)).seconds // 60
    offsets = np.sort(rng.choice(np.arange(0, span + 1, 5), size=n_races, replace=n_races > span // 5 + 1))
    sizes = rng.integers(field_sizes[0], field_sizes[1] + 1, size=n_races)
    handicap = rng.random(n_races) < handicap_share
    races = pl.DataFrame(
        {
            "race_date": [race_date] * n_races,
            "region": ["GB"] * n_races,
            "course_name": [COURSES[i % len(COURSES)] for i in range(n_races)],
            "off_time": [
                (dt.datetime.combine(race_date, first_off) + dt.timedelta(minutes=int(m))).time() for m in offsets
            ],
            "race_name": [
                f"Synthetic {'Handicap' if h else 'Novice Stakes'} {seed}-{i}" for i, h in enumerate(handicap)
            ],
            "race_type": ["Flat"] * n_races,
            "class": ["Class 4"] * n_races,
            "dist_f": [8.0] * n_races,
            "going": ["Good"] * n_races,
            "surface": ["Turf"] * n_races,
            "ran": sizes.astype(np.int32),
            "prelim": [True] * n_races,
        }
    )
    ensure_partitions(conn, races["race_date"])
    courses = upsert_courses(conn, races.select("course_name", "region"))
    races = races.join(courses, on=["course_name", "region"]).with_columns(
        stable_key(*(pl.col(c) for c in ("race_date", "region", "course_name", "off_time", "race_name"))).alias(
            "race_key"
        )
    )
    race_ids = upsert_keyed(
        conn,
        "races",
        races.drop("course_name"),
        key=("race_key", "race_date"),
        returning=("race_key", "race_id"),
    )
    races = races.join(race_ids, on="race_key")

    race_index = np.repeat(np.arange(n_races), sizes)
    n = int(sizes.sum())
    strength = rng.normal(0.0, 1.0, n)
    p_true = _softmax_by_race(race_index, strength)
    rating = np.round(70 + 8 * (strength + rng.normal(0, 0.8, n))).astype(np.int32)
    p_market = _softmax_by_race(race_index, strength + rng.normal(0, 0.5, n))
    horse_names = [f"Synth {seed} Horse {i}" for i in range(n)]
    horses = upsert_dimension(conn, "horses", pl.Series(horse_names))
    trainers = upsert_dimension(conn, "trainers", pl.Series([f"Synth Trainer {i % 40}" for i in range(n)]))
    jockeys = upsert_dimension(conn, "jockeys", pl.Series([f"Synth Jockey {i % 60}" for i in range(n)]))
    unpriced = rng.random(n) < no_price_share
    runner_race = races.select("race_id", "race_key").with_row_index("race_index")
    num = np.concatenate([np.arange(1, s + 1) for s in sizes])
    runners = (
        pl.DataFrame(
            {
                "race_index": race_index.astype(np.uint32),
                "race_date": [race_date] * n,
                "horse_name": horse_names,
                "trainer_name": [f"Synth Trainer {i % 40}" for i in range(n)],
                "jockey_name": [f"Synth Jockey {i % 60}" for i in range(n)],
                "num": num.astype(np.int32),
                "draw": num.astype(np.int32),
                "age": rng.integers(3, 8, n).astype(np.int32),
                "lbs": rng.integers(118, 140, n).astype(np.int32),
                "or": rating,
                "best_odds": _unless(unpriced, np.round(np.maximum(1.01, 1 / (p_market * BOOKMAKER_OVERROUND)), 2)),
                "best_bookmaker": ["Synthbet"] * n,
                "win_morningwap": _unless(unpriced, np.round(np.maximum(1.01, 1 / (p_market * EXCHANGE_OVERROUND)), 2)),
                "win_morning_vol": _unless(unpriced, np.round(rng.gamma(2.0, 800.0, n), 0)),
            }
        )
        .with_columns(pl.col("race_index").cast(pl.UInt32))
        .join(runner_race.with_columns(pl.col("race_index").cast(pl.UInt32)), on="race_index")
        .join(horses, on="horse_name")
        .join(trainers, on="trainer_name")
        .join(jockeys, on="jockey_name")
        .with_columns(stable_key(pl.col("race_key"), pl.col("horse_name"), pl.col("num")).alias("runner_key"))
    )
    runner_ids = upsert_keyed(
        conn,
        "runners",
        runners.drop("race_index", "race_key", "horse_name", "trainer_name", "jockey_name"),
        key=("runner_key", "race_date"),
        returning=("runner_key", "runner_id"),
    )
    runners = runners.join(runner_ids, on="runner_key").with_columns(
        pl.Series("strength", strength), pl.Series("p_true", p_true), pl.Series("p_market", p_market)
    )
    return Card(
        race_date=race_date,
        races=races.select("race_id", "race_name", "off_time", "course_name", "ran").sort("off_time", "race_id"),
        runners=runners.select("race_id", "runner_id", "horse_id", "num", "or", "strength", "p_true", "p_market"),
    )


def write_live_ticks(
    conn: psycopg.Connection,
    card: Card,
    *,
    start: dt.datetime,
    every_minutes: int = 5,
    race_tz: str = "Europe/London",
    seed: int = 2,
) -> int:
    """Exchange ticks for every runner from `start` (UTC) to its race's off, every few minutes:
    back prices drift in log-odds around the market, traded volume grows. Returns rows written."""
    from giddyup.timeutil import off_instant

    require_dev_copy(conn, "synthetic live ticks")
    rng = np.random.default_rng(seed)
    offs = {
        row["race_id"]: off_instant(card.race_date, row["off_time"], race_tz)
        for row in card.races.iter_rows(named=True)
    }
    frames = []
    for race_id, runners in card.runners.group_by("race_id", maintain_order=True):
        off = offs[race_id[0]]
        steps = max(0, int((off - start).total_seconds() // 60 // every_minutes))
        if steps == 0:
            continue
        ts = [start + dt.timedelta(minutes=every_minutes * k) for k in range(steps)]
        p = runners.get_column("p_market").to_numpy()
        drift = np.cumsum(rng.normal(0, 0.03, (steps, p.size)), axis=0)
        logit = np.log(p)[None, :] + drift
        probs = np.exp(logit) / np.exp(logit).sum(axis=1, keepdims=True)
        back = np.round(np.maximum(1.01, 1 / (probs * EXCHANGE_OVERROUND)), 2)
        volume = np.cumsum(rng.gamma(1.5, 60.0, (steps, p.size)), axis=0)
        frames.append(
            pl.DataFrame(
                {
                    "race_id": np.repeat(race_id[0], steps * p.size),
                    "runner_id": np.tile(runners.get_column("runner_id").to_numpy(), steps),
                    "ts": pl.Series([t for t in ts for _ in range(p.size)], dtype=pl.Datetime("us", "UTC")),
                    "back_price": back.ravel(),
                    "lay_price": np.round(back.ravel() * 1.02, 2),
                    "vwap": back.ravel(),
                    "traded_vol": np.round(volume.ravel(), 0),
                }
            )
        )
    if not frames:
        return 0
    ticks = pl.concat(frames)
    with conn.transaction():
        copy_to_temp(conn, "stage_live_prices", ticks)
        conn.execute(
            """INSERT INTO racing.live_prices (race_id, runner_id, ts, back_price, lay_price, vwap, traded_vol)
               SELECT race_id, runner_id, ts, back_price, lay_price, vwap, traded_vol FROM stage_live_prices
               ON CONFLICT (runner_id, ts) DO NOTHING"""
        )
    return ticks.height


def write_results(conn: psycopg.Connection, card: Card, *, seed: int = 3, race_ids: list[int] | None = None) -> None:
    """Result the card's races (or some of them): finishing order drawn from the true
    probabilities, SP and Betfair SP near the final market, prelim set to false."""
    require_dev_copy(conn, "synthetic results")
    rng = np.random.default_rng(seed)
    chosen = card.races if race_ids is None else card.races.filter(pl.col("race_id").is_in(race_ids))
    updates = []
    for row in chosen.iter_rows(named=True):
        runners = card.runners.filter(pl.col("race_id") == row["race_id"])
        p = runners.get_column("p_true").to_numpy()
        order = rng.choice(p.size, size=p.size, replace=False, p=p)  # Plackett-Luce: a draw without replacement
        position = np.empty(p.size, dtype=int)
        position[order] = np.arange(1, p.size + 1)
        final = runners.get_column("p_market").to_numpy() * np.exp(rng.normal(0, 0.1, p.size))
        final = final / final.sum()
        updates.append(
            pl.DataFrame(
                {
                    "runner_id": runners.get_column("runner_id"),
                    "pos_raw": [str(x) for x in position],
                    "win_bsp": np.round(np.maximum(1.01, 1 / final), 2),
                    "dec": np.round(np.maximum(1.01, 1 / (final * BOOKMAKER_OVERROUND)), 2),
                }
            )
        )
    if not updates:
        return
    results = pl.concat(updates)
    with conn.transaction():
        copy_to_temp(conn, "stage_results", results)
        conn.execute(
            """UPDATE racing.runners r SET pos_raw = s.pos_raw, win_bsp = s.win_bsp, dec = s.dec
               FROM stage_results s WHERE r.runner_id = s.runner_id AND r.race_date = %s""",
            (card.race_date,),
        )
        conn.execute(
            "UPDATE racing.races SET prelim = false WHERE race_date = %s AND race_id = ANY(%s)",
            (card.race_date, chosen.get_column("race_id").to_list()),
        )


@dataclass
class RatingModel:
    """Stand-in for the production win model until it lands: p_model ∝ exp(official rating / 8),
    normalised within each race; the rating's distance from the race mean is its one driver."""

    model_id: int
    name: str = "hrd_win_prob"
    version: str = "synthetic-1"
    feature_columns: tuple[str, ...] = ("or_vs_field",)
    combiner: dict | None = None

    def predict_p_model(self, features: FeatureSet) -> pl.DataFrame:
        frame = features.frame
        score = (pl.col("or_vs_field") / 8.0).exp()
        return frame.select("runner_id", "race_id", (score / score.sum().over("race_id")).alias("p_model"))

    def explain(self, features: FeatureSet, top: int = 3) -> pl.DataFrame:
        frame = features.frame
        return frame.select(
            "runner_id",
            pl.concat_list(
                pl.struct(
                    pl.lit("or_vs_field").alias("feature"),
                    pl.col("or_vs_field").cast(pl.String).alias("value"),
                    (pl.col("or_vs_field") / 8.0).alias("contribution"),
                )
            ).alias("contributions"),
        )


def rating_features(card: Card) -> FeatureSet:
    """The stand-in model's one feature: official rating minus the race's mean rating."""
    frame = card.runners.with_columns(
        pl.lit(card.race_date).alias("race_date"),
        (pl.col("or") - pl.col("or").mean().over("race_id")).cast(pl.Float64).alias("or_vs_field"),
    )
    return FeatureSet(frame=frame, feature_columns=("or_vs_field",))


def register_model(conn: psycopg.Connection, combiner: dict, *, version: str = "synthetic-1") -> int:
    """A modeling.models row (stage production) holding `combiner` in combiner_json."""
    import json

    conn.execute(
        """INSERT INTO modeling.models (name, version, stage, combiner_json)
           VALUES ('hrd_win_prob', %s, 'production', %s)
           ON CONFLICT (name, version) DO NOTHING""",
        (version, json.dumps(combiner)),
    )
    row = conn.execute(
        "SELECT model_id FROM modeling.models WHERE name = 'hrd_win_prob' AND version = %s", (version,)
    ).fetchone()
    return int(row[0])  # type: ignore[index]
