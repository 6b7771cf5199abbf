"""Morning scoring: the production model prices every declared runner of a day's card.

The model and the day's features are arguments (the CLI loads them once), so the job itself only
reads the database at the instant `at`: the card (giddyup.race_day.card), the best prices
(recorded as snapshots), paper stakes already committed. It publishes one signal row per priced
runner with as_of = at (giddyup.race_day.pricing_run, shared with the refresh), and saves the
scored runners (ids, features, probabilities, market figures, model version) to
scoring/<date>/runners.parquet under the artifacts folder, for the drift report.

Races that cannot be priced are skipped and counted with their reason: already off at the
instant, no off time, no prices, one runner, a runner without a p_model (model missing a
required input).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl
import psycopg

from giddyup.config import Settings
from giddyup.errors import GiddyUpError
from giddyup.features.contract import ID_COLUMNS, FeatureSet
from giddyup.publish import PublishResult
from giddyup.race_day.card import CardRace, read_card
from giddyup.race_day.price_card import MarketModel, production_market_model
from giddyup.race_day.pricing_run import open_races, price_races
from giddyup.race_day.reasons import drivers_json

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
    at: dt.datetime
    model_name: str
    model_version: str
    model_id: int
    races_on_card: int
    races_priced: int
    runners_priced: int
    skipped: dict[int, str] = field(default_factory=dict)
    published: PublishResult | None = None
    snapshots_written: int = 0
    non_runners: dict[int, list[int]] = field(default_factory=dict)  # race_id -> horse_ids dropped as withdrawn
    top_edges: pl.DataFrame = field(default_factory=pl.DataFrame)
    runners_path: Path | None = None
    # With defer_runners_file: the written file waiting for the transaction to commit.
    runners_pending: Path | None = None

    def publish_runners_file(self) -> Path | None:
        """Move the scored runners file into place: call after the transaction has committed, so
        the file never disagrees with the database (a failed commit leaves the previous file)."""
        if self.runners_pending is not None and self.runners_path is not None:
            self.runners_pending.replace(self.runners_path)
            self.runners_pending = None
        return self.runners_path

    @property
    def covered_share(self) -> float:
        return self.races_priced / self.races_on_card if self.races_on_card else 0.0

    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason in self.skipped.values():
            key = reason.split(" (")[0]
            counts[key] = counts.get(key, 0) + 1
        return counts


def _warn_unusual_off_times(races: list[CardRace], race_date: dt.date) -> None:
    times = [race.off_time for race in races if race.off_time is not None]
    if times and (min(times) < EARLIEST_USUAL_OFF or max(times) > LATEST_USUAL_OFF):
        log.warning(
            "off times of %s run from %s to %s UK time: outside 09:00-22:30, check the zone of off_time (race_tz)",
            race_date,
            min(times),
            max(times),
        )


def _model_frame(model: WinModel, features: FeatureSet) -> pl.DataFrame:
    """p_model per runner (race_id, horse_id), with the model's history term and drivers."""
    missing = [c for c in model.feature_columns if c not in features.frame.columns]
    if missing:
        raise GiddyUpError(
            f"model {model.name} v{model.version} needs feature column {missing[0]}, which the day's features lack"
        )
    ids = features.frame.select(
        pl.col("runner_id").cast(pl.Int64), pl.col("race_id").cast(pl.Int64), pl.col("horse_id").cast(pl.Int64)
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
    return (
        ids.join(p_model, on="runner_id", how="inner")
        .join(drivers, on="runner_id", how="left")
        .with_columns(pl.lit(model.model_id, pl.Int64).alias("model_id"))
        .drop("runner_id")
    )


def score_day(
    conn: psycopg.Connection,
    *,
    race_date: dt.date,
    at: dt.datetime,
    model: WinModel,
    features: FeatureSet,
    settings: Settings,
    market: MarketModel | None = None,
    defer_runners_file: bool = False,
) -> ScoreResult:
    """Price and publish the day's card at `at` (see the module docstring).

    `defer_runners_file`: write the scored runners beside their place and leave moving them in to
    `ScoreResult.publish_runners_file`, once the caller's transaction has committed."""
    market = market or production_market_model(model.combiner)
    card = read_card(conn, race_date, at, settings.race_zone, settings.bet_source)
    on_card = [race for race in card.races if race.prelim]
    _warn_unusual_off_times(on_card, race_date)
    skipped: dict[int, str] = {}
    for race in on_card:
        if race.off is None:
            skipped[race.race_id] = "no off time"
        elif not race.is_open(at):
            skipped[race.race_id] = "off before as_of"

    run = price_races(
        conn,
        card=card,
        races=open_races(card, at),
        p_model=_model_frame(model, features),
        markets={model.model_id: market},
        settings=settings,
    )
    skipped.update(run.skipped)
    # Nothing priced (e.g. the day has resulted since): keep the file of the run that priced it.
    runners_path = (
        save_scored_runners(
            settings.artifacts.scored_runners(race_date),
            features,
            run.signals,
            run.extras,
            model,
            at,
            publish=not defer_runners_file,
        )
        if run.signals.height
        else None
    )
    pending = pending_runners_file(runners_path) if runners_path is not None and defer_runners_file else None
    return ScoreResult(
        race_date=race_date,
        at=at,
        model_name=model.name,
        model_version=str(model.version),
        model_id=model.model_id,
        races_on_card=len(on_card),
        races_priced=run.races_priced,
        runners_priced=run.runners_priced,
        skipped=skipped,
        published=run.published,
        snapshots_written=run.snapshots_written,
        non_runners=run.non_runners,
        top_edges=top_edges(conn, run.signals, on_card),
        runners_path=runners_path,
        runners_pending=pending,
    )


def pending_runners_file(path: Path) -> Path:
    """Where the scored runners wait for the commit (beside the file, never read by drift)."""
    return path.with_name(path.name + ".partial")


def save_scored_runners(
    path: Path,
    features: FeatureSet,
    signals: pl.DataFrame,
    extras: pl.DataFrame,
    model: WinModel,
    at: dt.datetime,
    *,
    publish: bool = True,
) -> Path:
    """The scored runners (giddyup.artifacts: scoring/<D>/runners.parquet), what the drift report
    compares with training."""
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
            pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("as_of"),
        )
        .sort("race_id", "runner_id")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = pending_runners_file(path)
    scored.write_parquet(partial)
    if publish:
        partial.replace(path)  # readers never see half a file
    return path


