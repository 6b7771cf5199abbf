"""Replaying a day of a simulated world as it was lived: a card in the morning, results at night.

A world made by `giddyup sim` holds its days resulted. To replay day D through the race-day jobs
(`giddyup backtest`), D must look as a live day does:

- `open_day`: D's races become a card again (prelim, `ran` = declarations), its runners keep only
  what is known before the off (declarations, the bookmaker's morning price, the exchange's first
  price of the day as win_ppwap), and the exchange ticks of the day are written to
  racing.live_prices, made from the market's views of those runners exactly as `giddyup sim
  --today` makes today's (non-runners stop trading when withdrawn).
- `close_day`: D's results come back exactly as the world made them (positions, SP, Betfair SP,
  the exchange averages, in-play prices), so every later day of the world is still the world's,
  and the racing tables end as they began (the day's ticks stay in racing.live_prices).

The world is regenerated in memory from sim.world's seed and parameters (`ReplayWorld.load`);
the regenerated results of the replayed days must equal the stored ones, or the world was made by
another version of the simulator and is refused. Days after the one being replayed keep their
results in the tables; every job reads by date (a race day's features use earlier days only,
training uses days before its date), which the backtest's tests check.
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
from giddyup.sim.frames import AT_OFF_PRICE_COLUMNS, RESULT_COLUMNS
from giddyup.sim.generate import GeneratedWorld, day_market, generate
from giddyup.sim.load import CARD_COLUMNS, RUNNER_COLUMNS
from giddyup.sim.params import WorldSpec, rng_for

# What a card does not know yet, NULL until close_day.
_HIDDEN_UNTIL_RESULTS = tuple(dict.fromkeys((*RESULT_COLUMNS, *AT_OFF_PRICE_COLUMNS)))
_CARD_AND_HIDDEN = tuple(dict.fromkeys((*CARD_COLUMNS, *_HIDDEN_UNTIL_RESULTS)))
_ALL_RUNNER_COLUMNS = tuple(dict.fromkeys((*RUNNER_COLUMNS, "price_updated_at")))


@dataclass
class ReplayDay:
    day: dt.date
    races: int
    declared: int
    live_ticks: int


@dataclass
class ReplayWorld:
    spec: WorldSpec
    world: GeneratedWorld

    @classmethod
    def load(cls, conn: psycopg.Connection) -> ReplayWorld:
        stored = truth.read_world(conn)
        if stored is None:
            raise GiddyUpError(
                "a backtest replays a simulated world and this database holds none; make one with "
                "`giddyup sim --seed S --start D --days N` (the replayed days being its last ones)"
            )
        spec = WorldSpec(
            seed=int(stored["seed"]),
            start=stored["start_date"],
            days=int(stored["days"]),
            today=stored["today"],
            scale=float(stored["scale"]),
            preset=str(stored["preset"]),
        )
        return cls(spec=spec, world=generate(spec))

    @property
    def days(self) -> tuple[dt.date, dt.date]:
        """The world's resulted days: the first and the last."""
        return self.spec.start, self.spec.end - dt.timedelta(days=1)

    def _rows(self, day: dt.date) -> tuple[pl.DataFrame, np.ndarray]:
        races = self.world.frames.races.filter(pl.col("race_date") == day)
        runners = self.world.frames.runners
        rows = np.flatnonzero((runners.get_column("race_date") == day).to_numpy())
        return races, rows

    def check_day(self, conn: psycopg.Connection, day: dt.date) -> None:
        """The stored results of `day` are the regenerated ones (the same simulator made them)."""
        _, rows = self._rows(day)
        made = self.world.frames.runners[rows.tolist()].select("runner_key", "pos_raw", "win_bsp")
        stored = pl.DataFrame(
            conn.execute(
                "SELECT runner_key, pos_raw, win_bsp FROM racing.runners WHERE race_date = %s", (day,)
            ).fetchall(),
            schema={"runner_key": pl.String, "pos_raw": pl.String, "win_bsp": pl.Float64},
            orient="row",
        )
        joined = made.join(stored, on="runner_key", how="full", suffix="_db")
        # A day an interrupted replay left open has no results to compare: its runners must match.
        opened = bool(stored.height) and bool(stored.get_column("win_bsp").is_null().all())
        results_differ = pl.col("pos_raw").ne_missing(pl.col("pos_raw_db")) | pl.col("win_bsp").ne_missing(
            pl.col("win_bsp_db")
        )
        differs = joined.filter(
            pl.col("runner_key").is_null() | pl.col("runner_key_db").is_null() | (pl.lit(not opened) & results_differ)
        )
        if differs.height:
            raise GiddyUpError(
                f"the simulated races of {day} in this database are not the ones the simulator makes from "
                f"its seed now ({differs.height} runners differ): the world was made by another giddyup "
                "version; remake it with `giddyup sim ... --replace`"
            )

    def open_day(self, conn: psycopg.Connection, day: dt.date) -> ReplayDay:
        """Turn `day` into a card with its live ticks (see the module docstring)."""
        require_dev_copy(conn, "backtest")
        races, rows = self._rows(day)
        if races.height == 0:
            return ReplayDay(day, 0, 0, 0)
        gen = self.world
        assert gen.sim is not None and gen.views is not None and gen.prices is not None
        live = day_market(rng_for(self.spec.seed, "live", day.toordinal()), day, gen.sim, gen.views, gen.prices, rows)
        runners = gen.frames.runners[rows.tolist()]
        declared = runners.group_by("race_key").len("declared")
        card_races = (
            races.join(declared, on="race_key")
            .with_columns(pl.col("declared").cast(pl.Int64).alias("ran"), pl.lit(True).alias("prelim"))
            .select("race_key", "race_date", "region", "race_name", "race_type", "ran", "prelim")
        )
        card_runners = runners.with_columns(
            pl.Series("win_ppwap", live.card_price).fill_nan(None),
            pl.Series("price_updated_at", live.card_time),
            *[pl.lit(None, dtype=runners.schema[c]).alias(c) for c in _HIDDEN_UNTIL_RESULTS if c != "win_ppwap"],
        )
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('giddyup.sim.load'))")
            ids = _runner_ids(conn, day)
            rw.upsert_keyed(conn, "races", card_races, key=("race_key", "race_date"))
            rw.upsert_keyed(
                conn, "runners", _with_ids(card_runners, ids).select(*_CARD_AND_HIDDEN), key=("runner_key", "race_date")
            )
            keys = runners.select("runner_key").with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
            ticks = (
                live.ticks.with_columns(pl.col("row").cast(pl.Int64))
                .join(keys, on="row", how="left")
                .join(ids, on="runner_key", how="left")
                .select("race_id", "runner_id", "ts", "back_price", "lay_price", "vwap", "traded_vol")
            )
            rw.upsert_keyed(conn, "live_prices", ticks, key=("runner_id", "ts"))
        return ReplayDay(day, races.height, runners.height, ticks.height)

    def close_day(self, conn: psycopg.Connection, day: dt.date) -> None:
        """Put `day`'s results back exactly as the world made them."""
        require_dev_copy(conn, "backtest")
        races, rows = self._rows(day)
        if races.height == 0:
            return
        runners = self.world.frames.runners[rows.tolist()]
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('giddyup.sim.load'))")
            ids = _runner_ids(conn, day)
            resulted = races.select("race_key", "race_date", "region", "race_name", "race_type", "ran", "prelim")
            rw.upsert_keyed(conn, "races", resulted, key=("race_key", "race_date"))
            rw.upsert_keyed(
                conn, "runners", _with_ids(runners, ids).select(*_ALL_RUNNER_COLUMNS), key=("runner_key", "race_date")
            )


