"""Intraday repricing: the due races get new signal rows at the run's instant, then paper bets.

No model call and no feature rebuild: p_model (and the combination stage's history term
vs_market_logit) come from each race's latest signal set at the instant
(giddyup.race_day.latest_signals) and the combination coefficients from the model's row in
modeling.models (combiner_json). Prices, p_market, p_win, p_place, edges and stakes are
recomputed from the prices seen at the instant (recorded as snapshots) by the step morning
scoring uses too (giddyup.race_day.pricing_run); the morning's drivers are kept in reasons_json
and the market line is rewritten.

Stored p_model values are normalised over the runners priced when they were published. When a
runner comes back after being dropped (no price for a while), its last p_model of the race's
model is on another scale: it is rescaled through the runners it shares with the race's latest
signal set.

The module imports only the card and the schedule at the top: a run with nothing due never
loads Polars.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from giddyup.race_day.card import Card, CardRace, read_card
from giddyup.race_day.latest_signals import read_latest_sets
from giddyup.race_day.paper_bets import PaperResult, place_paper_bets
from giddyup.race_day.schedule import Cadence, due_races
from giddyup.timeutil import local_date

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl
    import psycopg

    from giddyup.config import Settings
    from giddyup.publish import PublishResult
    from giddyup.race_day.price_card import MarketModel


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
    non_runners: dict[int, list[int]] = field(default_factory=dict)  # race_id -> horse_ids dropped as withdrawn
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
    card = read_card(conn, local_date(at, settings.race_zone), at, settings.race_zone, settings.bet_source)
    due = due_races(card, at, cadence)
    result = RefreshResult(at=at, races_today=len(card.races), due=[race.race_id for race in due])
    if due:
        _reprice(conn, card, due, settings, market_for, result)
    result.paper = place_paper_bets(conn, at, settings)
    return result


_SET_COLUMNS = ("race_id", "horse_id", "model_id", "as_of", "p_model", "vs_market_logit", "reasons_json::text")

# Runners missing from their race's latest set: their own latest row of that set's model.
_RETURNING_SQL = """
SELECT DISTINCT ON (s.race_id, s.horse_id)
       s.race_id, s.horse_id, s.model_id, s.as_of, s.p_model, s.vs_market_logit, s.reasons_json::text
FROM unnest(%(races)s::bigint[], %(models)s::bigint[], %(as_ofs)s::timestamptz[]) AS k(race_id, model_id, as_of)
JOIN modeling.signals s ON s.race_id = k.race_id AND s.model_id = k.model_id AND s.as_of < k.as_of
WHERE NOT EXISTS (
    SELECT 1 FROM modeling.signals x
    WHERE x.race_id = k.race_id AND x.model_id = k.model_id AND x.as_of = k.as_of AND x.horse_id = s.horse_id)
ORDER BY s.race_id, s.horse_id, s.as_of DESC
"""


def _frame(rows: list[tuple]) -> pl.DataFrame:
    """Signal rows of _SET_COLUMNS as a frame (reasons_json read as the drivers' JSON text)."""
    import polars as pl

    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "race_id": pl.Int64,
        "horse_id": pl.Int64,
        "model_id": pl.Int64,
        "as_of": pl.Datetime("us", "UTC"),
        "p_model": pl.Float64,
        "vs_market_logit": pl.Float64,
        "drivers_json": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def read_model_inputs(conn: psycopg.Connection, races: list[CardRace], at: dt.datetime) -> pl.DataFrame:
    """Per runner (race_id, horse_id): model_id, p_model on the scale of the race's latest signal
    set, its vs_market_logit, and the drivers of its latest reasons_json."""
    import polars as pl

    latest = _frame(read_latest_sets(conn, [race.race_id for race in races], at, _SET_COLUMNS))
    scored = [race for race in races if race.latest_signal_as_of is not None]
    returning = _frame(
        conn.execute(
            _RETURNING_SQL,
            {
                "races": [race.race_id for race in scored],
                "models": [race.latest_model_id for race in scored],
                "as_ofs": [race.latest_signal_as_of for race in scored],
            },
        ).fetchall()
    )
    if returning.height:
        returning = _rescale_returning(conn, latest, returning)
    return pl.concat([latest, returning]).drop("as_of")


def _rescale_returning(conn: psycopg.Connection, latest: pl.DataFrame, returning: pl.DataFrame) -> pl.DataFrame:
    """Put runners whose latest signal predates their race's latest set on that set's scale:
    scale = Σ p_model(shared runners, latest set) / Σ p_model(shared runners, then)."""
    import polars as pl

    keys = returning.select("race_id", "model_id", "as_of").unique()
    then = pl.DataFrame(
        conn.execute(
            """SELECT s.race_id, s.model_id, s.as_of, s.horse_id, s.p_model
               FROM modeling.signals s
               JOIN unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS k(race_id, model_id, as_of)
                 ON k.race_id = s.race_id AND k.model_id = s.model_id AND k.as_of = s.as_of""",
            (
                keys.get_column("race_id").to_list(),
                keys.get_column("model_id").to_list(),
                keys.get_column("as_of").to_list(),
            ),
        ).fetchall(),
        schema={
            "race_id": pl.Int64,
            "model_id": pl.Int64,
            "as_of": pl.Datetime("us", "UTC"),
            "horse_id": pl.Int64,
            "p_then": pl.Float64,
        },
        orient="row",
    )
    now = latest.select("race_id", "horse_id", pl.col("p_model").alias("p_now"))
    scales = (
        then.join(now, on=["race_id", "horse_id"], how="inner")
        .group_by("race_id", "model_id", "as_of")
        .agg((pl.col("p_now").sum() / pl.col("p_then").sum()).alias("scale"))
    )
    # No shared runner: no scale, so p_model becomes NULL and the race is skipped with that reason.
    return (
        returning.join(scales, on=["race_id", "model_id", "as_of"], how="left")
        .with_columns(pl.col("p_model") * pl.col("scale"))
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


def _reprice(
    conn: psycopg.Connection,
    card: Card,
    due: list[CardRace],
    settings: Settings,
    market_for: Callable[[dict], MarketModel] | None,
    result: RefreshResult,
) -> None:
    from giddyup.race_day.price_card import production_market_model
    from giddyup.race_day.pricing_run import model_ids_of, price_races

    market_for = market_for or production_market_model
    inputs = read_model_inputs(conn, due, card.at)
    markets = {model_id: market_for(c) for model_id, c in combiners_for(conn, model_ids_of(inputs)).items()}
    run = price_races(conn, card=card, races=due, p_model=inputs, markets=markets, settings=settings)
    result.skipped.update(run.skipped)
    result.published = run.published
    result.snapshots_written = run.snapshots_written
    result.non_runners = run.non_runners
    result.races_priced = run.races_priced
    result.runners_priced = run.runners_priced
