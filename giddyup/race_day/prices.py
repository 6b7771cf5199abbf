"""The best available price of each declared runner at an instant, the market's probabilities,
and the price snapshots that record what was seen.

Best price of a runner at instant t, first found wins:
1. `live`: its latest racing.live_prices back price with ts ≤ t;
2. `bookmaker`: racing.runners.best_odds;
3. `exchange_wap`: racing.runners.win_ppwap, else win_morningwap.
Prices below 1.01 are ignored. Traded volume (for liquidity_ok) is the live tick's traded_vol,
else win_pre_vol, else win_morning_vol.

A runner with no price from any source is treated as a non-runner (today's card keeps NULL prices
for non-runners), and so is a runner with no live exchange price while others of its race have one
or only an old one, WITHDRAWN_AFTER behind the freshest price of its race (the exchange stops
trading a withdrawn runner, while the card keeps its morning bookmaker and exchange prices all
day): it is dropped from its race before anything is normalised, and counted. A race left with no
priced runner is skipped ("no prices"), one left with a single runner is skipped ("one runner").

Market probability = (1 / price) normalised over the race's priced runners; overround = Σ 1/price.
Sources may mix within a race (a live price for one runner, a bookmaker price for another); the
normalisation absorbs the different margins only roughly, which is why the source is recorded.

Every price seen at t (each source a runner has, not only the one used) goes to
modeling.price_snapshots with ts = t, keyed (runner_id, ts, source): re-running for the same
instant rewrites the same rows. price_updated_at (no zone in racing.runners) is read as UTC.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import polars as pl
import psycopg

from giddyup import odds
from giddyup.odds import MIN_ODDS, SOURCE_BOOKMAKER, SOURCE_EXCHANGE_WAP, SOURCE_LIVE

# A runner whose last exchange price is this far behind its race's freshest has stopped trading.
WITHDRAWN_AFTER = dt.timedelta(minutes=30)

RUNNER_PRICE_SCHEMA: dict[str, Any] = {
    "race_id": pl.Int64,
    "runner_id": pl.Int64,
    "horse_id": pl.Int64,
    "race_date": pl.Date,
    "live_back": pl.Float64,
    "live_lay": pl.Float64,
    "live_vol": pl.Float64,
    "live_ts": pl.Datetime("us", "UTC"),
    "best_odds": pl.Float64,
    "win_ppwap": pl.Float64,
    "win_morningwap": pl.Float64,
    "price_updated_at": pl.Datetime("us"),
    "win_pre_vol": pl.Float64,
    "win_morning_vol": pl.Float64,
}

# The latest live back price per runner: one index probe of (runner_id, ts) per runner.
_RUNNER_PRICES_SQL = """
SELECT ru.race_id, ru.runner_id, ru.horse_id, ru.race_date,
       lp.back_price, lp.lay_price, lp.traded_vol, lp.ts,
       ru.best_odds, ru.win_ppwap, ru.win_morningwap, ru.price_updated_at,
       ru.win_pre_vol, ru.win_morning_vol
