"""Price a card of races: from p_model and the best prices to signal rows.

Shared by morning scoring and the intraday refresh, which differ only in where p_model comes from
(the model, or the morning's signals) and which races they price. Steps, per race:
drop unpriced runners (non-runners, see prices.py) and renormalise p_model over the rest; skip
races that cannot be priced, with the reason; market probabilities; p_win from the model's
combination with the market; each-way terms; p_place; fair odds, edges, Kelly; liquidity; stakes
with the caps (pricing.py) over every open race of the day; reasons a person reads.

edge_ew only where the price is a bookmaker's (odds_src `bookmaker`): each-way terms exist only at
bookmakers, so an exchange price (`live`, `exchange_wap`) has no each-way bet to value and its
edge_ew is NULL (its place chance is priced by the exchange's own place market).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from giddyup import pricing
from giddyup.errors import GiddyUpError
from giddyup.odds import EXCHANGE_SOURCES, SOURCE_BOOKMAKER
from giddyup.race_day.prices import add_market_probabilities

# A race-normalised probability below this is floored (then renormalised): the publisher and the
# table refuse p <= 0, and no runner is truly impossible.
P_FLOOR = 1e-9
NORMALISED_WITHIN = 1e-12

# (race_id, p_model, p_market, combiner, vs_market_logit=None) -> p_win
CombineFn = Callable[..., np.ndarray]
PlaceFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class MarketModel:
    """The model's second stage: p_model and p_market to p_win, and p_win to p_place."""

    combiner: dict
    combine: CombineFn
    place: PlaceFn
    place_model: dict | None = None


def production_market_model(combiner: dict) -> MarketModel:
    """The model package's combination and place functions (no MLflow or LightGBM import)."""
    from giddyup.model.combine import combine_with_market
    from giddyup.model.place import place_probabilities

    place_model = combiner.get("place") if isinstance(combiner.get("place"), dict) else None
    return MarketModel(combiner, combine_with_market, place_probabilities, place_model)


@dataclass
class PricedCard:
    signals: pl.DataFrame  # publisher columns (see giddyup.publish.SIGNAL_COLUMNS)
    extras: pl.DataFrame  # runner_id, overround, odds volume: what the signals do not hold
    skipped: dict[int, str] = field(default_factory=dict)  # race_id -> why it was not priced


@dataclass(frozen=True)
class OpenStakes:
    """Other open races of the day (not priced in this run) as the day cap sees them."""

    race_id: np.ndarray
    kelly: np.ndarray  # at the execution odds
    wanted: np.ndarray  # the stake plan's edge clears its threshold
    stakeable: np.ndarray

    @classmethod
    def none(cls) -> OpenStakes:
        no = np.array([], dtype=bool)
        return cls(np.array([], dtype=np.int64), np.array([], dtype=float), no, no)


CARD_COLUMNS = ("race_id", "runner_id", "horse_id", "race_date", "p_model", "odds", "odds_src", "volume", "handicap")


def _skip_reasons(card: pl.DataFrame) -> dict[int, str]:
    per_race = card.group_by("race_id").agg(
        pl.col("odds").is_not_null().sum().alias("priced"),
        pl.col("runner_id")
        .filter(pl.col("odds").is_not_null() & (pl.col("p_model").is_null() | pl.col("p_model").is_nan()))
        .first()
        .alias("no_model"),
        pl.col("runner_id")
        .filter(pl.col("odds").is_not_null() & pl.col("horse_id").is_null())
        .first()
        .alias("no_horse"),
    )
    reasons: dict[int, str] = {}
    for row in per_race.sort("race_id").iter_rows(named=True):
        if row["priced"] == 0:
            reasons[row["race_id"]] = "no prices"
        elif row["priced"] == 1:
            reasons[row["race_id"]] = "one runner"
        elif row["no_model"] is not None:
            reasons[row["race_id"]] = f"model missing a required input (no p_model for runner_id {row['no_model']})"
        elif row["no_horse"] is not None:
            reasons[row["race_id"]] = f"runner_id {row['no_horse']} has no horse_id"
    return reasons


def _normalised(values: np.ndarray, race_ids: np.ndarray, column: str) -> np.ndarray:
    """Values scaled to sum to one in each race. A race already summing to one within
    NORMALISED_WITHIN is left exactly as it is: the refresh reads p_model back from signals, and
    dividing again by a total of 1 ± 1 ulp would change the rows a re-run must not change."""
    if not np.all(np.isfinite(values)):
        bad = int(race_ids[~np.isfinite(values)][0])
        raise GiddyUpError(f"race_id {bad}: {column} is NaN or infinite")
    floored = np.maximum(values, P_FLOOR)
    totals = pl.DataFrame({"r": race_ids, "v": floored}).select(pl.col("v").sum().over("r")).to_series().to_numpy()
    already = (np.abs(totals - 1.0) <= NORMALISED_WITHIN) & (floored == values)
    return np.where(already, values, floored / totals)


