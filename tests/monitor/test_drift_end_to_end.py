"""The drift report on the real pipeline: `train_and_register` fits a real LightGBM model on
synthetic races and promotes it (its run holds the reference and the feature listing), a synthetic
card is written to the racing tables, `score_day` prices it with `load_production_model` and saves
the day's runners file, then `giddyup drift --date D` runs as the DAG runs it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import psycopg
import pytest

from giddyup.config import Settings
from giddyup.errors import DriftAlert
from giddyup.features.contract import FeatureSet
from tests.support.cli import run_giddyup

pytestmark = pytest.mark.slow

TRAIN_AS_OF = dt.date(2024, 4, 1)
LIKE_TRAINING, SHIFTED = dt.date(2026, 6, 1), dt.date(2026, 6, 2)


def card_features(card, *, shift: bool, seed: int) -> FeatureSet:
    """The synthetic model's features (x1..x4, going_fit) for the card's runners: drawn as in
    training, or with x1, x2 moved by 1.5 standard deviations and the going all firm."""
    from tests.support.synthetic_races import CATEGORICAL, FEATURES

    rng = np.random.default_rng(seed)
    n = card.runners.height
    x4 = rng.normal(size=n)
    frame = (
        card.runners.select("race_id", "runner_id", "horse_id")
        .join(card.races.select("race_id", "off_time"), on="race_id", how="left")
        .with_columns(
            pl.lit(card.race_date).alias("race_date"),
            pl.lit("GB").alias("region"),
            pl.lit(1, pl.Int64).alias("course_id"),
            pl.len().over("race_id").cast(pl.Int64).alias("field_size"),
            pl.Series("x1", rng.normal(size=n) + (1.5 if shift else 0.0)),
            pl.Series("x2", rng.normal(size=n) + (1.5 if shift else 0.0)),
            pl.Series("x3", rng.normal(size=n)),
            pl.Series("x4", np.where(rng.random(n) < 0.5, np.nan, x4)).fill_nan(None),
            pl.Series("going_fit", ["firm"] * n if shift else rng.choice(["good", "soft", "firm"], n).tolist()),
        )
    )
    return FeatureSet(frame, FEATURES, CATEGORICAL)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, database_factory):
    from giddyup.model.params import TrainConfig
    from giddyup.model.train_job import train_and_register
    from giddyup.model.win_model import load_production_model
    from giddyup.race_day.score import score_day
    from tests.support.databases import migrate_dsn
    from tests.support.synthetic_card import write_card
    from tests.support.synthetic_races import synthetic_races

    artifacts = tmp_path_factory.mktemp("drift_e2e") / "artifacts"
    dsn = database_factory.create()
    migrate_dsn(dsn)
    env = {
        "PG_DSN": dsn,
        "GIDDYUP_ARTIFACTS_DIR": str(artifacts),
        "MLFLOW_TRACKING_URI": f"sqlite:///{artifacts / 'mlflow.db'}",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        settings = Settings()
        features, _ = synthetic_races(600, seed=3)
        quick = TrainConfig(max_rounds=150, early_stopping_rounds=20, n_folds=2, num_threads=1, learning_rate=0.1)
        trained = train_and_register(features, race_date=TRAIN_AS_OF, settings=settings, promote="auto", config=quick)
        assert trained.promoted
        model = load_production_model(settings)
        with psycopg.connect(dsn) as conn:
            for day, shift, seed in ((LIKE_TRAINING, False, 11), (SHIFTED, True, 12)):
                card = write_card(conn, day, n_races=20, seed=seed, first_off=dt.time(13, 0), field_sizes=(5, 14))
                score_day(
                    conn,
                    race_date=day,
                    at=dt.datetime.combine(day, dt.time(7, 0), tzinfo=dt.UTC),
                    model=model,
                    features=card_features(card, shift=shift, seed=seed),
                    settings=settings,
                )
                conn.commit()
    import os

    return {**os.environ, **env}, dsn, model


def drift_row(dsn: str, day: dt.date) -> dict:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute("SELECT * FROM modeling.drift_reports WHERE report_date = %s", (day,))
        names = [d.name for d in cur.description]
        [row] = cur.fetchall()
    return dict(zip(names, row, strict=True))


def test_a_scored_day_like_training_passes(pipeline) -> None:
    env, dsn, model = pipeline
    result = run_giddyup("drift", "--date", LIKE_TRAINING.isoformat(), env=env)
    assert result.returncode == 0, result.stderr
    row = drift_row(dsn, LIKE_TRAINING)
    assert row["model_version"] == model.version and row["model_id"] == model.model_id
    assert row["n_features"] == len(model.feature_columns) and row["n_drifted"] == 0
    assert row["status"] in ("ok", "warn")  # warn only from prediction drift, which the verdict names
    details = row["details_json"]
    assert details["feature_list"] == f"runs:/{model.run_id}/features/features.json"
    assert {c["column"] for c in details["features"]} == set(model.feature_columns)
    if row["status"] == "warn":
        assert details["prediction"]["drifted"]
    assert Path(row["html_path"]).is_file() and json.loads(Path(row["json_path"]).read_text())["metrics"]


def test_a_scored_day_with_shifted_features_alerts(pipeline) -> None:
    env, dsn, model = pipeline
    result = run_giddyup("drift", "--date", SHIFTED.isoformat(), env=env)
    assert result.returncode == DriftAlert.exit_code, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: drift alert for {SHIFTED}")
    row = drift_row(dsn, SHIFTED)
    assert row["status"] == "alert"
    assert {"x1", "x2", "going_fit"} <= set(row["drifted_columns"])
    assert row["model_version"] == model.version
    assert "x1" in Path(row["html_path"]).read_text().split("</section>")[0]
