"""The data report: per region and season, how much racing there is and how good its markets are.

Read only, on any racing database (production, a dev copy, the simulated world).

Definitions (shared with the evaluation of issue 4):
- a race counts when it is a result (prelim false); racecards (prelim true) are only counted apart;
- a starter is a runner with a pos_raw (non-finishers included); a runner without one is a
  non-runner and is left out of every figure below;
- a price column's "priced share" is the share of starters with that price;
- its mean overround is the mean over races where every starter has the price of Σ 1/price;
- its pseudo-R² is McFadden's (giddyup.metrics.mcfadden_r2) over single-winner races (exactly one
  starter with win_flag) where every starter has the price: p = 1/price normalised within the
  race, against a uniform guess over the starters.
- seasons: calendar years, except in regions whose season runs from September to July
  (Hong Kong): `2019/20` is 2019-09-01 .. 2020-08-31.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl
import psycopg

from giddyup.db.devcopy import racing_schema_exists
from giddyup.errors import GiddyUpError
from giddyup.metrics import mcfadden_r2

PRICE_COLUMNS = ("dec", "win_bsp")  # at-the-off prices whose market is scored
SEASON_START_MONTH = {"HK": 9}  # regions whose season does not follow the calendar year
ALL_SEASONS = "all"


@dataclass
class DataSummary:
    price_columns: list[str]  # the PRICE_COLUMNS with at least one price in the database
    rows: list[dict] = field(default_factory=list)  # one per region and season, then region / "all"
    prelim_races: dict[str, int] = field(default_factory=dict)  # racecards per region (not counted above)

    def as_json(self) -> dict:
        return {"price_columns": self.price_columns, "rows": self.rows, "prelim_races": self.prelim_races}


def season_label(region: pl.Expr, race_date: pl.Expr) -> pl.Expr:
    """`2024` (calendar year), or `2019/20` where the region's season starts in September."""
    year = race_date.dt.year()
    label = year.cast(pl.String)
    for code, month in SEASON_START_MONTH.items():
        start = pl.when(race_date.dt.month() >= month).then(year).otherwise(year - 1)
        split = start.cast(pl.String) + "/" + ((start + 1) % 100).cast(pl.String).str.zfill(2)
        label = pl.when(region == code).then(split).otherwise(label)
    return label


def _per_race_sql(price_columns: tuple[str, ...]) -> str:
    starter = "u.pos_raw IS NOT NULL"
    prices = ",\n".join(
        f"""count(u.{p}) FILTER (WHERE {starter}) AS {p}_priced,
            sum(1.0 / u.{p}) FILTER (WHERE {starter}) AS {p}_book,
            sum(1.0 / u.{p}) FILTER (WHERE u.win_flag) AS {p}_winner"""
        for p in price_columns
    )
    return f"""
        SELECT r.region, r.race_date, r.race_id,
               count(u.runner_id) FILTER (WHERE {starter}) AS starters,
               count(u.runner_id) FILTER (WHERE u.pos_raw IS NULL) AS non_runners,
               count(*) FILTER (WHERE u.win_flag) AS winners,
               {prices}
        FROM racing.races r
        LEFT JOIN racing.runners u ON u.race_id = r.race_id AND u.race_date = r.race_date
        WHERE NOT coalesce(r.prelim, false)
        GROUP BY r.region, r.race_date, r.race_id"""


def per_race_prices(conn: psycopg.Connection, price_columns: tuple[str, ...] = PRICE_COLUMNS) -> pl.DataFrame:
    """One row per result race: starters, winners and, per price, priced starters, book, 1/winner price."""
    schema = {
        "region": pl.String,
        "race_date": pl.Date,
        "race_id": pl.Int64,
        "starters": pl.Int64,
        "non_runners": pl.Int64,
        "winners": pl.Int64,
    }
    for p in price_columns:
        schema |= {f"{p}_priced": pl.Int64, f"{p}_book": pl.Float64, f"{p}_winner": pl.Float64}
    rows = conn.execute(_per_race_sql(price_columns)).fetchall()  # type: ignore[arg-type]
    return pl.DataFrame(rows, schema=schema, orient="row")


def _price_figures(group: pl.DataFrame, price: str) -> dict:
    starters = int(group["starters"].sum())
    fully_priced = group.filter((pl.col(f"{price}_priced") == pl.col("starters")) & (pl.col("starters") > 0))
    scored = fully_priced.filter(pl.col("winners") == 1)
    p_winner = (scored[f"{price}_winner"] / scored[f"{price}_book"]).to_numpy()
    r2 = mcfadden_r2(p_winner, scored["starters"].to_numpy()) if scored.height else None
    overround = fully_priced[f"{price}_book"].mean() if fully_priced.height else None
    return {
        "priced_share": int(group[f"{price}_priced"].sum()) / starters if starters else None,
        "fully_priced_races": fully_priced.height,
        "scored_races": scored.height,
        "pseudo_r2": r2 if r2 is None or math.isfinite(r2) else None,
        "mean_overround": float(overround) if overround is not None else None,  # type: ignore[arg-type]
    }


def summarise(per_race: pl.DataFrame, price_columns: list[str]) -> list[dict]:
    """Rows per (region, season), each region followed by its `all` row (pooled, not averaged)."""
    frame = per_race.with_columns(season=season_label(pl.col("region"), pl.col("race_date")))
    rows = []
    for (region,), by_region in sorted(frame.partition_by("region", as_dict=True).items()):
        groups = sorted(by_region.partition_by("season", as_dict=True).items())
        for (season,), group in [*groups, ((ALL_SEASONS,), by_region)]:
            rows.append(
                {
                    "region": region,
                    "season": season,
                    "races": group.height,
                    "runners": int(group["starters"].sum()),
                    "non_runners": int(group["non_runners"].sum()),
                    "single_winner_races": int((group["winners"] == 1).sum()),
                    "prices": {p: _price_figures(group, p) for p in price_columns},
                }
            )
    return rows


def data_summary(conn: psycopg.Connection) -> DataSummary:
    """The report for the racing data in `conn`'s database (one read-only transaction)."""
    fresh = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.transaction():
        if fresh:  # only possible as a transaction's first statement
            conn.execute("SET TRANSACTION READ ONLY")
        if not racing_schema_exists(conn):
            raise GiddyUpError(
                "this database has no racing schema; point PG_DSN at a racing database, or make a dev copy "
                "(`giddyup migrate --with-racing-reference`) and fill it (`giddyup sim`, `giddyup load hkjc`)"
            )
        per_race = per_race_prices(conn)
        prelim = conn.execute("SELECT region, count(*) FROM racing.races WHERE prelim GROUP BY region").fetchall()
    present = [p for p in PRICE_COLUMNS if per_race.height and per_race[f"{p}_priced"].sum() > 0]
    return DataSummary(price_columns=present, rows=summarise(per_race, present), prelim_races=dict(prelim))
