"""Fitting the whole win model on a FeatureSet, and scoring it on a time-ordered holdout.

fit_win_model: LightGBM with forward-chaining CV → out-of-fold raw scores → race softmax →
isotonic calibration fitted on the out-of-fold rows only → Benter combiner (with its
versus-market covariates, combine.py) fitted on the same out-of-fold rows → place exponents
fitted on out-of-fold p_win → final booster on every row with the CV's number of rounds.
train_with_holdout keeps the latest race days out of all of that and scores them, which is what
`giddyup train` logs and what promotion compares.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

import numpy as np
import polars as pl

from giddyup.errors import GiddyUpError
from giddyup.features.contract import FeatureSet, feature_list_hash
from giddyup.model import lgbm
from giddyup.model.bundle import ModelBundle
from giddyup.model.calibration import IDENTITY, IsotonicCalibrator, fit_isotonic
from giddyup.model.combine import combine_with_market, fit_combiner, model_only, vs_market_logit
from giddyup.model.edge import logloss_gain
from giddyup.model.market import choose_price_column, market_probability, overround
from giddyup.model.params import TrainConfig
from giddyup.model.place import fit_place_model
from giddyup.model.race_probability import RaceGroups
from giddyup.model.scores import probability_scores, scored_races

MIN_TRAIN_RACES = 50


def resulted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of races with a result (win_share sums to one), in time order."""
    share = pl.col("win_share").fill_null(0.0).sum().over("race_id")
    return frame.filter((share - 1.0).abs() < 1e-6).sort("race_date", "race_id", "runner_id")


@dataclass
class FitResult:
    bundle: ModelBundle
    cv: lgbm.CrossValidation
    oof: pl.DataFrame  # out-of-fold rows: ids, labels, p_raw, p_model, p_market, p_win
    calibration_runner_ids: np.ndarray  # the rows the calibrator was fitted on


def fit_win_model(features: FeatureSet, config: TrainConfig, *, price_column: str = "auto") -> FitResult:
    try:
        features.check()
    except ValueError as exc:
        raise GiddyUpError(f"feature set rejected: {exc}") from None
    frame = resulted_rows(features.frame)
    n_races = frame.get_column("race_id").n_unique()
    if n_races < MIN_TRAIN_RACES:
        raise GiddyUpError(f"only {n_races} resulted races to train on; need at least {MIN_TRAIN_RACES}")
    price_column = choose_price_column(frame, price_column)
    race_id = frame.get_column("race_id").to_numpy()
    race_date = frame.get_column("race_date").to_numpy()
    win_share = frame.get_column("win_share").cast(pl.Float64).to_numpy()
    categorical = [c for c in features.categorical_columns if c in features.feature_columns]
    x = lgbm.to_pandas_features(frame, features.feature_columns, categorical)

    # Finishing positions feed the rank-ordered stages of the objective (NaN: did not finish).
    pos_num = frame.get_column("pos_num").cast(pl.Float64).to_numpy()
    cv = lgbm.cross_validate(x, race_id, race_date, win_share, categorical, config, pos_num)
    has_oof = np.isfinite(cv.oof_scores)
    covariates = [c for c in config.vs_market_covariates if c in features.feature_columns]
    calibrator, combiner, oof = _fit_second_stage(
        frame.filter(pl.Series(has_oof)), cv.oof_scores[has_oof], config, price_column, covariates
    )

    rounds = lgbm.final_rounds(cv, config)
    booster = lgbm.fit_final(x, race_id, win_share, categorical, config, rounds, pos_num)
    bundle = ModelBundle(
        booster=booster,
        feature_columns=tuple(features.feature_columns),
        categorical_columns=tuple(categorical),
        objective=config.objective,
        calibrator=calibrator,
        combiner=combiner,
        metadata={
            "fit_from": str(min(race_date)),
            "fit_until": str(max(race_date)),
            "n_races": int(n_races),
            "n_runners": frame.height,
            "rounds": rounds,
            "fold_best_iterations": [f.best_iteration for f in cv.folds],
            "fold_valid_logloss": [f.valid_logloss for f in cv.folds],
            "feature_hash": feature_list_hash(features.feature_columns, categorical),
            "config": config.as_dict(),
        },
    )
    return FitResult(bundle, cv, oof, oof.get_column("runner_id").to_numpy())


def _fit_second_stage(
    oof: pl.DataFrame, oof_scores: np.ndarray, config: TrainConfig, price_column: str, covariates: list[str]
) -> tuple[IsotonicCalibrator, dict, pl.DataFrame]:
    """Calibrator, combiner (with its versus-market covariates and the place model) and the
    out-of-fold rows with their predictions, all fitted on out-of-fold rows only."""
    race_id = oof.get_column("race_id").to_numpy()
    win_share = oof.get_column("win_share").cast(pl.Float64).to_numpy()
    groups = RaceGroups.of(race_id)
    p_raw = groups.softmax(oof_scores)
    calibrator = fit_isotonic(p_raw, win_share) if config.calibrate else IDENTITY
    p_model = calibrator.apply(groups, p_raw)
    p_market = market_probability(oof, price_column)
    columns = {name: oof.get_column(name).cast(pl.Float64).to_numpy() for name in covariates}
    try:
        combiner = fit_combiner(race_id, p_model, p_market, win_share, price_column=price_column, covariates=columns)
    except GiddyUpError:  # no out-of-fold race with a complete market
        combiner = model_only(price_column)
    p_win = combine_with_market(race_id, p_model, p_market, combiner, vs_market_logit(columns, combiner, oof.height))
    combiner["place"] = fit_place_model(race_id, p_win, oof.get_column("pos_num").to_numpy())
    predictions = [("p_raw", p_raw), ("p_model", p_model), ("p_market", p_market), ("p_win", p_win)]
    return calibrator, combiner, oof.with_columns(pl.Series(name, values) for name, values in predictions)


