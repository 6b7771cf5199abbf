"""Morning scoring: the production model prices every declared runner of a day's card.

The model and the day's features are arguments (the CLI loads them once), so the job itself only
reads the database at the instant `as_of`: the card, the best prices (recorded as snapshots),
paper stakes already committed. It publishes one signal row per priced runner with as_of, and
saves the scored runners (ids, features, probabilities, market figures, model version) to
<artifacts>/scoring/<date>/runners.parquet for the drift report.

Races that cannot be priced are skipped and counted with their reason: already off at as_of, no
off time, no prices, one runner, a runner without a p_model (model missing a required input).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl
import psycopg

from giddyup import pricing
from giddyup.config import Settings
from giddyup.errors import GiddyUpError
from giddyup.features.contract import ID_COLUMNS, FeatureSet
from giddyup.publish import PublishResult, publish_signals
from giddyup.race_day import prices as race_prices
from giddyup.race_day.day_budget import day_budget, decided_races
from giddyup.race_day.price_card import MarketModel, price_card, production_market_model
from giddyup.race_day.reasons import drivers_json
from giddyup.race_day.schedule import off_utc

log = logging.getLogger(__name__)

EARLIEST_USUAL_OFF = dt.time(9, 0)
LATEST_USUAL_OFF = dt.time(22, 30)
TOP_EDGES = 5


class WinModel(Protocol):
    name: str
    version: str
    model_id: int

    @property
    def feature_columns(self) -> tuple[str, ...]: ...

    @property
    def combiner(self) -> dict: ...

    def predict_p_model(self, features: FeatureSet) -> pl.DataFrame: ...

    def explain(self, features: FeatureSet, top: int = 3) -> pl.DataFrame: ...


@dataclass
class ScoreResult:
    race_date: dt.date
    as_of: dt.datetime
    model_name: str
    model_version: str
    model_id: int
    races_on_card: int
    races_priced: int
    runners_priced: int
    skipped: dict[int, str] = field(default_factory=dict)
    published: PublishResult | None = None
    snapshots_written: int = 0
    top_edges: pl.DataFrame = field(default_factory=pl.DataFrame)
    runners_path: Path | None = None

    @property
    def covered_share(self) -> float:
        return self.races_priced / self.races_on_card if self.races_on_card else 0.0

    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason in self.skipped.values():
            key = reason.split(" (")[0]
            counts[key] = counts.get(key, 0) + 1
        return counts


_CARD_SQL = """
SELECT r.race_id, r.off_time, r.race_name, c.course_name
FROM racing.races r LEFT JOIN racing.courses c ON c.course_id = r.course_id
WHERE r.race_date = %s AND r.prelim
ORDER BY r.off_time, r.race_id
"""


def read_card_races(conn: psycopg.Connection, race_date: dt.date, race_zone) -> pl.DataFrame:
    """The day's prelim races: race_id, off (UTC), off_time, race_name, course_name, handicap."""
    rows = conn.execute(_CARD_SQL, (race_date,)).fetchall()
    return pl.DataFrame(
        [
            (race_id, off_utc(race_date, off_time, race_zone) if off_time else None, off_time, name, course)
            for race_id, off_time, name, course in rows
        ],
        schema={
            "race_id": pl.Int64,
            "off": pl.Datetime("us", "UTC"),
            "off_time": pl.Time,
            "race_name": pl.String,
            "course_name": pl.String,
        },
        orient="row",
    ).with_columns(pl.col("race_name").map_elements(pricing.is_handicap, return_dtype=pl.Boolean).alias("handicap"))


def _warn_unusual_off_times(races: pl.DataFrame, race_date: dt.date) -> None:
    times = races.get_column("off_time").drop_nulls()
    if times.len() and (times.min() < EARLIEST_USUAL_OFF or times.max() > LATEST_USUAL_OFF):  # type: ignore[operator]
        log.warning(
            "off times of %s run from %s to %s UK time: outside 09:00-22:30, check the zone of off_time (race_tz)",
            race_date,
            times.min(),
            times.max(),
        )