def top_edges(
    conn: psycopg.Connection, signals: pl.DataFrame, races: list[CardRace], top: int = TOP_EDGES
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
    where = pl.DataFrame(
        {
            "race_id": [race.race_id for race in races],
            "off_time": [race.off_time for race in races],
            "course_name": [race.course_name for race in races],
        },
        schema={"race_id": pl.Int64, "off_time": pl.Time, "course_name": pl.String},
    )
    return best.join(where, on="race_id", how="left").select(
        pl.col("off_time").dt.strftime("%H:%M").alias("off (UK)"),
        pl.col("course_name").alias("course"),
        pl.col("horse_id").replace_strict(names, default=None, return_dtype=pl.String).alias("horse"),
        pl.col("best_odds_win").alias("odds"),
        pl.col("best_odds_src").alias("source"),
        "p_win",
        "edge_win",
        "stake_units",
    )


def score_race_day(
    conn: psycopg.Connection,
    settings: Settings,
    dsn: str,
    race_date: dt.date,
    at: dt.datetime,
    *,
    model_version: str | None = None,
) -> ScoreResult:
    """`giddyup score --date D --at T [--model-version V]`: the day's model (giddyup.scored_days:
    the version that first scored the day, else production, or V on purpose) and the day's
    features, then score_day; the version is recorded with the signals. The scored runners file
    is left pending: call `publish_runners_file` on the result once `conn` has committed."""
    from giddyup.features.build import build_race_day_features
    from giddyup.model.win_model import load_model_version, load_production_model
    from giddyup.scored_days import record_version, recorded_version

    version = model_version or recorded_version(conn, race_date, settings.model_name)
    model = load_model_version(settings, version) if version else load_production_model(settings)
    features = build_race_day_features(dsn, race_date=race_date)
    result = score_day(
        conn, race_date=race_date, at=at, model=model, features=features, settings=settings, defer_runners_file=True
    )
    if result.runners_priced:
        record_version(
            conn, race_date, model.name, str(model.version), model.model_id, at, replace=model_version is not None
        )
    return result
