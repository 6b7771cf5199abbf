"""Price some races of the card at an instant and publish their signals: the step morning scoring
and the intraday refresh share. They differ only in where p_model comes from (the model, or the
races' latest signal sets) and which races they price (every open race, or the due ones).

Per run: the runners' prices at the instant (recorded as snapshots, giddyup.race_day.card), joined
to the p_model rows; the day cap's budget (stakes committed before the instant) shared with the
other open races of the day as their latest signal sets left them; races the paper step decided
before the instant keep only the per-bet and per-race caps (their bets are placed and counted);
price_card per model; one publish.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl
import psycopg

from giddyup import pricing
from giddyup.config import Settings
from giddyup.errors import GiddyUpError
from giddyup.publish import PublishResult, publish_signals
from giddyup.race_day.card import Card, CardRace, runner_prices
from giddyup.race_day.day_budget import day_budget, open_stakes_from_signals
from giddyup.race_day.price_card import MarketModel, PricedCard, price_card

log = logging.getLogger(__name__)

# What the p_model rows carry, keyed by (race_id, horse_id); the last two are optional.
P_MODEL_COLUMNS = ("race_id", "horse_id", "model_id", "p_model")
OPTIONAL_COLUMNS: dict[str, pl.DataType] = {"vs_market_logit": pl.Float64(), "drivers_json": pl.String()}


@dataclass
class PricingRun:
    races_priced: int = 0
    runners_priced: int = 0
    skipped: dict[int, str] = field(default_factory=dict)  # race_id -> why it was not priced
    published: PublishResult | None = None
    snapshots_written: int = 0
    # Runners dropped as withdrawn: no exchange price while the rest of their race trades.
    non_runners: dict[int, list[int]] = field(default_factory=dict)  # race_id -> horse_ids
    signals: pl.DataFrame = field(default_factory=pl.DataFrame)
    extras: pl.DataFrame = field(default_factory=pl.DataFrame)


def price_races(
    conn: psycopg.Connection,
    *,
    card: Card,
    races: list[CardRace],
    p_model: pl.DataFrame,
    markets: Mapping[int, MarketModel],
    settings: Settings,
) -> PricingRun:
    """Price and publish `races` of `card` at the card's instant from `p_model` (P_MODEL_COLUMNS,
    optionally OPTIONAL_COLUMNS) with the second stage of each model in `markets`."""
    at = card.at
    run = PricingRun()
    runners, run.snapshots_written = runner_prices(conn, races, at)
    for race_id, horses in (
        runners.filter(pl.col("withdrawn"))
        .group_by("race_id")
        .agg(pl.col("horse_id").sort())
        .sort("race_id")
        .iter_rows()
    ):
        run.non_runners[race_id] = horses
    for name, dtype in OPTIONAL_COLUMNS.items():
        if name not in p_model.columns:
            p_model = p_model.with_columns(pl.lit(None, dtype).alias(name))
    model_rows = p_model.select(*P_MODEL_COLUMNS, *OPTIONAL_COLUMNS)
    # A race is priced with one model: a runner without a row of it gets its id and a NULL
    # p_model, which skips the race with the reason (price_card).
    race_model = model_rows.group_by("race_id").agg(pl.col("model_id").max().alias("race_model"))
    rows = (
        runners.join(model_rows, on=["race_id", "horse_id"], how="left")
        .join(race_model, on="race_id", how="left")
        .with_columns(pl.coalesce("model_id", "race_model").alias("model_id"))
        .drop("race_model")
    )
    declared = set(rows.get_column("race_id").to_list())
    run.skipped.update({race.race_id: "no declared runners" for race in races if race.race_id not in declared})

    priced_ids = {race.race_id for race in races}
    decided = frozenset(race.race_id for race in card.races if race.decided_before(at))
    others = [
        race.race_id
        for race in card.races
        if race.race_id not in priced_ids
        and race.race_id not in decided
        and race.is_open(at)
        and race.latest_signal_as_of is not None
    ]
    budget = day_budget(conn, card.race_date, at, settings.max_stake_per_day, settings.bet_source)
    open_stakes = open_stakes_from_signals(conn, others, at)
    rules = pricing.StakeRules.from_settings(settings)

    batches: list[PricedCard] = []
    model_ids = sorted(markets)
    if not model_ids and rows.height:
        raise GiddyUpError(f"no model to price race_id {int(rows.get_column('race_id').min())} with")  # type: ignore[arg-type]
    for model_id in model_ids:
        # Races with no p_model row at all go with the first model, whose price_card skips them
        # with their reason (no prices, one runner, or the model missing a required input).
        batch = pl.col("model_id") == model_id
        if model_id == model_ids[0]:
            batch = batch | pl.col("model_id").is_null()
        priced = price_card(
            rows.filter(batch),
            at=at,
            model_id=model_id,
            market=markets[model_id],
            rules=rules,
            min_liquidity_volume=settings.min_liquidity_volume,
            open_stakes=open_stakes,
            day_budget=budget,
            decided_races=decided,
        )
        run.skipped.update(priced.skipped)
        batches.append(priced)
    signals = [b.signals for b in batches if b.signals.height]
    if signals:
        run.signals = pl.concat(signals)
        run.extras = pl.concat([b.extras for b in batches if b.extras.height])
        run.published = publish_signals(conn, run.signals)
        run.races_priced = run.signals.get_column("race_id").n_unique()
        run.runners_priced = run.signals.height
    for race_id, reason in sorted(run.skipped.items()):
        log.info("race_id %s not priced at %s: %s", race_id, at.isoformat(), reason)
    return run


def model_ids_of(p_model: pl.DataFrame) -> list[int]:
    return sorted(m for m in p_model.get_column("model_id").unique().to_list() if m is not None)


def open_races(card: Card, at: dt.datetime) -> list[CardRace]:
    """The card's races that can still be priced at `at`: cards (prelim), with an off after `at`."""
    return [race for race in card.races if race.prelim and race.is_open(at)]