def _place_probabilities(
    market: MarketModel, race_ids: np.ndarray, p_win: np.ndarray, places: np.ndarray
) -> np.ndarray:
    """p_place per runner, calling the place function once per distinct number of places (races
    stay whole because every runner of a race has the same places)."""
    p_place = np.empty_like(p_win)
    for count in np.unique(places):
        mask = places == count
        p_place[mask] = market.place(race_ids[mask], p_win[mask], int(count), market.place_model)
    if not np.all(np.isfinite(p_place)):
        bad = int(race_ids[~np.isfinite(p_place)][0])
        raise GiddyUpError(f"race_id {bad}: p_place is NaN or infinite")
    return np.clip(p_place, P_FLOOR, 1.0)


def _percent(p: float) -> str:
    return f"{100 * p:.1f}%"


def market_sentence(p_model: float, p_market: float, p_win: float, odds: float, source: str) -> str:
    """One line on model against market, e.g. `model 18.0% vs market 12.5% at 7.50 (live)`."""
    verdict = "model above market" if p_model > p_market else "model below market"
    fair = pricing.fair_odds(p_win)
    fair_text = f", fair odds {float(fair):.2f}" if math.isfinite(float(fair)) else ""
    edge = p_win * odds - 1.0
    return (
        f"model {_percent(p_model)} vs market {_percent(p_market)} at {odds:.2f} ({source}): {verdict}; "
        f"combined {_percent(p_win)}{fair_text}, edge {edge:+.1%}"
    )


def reasons_json(drivers_json: str | None, sentence: str, staking: str | None = None) -> str:
    """The morning's drivers (kept as they were) plus the market line of this instant, and why
    nothing is staked when the staking rule stands down."""
    reasons = json.loads(drivers_json) if drivers_json else {}
    reasons = {k: v for k, v in reasons.items() if k not in ("market", "summary", "staking")}
    reasons.setdefault("drivers", [])
    reasons["market"] = sentence
    lines = [*reasons["drivers"][:3], sentence]
    if staking:
        reasons["staking"] = staking
        lines.append(staking)
    reasons["summary"] = "; ".join(lines)
    return json.dumps(reasons, sort_keys=True, allow_nan=False)


