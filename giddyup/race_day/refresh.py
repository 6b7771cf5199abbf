"""Intraday repricing: the due races get new signal rows at the run's instant, then paper bets.

No model call and no feature rebuild: p_model (and the combination stage's history term
vs_market_logit) come from each runner's latest signal of the race's model (as_of ≤ the instant)
and the combination coefficients from the model's row in modeling.models (combiner_json).
Prices, p_market, p_win, p_place, edges and stakes are recomputed from the prices seen at the
instant (recorded as snapshots); the morning's drivers are kept in reasons_json and the market
line is rewritten.

Stored p_model values are normalised over the runners priced when they were published. When a
runner comes back after being dropped (no price for a while), its last p_model is on another
scale: it is rescaled through the runners it shares with the race's latest signal set.

The module imports only the schedule at the top: a run with nothing due never loads Polars.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from giddyup.race_day.paper_bets import PaperResult, place_paper_bets
from giddyup.race_day.schedule import Cadence, RaceClock, due_races, load_race_clocks

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl
    import psycopg

    from giddyup.config import Settings
    from giddyup.publish import PublishResult
    from giddyup.race_day.price_card import MarketModel

log = logging.getLogger(__name__)


@dataclass
class RefreshResult:
    at: dt.datetime
    races_today: int
    due: list[int] = field(default_factory=list)
    races_priced: int = 0
    runners_priced: int = 0
    skipped: dict[int, str] = field(default_factory=dict)
    published: PublishResult | None = None
    snapshots_written: int = 0
    paper: PaperResult | None = None


def refresh(
    conn: psycopg.Connection,
    at: dt.datetime,
    settings: Settings,
    *,
    market_for: Callable[[dict], MarketModel] | None = None,
) -> RefreshResult:
    """Reprice the races due at `at` (schedule.py), publish them, then run the paper-bet step."""
    cadence = Cadence.from_settings(settings)
    clocks = load_race_clocks(conn, at, settings.race_zone)
    due = due_races(clocks, at, cadence)
    result = RefreshResult(at=at, races_today=len(clocks), due=[race.race_id for race in due])
    if due:
        _reprice(conn, at, due, clocks, settings, market_for, result)
    result.paper = place_paper_bets(conn, at, settings)
    return result


_MORNING_SQL = """
WITH latest AS (
    SELECT DISTINCT ON (race_id) race_id, model_id, as_of FROM modeling.signals
    WHERE race_id = ANY(%(races)s) AND as_of <= %(at)s
    ORDER BY race_id, as_of DESC, model_id DESC)
SELECT DISTINCT ON (s.race_id, s.horse_id)
       s.race_id, s.horse_id, s.model_id, s.as_of, s.p_model, s.vs_market_logit, s.reasons_json::text,
       s.as_of = l.as_of
