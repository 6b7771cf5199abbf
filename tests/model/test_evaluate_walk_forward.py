"""Walk-forward evaluation (`giddyup evaluate --retrain-every`) and the edge evidence beside it.

The step rules as functions (season: 1 September in Hong Kong, checked on the real HK file when
../shared is here; calendar year elsewhere; months; blocks of days), the log-loss gain interval on
hand-made races, the walk-forward on synthetic races (windows, no training race on or after a
step's first scored day, pooled figures equal to the figures recomputed from the predictions),
and the real command on the simulated world's small preset.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re

import numpy as np
import polars as pl
import pytest

from giddyup.errors import GiddyUpError
from giddyup.features.build import build_training_features
from giddyup.features.leakage import differing_columns
from giddyup.metrics import expected_calibration_error, mcfadden_r2
from giddyup.model.edge import logloss_gain
from giddyup.model.evaluate import evaluate_feature_sets
from giddyup.model.params import TrainConfig
from giddyup.model.walk_forward import walk_forward
from giddyup.model.walk_steps import Cadence, season_label, season_start, season_start_month, step_windows
from tests.support.cli import run_giddyup
from tests.support.databases import migrate_dsn
from tests.support.paths import REPO_ROOT
from tests.support.synthetic_races import synthetic_races

HKJC_CSV = REPO_ROOT.parent / "shared" / "data" / "hkjc" / "hkjc_runs_2013_2022.csv"
FAST = TrainConfig(
    n_folds=2, learning_rate=0.1, max_rounds=80, early_stopping_rounds=10, min_data_in_leaf=40, num_threads=1
)
D = dt.date


# --- the step rules ----------------------------------------------------------------------------


def test_retrain_every_accepts_season_month_or_days_and_names_a_bad_value():
    assert Cadence.parse("season") == Cadence("season") and Cadence.parse("Month") == Cadence("month")
    assert Cadence.parse("14") == Cadence("days", 14) and Cadence.parse("14").label == "14 days"
    for bad in ("0", "-3", "weekly", "1.5", ""):
        with pytest.raises(GiddyUpError, match=r"--retrain-every .* is not season, month or a positive number"):
            Cadence.parse(bad)


def test_a_hong_kong_season_opens_on_1_september_and_elsewhere_on_1_january():
    assert season_start_month(["HK"]) == 9
    assert season_start_month(["GB", "IRE"]) == 1 and season_start_month(["GB"]) == 1
    with pytest.raises(GiddyUpError, match=r"mix HK .* with GB"):
        season_start_month(["HK", "GB"])
    assert season_start(D(2018, 9, 1), 9) == D(2018, 9, 1)
    assert season_start(D(2019, 7, 14), 9) == D(2018, 9, 1)
    assert season_start(D(2019, 8, 31), 9) == D(2018, 9, 1)
    assert season_start(D(2019, 12, 31), 1) == D(2019, 1, 1)
    assert season_label(D(2019, 7, 14), 9) == "2018/19" and season_label(D(2099, 10, 1), 9) == "2099/00"
    assert season_label(D(2019, 7, 14), 1) == "2019"


def test_season_steps_of_the_hong_kong_window():
    assert step_windows(D(2018, 9, 1), D(2022, 7, 31), Cadence("season"), 9) == [
        (D(2018, 9, 1), D(2019, 8, 31)),
        (D(2019, 9, 1), D(2020, 8, 31)),
        (D(2020, 9, 1), D(2021, 8, 31)),
        (D(2021, 9, 1), D(2022, 7, 31)),
    ]
    # a window opening mid-season: the first step runs to the season's end
    assert step_windows(D(2019, 3, 5), D(2019, 10, 1), Cadence("season"), 9) == [
        (D(2019, 3, 5), D(2019, 8, 31)),
        (D(2019, 9, 1), D(2019, 10, 1)),
    ]
    assert step_windows(D(2024, 6, 1), D(2025, 2, 1), Cadence("season"), 1) == [
        (D(2024, 6, 1), D(2024, 12, 31)),
        (D(2025, 1, 1), D(2025, 2, 1)),
    ]


def test_month_and_day_steps_cover_the_window_without_gap_or_overlap():
    assert step_windows(D(2024, 11, 11), D(2025, 1, 3), Cadence("month")) == [
        (D(2024, 11, 11), D(2024, 11, 30)),
        (D(2024, 12, 1), D(2024, 12, 31)),
        (D(2025, 1, 1), D(2025, 1, 3)),
    ]
    assert step_windows(D(2025, 5, 11), D(2025, 5, 31), Cadence("days", 7)) == [
        (D(2025, 5, 11), D(2025, 5, 17)),
        (D(2025, 5, 18), D(2025, 5, 24)),
        (D(2025, 5, 25), D(2025, 5, 31)),
    ]
    windows = step_windows(D(2023, 2, 27), D(2024, 3, 2), Cadence("days", 5))
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert start == end + dt.timedelta(days=1)
    assert windows[0][0] == D(2023, 2, 27) and windows[-1][1] == D(2024, 3, 2)


@pytest.mark.skipif(not HKJC_CSV.exists(), reason="the shared HKJC file (../shared/data/hkjc) is not here")
def test_the_season_rule_splits_the_real_hong_kong_file_into_its_nine_seasons():
    days = (
        pl.read_csv(HKJC_CSV, columns=["date"], infer_schema_length=0)
        .select(pl.col("date").str.to_date().unique().sort())
        .get_column("date")
        .to_list()
    )
    seasons: dict[str, list[dt.date]] = {}
    for day in days:
        seasons.setdefault(season_label(day, season_start_month(["HK"])), []).append(day)
    assert list(seasons) == [f"{y}/{(y + 1) % 100:02d}" for y in range(2013, 2022)]
    for label, in_season in seasons.items():
        first_year = int(label[:4])
        # each season's meetings run September (or later) to July: no meeting falls in August
        assert min(in_season) >= D(first_year, 9, 1) and max(in_season) <= D(first_year + 1, 7, 31), label


# --- the edge evidence --------------------------------------------------------------------------


def _two_runner_races(p_win: list[float], p_market: list[float], days: list[int]) -> pl.DataFrame:
    """Races of two runners where the first runner won, with its p_win and p_market."""
    rows = []
    for i, (pw, pm, day) in enumerate(zip(p_win, p_market, days, strict=True)):
        race_date = D(2024, 1, 1) + dt.timedelta(days=day)
        rows.append((i, 2 * i, race_date, True, pw, pm))
        rows.append((i, 2 * i + 1, race_date, False, 1 - pw, 1 - pm))
    return pl.DataFrame(rows, schema=["race_id", "runner_id", "race_date", "won", "p_win", "p_market"], orient="row")


def test_edge_is_the_mean_log_loss_gain_per_race_with_an_interval_over_race_days():
    rng = np.random.default_rng(3)
    p_market = rng.uniform(0.2, 0.6, 400).tolist()
    # the combination priced the winners higher on average, by a varying amount
    better = (np.array(p_market) * np.exp(rng.normal(0.1, 0.2, 400))).clip(0.05, 0.95).tolist()
    frame = _two_runner_races(better, p_market, [i // 8 for i in range(400)])
    edge = logloss_gain(frame)
    expected = float(np.mean(np.log(better) - np.log(p_market)))
    assert edge["mean_gain_per_race"] == pytest.approx(expected, rel=1e-12)
    assert edge["n_races"] == 400 and edge["n_days"] == 50
    low, high = edge["ci95"]
    assert 0 < low < expected < high and edge["evidence_of_edge"] is True
    assert logloss_gain(frame) == edge  # the resampling is seeded: the same figures twice


def test_no_evidence_of_edge_when_the_gains_cancel_out():
    rng = np.random.default_rng(4)
    p_market = rng.uniform(0.2, 0.6, 400)
    p_win = (p_market * np.exp(rng.normal(0.0, 0.2, 400))).tolist()  # better on some races, worse on others
    edge = logloss_gain(_two_runner_races(p_win, p_market.tolist(), [i // 8 for i in range(400)]))
    low, high = edge["ci95"]
    assert low < 0 < high and edge["evidence_of_edge"] is False
    one_day = logloss_gain(_two_runner_races(p_win[:8], p_market[:8].tolist(), [0] * 8))
    assert one_day["ci95"] is None and one_day["evidence_of_edge"] is False  # one day shows no spread


# --- walk-forward on synthetic races ------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_walk():
    features, truth = synthetic_races(480, seed=5)  # 8 races a day, 2024-01-01 .. 2024-02-29
    walked = walk_forward(
        features,
        train_until=D(2024, 1, 31),
        test_from=D(2024, 2, 1),
        test_until=D(2024, 2, 29),
        cadence=Cadence("days", 10),
        config=FAST,
        market_price="win_bsp",
        truth=truth,
    )
    return walked, features


def test_each_step_is_trained_on_everything_before_its_first_day(synthetic_walk):
    walked, features = synthetic_walk
    steps = walked.result["steps"]
    assert [(s["window"]["test_from"], s["window"]["test_until"]) for s in steps] == [
        ("2024-02-01", "2024-02-10"),
        ("2024-02-11", "2024-02-20"),
        ("2024-02-21", "2024-02-29"),
    ]
    first_day = str(features.frame.get_column("race_date").min())
    for step in steps:
        window = step["window"]
        assert window["train_from"] == first_day
        assert window["train_until"] == str(D.fromisoformat(window["test_from"]) - dt.timedelta(days=1))
        # what the fit saw ends before anything it scored
        assert step["fit_until"] == window["train_until"] < step["first_scored_day"] == window["test_from"]
        assert step["last_scored_day"] <= window["test_until"]
        assert step["training"]["n_races"] == 8 * (D.fromisoformat(window["test_from"]) - D(2024, 1, 1)).days
    assert walked.result["walk_forward"] == {
        "retrain_every": "10 days",
        "season_rule": None,
        "n_steps": 3,
        "pooled": "every scored race of every step together",
    }
    assert walked.result["skipped_steps"] == []


def test_pooled_figures_equal_the_figures_recomputed_from_the_predictions(synthetic_walk):
    walked, _ = synthetic_walk
    result, predictions = walked.result, walked.predictions
    assert predictions.get_column("runner_id").is_unique().all()
    assert result["n_races"] == predictions.get_column("race_id").n_unique() == 232  # 29 test days x 8
    assert sum(s["n_races"] for s in result["steps"]) == result["n_races"]
    winners = predictions.filter(pl.col("won"))
    field = winners.get_column("field_size").to_numpy()
    for source, column in (("market", "p_market"), ("model", "p_model"), ("combined", "p_win"), ("oracle", "p_oracle")):
        p = winners.get_column(column).to_numpy()
        assert result[source]["r2"] == pytest.approx(mcfadden_r2(p, field), rel=1e-12)
        assert result[source]["logloss"] == pytest.approx(float(np.mean(-np.log(p))), rel=1e-12)
        ece = expected_calibration_error(
            predictions.get_column(column).to_numpy(), predictions.get_column("won").cast(pl.Float64).to_numpy()
        )
        assert result["ece"][source] == pytest.approx(ece, rel=1e-12)
        for step in result["steps"]:  # each step's figures from its own rows
            mine = winners.filter(pl.col("step") == step["step"])
            assert step[source]["r2"] == pytest.approx(
                mcfadden_r2(mine.get_column(column).to_numpy(), mine.get_column("field_size").to_numpy()), rel=1e-12
            )
    gain = np.log(winners.get_column("p_win").to_numpy()) - np.log(winners.get_column("p_market").to_numpy())
    assert result["edge_vs_market"]["mean_gain_per_race"] == pytest.approx(float(gain.mean()), rel=1e-12)


def test_the_single_fit_is_scored_on_the_same_races_beside_the_pooled_figures(synthetic_walk):
    walked, _ = synthetic_walk
    single = walked.result["single_fit"]
    assert single["window"] == {"train_until": "2024-01-31", "test_from": "2024-02-01", "test_until": "2024-02-29"}
    assert single["training"]["fit_until"] == "2024-01-31"
    assert single["n_races"] == walked.result["n_races"]
    # the same races: the market scores the same
    assert single["market"]["r2"] == pytest.approx(walked.result["market"]["r2"], rel=1e-12)
    assert single["model"]["r2"] != walked.result["model"]["r2"]
    # step 1 is trained on the single fit's data (train_until is the day before test_from): the same model
    first = walked.result["steps"][0]
    assert first["training"]["fit_until"] == single["training"]["fit_until"]
    assert first["combiner"]["coef"] == single["combiner"]["coef"]


def test_a_step_with_no_race_is_skipped_and_a_bad_window_refused(synthetic_walk):
    _, features = synthetic_walk
    walked = walk_forward(
        features,
        train_until=D(2024, 1, 31),
        test_from=D(2024, 2, 21),
        test_until=D(2024, 3, 20),
        cadence=Cadence("days", 10),
        config=FAST,
        market_price="win_bsp",
    )
    assert [s["window"]["test_from"] for s in walked.result["steps"]] == ["2024-02-21"]
    reason = "no race with one winner and a win_bsp price for every starter"
    assert walked.result["skipped_steps"] == [
        {"test_from": "2024-03-02", "test_until": "2024-03-11", "reason": reason},
        {"test_from": "2024-03-12", "test_until": "2024-03-20", "reason": reason},
    ]
    with pytest.raises(GiddyUpError, match=r"^walk-forward step 2024-01-04\.\.2024-01-13: only 24 resulted races"):
        walk_forward(
            features,
            train_until=D(2024, 1, 3),
            test_from=D(2024, 1, 4),
            test_until=D(2024, 1, 20),
            cadence=Cadence("days", 10),
        )
    with pytest.raises(GiddyUpError, match="need --train-until < --test-from"):
        walk_forward(
            features,
            train_until=D(2024, 2, 5),
            test_from=D(2024, 2, 1),
            test_until=D(2024, 2, 9),
            cadence=Cadence("month"),
        )


def test_the_single_fit_mode_keeps_its_keys_and_adds_the_edge_evidence():
    train, _ = synthetic_races(300, seed=41)
    test, _ = synthetic_races(80, seed=42, first_race_id=50_000, start=train.frame["race_date"].max())
    result, _ = evaluate_feature_sets(train, test, config=FAST, market_price="win_bsp")
    assert {"n_races", "n_runners", "market_price", "window", "market", "model", "combined", "ece", "brier",
            "top_pick_strike_rate", "roi", "model_uncalibrated", "combiner", "place_model", "training",
            "feature_importance"} <= set(result)  # fmt: skip
    assert "steps" not in result and "single_fit" not in result
    assert result["edge_vs_market"]["n_races"] == result["n_races"] == 80


# --- the command on the simulated world ---------------------------------------------------------


@pytest.fixture(scope="module")
def small_world(database_factory, tmp_path_factory) -> tuple[str, dict[str, str]]:
    import os

    dsn = database_factory.create("gu_walk")
    migrate_dsn(dsn)
    artifacts = tmp_path_factory.mktemp("walk_artifacts")
    env = {**os.environ, "PG_DSN": dsn, "GIDDYUP_ARTIFACTS_DIR": str(artifacts)}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{artifacts / 'mlflow.db'}"
    made = run_giddyup("sim", "--preset", "small", "--seed", "3", env=env)
    assert made.returncode == 0, made.stderr
    return dsn, env


def test_features_built_once_and_sliced_equal_features_built_up_to_the_step(small_world):
    dsn, _ = small_world
    step_first_day = D(2025, 5, 18)
    once = build_training_features(dsn, until=D(2025, 5, 31))
    up_to_step = build_training_features(dsn, until=step_first_day - dt.timedelta(days=1))
    sliced = once.frame.filter(pl.col("race_date") < step_first_day)
    assert sliced.height == up_to_step.frame.height > 0
    # equal up to floating-point summation order (rolling sums differ by about 1e-17)
    assert differing_columns(up_to_step.frame, sliced) == []


def test_evaluate_retrain_every_writes_steps_pooled_figures_and_predictions(small_world, tmp_path):
    _, env = small_world
    out = tmp_path / "walk"
    done = run_giddyup(
        "evaluate", "--train-until", "2025-05-10", "--test-from", "2025-05-11", "--test-until", "2025-05-31",
        "--retrain-every", "7", "--out", str(out), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "evaluation.json").read_text())
    steps = result["steps"]
    assert [(s["window"]["test_from"], s["window"]["test_until"]) for s in steps] == [
        ("2025-05-11", "2025-05-17"),
        ("2025-05-18", "2025-05-24"),
        ("2025-05-25", "2025-05-31"),
    ]
    for step in steps:
        assert step["fit_until"] < step["first_scored_day"] and step["window"]["test_from"] <= step["first_scored_day"]
    assert steps[0]["training"]["n_races"] < steps[1]["training"]["n_races"] < steps[2]["training"]["n_races"]
    # the pooled figures under the single fit's keys, from the written predictions
    predictions = pl.read_parquet(out / "predictions.parquet")
    winners = predictions.filter(pl.col("won"))
    assert result["n_races"] == winners.height == predictions.get_column("race_id").n_unique() > 100
    for source, column in (("market", "p_market"), ("model", "p_model"), ("combined", "p_win"), ("oracle", "p_oracle")):
        by_hand = mcfadden_r2(winners.get_column(column).to_numpy(), winners.get_column("field_size").to_numpy())
        assert result[source]["r2"] == pytest.approx(by_hand, rel=1e-12)
    assert result["single_fit"]["n_races"] == result["n_races"]
    assert result["single_fit"]["training"]["fit_until"] <= "2025-05-10"
    assert re.search(r"step 3 \(2025-05-25\): trained on \d+ races", done.stdout)
    assert "single fit (trained up to 2025-05-10)" in done.stdout and "evidence of edge" in done.stdout
    page = (out / "evaluation.html").read_text()
    assert "Walk-forward steps" in page and "Evidence of edge" in page and "R² single fit" in page
    assert len(re.findall(r"data:image/png;base64,", page)) == 3


def test_evaluate_refuses_a_bad_retrain_every_in_one_line(small_world, tmp_path):
    _, env = small_world
    done = run_giddyup(
        "evaluate", "--train-until", "2025-05-10", "--test-from", "2025-05-11", "--test-until", "2025-05-31",
        "--retrain-every", "fortnight", "--out", str(tmp_path / "x"), env=env,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: --retrain-every 'fortnight' is not season, month or a positive number of days"
    ]
    assert not (tmp_path / "x").exists()