def _model_frames(model: WinModel, features: FeatureSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    missing = [c for c in model.feature_columns if c not in features.frame.columns]
    if missing:
        raise GiddyUpError(
            f"model {model.name} v{model.version} needs feature column {missing[0]}, which the day's features lack"
        )
    p_model = model.predict_p_model(features).select(
        pl.col("runner_id").cast(pl.Int64), pl.col("p_model").cast(pl.Float64)
    )
    # The combination stage's history term (giddyup.model.combine), for models that have one; a
    # stand-in model without it is combined as Benter's two-covariate stage (the term counts as 0).
    history_term = getattr(model, "predict_vs_market_logit", None)
    if history_term is not None:
        logit = history_term(features).select(
            pl.col("runner_id").cast(pl.Int64), pl.col("vs_market_logit").cast(pl.Float64)
        )
        p_model = p_model.join(logit, on="runner_id", how="left")
    explained = model.explain(features, top=3)
    drivers = pl.DataFrame(
        {
            "runner_id": explained.get_column("runner_id").cast(pl.Int64),
            "drivers_json": [drivers_json(c) for c in explained.get_column("contributions").to_list()],
        },
        schema={"runner_id": pl.Int64, "drivers_json": pl.String},
    )
    return p_model, drivers


def score_day(
    conn: psycopg.Connection,
    *,
    race_date: dt.date,
    as_of: dt.datetime,
    model: WinModel,
    features: FeatureSet,
    settings: Settings,
    market: MarketModel | None = None,
) -> ScoreResult:
    """Price and publish the day's card at `as_of` (see the module docstring)."""
    market = market or production_market_model(model.combiner)
    races = read_card_races(conn, race_date, settings.race_zone)
    _warn_unusual_off_times(races, race_date)
    skipped: dict[int, str] = {}
    for row in races.iter_rows(named=True):
        if row["off"] is None:
            skipped[row["race_id"]] = "no off time"
        elif row["off"] <= as_of:
            skipped[row["race_id"]] = "off before as_of"
    open_races = races.filter(~pl.col("race_id").is_in(list(skipped)))

    p_model, drivers = _model_frames(model, features)
    seen = race_prices.read_runner_prices(conn, open_races.get_column("race_id").to_list(), race_date, as_of)
    snapshots = race_prices.write_snapshots(conn, race_prices.snapshot_rows(seen, as_of))
    card = (
        race_prices.choose_best_prices(seen)
        .join(p_model, on="runner_id", how="left")
        .join(drivers, on="runner_id", how="left")
        .join(open_races.select("race_id", "handicap"), on="race_id", how="left")
    )
    declared = set(card.get_column("race_id").to_list())
    for race_id in open_races.get_column("race_id").to_list():
        if race_id not in declared:
            skipped[race_id] = "no declared runners"

    priced = price_card(
        card,
        as_of=as_of,
        model_id=model.model_id,
        market=market,
        rules=pricing.StakeRules.from_settings(settings),
        min_liquidity_volume=settings.min_liquidity_volume,
        day_budget=day_budget(conn, race_date, as_of, settings.max_stake_per_day),
        decided_races=decided_races(conn, race_date, as_of),
    )
    skipped.update(priced.skipped)
    for race_id, reason in sorted(skipped.items()):
        log.info("race_id %s not priced: %s", race_id, reason)
    published = publish_signals(conn, priced.signals)
    # Nothing priced (e.g. the day has resulted since): keep the file of the run that priced it.
    runners_path = (
        save_scored_runners(settings.artifacts_path, race_date, features, priced.signals, priced.extras, model, as_of)
        if priced.signals.height
        else None
    )
    return ScoreResult(
        race_date=race_date,
        as_of=as_of,
        model_name=model.name,
        model_version=str(model.version),
        model_id=model.model_id,
        races_on_card=races.height,
        races_priced=priced.signals.get_column("race_id").n_unique() if priced.signals.height else 0,
        runners_priced=priced.signals.height,
        skipped=skipped,
        published=published,
        snapshots_written=snapshots,
        top_edges=top_edges(conn, priced.signals, races),
        runners_path=runners_path,
    )


def save_scored_runners(
    artifacts: Path,
    race_date: dt.date,
    features: FeatureSet,
    signals: pl.DataFrame,
    extras: pl.DataFrame,
    model: WinModel,
    as_of: dt.datetime,
) -> Path:
    """<artifacts>/scoring/<date>/runners.parquet: what the drift report compares with training."""
    ids = [c for c in ID_COLUMNS if c in features.frame.columns]
    feature_columns = [c for c in model.feature_columns if c not in ids]
    scored = (
        signals.select("runner_id", "p_model", "p_win", "p_market", "best_odds_win", "best_odds_src")
        .join(extras.select("runner_id", "overround"), on="runner_id", how="left")
        .join(features.frame.select(*ids, *feature_columns), on="runner_id", how="left")
        .with_columns(
            pl.lit(model.name).alias("model_name"),
            pl.lit(str(model.version)).alias("model_version"),
            pl.lit(model.model_id, pl.Int64).alias("model_id"),
            pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of"),
        )
        .sort("race_id", "runner_id")
    )
    folder = artifacts / "scoring" / race_date.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "runners.parquet"
    partial = folder / "runners.parquet.partial"
    scored.write_parquet(partial)
    partial.replace(path)  # readers never see half a file
    return path


def top_edges(
    conn: psycopg.Connection, signals: pl.DataFrame, races: pl.DataFrame, top: int = TOP_EDGES
) -> pl.DataFrame:
    """The runners with the largest edge_win, with horse, course and UK off time, for the summary."""
    if signals.height == 0:
        return pl.DataFrame()
    best = signals.filter(pl.col("edge_win").is_not_null()).sort("edge_win", descending=True).head(top)
    names: dict[int, str] = dict(
        conn.execute(
            "SELECT horse_id, horse_name FROM racing.horses WHERE horse_id = ANY(%s)",
            (best.get_column("horse_id").to_list(),),
        ).fetchall()
    )
    return best.join(races.select("race_id", "off_time", "course_name"), on="race_id", how="left").select(
        pl.col("off_time").dt.strftime("%H:%M").alias("off (UK)"),
        pl.col("course_name").alias("course"),
        pl.col("horse_id").replace_strict(names, default=None, return_dtype=pl.String).alias("horse"),
        pl.col("best_odds_win").alias("odds"),
        pl.col("best_odds_src").alias("source"),
        "p_win",
        "edge_win",
        "stake_units",
    )