FROM racing.runners ru
LEFT JOIN LATERAL (
    SELECT l.back_price, l.lay_price, l.traded_vol, l.ts
    FROM racing.live_prices l
    WHERE l.runner_id = ru.runner_id AND l.ts <= %(at)s
      AND l.back_price >= %(min_odds)s AND l.back_price < 'Infinity'::float8  -- NaN sorts above Infinity
    ORDER BY l.ts DESC
    LIMIT 1
) lp ON true
WHERE ru.race_date = %(day)s AND ru.race_id = ANY(%(races)s) AND ru.pos_raw IS NULL
ORDER BY ru.race_id, ru.runner_id
"""


def read_runner_prices(
    conn: psycopg.Connection, race_ids: list[int], race_date: dt.date, at: dt.datetime
) -> pl.DataFrame:
    """Declared runners of the races with every price candidate known at `at`."""
    rows = conn.execute(
        _RUNNER_PRICES_SQL, {"at": at, "day": race_date, "races": list(race_ids), "min_odds": MIN_ODDS}
    ).fetchall()
    return pl.DataFrame(rows, schema=RUNNER_PRICE_SCHEMA, orient="row")


def choose_best_prices(prices: pl.DataFrame, withdrawn_after: dt.timedelta = WITHDRAWN_AFTER) -> pl.DataFrame:
    """Adds odds (the best available price), odds_src, volume and withdrawn (see the module
    docstring); a withdrawn runner has no odds."""
    fresh = pl.col("live_ts") >= pl.col("live_ts").max().over("race_id") - withdrawn_after
    trading = odds.usable_odds_expr("live_back").is_not_null() & fresh.fill_null(False)
    live = pl.when(trading).then(pl.col("live_back"))
    bookmaker = odds.usable_odds_expr("best_odds")
    wap = pl.coalesce(odds.usable_odds_expr("win_ppwap"), odds.usable_odds_expr("win_morningwap"))
    # The exchange stops trading a withdrawn runner; the card keeps its morning prices all day.
    withdrawn = ~trading & trading.any().over("race_id")
    return prices.with_columns(
        pl.when(~withdrawn).then(pl.coalesce(live, bookmaker, wap)).alias("odds"),
        withdrawn.alias("withdrawn"),
        pl.when(live.is_not_null())
        .then(pl.lit(SOURCE_LIVE))
        .when(bookmaker.is_not_null())
        .then(pl.lit(SOURCE_BOOKMAKER))
        .when(wap.is_not_null())
        .then(pl.lit(SOURCE_EXCHANGE_WAP))
        .alias("odds_src"),
        pl.coalesce(
            pl.when(live.is_not_null()).then(pl.col("live_vol")), pl.col("win_pre_vol"), pl.col("win_morning_vol")
        ).alias("volume"),
    )


def add_market_probabilities(priced: pl.DataFrame) -> pl.DataFrame:
    """p_market and overround per race, over runners that have odds (call after dropping the rest)."""
    return priced.with_columns(
        odds.implied_probability("odds").alias("p_market"), odds.overround("odds").alias("overround")
    )


SNAPSHOT_COLUMNS = {
    "race_id": pl.Int64,
    "runner_id": pl.Int64,
    "horse_id": pl.Int64,
    "race_date": pl.Date,
    "ts": pl.Datetime("us", "UTC"),
    "source": pl.String,
    "back_price": pl.Float64,
    "lay_price": pl.Float64,
    "traded_vol": pl.Float64,
    "price_ts": pl.Datetime("us", "UTC"),
}


def snapshot_rows(prices: pl.DataFrame, at: dt.datetime) -> pl.DataFrame:
    """One row per runner and source it has a price from at `at`."""
    ids = [pl.col("race_id"), pl.col("runner_id"), pl.col("horse_id"), pl.col("race_date")]
    instant = pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("ts")
    no_ts = pl.lit(None, pl.Datetime("us", "UTC"))
    no_price = pl.lit(None, pl.Float64)
    live = prices.filter(odds.usable_odds_expr("live_back").is_not_null()).select(
        *ids,
        instant,
        pl.lit(SOURCE_LIVE).alias("source"),
        pl.col("live_back").alias("back_price"),
        pl.col("live_lay").alias("lay_price"),
        pl.col("live_vol").alias("traded_vol"),
        pl.col("live_ts").alias("price_ts"),
    )
    bookmaker = prices.filter(odds.usable_odds_expr("best_odds").is_not_null()).select(
        *ids,
        instant,
        pl.lit(SOURCE_BOOKMAKER).alias("source"),
        pl.col("best_odds").alias("back_price"),
        no_price.alias("lay_price"),
        no_price.alias("traded_vol"),
        no_ts.alias("price_ts"),
    )
    has_ppwap = odds.usable_odds_expr("win_ppwap").is_not_null()
    wap = prices.filter(has_ppwap | odds.usable_odds_expr("win_morningwap").is_not_null()).select(
        *ids,
        instant,
        pl.lit(SOURCE_EXCHANGE_WAP).alias("source"),
        pl.when(has_ppwap).then(pl.col("win_ppwap")).otherwise(pl.col("win_morningwap")).alias("back_price"),
        no_price.alias("lay_price"),
        pl.when(has_ppwap).then(pl.col("win_pre_vol")).otherwise(pl.col("win_morning_vol")).alias("traded_vol"),
        pl.when(has_ppwap)
        .then(pl.col("price_updated_at").dt.replace_time_zone("UTC"))
        .otherwise(no_ts)
        .alias("price_ts"),
    )
    return pl.concat([live, bookmaker, wap]).cast(SNAPSHOT_COLUMNS)  # type: ignore[arg-type]


def write_snapshots(conn: psycopg.Connection, rows: pl.DataFrame) -> int:
    """Upsert snapshot rows on (runner_id, ts, source); unchanged rows are left alone.
    Returns how many rows were inserted or changed."""
    if rows.height == 0:
        return 0
    columns = list(SNAPSHOT_COLUMNS)
    buffer = io.BytesIO()
    rows.select(columns).write_csv(
        buffer, include_header=False, null_value="\\N", datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z"
    )
    column_list = ", ".join(columns)
    non_key = [c for c in columns if c not in ("runner_id", "ts", "source")]
    with conn.transaction():
        conn.execute("DROP TABLE IF EXISTS pg_temp.snapshots_stage")
        conn.execute(
            "CREATE TEMP TABLE snapshots_stage (LIKE modeling.price_snapshots INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        with conn.cursor().copy(f"COPY snapshots_stage ({column_list}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
            copy.write(buffer.getvalue())
        changed = conn.execute(
            f"""INSERT INTO modeling.price_snapshots AS p ({column_list})
                SELECT {column_list} FROM snapshots_stage
                ON CONFLICT (runner_id, ts, source) DO UPDATE
                SET {", ".join(f"{c} = EXCLUDED.{c}" for c in non_key)}
                WHERE ({", ".join("p." + c for c in non_key)})
                      IS DISTINCT FROM ({", ".join("EXCLUDED." + c for c in non_key)})"""
        ).rowcount
    return changed
