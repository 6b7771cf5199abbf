"""Training on synthetic races with known probabilities: real LightGBM, out-of-fold calibration."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from giddyup.errors import GiddyUpError
from giddyup.features.contract import FeatureSet
from giddyup.model.calibration import fit_isotonic
from giddyup.model.params import TrainConfig
from giddyup.model.race_probability import RaceGroups
from giddyup.model.train import fit_win_model, predict_frame
from tests.support.synthetic_races import synthetic_races

TINY = TrainConfig(
    n_folds=3, learning_rate=0.1, max_rounds=80, early_stopping_rounds=10, min_data_in_leaf=40, num_threads=1
)


@pytest.fixture(scope="module")
def fitted():
    features, truth = synthetic_races(360, seed=21)
    return features, truth, fit_win_model(features, TINY)


def test_calibrator_is_fitted_only_on_rows_scored_by_models_that_never_saw_them(fitted):
    features, _, fit = fitted
    frame = features.frame.sort("race_date", "race_id", "runner_id")
    runner_ids = frame.get_column("runner_id").to_numpy()
    race_dates = frame.get_column("race_date").to_numpy()
    scored_by = {}
    for k, fold in enumerate(fit.cv.folds):
        train_ids = set(runner_ids[fold.train_rows])
        for row in fold.valid_rows:
            assert runner_ids[row] not in train_ids
            assert race_dates[row] > race_dates[fold.train_rows].max()  # strictly later races
            scored_by[runner_ids[row]] = k
    calibration_ids = set(fit.calibration_runner_ids.tolist())
    assert calibration_ids and calibration_ids <= set(scored_by)  # every calibration row is out of fold
    first_block = set(runner_ids[fit.cv.folds[0].train_rows])
    assert not calibration_ids & first_block  # rows no fold predicted are not used
    # and the calibrator is exactly the isotonic fit of those out-of-fold predictions
    oof = fit.oof
    refit = fit_isotonic(oof.get_column("p_raw").to_numpy(), oof.get_column("win_share").to_numpy())
    assert refit == fit.bundle.calibrator


def test_fitted_model_is_race_normalised_and_learns_the_true_signal(fitted):
    *_, fit = fitted
    test, test_truth = synthetic_races(200, seed=99, first_race_id=10_000)
    scored = predict_frame(fit.bundle, test.frame).join(test_truth, on="runner_id")
    groups = RaceGroups.of(scored.get_column("race_id").to_numpy())
    for column in ("p_model", "p_win", "p_market"):
        assert np.allclose(groups.sum(scored.get_column(column).to_numpy()), 1.0), column
    # p_model tracks the true probabilities far better than a uniform guess would
    p_model, p_true = scored.get_column("p_model").to_numpy(), scored.get_column("p_true").to_numpy()
    uniform = 1.0 / groups.broadcast(groups.sizes)
    assert np.corrcoef(np.log(p_model), np.log(p_true))[0, 1] > 0.6
    assert np.mean(np.abs(p_model - p_true)) < np.mean(np.abs(uniform - p_true))
    assert fit.bundle.combiner["coef"]["log_p_market"] > 0
    assert fit.bundle.combiner["place"]["fitted"]


def test_binary_objective_also_trains_and_normalises():
    features, _ = synthetic_races(200, seed=5)
    fit = fit_win_model(features, TINY.with_(objective="binary", n_folds=2))
    p = fit.bundle.p_model(features.frame)
    assert np.allclose(RaceGroups.of(features.frame.get_column("race_id").to_numpy()).sum(p), 1.0)


def test_training_refuses_too_few_races_and_leaky_feature_lists():
    features, _ = synthetic_races(30, seed=1)
    with pytest.raises(GiddyUpError, match="resulted races"):
        fit_win_model(features, TINY)
    features, _ = synthetic_races(100, seed=1)
    leaky = FeatureSet(features.frame, (*features.feature_columns, "dec"), features.categorical_columns)
    with pytest.raises(GiddyUpError, match="id/label/market"):
        fit_win_model(leaky, TINY)


def test_unresulted_races_are_left_out_of_training():
    features, _ = synthetic_races(120, seed=2)
    frame = features.frame.with_columns(
        pl.when(pl.col("race_id") <= 10).then(None).otherwise(pl.col("win_share")).alias("win_share")
    )
    fit = fit_win_model(
        FeatureSet(frame, features.feature_columns, features.categorical_columns), TINY.with_(n_folds=2)
    )
    assert fit.bundle.metadata["n_races"] == 110


def test_versus_market_covariates_are_fitted_out_of_fold_and_applied_with_the_model(tmp_path):
    """A covariate the feature set has enters the combination stage; one it lacks is left out; the
    saved model applies the same p_win (the combiner is JSON next to the booster)."""
    from giddyup.model.bundle import ModelBundle
    from giddyup.model.combine import combine_with_market

    features, _ = synthetic_races(240, seed=8)
    fit = fit_win_model(features, TINY.with_(vs_market_covariates=("x1", "not_a_feature")))
    part = fit.bundle.combiner["vs_market"]
    assert set(part["coef"]) == {"x1"} and np.isfinite(part["std_err"]["x1"])
    test, _ = synthetic_races(60, seed=9, first_race_id=5_000)
    scored = predict_frame(fit.bundle, test.frame)
    race_id = scored.get_column("race_id").to_numpy()
    p_model, p_market = scored.get_column("p_model").to_numpy(), scored.get_column("p_market").to_numpy()
    logit = part["coef"]["x1"] * test.frame.get_column("x1").to_numpy()
    expected = combine_with_market(race_id, p_model, p_market, fit.bundle.combiner, logit)
    assert np.allclose(scored.get_column("p_win").to_numpy(), expected)
    assert not np.allclose(expected, combine_with_market(race_id, p_model, p_market, fit.bundle.combiner))
    loaded = ModelBundle.load(fit.bundle.save(tmp_path / "model"))
    assert np.allclose(loaded.p_win(test.frame, p_model, p_market), expected)
    # (): Benter's two covariates only
    two = fit_win_model(features, TINY.with_(vs_market_covariates=()))
    assert "vs_market" not in two.bundle.combiner