FROM modeling.signals s JOIN latest l ON l.race_id = s.race_id AND l.model_id = s.model_id
WHERE s.as_of <= %(at)s
ORDER BY s.race_id, s.horse_id, s.as_of DESC
"""


def read_morning_model(conn: psycopg.Connection, race_ids: list[int], at: dt.datetime) -> pl.DataFrame:
    """Per runner (race_id, horse_id): model_id, p_model on the scale of the race's latest signal
    set, its vs_market_logit, and the drivers of its latest reasons_json."""
    import polars as pl

    rows = conn.execute(_MORNING_SQL, {"races": race_ids, "at": at}).fetchall()
    frame = pl.DataFrame(
        rows,
        schema={
            "race_id": pl.Int64,
            "horse_id": pl.Int64,
            "model_id": pl.Int64,
            "as_of": pl.Datetime("us", "UTC"),
            "p_model": pl.Float64,
            "vs_market_logit": pl.Float64,
            "drivers_json": pl.String,
            "in_latest": pl.Boolean,
        },
        orient="row",
    )
    returning = frame.filter(~pl.col("in_latest"))
    if returning.height:
        frame = _rescale_returning(conn, frame, returning)
    return frame.drop("as_of", "in_latest")


def _rescale_returning(conn: psycopg.Connection, frame: pl.DataFrame, returning: pl.DataFrame) -> pl.DataFrame:
    """Put runners whose latest signal predates their race's latest set on that set's scale:
    scale = Σ p_model(shared runners, latest set) / Σ p_model(shared runners, then)."""
    import polars as pl

    keys = returning.select("race_id", "model_id", "as_of").unique()
    rows = conn.execute(
        """SELECT s.race_id, s.model_id, s.as_of, s.horse_id, s.p_model
           FROM modeling.signals s
           JOIN unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS k(race_id, model_id, as_of)
             ON k.race_id = s.race_id AND k.model_id = s.model_id AND k.as_of = s.as_of""",
        (
            keys.get_column("race_id").to_list(),
            keys.get_column("model_id").to_list(),
            keys.get_column("as_of").to_list(),
        ),
    ).fetchall()
    then = pl.DataFrame(
        rows,
        schema={
            "race_id": pl.Int64,
            "model_id": pl.Int64,
            "as_of": pl.Datetime("us", "UTC"),
            "horse_id": pl.Int64,
            "p_then": pl.Float64,
        },
        orient="row",
    )
    latest = frame.filter(pl.col("in_latest")).select("race_id", "horse_id", pl.col("p_model").alias("p_now"))
    scales = (
        then.join(latest, on=["race_id", "horse_id"], how="inner")
        .group_by("race_id", "model_id", "as_of")
        .agg((pl.col("p_now").sum() / pl.col("p_then").sum()).alias("scale"))
    )
    # No shared runner: no scale, so p_model becomes NULL and the race is skipped with that reason.
    return (
        frame.join(scales, on=["race_id", "model_id", "as_of"], how="left")
        .with_columns(
            pl.when(pl.col("in_latest"))
            .then(pl.col("p_model"))
            .otherwise(pl.col("p_model") * pl.col("scale"))
            .alias("p_model")
        )
        .drop("scale")
    )


def combiners_for(conn: psycopg.Connection, model_ids: list[int]) -> dict[int, dict]:
    """The combination coefficients of each model version (modeling.models.combiner_json)."""
    rows = conn.execute(
        "SELECT model_id, to_jsonb(m) -> 'combiner_json' FROM modeling.models m WHERE model_id = ANY(%s)",
        (model_ids,),
    ).fetchall()
    found = {model_id: combiner for model_id, combiner in rows if combiner is not None}
    for model_id in model_ids:
        if model_id not in found:
            from giddyup.errors import GiddyUpError

            raise GiddyUpError(
                f"modeling.models row model_id={model_id} has no combiner_json; re-register the model version"
            )
    return {k: json.loads(v) if isinstance(v, str) else v for k, v in found.items()}


def _race_names(conn: psycopg.Connection, race_ids: list[int], race_date: dt.date) -> dict[int, str]:
    rows = conn.execute(
        "SELECT race_id, race_name FROM racing.races WHERE race_date = %s AND race_id = ANY(%s)",
        (race_date, race_ids),
    ).fetchall()
    return dict(rows)


def _card_at(
    conn: psycopg.Connection, at: dt.datetime, due_ids: list[int], race_date: dt.date, result: RefreshResult
) -> pl.DataFrame:
    """The due races' declared runners with their best price at `at` (snapshots recorded), the
    morning p_model and drivers, the model id and whether the race is a handicap."""
    import polars as pl

    from giddyup import pricing
    from giddyup.race_day import prices as race_prices

    morning = read_morning_model(conn, due_ids, at)
    seen = race_prices.read_runner_prices(conn, due_ids, race_date, at)
    result.snapshots_written = race_prices.write_snapshots(conn, race_prices.snapshot_rows(seen, at))
    names = _race_names(conn, due_ids, race_date)
    handicap = pl.DataFrame(
        {"race_id": due_ids, "handicap": [pricing.is_handicap(names.get(r)) for r in due_ids]},
        schema={"race_id": pl.Int64, "handicap": pl.Boolean},
    )
    # A race is priced with the model of its latest signals; a runner without a signal of that
    # model gets its id too, and a NULL p_model, which skips the race with the reason.
    race_model = morning.group_by("race_id").agg(pl.col("model_id").max().alias("race_model"))
    return (
        race_prices.choose_best_prices(seen)
        .join(morning, on=["race_id", "horse_id"], how="left")
        .join(handicap, on="race_id", how="left")
        .join(race_model, on="race_id", how="left")
        .with_columns(pl.coalesce("model_id", "race_model").alias("model_id"))
    )


def _reprice(
    conn: psycopg.Connection,
    at: dt.datetime,
    due: list[RaceClock],
    clocks: list[RaceClock],
    settings: Settings,
    market_for: Callable[[dict], MarketModel] | None,
    result: RefreshResult,
) -> None:
    import polars as pl

    from giddyup import pricing
    from giddyup.publish import publish_signals
    from giddyup.race_day.day_budget import day_budget, open_stakes_from_signals
    from giddyup.race_day.price_card import price_card, production_market_model

    market_for = market_for or production_market_model
    race_date = due[0].race_date
    due_ids = [race.race_id for race in due]
    # What the paper step did at this very instant runs after pricing: a re-run must not see it.
    decided = frozenset(race.race_id for race in clocks if race.decided_at is not None and race.decided_at < at)
    others = [
        race.race_id
        for race in clocks
        if race.race_id not in due_ids and race.race_id not in decided and race.off > at and race.last_signal_as_of
    ]
    card = _card_at(conn, at, due_ids, race_date, result)
    combiners = combiners_for(conn, [m for m in card.get_column("model_id").unique().to_list() if m is not None])
    budget = day_budget(conn, race_date, at, settings.max_stake_per_day)
    open_stakes = open_stakes_from_signals(conn, others, at)
    rules = pricing.StakeRules.from_settings(settings)

    batches = []
    for model_id, combiner in sorted(combiners.items()):
        priced = price_card(
            card.filter(pl.col("model_id") == model_id),
            as_of=at,
            model_id=model_id,
            market=market_for(combiner),
            rules=rules,
            min_liquidity_volume=settings.min_liquidity_volume,
            open_stakes=open_stakes,
            day_budget=budget,
            decided_races=decided,
        )
        result.skipped.update(priced.skipped)
        batches.append(priced.signals)
    declared = set(card.get_column("race_id").to_list())
    for race_id in due_ids:
        if race_id not in declared:
            result.skipped[race_id] = "no declared runners"
    for race_id, reason in sorted(result.skipped.items()):
        log.info("race_id %s not repriced: %s", race_id, reason)
    signals = pl.concat(batches) if batches else pl.DataFrame()
    if signals.height:
        result.published = publish_signals(conn, signals)
        result.races_priced = signals.get_column("race_id").n_unique()
        result.runners_priced = signals.height
