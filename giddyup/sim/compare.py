"""Does the simulated market look like the real one? Betfair SP market pseudo-R², book,
favourite win rate, favourite-longshot shape and field sizes, side by side with the real UK and
Irish races of ../shared/data/betfair (Betfair's public BSP file). `place_starters` gives a world's
place markets to giddyup.model.place_check, which compares place results with the real ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import psycopg

from giddyup.errors import GiddyUpError
from giddyup.metrics import mcfadden_r2, winner_table
from giddyup.odds import implied_probability
from giddyup.sim.frames import WorldFrames

REAL_BETFAIR_CSV = (
    Path(__file__).resolve().parents[2].parent / "shared/data/betfair/betfair_ukie_ratedprice_vs_bsp_2026H1.csv"
)
FIELD_BANDS = ((2, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 99))


def market_summary(frame: pl.DataFrame, price: str, race: str = "race_id", won: str = "won") -> dict[str, float]:
    """Figures of one price column over the starters in `frame` (rows with a price only)."""
    priced = frame.filter(pl.col(price).is_not_null() & (pl.col(price) > 1.0)).with_columns(
        implied_probability(price, race).alias("_p"),
        (1.0 / pl.col(price)).sum().over(race).alias("_book"),
        pl.len().over(race).alias("_field"),
    )
    if priced.height == 0:
        return {}
    winners = winner_table(priced, "_p", race, won)
    per_race = (
        priced.group_by(race)
        .agg(
            pl.col("_book").first().alias("book"),
            pl.col("_field").first().alias("field"),
            pl.col(won).cast(pl.Int32).sum().alias("winners"),
            pl.col(won).sort_by(pl.col(price)).first().alias("fav_won"),
        )
        .filter(pl.col("field") >= 2)
    )
    single = per_race.filter(pl.col("winners") == 1)
    out: dict[str, float] = {
        "races": float(per_race.height),
        "single-winner races": float(single.height),
        "pseudo-R² (McFadden, 1/price normalised)": mcfadden_r2(
            winners["p_winner"].to_numpy(), winners["field_size"].to_numpy()
        ),
        "book Σ1/price, mean": float(per_race["book"].mean()),  # type: ignore[arg-type]
        "book Σ1/price, median": float(per_race["book"].median()),  # type: ignore[arg-type]
        "favourite win rate": float(single["fav_won"].cast(pl.Float64).mean()),  # type: ignore[arg-type]
        "mean field (starters)": float(per_race["field"].mean()),  # type: ignore[arg-type]
    }
    # Favourite-longshot shape: actual wins / implied wins, for outsiders and for the fancied.
    for label, lo, hi in (("A/E outsiders (p < 0.05)", 0.0, 0.05), ("A/E fancied (p ≥ 0.30)", 0.30, 1.01)):
        band = priced.filter((pl.col("_p") >= lo) & (pl.col("_p") < hi))
        out[label] = float(band[won].cast(pl.Float64).sum()) / float(band["_p"].sum()) if band.height else float("nan")
    for lo, hi in FIELD_BANDS:
        label = f"races with {lo}-{hi} runners" if hi < 99 else f"races with {lo}+ runners"
        out[label] = float(per_race.filter(pl.col("field").is_between(lo, hi)).height / max(per_race.height, 1))
    return out


def real_betfair(path: Path = REAL_BETFAIR_CSV) -> pl.DataFrame:
    if not path.exists():
        raise GiddyUpError(f"real Betfair file not found: {path} (pass --real PATH)")
    frame = pl.read_csv(path, columns=["WIN_MARKET_ID", "WIN_BSP", "WIN_RESULT"], infer_schema_length=100_000)
    return frame.select(
        pl.col("WIN_MARKET_ID").alias("race_id"),
        pl.col("WIN_BSP").cast(pl.Float64).alias("win_bsp"),
        (pl.col("WIN_RESULT") == 1).fill_null(False).alias("won"),
    )


def simulated(conn: psycopg.Connection) -> pl.DataFrame:
    """Starters of the resulted simulated races: race_id, win_bsp, dec, won, p_true."""
    rows = conn.execute(
        """SELECT ru.race_id, ru.win_bsp, ru.dec, coalesce(ru.win_flag, false), t.p_true
           FROM racing.runners ru
           JOIN racing.races ra ON ra.race_id = ru.race_id AND ra.race_date = ru.race_date
           JOIN sim.runner_truth t ON t.runner_id = ru.runner_id
           WHERE NOT ra.prelim AND ru.pos_raw IS NOT NULL"""
    ).fetchall()
    schema = {"race_id": pl.Int64, "win_bsp": pl.Float64, "dec": pl.Float64, "won": pl.Boolean, "p_true": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def comparison_from_frames(sim: pl.DataFrame, real: pl.DataFrame) -> pl.DataFrame:
    """metric | sim | real: the BSP market of both, plus the sim's oracle and SP (the real file has neither)."""
    sim_bsp = market_summary(sim, "win_bsp")
    real_bsp = market_summary(real, "win_bsp")
    oracle = market_summary(sim.with_columns((1.0 / pl.col("p_true")).alias("oracle")), "oracle")
    sp = market_summary(sim, "dec")
    rows = [(f"BSP {k}", sim_bsp.get(k, np.nan), real_bsp.get(k, np.nan)) for k in sim_bsp]
    rows.append(("oracle (true p) pseudo-R²", oracle.get("pseudo-R² (McFadden, 1/price normalised)", np.nan), np.nan))
    for key in (
        "pseudo-R² (McFadden, 1/price normalised)",
        "book Σ1/price, mean",
        "favourite win rate",
        "A/E outsiders (p < 0.05)",
        "A/E fancied (p ≥ 0.30)",
    ):
        rows.append((f"SP (dec) {key}", sp.get(key, np.nan), np.nan))
    return pl.DataFrame(rows, schema={"metric": pl.String, "sim": pl.Float64, "real": pl.Float64}, orient="row")


def compare(conn: psycopg.Connection, real_path: Path = REAL_BETFAIR_CSV) -> pl.DataFrame:
    sim = simulated(conn)
    if sim.height == 0:
        raise GiddyUpError("no resulted simulated races in this database; run `giddyup sim` first")
    return comparison_from_frames(sim, real_betfair(real_path))


def place_starters(frames: WorldFrames) -> pl.DataFrame:
    """Starters of a generated world's resulted races in the shape place_check.place_markets() takes
    (race_id, runner_id, race_name, win_bsp, place_bsp, placed), plus pos_num (NaN: did not finish)."""
    races = frames.races.select("t_race", "race_name")
    return (
        frames.runners.filter(pl.col("pos_raw").is_not_null())
        .join(races, on="t_race")
        .select(
            pl.col("t_race").alias("race_id"),
            pl.col("runner_key").alias("runner_id"),
            "race_name",
            "win_bsp",
            "place_bsp",
            (pl.col("place_win_lose") == 1).alias("placed"),
            pl.col("pos_raw").str.extract(r"^(\d+)").cast(pl.Float64).fill_null(float("nan")).alias("pos_num"),
        )
    )
