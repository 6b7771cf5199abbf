"""`giddyup drift --date D` end to end: a real MLflow registry (SQLite) with a registered version
carrying its training reference, runners files laid out as morning scoring writes them, a real
PostgreSQL for modeling.drift_reports, and the real console program for the exit codes."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import psycopg
import pytest

from giddyup.artifacts import DRIFT_EXPERIMENT
from giddyup.config import Settings, reset_settings_cache
from giddyup.errors import DriftAlert, GiddyUpError
from giddyup.monitor.drift_job import run_drift_job
from tests.support.cli import run_giddyup
from tests.support.databases import migrate_dsn

MODEL_NAME = "drift_test_model"
FEATURES = ("rating", "days_since_run", "form", "weight", "going")


def runners(n: int, seed: int, *, shift: tuple[str, ...] = (), live_share: float = 0.8) -> pl.DataFrame:
    """Runners of 10-runner races with FEATURES, probabilities and market columns; `shift` moves
    the named features by about one standard deviation."""
    rng = np.random.default_rng(seed)
    moved = set(shift)
    frame = pl.DataFrame(
        {
            "race_id": 1_000 * seed + np.arange(n) // 10,
            "runner_id": 100_000 * seed + np.arange(n),
            "horse_id": rng.integers(1, 50_000, n),
            "rating": rng.normal(80 + 15 * ("rating" in moved), 15, n),
            "days_since_run": rng.exponential(30 * (2.5 if "days_since_run" in moved else 1), n),
            "form": rng.beta(2 + 3 * ("form" in moved), 5, n),
            "weight": rng.normal(130 + 8 * ("weight" in moved), 8, n).round(),
            "going": rng.choice(
                ["Good", "Soft", "Heavy"], n, p=[0.1, 0.3, 0.6] if "going" in moved else [0.6, 0.3, 0.1]
            ),
            "overround": rng.normal(1.15, 0.03, n),
            "best_odds_src": rng.choice(["live", "bookmaker"], n, p=[live_share, 1 - live_share]),
            "strength": np.exp(rng.normal(0, 1, n)),
        }
    )
    return (
        frame.with_columns(p_model=pl.col("strength") / pl.col("strength").sum().over("race_id"))
        .with_columns(p_market=pl.col("p_model"), p_win=pl.col("p_model"), best_odds_win=1.1 / pl.col("p_model"))
        .drop("strength")
    )


@dataclass
class Registry:
    env: dict[str, str]
    artifacts: Path
    dsn: str
    version: str
    run_id: str
    model_id: int

    def settings(self) -> Settings:
        return Settings()

    def write_day(self, day: dt.date, frame: pl.DataFrame, *, version: str | None = None) -> Path:
        """The day's runners file as `giddyup score` lays it out."""
        folder = self.artifacts / "scoring" / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "runners.parquet"
        frame.with_columns(
            pl.lit(MODEL_NAME).alias("model_name"),
            pl.lit(version or self.version).alias("model_version"),
            pl.lit(self.model_id, pl.Int64).alias("model_id"),
        ).write_parquet(path)
        return path

    def rows(self, day: dt.date) -> list[dict]:
        with psycopg.connect(self.dsn) as conn:
            cur = conn.execute("SELECT * FROM modeling.drift_reports WHERE report_date = %s", (day,))
            names = [d.name for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def register_version(settings: Settings, reference: pl.DataFrame, *, with_feature_listing: bool, production: bool):
    """A registered version whose run holds the training reference (and the feature listing)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.resolved_mlflow_uri(), registry_uri=settings.resolved_mlflow_uri())
    experiment = client.get_experiment_by_name("drift-test-training")
    experiment_id = (
        experiment.experiment_id
        if experiment
        else client.create_experiment("drift-test-training", artifact_location=settings.mlflow_artifact_location())
    )
    run_id = client.create_run(experiment_id).info.run_id
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reference.parquet"
        reference.write_parquet(path)
        client.log_artifact(run_id, str(path), artifact_path="reference")
        if with_feature_listing:
            client.log_dict(
                run_id, {"feature_columns": list(FEATURES), "categorical_columns": ["going"]}, "features/features.json"
            )
        client.log_dict(run_id, {"note": "stand-in model"}, "model/model.json")
    client.set_terminated(run_id)
    if not client.search_registered_models(f"name = '{MODEL_NAME}'"):
        client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(MODEL_NAME, f"runs:/{run_id}/model", run_id=run_id).version
    if production:
        client.set_registered_model_alias(MODEL_NAME, "production", version)
    return str(version), run_id


@pytest.fixture(scope="module")
def registry(tmp_path_factory, database_factory) -> Registry:
    artifacts = tmp_path_factory.mktemp("drift") / "artifacts"
    artifacts.mkdir()
    dsn = database_factory.create()
    migrate_dsn(dsn)
    env = {
        "PG_DSN": dsn,
        "GIDDYUP_ARTIFACTS_DIR": str(artifacts),
        "MLFLOW_TRACKING_URI": f"sqlite:///{artifacts / 'mlflow.db'}",
        "GIDDYUP_MODEL_NAME": MODEL_NAME,
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        settings = Settings()
        reference = runners(3000, seed=1).select(
            "race_id", "runner_id", *FEATURES, "p_model", "p_win", "p_market", "overround"
        )
        version, run_id = register_version(settings, reference, with_feature_listing=True, production=True)
    with psycopg.connect(dsn) as conn:
        model_id = conn.execute(
            "INSERT INTO modeling.models (name, version, stage) VALUES (%s, %s, 'production') RETURNING model_id",
            (MODEL_NAME, version),
        ).fetchone()[0]
    return Registry({**os.environ, **env}, artifacts, dsn, version, run_id, model_id)


@pytest.fixture
def world(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> Registry:
    for key in ("PG_DSN", "GIDDYUP_ARTIFACTS_DIR", "MLFLOW_TRACKING_URI", "GIDDYUP_MODEL_NAME"):
        monkeypatch.setenv(key, registry.env[key])
    reset_settings_cache()
    yield registry
    reset_settings_cache()


def mlflow_runs(world: Registry, day: dt.date):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=world.env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name(DRIFT_EXPERIMENT)
    query = f"tags.`giddyup.report_date` = '{day.isoformat()}'"
    return client, client.search_runs([experiment.experiment_id], filter_string=query)


def test_a_day_like_training_is_ok_and_stored_everywhere(world: Registry) -> None:
    day = dt.date(2026, 3, 28)
    world.write_day(day, runners(400, seed=2))
    result = run_giddyup("drift", "--date", day.isoformat(), env=world.env)
    assert result.returncode == 0, result.stderr
    assert "OK drift 2026-03-28" in result.stdout

    [row] = world.rows(day)
    assert (row["status"], row["n_features"], row["n_drifted"], row["drifted_columns"]) == ("ok", 5, 0, [])
    assert row["share_drifted"] == 0.0
    assert row["model_version"] == world.version and row["model_id"] == world.model_id
    details = row["details_json"]
    assert {c["column"] for c in details["prediction"]["columns"]} == {"p_model", "p_win"}
    assert {c["column"] for c in details["market"]["columns"]} == {"overround", "p_market"}
    assert details["feature_list"].endswith("features/features.json")
    assert details["model_run_id"] == world.run_id

    folder = world.artifacts / "drift" / day.isoformat() / world.version
    assert Path(row["html_path"]) == folder / "report.html" and Path(row["json_path"]) == folder / "report.json"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["mlflow_run_id"] == row["mlflow_run_id"]
    assert json.loads((folder / "report.json").read_text())["metrics"]  # Evidently's own JSON
    # Readable by others: the drift page runs as Airflow's user, not the one that wrote the files.
    assert {name: (folder / name).stat().st_mode & 0o777 for name in ("report.html", "report.json")} == {
        "report.html": 0o644,
        "report.json": 0o644,
    }

    client, [run] = mlflow_runs(world, day)
    assert run.info.run_id == row["mlflow_run_id"]
    assert run.data.tags["giddyup.model_version"] == world.version
    assert run.data.tags["giddyup.model_name"] == MODEL_NAME
    assert run.data.tags["giddyup.drift_status"] == "ok"
    assert run.data.metrics["share_drifted"] == 0.0
    logged = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "drift")}
    assert logged == {"report.html", "report.json", "summary.json"}


def test_an_alert_exits_non_zero_after_saving_everything(world: Registry) -> None:
    day = dt.date(2026, 3, 29)
    shifted = ("rating", "weight", "going")
    world.write_day(day, runners(400, seed=3, shift=shifted))
    result = run_giddyup("drift", "--date", day.isoformat(), env=world.env)

    assert result.returncode == DriftAlert.exit_code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"error: drift alert for {day}") and "3 of 5 features drifted (60% ≥ 50%)" in line
    assert all(name in line for name in shifted)

    [row] = world.rows(day)
    assert row["status"] == "alert" and set(row["drifted_columns"]) == set(shifted)
    assert row["n_drifted"] == 3 and row["share_drifted"] == pytest.approx(0.6)
    page = Path(row["html_path"]).read_text()
    verdict = page[page.index('id="giddyup-verdict"') : page.index("</section>")]
    assert ">ALERT<" in verdict and all(f">{name}</td>" in verdict for name in shifted)
    assert json.loads(Path(row["json_path"]).read_text())["tests"]
    _, [run] = mlflow_runs(world, day)
    assert run.data.tags["giddyup.drift_status"] == "alert" and run.info.run_id == row["mlflow_run_id"]


def test_rerunning_a_date_rewrites_its_row_files_and_run(world: Registry) -> None:
    day = dt.date(2026, 3, 30)
    world.write_day(day, runners(400, seed=4))
    first = run_drift_job(day, world.settings())
    assert first.inserted and first.status == "ok"
    [before] = world.rows(day)

    world.write_day(day, runners(400, seed=5, shift=("form",)))  # scoring re-ran with a form feed gone wrong
    second = run_drift_job(day, world.settings())
    assert not second.inserted and second.status == "warn"
    assert (second.report_id, second.mlflow_run_id) == (first.report_id, first.mlflow_run_id)

    [after] = world.rows(day)
    assert after["report_id"] == before["report_id"] and after["status"] == "warn"
    assert after["drifted_columns"] == ["form"]
    assert after["created_at"] == before["created_at"] and after["updated_at"] > before["updated_at"]
    assert 'data-status="warn"' in Path(after["html_path"]).read_text()
    _, runs = mlflow_runs(world, day)
    assert [r.info.run_id for r in runs] == [first.mlflow_run_id]
    assert runs[0].data.tags["giddyup.drift_status"] == "warn"


def test_rerunning_a_date_on_the_same_inputs_leaves_its_row_identical(world: Registry) -> None:
    """Issue 13 defect 5: each run rewrote the row (updated_at = now()) and a score could differ in
    its last digits; a re-run on the same runners must leave every column as it was."""
    day = dt.date(2026, 3, 31)
    world.write_day(day, runners(400, seed=6, shift=("form",)))
    first = run_drift_job(day, world.settings())
    [before] = world.rows(day)
    for _ in range(2):
        again = run_drift_job(day, world.settings())
        assert not again.inserted and again.report_id == first.report_id
        [after] = world.rows(day)
        assert after == before


def test_a_date_without_scored_runners_says_what_to_run(world: Registry) -> None:
    day = dt.date(2026, 4, 1)
    result = run_giddyup("drift", "--date", day.isoformat(), env=world.env)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"error: no scored runners for {day}:")
    assert f"run `giddyup score --date {day}` first" in line
    assert world.rows(day) == []


def test_price_source_mix_is_compared_with_the_days_before(world: Registry) -> None:
    day = dt.date(2026, 5, 10)  # a week clear of the other tests' days
    world.write_day(day - dt.timedelta(days=2), runners(400, seed=6, live_share=0.9))
    world.write_day(day, runners(400, seed=7, live_share=0.1))  # the live feed was off
    outcome = run_drift_job(day, world.settings())
    mix = outcome.summary.source_mix
    assert mix is not None and mix.drifted
    assert mix.baseline_label == f"scored day {day - dt.timedelta(days=2)}"
    assert outcome.status == "ok"  # market drift is reported, not a model alert
    [row] = world.rows(day)
    assert row["details_json"]["market"]["drifted"] == ["best_odds_src"]
    assert row["details_json"]["market"]["source_mix"]["current"]["bookmaker"] > 0.8


def test_the_version_that_scored_the_day_is_used_even_if_not_production(world: Registry) -> None:
    # A past day scored by an older version without a feature listing: its own reference, its own row.
    reference = runners(2000, seed=8).select(
        "race_id", "runner_id", *FEATURES, "p_model", "p_win", "p_market", "overround"
    )
    old_version, old_run = register_version(world.settings(), reference, with_feature_listing=False, production=False)
    day = dt.date(2026, 4, 7)
    world.write_day(day, runners(300, seed=9), version=old_version)
    outcome = run_drift_job(day, world.settings())
    assert outcome.model_version == old_version
    [row] = world.rows(day)
    assert row["model_version"] == old_version and row["model_id"] is None  # no modeling.models row for it
    assert row["details_json"]["model_run_id"] == old_run and not row["details_json"]["model_is_production"]
    assert row["details_json"]["feature_list"].startswith("columns of runs:/")
    assert row["n_features"] == len(FEATURES)


def test_runners_naming_an_unregistered_version_fail_in_one_line(world: Registry) -> None:
    day = dt.date(2026, 4, 9)
    world.write_day(day, runners(100, seed=10), version="999")
    with pytest.raises(GiddyUpError, match=f"model {MODEL_NAME} version 999 .* is not in the MLflow registry"):
        run_drift_job(day, world.settings())
    assert world.rows(day) == []