def predict_frame(bundle: ModelBundle, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with p_model, p_market (in the bundle's price column), overround and p_win added."""
    price_column = bundle.combiner["price_column"]
    p_model = bundle.p_model(frame)
    has_prices = price_column in frame.columns
    p_market = market_probability(frame, price_column) if has_prices else np.full(frame.height, np.nan)
    book = overround(frame, price_column) if has_prices else np.full(frame.height, np.nan)
    return frame.with_columns(
        pl.Series("p_model", p_model),
        pl.Series("p_market", p_market),
        pl.Series("overround", book),
        pl.Series("p_win", bundle.p_win(frame, p_model, p_market)),
    )


def split_holdout(frame: pl.DataFrame, config: TrainConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(fit rows, holdout rows): the holdout is the latest race days holding about holdout_fraction
    of the races (at most holdout_max_races); a race day is never split."""
    per_day = (
        frame.group_by("race_date").agg(pl.col("race_id").n_unique().alias("races")).sort("race_date", descending=True)
    )
    total = int(per_day.get_column("races").sum())
    target = min(config.holdout_fraction * total, config.holdout_max_races)
    cumulative = per_day.get_column("races").cum_sum().to_numpy()
    n_days = int(np.searchsorted(cumulative, target) + 1) if target > 0 else 0
    if n_days >= per_day.height:
        raise GiddyUpError("the holdout would take every race day; train on a longer window")
    first_holdout_day = per_day.get_column("race_date")[n_days - 1] if n_days else None
    if first_holdout_day is None:
        return frame, frame.clear()
    return frame.filter(pl.col("race_date") < first_holdout_day), frame.filter(pl.col("race_date") >= first_holdout_day)


def holdout_metrics(scored: pl.DataFrame, price_column: str) -> dict:
    """Scores of p_model, p_win and the market on the holdout's scored races."""
    races = scored_races(scored, price_column)
    with_market = races.height > 0
    if not with_market:  # no complete market anywhere: score the model alone on single-winner races
        races = scored_races(scored, None)
    return {
        "n_races": races.get_column("race_id").n_unique() if races.height else 0,
        "n_runners": races.height,
        "price_column": price_column if with_market else None,
        "model": probability_scores(races, "p_model"),
        "combined": probability_scores(races, "p_win"),
        "market": probability_scores(races, "p_market") if with_market else None,
        # Does the combination price winners better than the market, beyond chance? (model/edge.py)
        "edge_vs_market": logloss_gain(races) if with_market else None,
    }


@dataclass
class TrainOutcome:
    fit: FitResult
    holdout: pl.DataFrame  # holdout rows with predictions
    metrics: dict
    data_window: dict


def train_with_holdout(features: FeatureSet, config: TrainConfig, *, price_column: str = "auto") -> TrainOutcome:
    frame = resulted_rows(features.frame)
    if frame.height == 0:
        raise GiddyUpError("the feature set has no resulted races to train on")
    fit_rows, holdout_rows = split_holdout(frame, config)
    fit = fit_win_model(
        FeatureSet(fit_rows, features.feature_columns, features.categorical_columns), config, price_column=price_column
    )
    holdout = predict_frame(fit.bundle, holdout_rows)
    metrics = holdout_metrics(holdout, fit.bundle.combiner["price_column"])
    # The staking rule reads it with the combination (giddyup.pricing.stands_down): no evidence of
    # edge on the holdout, no stakes.
    edge = metrics["edge_vs_market"]
    fit.bundle.combiner["edge_evidence"] = {
        "evidence_of_edge": bool(edge and edge["evidence_of_edge"]),
        "mean_gain_per_race": edge["mean_gain_per_race"] if edge else None,
        "ci95": edge["ci95"] if edge else None,
        "n_races": edge["n_races"] if edge else 0,
    }
    window = {
        "data_from": _iso(frame.get_column("race_date").min()),
        "data_until": _iso(frame.get_column("race_date").max()),
        "fit_until": _iso(fit_rows.get_column("race_date").max()),
        "holdout_from": _iso(holdout_rows.get_column("race_date").min()),
        "holdout_until": _iso(holdout_rows.get_column("race_date").max()),
    }
    fit.bundle.metadata.update(window)
    return TrainOutcome(fit, holdout, metrics, window)


def reference_sample(holdout: pl.DataFrame, feature_columns, rows: int, seed: int) -> pl.DataFrame:
    """Whole holdout races, drawn at random, up to about `rows` runners: the drift reference."""
    races = holdout.get_column("race_id").unique().sort()
    shuffled = races.sample(fraction=1.0, shuffle=True, seed=seed)
    sizes = holdout.group_by("race_id").len().join(pl.DataFrame({"race_id": shuffled}), on="race_id", how="right")
    keep = sizes.filter(pl.col("len").cum_sum() <= max(rows, cast(int, sizes.get_column("len").max() or 0)))
    sample = holdout.join(keep.select("race_id"), on="race_id", how="semi")
    return sample.select(
        "race_id", "runner_id", "race_date", *feature_columns, "p_model", "p_win", "p_market", "overround"
    ).sort("race_date", "race_id", "runner_id")


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else (None if value is None else str(value))
