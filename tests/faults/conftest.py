"""The fault suite's world: the smallest simulated world (preset small, 61 days, the DAG tests'
day), one trained production model in a SQLite MLflow store, built once, and three template
databases a test clones (CREATE DATABASE ... TEMPLATE) to start from a known state:

- `trained`: migrated dev copy with the world and the model's modeling.models row (nothing scored);
- `scored`: `trained` + `giddyup score --date DAY --at SCORE_AT` (the clean score run);
- `refreshed`: `scored` + `refresh --at REFRESH_AT` (the first race decided) + `results`, and
  manual win bets on a third of the scored runners (the small world's model stakes little), for
  settle to settle.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.support.databases import DatabaseFactory
from tests.support.faults import DAY, REFRESH_AT, SCORE_AT, run


@dataclass(frozen=True)
class FaultWorld:
    factory: DatabaseFactory
    trained: str
    scored: str
    refreshed: str
    mlflow_uri: str  # the SQLite store holding the production model
    tmp: Path

    def env(self, dsn: str, artifacts: Path, **extra: str) -> dict[str, str]:
        """The environment of a `giddyup` run on `dsn` with its own artifacts folder."""
        artifacts.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "MLFLOW_", "GIDDYUP_"))}
        env.update(
            PG_DSN=dsn,
            GIDDYUP_ARTIFACTS_DIR=str(artifacts),
            MLFLOW_TRACKING_URI=self.mlflow_uri,
            MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
            MLFLOW_HTTP_REQUEST_TIMEOUT="5",
        )
        env.update(extra)
        return env

    def clone(self, template: str) -> str:
        return self.factory.copy(template, "gu_fault")


def _ok(*args: str, env: dict[str, str]) -> None:
    done = run(*args, env=env)
    assert done.returncode == 0, f"giddyup {' '.join(args)}:\n{done.stderr[-3000:]}"


@pytest.fixture(scope="session")
def fault_world(database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultWorld]:
    tmp = tmp_path_factory.mktemp("faults")
    store = tmp / "model-store"
    mlflow_uri = f"sqlite:///{store / 'mlflow.db'}"
    trained = database_factory.create("gu_fault_trained")
    world = FaultWorld(database_factory, trained, "", "", mlflow_uri, tmp)
    env = world.env(trained, store)
    _ok("migrate", "--with-racing-reference", env=env)
    _ok("sim", "--preset", "small", "--start", "2026-04-13", "--days", "61", "--today", DAY, env=env)
    _ok("train", "--date", DAY, "--promote", "auto", env=env)
    scored = world.clone(trained)
    _ok("score", "--date", DAY, "--at", SCORE_AT, env=world.env(scored, tmp / "scored"))
    refreshed = world.clone(scored)
    _ok("refresh", "--at", REFRESH_AT, env=world.env(refreshed, tmp / "refreshed"))
    _ok("results", "--date", DAY, env=world.env(refreshed, tmp / "refreshed"))
    with psycopg.connect(refreshed) as conn:
        conn.execute(
            """INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, source, runner_id, race_date,
                                          model_id, signal_as_of)
               SELECT as_of, race_id, horse_id, 'win', best_odds_win, 1.0, 'manual', runner_id, race_date, model_id,
                      as_of
               FROM modeling.signals WHERE as_of = %s AND best_odds_win IS NOT NULL AND horse_id %% 3 = 0""",
            (SCORE_AT,),
        )
    yield FaultWorld(database_factory, trained, scored, refreshed, mlflow_uri, tmp)
