"""Every file GiddyUp keeps and every name it gives things in MLflow, declared once.

The commands, the DAGs and both Airflow plugins use these; commands default their output paths
from here, so a DAG passes only dates. Standard library only: the Airflow image has GiddyUp's
package without its dependencies, for this module alone.

Under the artifacts folder (GIDDYUP_ARTIFACTS_DIR; `.giddyup` in a checkout, /data/artifacts in
the containers):

| path | written by | read by |
|---|---|---|
| features/<D>/features.parquet, manifest.json | `features build --until D` (nightly retrain) | `train --date D` |
| scoring/<D>/runners.parquet | `score --date D` | `drift --date D` |
| drift/<D>/<version>/report.html, report.json, summary.json | `drift --date D` | the on-call page |
| reports/<D1>_<D2>/performance.html, .json (reports/daily/<D> for one day) | `report` | people |
| backtests/<D1>_<D2>/backtest.json, backtest.html, days/ | `backtest` | people |
| mlflow.db, mlruns/ | MLflow when MLFLOW_TRACKING_URI is unset | MLflow |
| pg/ | the embedded PostgreSQL | |
| demo/ | `giddyup demo` (its own artifacts folder, reset each run) | people |
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

ARTIFACTS_DIR_ENV = "GIDDYUP_ARTIFACTS_DIR"
CHECKOUT_ARTIFACTS_DIR = ".giddyup"  # the default outside containers
CONTAINER_ARTIFACTS_DIR = "/data/artifacts"  # the task image's and the Airflow services' default

# --- MLflow: aliases, experiments, the artifacts of a training run and of a drift run ----------
PRODUCTION_ALIAS = "production"  # the version scoring uses
CHALLENGER_ALIAS = "challenger"  # the latest trained version
DRIFT_EXPERIMENT = "giddyup-drift"
BACKTEST_EXPERIMENT = "giddyup-backtest"
MODEL_ROW_ARTIFACT = "registry/model_row.json"  # a version's modeling.models row, rebuildable from MLflow
REFERENCE_ARTIFACT_DIR = "reference"
REFERENCE_ARTIFACT = f"{REFERENCE_ARTIFACT_DIR}/reference.parquet"  # the holdout sample drift compares with
FEATURES_ARTIFACT = "features/features.json"  # feature and categorical columns of the version
DRIFT_ARTIFACT_DIR = "drift"  # report.html / report.json / summary.json of a drift run
BACKTEST_ARTIFACT_DIR = "backtest"


def container_artifacts_dir() -> str:
    """The artifacts folder as the Airflow services and task containers see it."""
    return os.environ.get(ARTIFACTS_DIR_ENV) or CONTAINER_ARTIFACTS_DIR


def _day(value: dt.date) -> str:
    return value.isoformat()


@dataclass(frozen=True)
class ArtifactLayout:
    """The paths under one artifacts folder (see the module docstring)."""

    root: Path

    def features_dir(self, until: dt.date) -> Path:
        return self.root / "features" / _day(until)

    def scored_runners(self, race_date: dt.date) -> Path:
        return self.root / "scoring" / _day(race_date) / "runners.parquet"

    def drift_dir(self, report_date: dt.date, model_version: str) -> Path:
        return self.root / "drift" / _day(report_date) / model_version

    def report_dir(self, first: dt.date, last: dt.date) -> Path:
        if first == last:
            return self.root / "reports" / "daily" / _day(first)
        return self.root / "reports" / f"{_day(first)}_{_day(last)}"

    def backtest_dir(self, first: dt.date, last: dt.date) -> Path:
        return self.root / "backtests" / f"{_day(first)}_{_day(last)}"

    @property
    def mlflow_db(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def mlruns(self) -> Path:
        return self.root / "mlruns"

    @property
    def embedded_postgres(self) -> Path:
        return self.root / "pg"

    @property
    def demo(self) -> Path:
        return self.root / "demo"
