"""`giddyup train` end to end on synthetic races: a real MLflow run, registry aliases, the
modeling.models rows, the promotion gate, and the production model as scoring loads it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import mlflow
import numpy as np
import polars as pl
import psycopg
import pytest

from giddyup.artifacts import REFERENCE_ARTIFACT
from giddyup.config import get_settings
from giddyup.model import registry
from giddyup.model.params import TrainConfig
from giddyup.model.race_probability import RaceGroups
from giddyup.model.train_job import train_and_register
from giddyup.model.win_model import load_production_model
from tests.support.cli import run_giddyup
from tests.support.synthetic_races import synthetic_races

AS_OF = dt.date(2024, 4, 1)
GOOD = TrainConfig(
    n_folds=2,
    learning_rate=0.1,
    max_rounds=80,
    early_stopping_rounds=10,
    min_data_in_leaf=40,
    holdout_fraction=0.25,
    reference_rows=300,
    num_threads=1,
)
BAD = GOOD.with_(max_rounds=1, learning_rate=0.001, early_stopping_rounds=1, calibrate=False)


@pytest.fixture(scope="module")
def mlflow_template(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store, created once: creating one runs MLflow's schema migrations,
    which take many seconds; each test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def model_env(migrated_dsn, giddyup_env, mlflow_template):
    """(dsn, environment) of a migrated database and a private MLflow store."""
    env = giddyup_env(migrated_dsn)
    shutil.copy(mlflow_template, env["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///"))
    return migrated_dsn, env


@pytest.fixture(scope="module")
def races():
    # The market knows little of what the features know, so a good model clearly helps p_win.
    features, _ = synthetic_races(480, seed=8, market_noise=1.0, market_sees_features=0.2)
    return features


def _rows(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT version, stage, model_id, combiner_json, metrics_json, mlflow_run_id, fit_until, holdout_from "
            "FROM modeling.models WHERE name = 'hrd_win_prob' ORDER BY version::int"
        ).fetchall()


def test_train_logs_a_run_registers_a_challenger_and_writes_its_row(races, model_env):
    migrated_dsn, _ = model_env
    settings = get_settings()
    report = train_and_register(races, race_date=AS_OF, settings=settings, promote="never", config=GOOD)

    client = registry.configure_mlflow(settings)
    run = client.get_run(report.run_id)
    assert run.data.params["race_date"] == "2024-04-01"
    assert run.data.params["train.objective"] == "conditional_logit"
    assert run.data.params["feature_hash"] == races.feature_hash()
    assert run.data.params["window.holdout_from"] > run.data.params["window.fit_until"]
    for name in ("logloss", "r2", "ece", "brier"):
        assert np.isfinite(run.data.metrics[f"holdout_model_{name}"])
        assert np.isfinite(run.data.metrics[f"holdout_combined_{name}"])
    artifacts = {a.path for a in client.list_artifacts(report.run_id)} | {
        a.path
        for folder in ("plots", "reference", "features", "registry")
        for a in client.list_artifacts(report.run_id, folder)
    }
    for path in (
        "plots/calibration.png",
        "plots/feature_importance.png",
        "reference/reference.parquet",
        "features/features.json",
        "registry/model_row.json",
    ):
        assert path in artifacts, path
    reference = pl.read_parquet(
        mlflow.artifacts.download_artifacts(run_id=report.run_id, artifact_path=REFERENCE_ARTIFACT)
    )
    assert {"p_model", "p_win", "p_market", "overround", *races.feature_columns} <= set(reference.columns)
    assert 0 < reference.height <= 300 + 20

    assert registry.aliases(client, settings.model_name) == {"challenger": report.version}
    model_info = mlflow.models.get_model_info(f"models:/{settings.model_name}/{report.version}")
    assert {"race_id", *races.feature_columns} <= set(model_info.signature.inputs.input_names())
    assert model_info.signature.outputs.input_names() == ["race_id", "p_model"]

    (row,) = _rows(migrated_dsn)
    version, stage, model_id, combiner, metrics, run_id, fit_until, holdout_from = row
    assert (version, stage, model_id, run_id) == (report.version, "staging", report.model_id, report.run_id)
    assert set(combiner["coef"]) == {"log_p_model", "log_p_market"} and combiner["place"]["method"]
    assert metrics["model"]["logloss"] == pytest.approx(run.data.metrics["holdout_model_logloss"])
    assert fit_until < holdout_from

    # syncing again (as `giddyup model list` does) keeps one row per version
    with psycopg.connect(migrated_dsn) as conn:
        registry.sync_models_table(conn, client, settings.model_name)
    assert len(_rows(migrated_dsn)) == 1


def test_promote_auto_takes_a_better_model_and_refuses_a_worse_one(races, model_env):
    migrated_dsn, env = model_env
    settings = get_settings()
    first = train_and_register(races, race_date=AS_OF, settings=settings, promote="auto", config=BAD)
    assert first.promoted and first.comparison is None  # nothing to beat yet

    better = train_and_register(races, race_date=AS_OF, settings=settings, promote="auto", config=GOOD)
    assert better.promoted, better.reason
    compared = better.comparison
    assert compared["production_version"] == first.version and compared["n_races"] >= 20
    assert compared["challenger"]["combined_logloss"] < compared["production"]["combined_logloss"]

    worse = train_and_register(races, race_date=AS_OF, settings=settings, promote="auto", config=BAD)
    assert not worse.promoted and "does not beat" in worse.reason
    assert worse.comparison["production"]["combined_logloss"] < worse.comparison["challenger"]["combined_logloss"]
    assert worse.production_version == better.version

    stages = {version: stage for version, stage, *_ in _rows(migrated_dsn)}
    assert stages == {first.version: "development", better.version: "production", worse.version: "staging"}
    run = registry.configure_mlflow(settings).get_run(worse.run_id)
    assert (
        run.data.metrics["compare_production_combined_logloss"]
        < run.data.metrics["compare_challenger_combined_logloss"]
    )

    # people: list and promote by hand; modeling.models follows
    listed = run_giddyup("model", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "production" in listed.stdout and "challenger" in listed.stdout
    promoted = run_giddyup("model", "promote", first.version, env=env)
    assert promoted.returncode == 0, promoted.stderr
    stages = {version: stage for version, stage, *_ in _rows(migrated_dsn)}
    assert stages == {first.version: "production", better.version: "development", worse.version: "staging"}
    missing = run_giddyup("model", "promote", "99", env=env)
    assert missing.returncode != 0 and missing.stderr.startswith("error: ") and "no version 99" in missing.stderr


def test_production_model_loads_once_and_prices_races(races, model_env):
    migrated_dsn, _ = model_env
    settings = get_settings()
    with pytest.raises(Exception, match="no version with alias production"):
        load_production_model(settings)
    report = train_and_register(races, race_date=AS_OF, settings=settings, promote="auto", config=GOOD)
    with psycopg.connect(migrated_dsn) as conn:  # a database reset: the row comes back from MLflow
        conn.execute("DELETE FROM modeling.models")
    model = load_production_model(settings)
    assert model.version == report.version
    assert model.feature_columns == races.feature_columns
    assert (model.version, "production") == _rows(migrated_dsn)[0][:2] and model.model_id == _rows(migrated_dsn)[0][2]

    p = model.predict_p_model(races)
    assert p.columns == ["runner_id", "race_id", "p_model"]
    # these features hold no versus-market covariate: the combination term is 0 for every runner
    term = model.predict_vs_market_logit(races)
    assert term.columns == ["runner_id", "vs_market_logit"] and term.height == races.frame.height
    assert (term.get_column("vs_market_logit") == 0.0).all()
    assert np.allclose(RaceGroups.of(p.get_column("race_id").to_numpy()).sum(p.get_column("p_model").to_numpy()), 1.0)
    reasons = model.explain(races, top=2)
    assert reasons.height == races.frame.height
    first = reasons.get_column("contributions")[0].to_list()
    assert len(first) == 2 and {item["feature"] for item in first} <= set(races.feature_columns)
    assert abs(first[0]["contribution"]) >= abs(first[1]["contribution"])
    assert model.combiner["price_column"] in ("win_bsp", "dec") and "place" in model.combiner

    # the registered pyfunc gives people the same p_model from a plain pandas frame
    pyfunc = mlflow.pyfunc.load_model(f"models:/{settings.model_name}@production")
    frame = races.frame.select("race_id", *races.feature_columns).to_pandas()
    assert np.allclose(pyfunc.predict(frame)["p_model"].to_numpy(), p.get_column("p_model").to_numpy())


def test_train_command_registers_once_per_version_and_says_why(model_env):
    _, env = model_env
    made = run_giddyup("sim", "--preset", "small", "--seed", "3", env=env)
    assert made.returncode == 0, made.stderr
    first = run_giddyup("train", "--date", "2025-06-01", env=env)
    assert first.returncode == 0, first.stderr
    assert (
        "registered version 1" in first.stdout and "promoted to production: no production version yet" in first.stdout
    )
    again = run_giddyup("train", "--date", "2025-06-01", "--promote", "never", env=env)
    assert again.returncode == 0, again.stderr
    assert "registered version 2" in again.stdout and "not promoted: --promote never" in again.stdout
    dsn = env["PG_DSN"]
    assert [(v, s) for v, s, *_ in _rows(dsn)] == [("1", "production"), ("2", "staging")]
    bad = run_giddyup("train", "--date", "2025-06-31", env=env)
    assert bad.returncode != 0 and bad.stderr.strip() == "error: --date '2025-06-31' is not a date (YYYY-MM-DD)"
    bad = run_giddyup("train", "--date", "2025-06-01", "--promote", "sometimes", env=env)
    assert bad.returncode != 0 and bad.stderr.startswith("error: --promote 'sometimes' is not one of auto, never")
