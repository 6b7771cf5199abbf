"""Checking place probabilities against a real place market: the Betfair UK/IE file of ../shared/data.

The file has per runner the win and place Betfair SP and Betfair's own win and place results, no
finishing order. A race is used when every starter (WIN_RESULT ≥ 0) has both SPs and its place
market paid 2 to 4 places (places = the count of PLACE_RESULT winners, which is what that market
paid: it follows the each-way terms of the declared field, not of the starters, and a dead heat for
the last place adds one) with more starters than places. p_win = 1 / WIN_BSP normalised in the race;
the place market's own probability is 1 / PLACE_BSP (its book sums to about 1.003 × places).

The same checks run on a simulated world (place_markets() of its racing.runners rows). Used by
benchmarks/bench_place_model.py (prints the tables) and the tests that pin the figures.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import polars as pl

from giddyup import odds
from giddyup.errors import GiddyUpError
from giddyup.model.place import place_log_loss, place_probabilities
from giddyup.pricing import each_way_terms, edge_each_way, places_paid
from giddyup.race_rules import is_handicap

BETFAIR_COLUMNS = (
    "LOCAL_RACE_DATE",
    "WIN_MARKET_ID",
    "RACE_NAME",
    "WIN_MARKET_NAME",
    "SELECTION_ID",
    "WIN_BSP",
    "WIN_RESULT",
    "PLACE_BSP",
    "PLACE_RESULT",
)
P_WIN_BANDS = (0.05, 0.1, 0.2, 0.33, 0.5)  # upper edges; the last band is above 0.5
_P_CLIP = 1e-6


def read_betfair_place_markets(path: Path) -> pl.DataFrame:
    """The Betfair file's usable races as place_markets() rows (see the module docstring)."""
    if not path.exists():
        raise GiddyUpError(f"{path}: no such file")
    header = pl.read_csv(path, n_rows=0).columns
    missing = [c for c in BETFAIR_COLUMNS if c not in header]
    if missing:
        raise GiddyUpError(f"{path}: missing column(s) {', '.join(missing)}")
    raw = pl.read_csv(path, columns=list(BETFAIR_COLUMNS), schema_overrides={"LOCAL_RACE_DATE": pl.Date})
    starters = raw.filter(pl.col("WIN_RESULT") >= 0).select(
        pl.col("WIN_MARKET_ID").alias("race_id"),
        pl.col("LOCAL_RACE_DATE").alias("race_date"),
        pl.col("RACE_NAME").alias("race_name"),
        pl.col("WIN_MARKET_NAME").str.contains(r"\b(Hrd|Chs|NHF|INHF)\b").alias("jumps"),
        pl.col("SELECTION_ID").alias("runner_id"),
        pl.col("WIN_BSP").alias("win_bsp"),
        pl.col("PLACE_BSP").alias("place_bsp"),
        (pl.col("PLACE_RESULT") == 1).alias("placed"),
    )
    return place_markets(starters)


def place_markets(starters: pl.DataFrame) -> pl.DataFrame:
    """Starters of the usable races, sorted by race and runner, with what the checks need.

    `starters`: one row per starter with race_id, runner_id, race_name, win_bsp, place_bsp and
    placed (paid by the place market; the simulated world's racing.runners.place_win_lose = 1).
    Added: starters, places, p_win, p_place_market, ew_places (each-way places of the starters, 0
    when none) and ew_fraction.
    """
    race = pl.col("race_id")
    counted = starters.with_columns(
        pl.len().over(race).cast(pl.Int64).alias("starters"),
        pl.col("placed").sum().over(race).cast(pl.Int64).alias("places"),
    )
    complete = odds.usable_odds_expr("win_bsp").is_not_null().all().over(race) & odds.usable_odds_expr(
        "place_bsp"
    ).is_not_null().all().over(race)
    usable = counted.filter(complete & pl.col("places").is_between(2, 4) & (pl.col("starters") > pl.col("places")))
    inverse = 1.0 / pl.col("win_bsp")
    frame = usable.with_columns(
        (inverse / inverse.sum().over(race)).alias("p_win"),
        (1.0 / pl.col("place_bsp")).clip(_P_CLIP, 1 - _P_CLIP).alias("p_place_market"),
    ).sort("race_id", "runner_id")
    rows = []
    for n, name in frame.select("starters", "race_name").unique().iter_rows():
        terms = each_way_terms(n, is_handicap(name))
        rows.append((n, name, places_paid(terms) if terms else 0, float(terms.fraction) if terms else None))
    schema = {"starters": pl.Int64, "race_name": pl.String, "ew_places": pl.Int64, "ew_fraction": pl.Float64}
    ew = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.join(ew, on=["starters", "race_name"], how="left", maintain_order="left")


