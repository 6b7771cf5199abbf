"""`giddyup results --date D`: run today's simulated races.

The card written by `giddyup sim --today D` becomes results, as the real loader does after racing:
positions drawn from the stored truth (the same model as the history: strength + Gumbel for the
winner, so each starter wins with its stored p_true, and the real-race discount for the places
behind it), non-finishers, rare dead heats, beaten lengths, times, RPR,
comments, the at-the-off prices (SP, Betfair SP and place SP, exchange averages) the simulator fixed
when it made the card, and the place market's result; non-runners keep pos_raw NULL and no prices; races turn prelim = false with `ran`
counting the starters. The draw is seeded by the world's seed and the date, so it is the same
every time, and a second run changes no row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import psycopg

from giddyup.db.devcopy import require_dev_copy
from giddyup.errors import GiddyUpError
from giddyup.loaders import racing_writer as rw
from giddyup.sim import truth
from giddyup.sim.frames import AT_OFF_PRICE_COLUMNS, text, time_raw
from giddyup.sim.market import in_play, place_market_places, place_result
from giddyup.sim.params import DEFAULT_TUNABLES, rng_for
from giddyup.sim.results import RaceInputs, draw_results


@dataclass
class DayResults:
    races: int
    starters: int
    non_runners: int
    non_finishers: int
    dead_heats: int


RACE_SQL = """
SELECT r.race_id, r.race_key, r.race_date, r.region, r.race_name, r.race_type, r.dist_f, r.surface,
       rt.race_type_code, rt.going_index, rt.course_speed, rt.par, rt.prize
FROM racing.races r JOIN sim.race_truth rt ON rt.race_id = r.race_id
WHERE r.race_date = %s
ORDER BY r.off_time, r.race_key
"""
RUNNER_SQL = f"""
SELECT ru.runner_id, ru.runner_key, ru.race_id, ru.num, t.starter, t.strength, t.lbs_per_unit, t.weight_adj,
       t.jump_skill, {", ".join(f"t.close_{c}" for c in AT_OFF_PRICE_COLUMNS)}
FROM racing.runners ru JOIN sim.runner_truth t ON t.runner_id = ru.runner_id
WHERE ru.race_date = %s
"""


def _frame(cursor: psycopg.Cursor) -> pl.DataFrame:
    names = [d.name for d in cursor.description or ()]
    return pl.DataFrame(cursor.fetchall(), schema=names, orient="row", infer_schema_length=None)


def apply_results(conn: psycopg.Connection, day: dt.date) -> DayResults:
    require_dev_copy(conn, "results")
    world = truth.read_world(conn)
    if world is None:
        raise GiddyUpError(
            "`giddyup results` works on a simulated world only, and this database holds none; "
            "make one with `giddyup sim --today YYYY-MM-DD`"
        )
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('giddyup.sim.load'))")
        races = _frame(conn.execute(RACE_SQL, (day,)))
        if races.height == 0:
            raise GiddyUpError(
                f"no simulated races on {day}; the world's card is for {world['today'] or 'no day (made without --today)'}"
            )
        runners = _frame(conn.execute(RUNNER_SQL, (day,)))
        if runners.filter(pl.col("starter"))["close_win_bsp"].null_count() == runners["starter"].sum():
            raise GiddyUpError(
                f"the races on {day} were resulted when the world was made; `giddyup results` runs the card "
                f"made by `giddyup sim --today` ({world['today'] or 'none in this world'})"
            )
        order = races.select("race_id").with_row_index("race_order")
        runners = runners.join(order, on="race_id").sort("race_order", "num")
        result, summary = _draw(int(world["seed"]), day, races, runners)
        rw.upsert_keyed(conn, "runners", result, key=("runner_key", "race_date"))
        ran = result.group_by("race_id").agg(pl.col("pos_raw").is_not_null().sum().cast(pl.Int64).alias("ran"))
        race_rows = races.join(ran, on="race_id").select(
            "race_key", "race_date", "region", "race_name", "race_type", "ran", pl.lit(False).alias("prelim")
        )
        rw.upsert_keyed(conn, "races", race_rows, key=("race_key", "race_date"))
    return summary


def _draw(seed: int, day: dt.date, races: pl.DataFrame, runners: pl.DataFrame) -> tuple[pl.DataFrame, DayResults]:
    starter = runners["starter"].to_numpy()
    s = runners.filter(pl.col("starter"))
    race_index = s["race_order"].to_numpy()
    uniq, local = np.unique(race_index, return_inverse=True)
    r = races[uniq.tolist()] if uniq.size else races.clear()
    inputs = RaceInputs(
        race_type=r["race_type_code"].to_numpy(),
        dist_f=r["dist_f"].to_numpy().astype(float),
        going_index=r["going_index"].to_numpy(),
        aw=(r["surface"] == "AW").to_numpy(),
        speed=r["course_speed"].to_numpy(),
        par=r["par"].to_numpy(),
        prize=r["prize"].to_numpy(),
    )
    res = draw_results(
        rng_for(seed, "results", day.toordinal()),
        local,
        s["strength"].to_numpy(),
        s["lbs_per_unit"].to_numpy(),
        s["weight_adj"].to_numpy(),
        s["jump_skill"].to_numpy(),
        inputs,
        DEFAULT_TUNABLES.dead_heat_share,
        DEFAULT_TUNABLES.finish_exponents,
        DEFAULT_TUNABLES.finish_favourite_discount,
    )
    n = runners.height
    rows = np.flatnonzero(starter)

    def full(values: np.ndarray, fill: object = np.nan) -> np.ndarray:
        out = np.full(n, fill, dtype=object if fill is None else float)
        out[rows] = values
        return out

    bsp = s["close_win_bsp"].to_numpy()
    ip = in_play(
        rng_for(seed, "results-in-play", day.toordinal()),
        bsp,
        res.pos_num,
        res.finished,
        np.ones(rows.size, dtype=bool),
    )
    # The place market's result: its places come from the declared field (non-runners included).
    places = place_market_places(
        runners["race_order"].to_numpy(), races["race_name"].to_numpy()[runners["race_order"].to_numpy()]
    )
    placed = place_result(res.pos_num, res.finished, places[rows], s["close_place_bsp"].to_numpy().astype(float))
    frame = pl.DataFrame(
        {
            "runner_key": runners["runner_key"],
            "race_id": runners["race_id"],
            "race_date": pl.Series([day] * n, dtype=pl.Date),
            "pos_raw": text(full(res.pos_raw, None)),
            "ovr_btn": full(res.ovr_btn),
            "btn": full(res.btn),
            "secs": np.round(full(res.secs), 2),
            "prize": full(res.prize),
            "rpr": full(res.rpr),
            "comment": text(full(res.comment, None)),
            **{c: full(s[f"close_{c}"].to_numpy().astype(float)) for c in AT_OFF_PRICE_COLUMNS},
            **{c: full(v) for c, v in ip.items()},
            "place_win_lose": full(placed),
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
    frame = frame.with_columns(
        time_raw(pl.col("secs")).alias("time_raw"),
        pl.col("rpr").cast(pl.Int64),
        pl.col("win_lose").cast(pl.Int64),
        pl.col("place_win_lose").cast(pl.Int64),
    )
    winners_per_race = np.bincount(local[res.pos_num == 1], minlength=uniq.size)
    summary = DayResults(
        races=races.height,
        starters=int(rows.size),
        non_runners=int(n - rows.size),
        non_finishers=int((~res.finished).sum()),
        dead_heats=int((winners_per_race > 1).sum()),
    )
    return frame, summary
