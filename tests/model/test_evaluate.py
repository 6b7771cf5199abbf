"""`giddyup evaluate`'s core on synthetic races: the JSON figures and the self-contained HTML."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from giddyup.metrics import mcfadden_r2
from giddyup.model.evaluate import evaluate_feature_sets
from giddyup.model.evaluation_report import write_html
from giddyup.model.params import TrainConfig
from tests.support.cli import run_giddyup
from tests.support.synthetic_races import synthetic_races

FAST = TrainConfig(
    n_folds=2, learning_rate=0.1, max_rounds=80, early_stopping_rounds=10, min_data_in_leaf=40, num_threads=1
)


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    train, _ = synthetic_races(360, seed=31)
    test, truth = synthetic_races(150, seed=32, first_race_id=50_000, start=train.frame["race_date"].max())
    result, figures = evaluate_feature_sets(
        train,
        test,
        config=FAST,
        market_price="win_bsp",
        truth=truth,
        window={"train_until": "x", "test_from": "y", "test_until": "z"},
    )
    out = tmp_path_factory.mktemp("evaluation")
    (out / "evaluation.json").write_text(json.dumps(result, default=str))
    write_html(out / "evaluation.html", result, figures)
    return result, out, test, truth


def test_evaluation_json_has_every_figure(evaluation):
    _, out, *_ = evaluation
    loaded = json.loads((out / "evaluation.json").read_text())
    assert loaded["n_races"] == 150 and loaded["n_runners"] > 150 * 5
    for source in ("market", "model", "combined", "oracle"):
        assert set(loaded[source]) == {"r2", "logloss"}
        assert np.isfinite(loaded[source]["logloss"]) and loaded[source]["logloss"] > 0
        for block in ("ece", "brier", "top_pick_strike_rate"):
            assert 0 <= loaded[block][source] <= 1
    for source in ("model", "combined"):
        assert {"bets", "staked", "profit", "roi"} <= set(loaded["roi"][source])
    assert loaded["market_price"] == "win_bsp"
    # the oracle holds the true probabilities: nothing should beat it by much on 150 races
    assert loaded["oracle"]["r2"] > loaded["model"]["r2"]


def test_r2_and_logloss_follow_their_definitions(evaluation):
    result, _, test, truth = evaluation
    # the oracle's r2 recomputed by hand from the true probabilities of the winners
    frame = test.frame.join(truth, on="runner_id")
    winners = frame.filter(frame["won"])
    by_hand = mcfadden_r2(winners["p_true"].to_numpy(), winners["field_size"].to_numpy())
    assert result["oracle"]["r2"] == pytest.approx(by_hand, rel=1e-9)
    assert result["oracle"]["logloss"] == pytest.approx(float(np.mean(-np.log(winners["p_true"].to_numpy()))))


def test_evaluation_html_is_self_contained_with_the_plots(evaluation):
    _, out, *_ = evaluation
    page = (out / "evaluation.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 3
    for image in images:
        assert base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Calibration" in page and "Cumulative profit" in page and "McFadden" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere


def _small_world(env: dict[str, str]) -> None:
    made = run_giddyup("sim", "--preset", "small", "--seed", "3", env=env)
    assert made.returncode == 0, made.stderr


def test_evaluate_command_on_a_simulated_world_reports_the_oracle(migrated_dsn, giddyup_env, tmp_path):
    env = giddyup_env(migrated_dsn)
    _small_world(env)
    out = tmp_path / "report"
    done = run_giddyup(
        "evaluate", "--train-until", "2025-05-10", "--test-from", "2025-05-11", "--test-until", "2025-05-31",
        "--out", str(out), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "evaluation.json").read_text())
    assert {"n_races", "n_runners", "market", "model", "combined", "oracle", "ece", "brier",
            "top_pick_strike_rate", "roi"} <= set(result)  # fmt: skip
    assert result["window"]["test_from"] == "2025-05-11" and result["n_races"] > 100
    assert result["oracle"]["r2"] > result["model"]["r2"]
    assert "oracle" in done.stdout and "R²" in done.stdout
    assert len(re.findall(r"data:image/png;base64,", (out / "evaluation.html").read_text())) == 3


def test_evaluate_command_refuses_a_bad_window_in_one_line(migrated_dsn, giddyup_env, tmp_path):
    env = giddyup_env(migrated_dsn)
    done = run_giddyup(
        "evaluate", "--train-until", "2025-05-20", "--test-from", "2025-05-11", "--test-until", "2025-05-31",
        "--out", str(tmp_path), env=env,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == ["error: need --train-until < --test-from <= --test-until"]
    done = run_giddyup(
        "evaluate", "--train-until", "2025-05-10", "--test-from", "2025-05-11", "--test-until", "2025-05-31",
        "--out", str(tmp_path), "--market-price", "tote", env=env,
    )  # fmt: skip
    assert done.returncode != 0 and done.stderr.startswith("error: --market-price 'tote'")