def place_probabilities_of(frame: pl.DataFrame, model: dict | None = None) -> np.ndarray:
    """p_place of the model (None: the shipped one) for every row of a place_markets() frame."""
    return place_probabilities(
        frame.get_column("race_id").to_numpy(),
        frame.get_column("p_win").to_numpy(),
        frame.get_column("places").to_numpy(),
        model,
    )


def split_by_date(frame: pl.DataFrame, first_check_day: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(fit window, check window): races before `first_check_day` and from it on."""
    day = first_check_day
    return frame.filter(pl.col("race_date") < day), frame.filter(pl.col("race_date") >= day)


def log_loss(frame: pl.DataFrame, p_place: np.ndarray) -> float:
    return place_log_loss(p_place, frame.get_column("placed").to_numpy())


def band_labels(p_win: np.ndarray) -> np.ndarray:
    """`0.05-0.10` style labels of the p_win bands (P_WIN_BANDS)."""
    edges = (0.0, *P_WIN_BANDS, 1.0)
    names = [f"{lo:.2f}-{hi:.2f}" for lo, hi in itertools.pairwise(edges)]
    index = np.searchsorted(np.asarray(P_WIN_BANDS), np.asarray(p_win, dtype=float), side="left")
    return np.asarray(names, dtype=object)[index]


def calibration(frame: pl.DataFrame, predictions: dict[str, np.ndarray], by: list[str]) -> pl.DataFrame:
    """Predicted against observed place rate per group of `by` (`places`, `band` or both).

    `predictions`: name -> p_place per row. Columns: the groups, runners, observed, its binomial
    standard error (runners taken as independent) and, per prediction, its mean and mean − observed.
    """
    data = frame.with_columns(pl.Series("band", band_labels(frame.get_column("p_win").to_numpy()), dtype=pl.String))
    data = data.with_columns(pl.Series(name, values) for name, values in predictions.items())
    observed = pl.col("placed").cast(pl.Float64).mean()
    table = data.group_by(by).agg(
        pl.len().alias("runners"),
        observed.alias("observed"),
        *[pl.col(name).mean().alias(name) for name in predictions],
    )
    table = table.with_columns(
        (pl.col("observed") * (1 - pl.col("observed")) / pl.col("runners")).sqrt().alias("std_err"),
        *[(pl.col(name) - pl.col("observed")).alias(f"{name}_minus_observed") for name in predictions],
    )
    return table.sort(by)


def each_way_value_share(frame: pl.DataFrame, p_place: np.ndarray, *, below_odds: float = 3.0) -> tuple[float, int]:
    """Share of runners at win BSP under `below_odds` whose each-way bet at BSP would show value
    (edge_ew > 0) with these place probabilities, and how many runners that is out of.

    Only races whose each-way places (from the starters) equal the places the place market paid, so
    that p_place is the probability each-way terms pay on.
    """
    data = frame.with_columns(pl.Series("p_place", p_place))
    data = data.filter((pl.col("ew_places") == pl.col("places")) & (pl.col("win_bsp") < below_odds))
    if data.height == 0:
        return float("nan"), 0
    edge = edge_each_way(
        data.get_column("p_win").to_numpy(),
        data.get_column("p_place").to_numpy(),
        data.get_column("win_bsp").to_numpy(),
        data.get_column("ew_fraction").to_numpy(),
    )
    return float(np.mean(edge > 0)), data.height
