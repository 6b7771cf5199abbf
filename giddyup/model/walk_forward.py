"""Walk-forward evaluation: retrain before each step of the test window, score the step, pool.

`giddyup evaluate --retrain-every season|month|DAYS`. The test window is cut into steps; each step
is scored by a model fitted (fit_win_model: cross-validation, isotonic calibration, combiner and
place model, as `giddyup train` fits them) on every resulted race before the step's first day, as
a production that retrains would have priced it. The pooled figures are computed over the scored
races of every step together (R² = 1 − Σ log loss / Σ log field size over all of them, not an
average of the steps'), under the same keys as the single fit. The single fit (trained once up to
--train-until, scored on the whole window) is computed on the same races and kept beside them.

Steps (season: 1 September in Hong Kong, 1 January elsewhere; month; N days) are cut by
giddyup.model.walk_steps; a step without a scored race is skipped (no model is fitted for it) and
listed under `skipped_steps`.

Features are built once for the whole period: every race's features use only earlier days
(giddyup.features.leakage, tests/test_leakage.py), so slicing one build is the same as building
up to each step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from matplotlib.figure import Figure

from giddyup.errors import GiddyUpError
from giddyup.features.contract import FeatureSet
from giddyup.model.evaluate import (
    ScoredTest,
    feature_importance,
    fit_and_score,
    model_summary,
    score_block,
    staking_block,
)
from giddyup.model.evaluation_report import calibration_figure, importance_figure, profit_figure
from giddyup.model.market import choose_price_column
from giddyup.model.params import TrainConfig
from giddyup.model.scores import probability_scores, scored_races
from giddyup.model.train import resulted_rows
from giddyup.model.walk_steps import (
    CALENDAR_SEASON_MONTH,
    HK_SEASON_MONTH,
    Cadence,
    season_label,
    season_start_month,
    step_windows,
)

PREDICTION_COLUMNS = ("step", "race_id", "runner_id", "race_date", "field_size", "won")


@dataclass
class WalkForward:
    result: dict  # evaluation.json
    figures: dict[str, Figure]
    predictions: pl.DataFrame  # every scored runner of every step: ids, step, won, p_market, p_model, p_win ...


def _slice(features: FeatureSet, condition: pl.Expr) -> FeatureSet:
    return FeatureSet(features.frame.filter(condition), features.feature_columns, features.categorical_columns)


def _iso(value: object) -> str | None:
    return None if value is None else str(value)


def walk_forward(
    features: FeatureSet,
    *,
    train_until: dt.date,
    test_from: dt.date,
    test_until: dt.date,
    cadence: Cadence,
    config: TrainConfig | None = None,
    market_price: str = "auto",
    min_edge: float = 0.1,
    truth: pl.DataFrame | None = None,
    window: dict | None = None,
    on_step: Callable[[dict], None] | None = None,
) -> WalkForward:
    """Retrain before every step of test_from..test_until and score it; pool; the single fit
    (trained up to train_until, scored on the whole window) beside. `features` spans both."""
    config = config or TrainConfig()
    if not train_until < test_from <= test_until:
        raise GiddyUpError("need --train-until < --test-from <= --test-until")
    day = pl.col("race_date")
    in_test = (day >= test_from) & (day <= test_until)
    before_test = resulted_rows(features.frame.filter(day < test_from))
    if before_test.height == 0:
        raise GiddyUpError(f"no resulted race before {test_from} to train on")
    # One market for every step, chosen as the first step's training would choose it.
    price_column = choose_price_column(before_test, market_price)
    season_month = CALENDAR_SEASON_MONTH
    if cadence.kind == "season":
        season_month = season_start_month(features.frame.filter(in_test).get_column("region").unique().to_list())
    windows = step_windows(test_from, test_until, cadence, season_month)
    scorable_days = scored_races(resulted_rows(features.frame.filter(in_test)), price_column).get_column("race_date")

    steps: list[dict] = []
    skipped: list[dict] = []
    scored_steps: list[ScoredTest] = []
    for first, last in windows:
        if not scorable_days.is_between(first, last).any():  # nothing to score: no model is fitted
            reason = f"no race with one winner and a {price_column} price for every starter"
            skipped.append({"test_from": str(first), "test_until": str(last), "reason": reason})
            continue
        train = _slice(features, day < first)
        test = _slice(features, day.is_between(first, last))
        try:
            done = fit_and_score(train, test, config=config, market_price=price_column, truth=truth)
        except GiddyUpError as exc:
            raise GiddyUpError(f"walk-forward step {first}..{last}: {exc}") from None
        scored_steps.append(done)
        step = _step_row(len(steps) + 1, first, last, done, config, season_month if cadence.kind == "season" else 0)
        steps.append(step)
        if on_step:
            on_step(step)
    if not steps:
        raise GiddyUpError(f"no step of {test_from}..{test_until} has a scored race")

    single = fit_and_score(
        _slice(features, day <= train_until),
        _slice(features, in_test),
        config=config,
        market_price=price_column,
        truth=truth,
    )
    predictions = pl.concat(
        [done.scored.with_columns(pl.lit(i + 1).alias("step")) for i, done in enumerate(scored_steps)],
        how="diagonal_relaxed",
    )
    sources = _common_sources(scored_steps)
    latest = scored_steps[-1].bundle
    block = score_block(predictions, sources)
    roi, curves = staking_block(predictions, sources, price_column, min_edge)
    uncalibrated = probability_scores(predictions, "p_raw")
    result = {
        "n_races": block.pop("n_races"),
        "n_runners": block.pop("n_runners"),
        "market_price": price_column,
        "window": window or {},
        **block,
        "roi": roi,
        "model_uncalibrated": {k: uncalibrated[k] for k in ("r2", "logloss", "ece")},
        # the latest step's model: the one production would be serving at the end of the window
        **model_summary(latest, config),
        "feature_importance": feature_importance(latest).head(30).to_dicts(),
        "walk_forward": {
            "retrain_every": cadence.label,
            "season_rule": _season_rule(season_month) if cadence.kind == "season" else None,
            "n_steps": len(steps),
            "pooled": "every scored race of every step together",
        },
        "steps": steps,
        "skipped_steps": skipped,
        "single_fit": {
            "window": {"train_until": str(train_until), "test_from": str(test_from), "test_until": str(test_until)},
            **score_block(single.scored, {k: v for k, v in sources.items() if k in single.sources}),
            **model_summary(single.bundle, config),
        },
    }
    figures = {
        "Calibration (test races, all steps)": calibration_figure(predictions, dict(sources)),
        "Cumulative profit (all steps)": profit_figure(curves, roi["rule"]),
        "Feature importance (latest step's model)": importance_figure(feature_importance(latest)),
    }
    keep = [*PREDICTION_COLUMNS, price_column, *sources.values()]
    return WalkForward(result, figures, predictions.select(keep).sort("race_date", "race_id", "runner_id"))


def _season_rule(month: int) -> str:
    return "Hong Kong seasons, opening on 1 September" if month == HK_SEASON_MONTH else "seasons are calendar years"


def _common_sources(steps: list[ScoredTest]) -> dict[str, str]:
    """Sources every step scored (the oracle only when every step had it)."""
    sources = dict(steps[0].sources)
    for done in steps[1:]:
        sources = {k: v for k, v in sources.items() if k in done.sources}
    return sources


def _step_row(
    number: int, first: dt.date, last: dt.date, done: ScoredTest, config: TrainConfig, season_month: int
) -> dict:
    bundle = done.bundle
    scored_days = done.scored.get_column("race_date")
    summary = model_summary(bundle, config)
    return {
        "step": number,
        "season": season_label(first, season_month) if season_month else None,
        "window": {
            "train_from": bundle.metadata["fit_from"],
            "train_until": str(first - dt.timedelta(days=1)),
            "test_from": str(first),
            "test_until": str(last),
        },
        # what the fit really saw and what was really scored (race days)
        "fit_until": bundle.metadata["fit_until"],
        "first_scored_day": _iso(scored_days.min()),
        "last_scored_day": _iso(scored_days.max()),
        **score_block(done.scored, done.sources),
        "training": summary["training"],
        "combiner": {k: summary["combiner"][k] for k in ("coef", "n_races") if k in summary["combiner"]},
    }