def price_card(
    card: pl.DataFrame,
    *,
    at: dt.datetime,
    model_id: int,
    market: MarketModel,
    rules: pricing.StakeRules,
    min_liquidity_volume: float,
    open_stakes: OpenStakes | None = None,
    day_budget: float | None = None,
    decided_races: frozenset[int] = frozenset(),
) -> PricedCard:
    """Signal rows for every race of `card` that can be priced.

    `card` has CARD_COLUMNS (one row per declared runner; odds NULL where unpriced) and optionally
    `drivers_json` (JSON text with `drivers` and `contributions`, from the model's explanation) and
    `vs_market_logit` (the combination stage's history term per runner; NULL counts as 0), which
    is published with the signal for later recombinations.
    """
    missing = [c for c in CARD_COLUMNS if c not in card.columns]
    if missing:
        raise GiddyUpError(f"race card lacks column(s): {', '.join(missing)}")
    if "drivers_json" not in card.columns:
        card = card.with_columns(pl.lit(None, pl.String).alias("drivers_json"))
    if "vs_market_logit" not in card.columns:
        card = card.with_columns(pl.lit(None, pl.Float64).alias("vs_market_logit"))
    skipped = _skip_reasons(card)
    priced = card.filter(pl.col("odds").is_not_null() & ~pl.col("race_id").is_in(list(skipped))).sort(
        "race_id", "runner_id"
    )
    priced = add_market_probabilities(priced).with_columns(pl.len().over("race_id").alias("runners"))
    if priced.height == 0:
        return PricedCard(_empty_signals(), _empty_extras(), skipped)

    race_ids = priced.get_column("race_id").to_numpy()
    p_model = _normalised(priced.get_column("p_model").to_numpy(), race_ids, "p_model")
    p_market = priced.get_column("p_market").to_numpy()
    logit = priced.get_column("vs_market_logit").cast(pl.Float64).fill_nan(None)
    combined = np.asarray(
        market.combine(race_ids, p_model, p_market, market.combiner, logit.fill_null(0.0).to_numpy()), dtype=float
    )
    p_win = _normalised(combined, race_ids, "p_win")

    terms = [
        pricing.each_way_terms(runners, handicap)
        for runners, handicap in zip(
            priced.get_column("runners").to_list(), priced.get_column("handicap").to_list(), strict=True
        )
    ]
    places = np.array([pricing.places_paid(t) for t in terms])
    p_place = _place_probabilities(market, race_ids, p_win, places)
    fraction = np.array([float(t.fraction) if t else np.nan for t in terms])

    odds = priced.get_column("odds").to_numpy()
    edge_win = pricing.edge_win(p_win, odds)
    exchange = np.isin(np.asarray(priced.get_column("odds_src").to_list(), dtype=object), EXCHANGE_SOURCES)
    plan = pricing.stake_plan(p_win, odds, p_market, exchange, rules)
    at_bookmaker = (priced.get_column("odds_src") == SOURCE_BOOKMAKER).fill_null(False).to_numpy()
    edge_ew = np.where(at_bookmaker, pricing.edge_each_way(p_win, p_place, odds, fraction), np.nan)
    kelly = plan.kelly
    liquidity = [pricing.liquidity_ok(v, min_liquidity_volume) for v in priced.get_column("volume").to_list()]
    stakeable = np.array([ok is not False for ok in liquidity])

    standing_down = pricing.stands_down(market.combiner) if rules.require_edge_evidence else None
    if standing_down:
        stakes = np.zeros(race_ids.size)
    else:
        stakes = _stakes(race_ids, kelly, plan.wanted, stakeable, rules, open_stakes, day_budget, decided_races)

    sources = priced.get_column("odds_src").to_list()
    reasons = [
        reasons_json(drivers, market_sentence(pm, pk, pw, o, src), standing_down)
        for drivers, pm, pk, pw, o, src in zip(
            priced.get_column("drivers_json").to_list(), p_model, p_market, p_win, odds, sources, strict=True
        )
    ]
    signals = pl.DataFrame(
        {
            "as_of": pl.Series([at] * priced.height, dtype=pl.Datetime("us", "UTC")),
            "race_id": race_ids,
            "horse_id": priced.get_column("horse_id"),
            "model_id": pl.Series([model_id] * priced.height, dtype=pl.Int64),
            "p_win": p_win,
            "p_place": p_place,
            "fair_odds_win": _nullable(pricing.fair_odds(p_win)),
            "fair_odds_place": _nullable(pricing.fair_odds(p_place)),
            "best_odds_win": odds,
            "best_odds_src": sources,
            "ew_places": pl.Series([t.places if t else None for t in terms], dtype=pl.Int32),
            "ew_fraction": pl.Series([t.label if t else None for t in terms], dtype=pl.String),
            "edge_win": edge_win,
            "edge_ew": _nullable(edge_ew),
            "kelly_fraction": kelly,
            "stake_units": stakes,
            "execution": pl.Series(plan.execution.tolist(), dtype=pl.String),
            "execution_odds": _nullable(plan.odds),
            "liquidity_ok": pl.Series(liquidity, dtype=pl.Boolean),
            "reasons_json": pl.Series(reasons, dtype=pl.String),
            "runner_id": priced.get_column("runner_id"),
            "race_date": priced.get_column("race_date"),
            "p_model": p_model,
            "p_market": p_market,
            "vs_market_logit": logit,
        }
    )
    extras = priced.select("race_id", "runner_id", "overround", "volume")
    return PricedCard(signals, extras, skipped)


def _stakes(
    race_ids: np.ndarray,
    kelly: np.ndarray,
    wanted: np.ndarray,
    stakeable: np.ndarray,
    rules: pricing.StakeRules,
    open_stakes: OpenStakes | None,
    day_budget: float | None,
    decided_races: frozenset[int],
) -> np.ndarray:
    """Open races share the day's remaining budget with the other open races of the day. Races
    the paper step has already decided keep the per-bet and per-race caps only: their bets are
    placed and already counted in what the day has committed."""
    others = open_stakes or OpenStakes.none()
    decided = np.isin(race_ids, np.fromiter(decided_races, dtype=np.int64, count=len(decided_races)))
    is_open = ~decided
    stakes = np.zeros(race_ids.size)
    all_kelly = np.concatenate([kelly[is_open], others.kelly])
    stakes[is_open] = pricing.allocate_stakes(
        np.concatenate([race_ids[is_open], others.race_id]),
        all_kelly,
        all_kelly,  # the edge test is the plan's (`wanted`)
        np.concatenate([stakeable[is_open], others.stakeable]),
        rules,
        day_budget,
        wanted=np.concatenate([wanted[is_open], others.wanted]),
    )[: int(is_open.sum())]
    if decided.any():
        stakes[decided] = pricing.allocate_stakes(
            race_ids[decided], kelly[decided], kelly[decided], stakeable[decided], rules, None, wanted=wanted[decided]
        )
    return stakes


def _nullable(values: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.Float64).fill_nan(None)


def _empty_extras() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"race_id": pl.Int64, "runner_id": pl.Int64, "overround": pl.Float64, "volume": pl.Float64}
    )


def _empty_signals() -> pl.DataFrame:
    from giddyup.publish import SIGNAL_COLUMNS

    return pl.DataFrame(schema={name: dtype for name, (dtype, _) in SIGNAL_COLUMNS.items()})