def _runner_ids(conn: psycopg.Connection, day: dt.date) -> pl.DataFrame:
    """The stored ids of the day's runners and of their races and dimensions, by runner_key."""
    rows = conn.execute(
        """SELECT runner_key, race_id, runner_id, horse_id, trainer_id, jockey_id, owner_id
           FROM racing.runners WHERE race_date = %s""",
        (day,),
    ).fetchall()
    return pl.DataFrame(
        rows,
        schema={
            "runner_key": pl.String,
            "race_id": pl.Int64,
            "runner_id": pl.Int64,
            "horse_id": pl.Int64,
            "trainer_id": pl.Int64,
            "jockey_id": pl.Int64,
            "owner_id": pl.Int64,
        },
        orient="row",
    )


def _with_ids(runners: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """The world's runner rows with the ids they already have in the tables (names dropped)."""
    missing = runners.join(ids, on="runner_key", how="anti")
    if missing.height:
        raise GiddyUpError(
            f"{missing.height} simulated runners of {runners.get_column('race_date')[0]} are not in racing.runners; "
            "the database does not hold this world's days (remake it with `giddyup sim`)"
        )
    id_columns = [c for c in ids.columns if c != "runner_key"]
    return runners.drop([c for c in id_columns if c in runners.columns]).join(ids, on="runner_key", how="left")
