"""Race arithmetic, the conditional logit, calibration out of fold, Benter's stage, place probabilities."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from giddyup.errors import GiddyUpError
from giddyup.model.calibration import fit_isotonic
from giddyup.model.combine import combine_with_market, fit_combiner, vs_market_logit
from giddyup.model.lgbm import forward_folds
from giddyup.model.place import default_place_model, fit_place_model, place_probabilities
from giddyup.model.race_probability import RaceGroups, fit_conditional_logit, race_softmax


def _races(rng: np.random.Generator, n_races: int, low: int = 4, high: int = 14) -> np.ndarray:
    sizes = rng.integers(low, high + 1, n_races)
    return np.repeat(np.arange(n_races) * 7 + 1000, sizes)  # race ids not 0..n-1


def _draw_winners(rng: np.random.Generator, race_id: np.ndarray, p: np.ndarray) -> np.ndarray:
    groups = RaceGroups.of(race_id)
    won = np.zeros(p.size)
    for r in range(groups.n_races):
        rows = groups.order[groups.starts[r] : groups.starts[r] + groups.sizes[r]]
        won[rng.choice(rows, p=p[rows] / p[rows].sum())] = 1.0
    return won


def test_softmax_sums_to_one_per_race_whatever_the_row_order():
    rng = np.random.default_rng(1)
    race_id = _races(rng, 50)
    shuffle = rng.permutation(race_id.size)
    scores = rng.normal(scale=30, size=race_id.size)  # large scores: overflow without the max shift
    p = race_softmax(race_id[shuffle], scores[shuffle])
    totals = pl.DataFrame({"r": race_id[shuffle], "p": p}).group_by("r").agg(pl.col("p").sum())["p"].to_numpy()
    assert np.allclose(totals, 1.0)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    # order of rows does not change any runner's probability
    unshuffled = race_softmax(race_id, scores)
    assert np.allclose(p, unshuffled[shuffle])


def test_conditional_logit_recovers_known_coefficients():
    rng = np.random.default_rng(7)
    race_id = _races(rng, 3000)
    x = rng.normal(size=(race_id.size, 3))
    true = np.array([1.2, -0.7, 0.3])
    p = race_softmax(race_id, x @ true)
    won = _draw_winners(rng, race_id, p)
    fit = fit_conditional_logit(race_id, x, won)
    assert np.all(np.abs(fit.coef - true) < 4 * fit.std_err), (fit.coef, fit.std_err)
    assert np.all(fit.std_err < 0.1)
    # a constant added to every runner of a race changes nothing (no intercept in a conditional logit)
    shifted = x + RaceGroups.of(race_id).broadcast(rng.normal(size=RaceGroups.of(race_id).n_races))[:, None]
    assert np.allclose(fit_conditional_logit(race_id, shifted, won).coef, fit.coef, atol=1e-3)


def test_conditional_logit_refuses_races_without_one_outcome():
    race_id = np.array([1, 1, 2, 2])
    with pytest.raises(GiddyUpError, match="sum to one"):
        fit_conditional_logit(race_id, np.arange(4.0), np.array([1.0, 0.0, 0.0, 0.0]))


def test_isotonic_calibration_renormalises_within_each_race():
    rng = np.random.default_rng(3)
    race_id = _races(rng, 400)
    truth = race_softmax(race_id, rng.normal(size=race_id.size))
    won = _draw_winners(rng, race_id, truth)
    overconfident = race_softmax(race_id, 2.0 * np.log(truth))
    calibrator = fit_isotonic(overconfident, won)
    calibrated = calibrator.apply(race_id, overconfident)
    groups = RaceGroups.of(race_id)
    assert np.allclose(groups.sum(calibrated), 1.0)
    assert np.all(calibrated > 0)
    # the map is non-decreasing, and it repairs the overconfidence
    assert np.all(np.diff(calibrator.y) >= 0) and np.all(np.diff(calibrator.x) > 0)

    def logloss(p):
        return -np.mean(np.log(p[won == 1]))

    assert logloss(calibrated) < logloss(overconfident) - 0.02


def test_forward_folds_never_validate_on_races_older_than_their_training():
    rng = np.random.default_rng(5)
    race_id = np.arange(3000) // 6  # six runners per race
    race_day = np.sort(rng.integers(0, 120, 500)).astype("timedelta64[D]")
    days = np.datetime64("2024-01-01") + race_day[race_id]
    folds = forward_folds(days, 4)
    assert len(folds) == 4
    seen_valid = set()
    for train_rows, valid_rows in folds:
        assert days[train_rows].max() < days[valid_rows].min()
        assert not set(race_id[train_rows]) & set(race_id[valid_rows])
        assert not seen_valid & set(valid_rows)
        seen_valid |= set(valid_rows)


def test_benter_stage_beats_model_and_market_when_they_know_different_things():
    rng = np.random.default_rng(11)
    race_id = _races(rng, 4000)
    a, b = rng.normal(size=race_id.size), rng.normal(size=race_id.size)
    truth = race_softmax(race_id, a + b)
    won = _draw_winners(rng, race_id, truth)
    p_model = race_softmax(race_id, a + 0.4 * rng.normal(size=race_id.size))  # knows a, not b
    p_market = race_softmax(race_id, b + 0.3 * a)  # knows b, a little of a
    fit_part = race_id < np.median(race_id)
    combiner = fit_combiner(race_id[fit_part], p_model[fit_part], p_market[fit_part], won[fit_part], price_column="dec")
    test = ~fit_part
    p_win = combine_with_market(race_id[test], p_model[test], p_market[test], combiner)

    def logloss(p):
        return -np.mean(np.log(p[won[test] == 1]))

    assert np.allclose(RaceGroups.of(race_id[test]).sum(p_win), 1.0)
    assert logloss(p_win) < min(logloss(p_model[test]), logloss(p_market[test])) - 0.02
    assert combiner["coef"]["log_p_model"] > 0 and combiner["coef"]["log_p_market"] > 0


def test_combination_stage_weighs_what_the_market_has_missed_before():
    """The market misses part z of the truth; the fundamental model knows z only among much noise
    (as a model estimating ability from form does next to a market that knows it): Benter's two
    covariates barely use the model, the versus-market covariate carries z into p_win."""
    rng = np.random.default_rng(5)
    race_id = _races(rng, 6000)
    n = race_id.size
    known, z = rng.normal(size=n), rng.normal(size=n)
    truth = race_softmax(race_id, 1.5 * known + 0.4 * z)
    won = _draw_winners(rng, race_id, truth)
    p_market = race_softmax(race_id, 1.5 * known)
    p_model = race_softmax(race_id, 0.6 * known + 0.4 * z + 1.2 * rng.normal(size=n))
    fit_part = race_id < np.median(race_id)
    test = ~fit_part
    args = (race_id[fit_part], p_model[fit_part], p_market[fit_part], won[fit_part])
    benter = fit_combiner(*args, price_column="win_bsp")
    with_z = fit_combiner(*args, price_column="win_bsp", covariates={"z": z[fit_part]})
    c, se = with_z["vs_market"]["coef"]["z"], with_z["vs_market"]["std_err"]["z"]
    assert abs(c - 0.4) < 4 * se and se < 0.05
    assert set(with_z["coef"]) == {"log_p_model", "log_p_market"}  # Benter's two, as before

    v = vs_market_logit({"z": z[test]}, with_z, int(test.sum()))
    assert np.allclose(v, c * z[test])
    p_two = combine_with_market(race_id[test], p_model[test], p_market[test], benter)
    p_three = combine_with_market(race_id[test], p_model[test], p_market[test], with_z, v)

    def logloss(p):
        return -np.mean(np.log(p[won[test] == 1]))

    assert np.allclose(RaceGroups.of(race_id[test]).sum(p_three), 1.0)
    assert logloss(p_three) < logloss(p_two) - 0.01
    # without the term (None, or a combiner without covariates) it is Benter's stage
    assert np.allclose(
        combine_with_market(race_id[test], p_model[test], p_market[test], with_z, None),
        combine_with_market(race_id[test], p_model[test], p_market[test], with_z, np.zeros(int(test.sum()))),
    )
    assert np.allclose(vs_market_logit({}, benter, 3), 0.0)
    # a missing covariate is no evidence: the market was right about it
    assert np.allclose(vs_market_logit({"z": np.array([np.nan, 1.0])}, with_z, 2), [0.0, c])
    with pytest.raises(GiddyUpError, match="needs column z"):
        vs_market_logit({}, with_z, 2)


def test_combiner_falls_back_to_p_model_where_a_race_lacks_a_market_price():
    race_id = np.array([1, 1, 1, 2, 2])
    p_model = np.array([0.5, 0.3, 0.2, 0.6, 0.4])
    p_market = np.array([0.2, 0.3, 0.5, np.nan, 1.0])
    combiner = {"coef": {"log_p_model": 0.5, "log_p_market": 0.8}}
    p_win = combine_with_market(race_id, p_model, p_market, combiner)
    assert np.allclose(p_win[3:], [0.6, 0.4])  # race 2: the model alone
    assert not np.allclose(p_win[:3], p_model[:3])  # race 1: the market moved it
    assert np.isclose(p_win[:3].sum(), 1.0)


def _brute_force_top_k(p: np.ndarray, k: int, model: dict) -> np.ndarray:
    exponents, discount = model["exponents"], model["favourite_discount"]
    out = np.zeros(p.size)
    for order in itertools.permutations(range(p.size), k):
        prob, placed = 1.0, []
        for stage, runner in enumerate(order):
            q = p ** exponents[stage] * (np.exp(-discount * p) if stage else 1.0)
            prob *= q[runner] / (q.sum() - q[placed].sum())
            placed.append(runner)
        out[list(order)] += prob
    return out


@pytest.mark.parametrize("places", [1, 2, 3, 4])
def test_place_probabilities_sum_to_places_exceed_p_win_and_match_enumeration(places):
    rng = np.random.default_rng(places)
    race_id = _races(rng, 60, low=2, high=9)
    p_win = RaceGroups.of(race_id).normalise(rng.dirichlet(np.ones(race_id.size)) + 1e-3)
    shuffle = rng.permutation(race_id.size)
    p_place = place_probabilities(race_id[shuffle], p_win[shuffle], places)
    groups = RaceGroups.of(race_id[shuffle])
    assert np.allclose(groups.sum(p_place), np.minimum(places, groups.sizes))
    assert np.all(p_place >= p_win[shuffle] - 1e-12)
    first_race = race_id[shuffle] == race_id[0]
    n = int(first_race.sum())
    expected = (
        np.ones(n) if n <= places else _brute_force_top_k(p_win[shuffle][first_race], places, default_place_model())
    )
    assert np.allclose(p_place[first_race], expected)


def test_place_probabilities_take_places_per_runner_and_refuse_mixed_races():
    race_id = np.array([1, 1, 1, 1, 1, 2, 2, 2])
    p_win = np.array([0.4, 0.3, 0.1, 0.1, 0.1, 0.5, 0.3, 0.2])
    p_place = place_probabilities(race_id, p_win, np.array([2, 2, 2, 2, 2, 0, 0, 0]))
    assert np.isclose(p_place[:5].sum(), 2.0) and np.allclose(p_place[5:], 0.0)
    with pytest.raises(GiddyUpError, match="same for every runner"):
        place_probabilities(race_id, p_win, np.array([2, 3, 2, 2, 2, 0, 0, 0]))


def test_place_model_fit_recovers_the_discount_exponents():
    rng = np.random.default_rng(13)
    true_exponents = (1.0, 0.8, 0.6, 0.6)
    race_id = _races(rng, 3000, low=6, high=12)
    p_win = race_softmax(race_id, rng.normal(scale=1.2, size=race_id.size))
    groups = RaceGroups.of(race_id)
    pos = np.zeros(race_id.size)
    for r in range(groups.n_races):  # draw finishing orders from the discounted Harville model
        rows = list(groups.order[groups.starts[r] : groups.starts[r] + groups.sizes[r]])
        for position in range(1, 5):
            q = p_win[rows] ** true_exponents[position - 1]
            pick = rows.pop(rng.choice(len(rows), p=q / q.sum()))
            pos[pick] = position
    pos[pos == 0] = 9
    model = fit_place_model(race_id, p_win, pos)
    assert model["fitted"]
    assert np.allclose(model["exponents"][1:3], true_exponents[1:3], atol=0.06)


def test_combination_and_place_import_neither_lightgbm_nor_mlflow_nor_scipy():
    # The intraday refresh prices a card every minute with these two modules alone.
    import subprocess
    import sys

    code = (
        "import sys, giddyup.model.combine, giddyup.model.place; "
        "print(sorted(m for m in ('lightgbm', 'mlflow', 'scipy', 'sklearn', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
