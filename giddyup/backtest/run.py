"""`giddyup backtest --from D1 --to D2`: replay days of a simulated world in order, then report.

Kept apart from live paper trading: the backtest's bets and decisions have source `backtest`; its
models are registered under their own name (`<model>-backtest-<D1>`) in its own MLflow store (the
backtest folder's mlflow.db, unless MLFLOW_TRACKING_URI names a server), so no retrain of a
backtest can move the live `production` alias; its feature files and scored runners live in the
backtest folder (backtests/<D1>_<D2>/ under the artifacts folder by default).

Resumable and idempotent: each replayed day is recorded in modeling.backtest_days with the
backtest's key (its cadence, staking rules and world); a run skips the days already recorded with
the same key (an interrupted run resumes at the first day not done; a day cut off half-way is
replayed whole, and every step of it is idempotent: the same instants write the same rows, the
same version is reused for a retrain day). A day recorded by a backtest with another key is
refused unless `replace` clears that day's backtest rows first.

Retrains: on the first day and every `retrain_every` days after it (28 by default), each one
`features build --date D` then `train --date D` with the promotion gate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from giddyup.backtest.replay_day import DayOutcome, replay_day
from giddyup.config import Settings
from giddyup.db.devcopy import require_dev_copy
from giddyup.errors import GiddyUpError
from giddyup.sim.replay import ReplayWorld

DEFAULT_RETRAIN_EVERY_DAYS = 28
MIN_HISTORY_DAYS = 28  # a model needs some history to train on


@dataclass(frozen=True)
class BacktestPlan:
    first: dt.date
    last: dt.date
    retrain_every: int
    out: Path

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise GiddyUpError(f"--to {self.last} is before --from {self.first}")
        if self.retrain_every < 1:
            raise GiddyUpError(f"--retrain-every {self.retrain_every}: retrain at least every day (1)")

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=k) for k in range((self.last - self.first).days + 1)]

    def retrains_on(self, day: dt.date) -> bool:
        return (day - self.first).days % self.retrain_every == 0


@dataclass
class BacktestRun:
    plan: BacktestPlan
    settings: Settings
    key: str
    replayed: list[DayOutcome] = field(default_factory=list)
    skipped: list[dt.date] = field(default_factory=list)  # done by an earlier run with this key
    seconds: float = 0.0


def backtest_settings(base: Settings, plan: BacktestPlan) -> Settings:
    """The backtest's own bet source, model name, artifacts folder and (unless a server is
    configured) MLflow store: see the module docstring."""
    uri = base.mlflow_tracking_uri.get_secret_value() if base.mlflow_tracking_uri else ""
    server = uri.startswith(("http://", "https://", "databricks"))
    return base.model_copy(
        update={
            "bet_source": "backtest",
            "model_name": f"{base.model_name}-backtest-{plan.first.isoformat()}",
            "artifacts_dir": plan.out,
            "mlflow_tracking_uri": SecretStr(uri) if server else None,
        }
    )


def backtest_key(settings: Settings, plan: BacktestPlan, world: ReplayWorld) -> str:
    """What makes two replays of a day the same: cadence, model name, staking and decision rules,
    the world."""
    identity = {
        "retrain_every": plan.retrain_every,
        "model_name": settings.model_name,
        "world": world.spec.as_json(),
        "rules": {
            name: getattr(settings, name)
            for name in (
                "kelly_multiplier", "bank_units", "max_stake_per_bet", "max_stake_per_race", "max_stake_per_day",
                "min_edge", "min_liquidity_volume", "exchange_commission", "refresh_every_minutes",
                "near_off_minutes", "near_off_every_minutes", "decision_minutes_before_off",
            )
        },
    }  # fmt: skip
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _recorded(conn: psycopg.Connection, plan: BacktestPlan) -> dict[dt.date, tuple[str, dict]]:
    rows = conn.execute(
        "SELECT race_date, backtest_key, summary_json FROM modeling.backtest_days WHERE race_date BETWEEN %s AND %s",
        (plan.first, plan.last),
    ).fetchall()
    return {day: (key, summary) for day, key, summary in rows}


def clear_day(conn: psycopg.Connection, day: dt.date) -> None:
    """Remove a day's backtest rows (bets, decisions, the signals of backtest models, the record)."""
    with conn.transaction():
        conn.execute("DELETE FROM modeling.bets WHERE source = 'backtest' AND race_date = %s", (day,))
        conn.execute("DELETE FROM modeling.paper_decisions WHERE source = 'backtest' AND race_date = %s", (day,))
        conn.execute(
            """DELETE FROM modeling.signals s USING modeling.models m
               WHERE s.model_id = m.model_id AND m.name LIKE '%%-backtest-%%' AND s.race_date = %s""",
            (day,),
        )
        conn.execute("DELETE FROM modeling.backtest_days WHERE race_date = %s", (day,))


def _record(conn: psycopg.Connection, key: str, settings: Settings, outcome: DayOutcome) -> None:
    conn.execute(
        """INSERT INTO modeling.backtest_days (race_date, backtest_key, model_name, summary_json)
           VALUES (%s, %s, %s, %s)
           ON CONFLICT (race_date) DO UPDATE SET backtest_key = EXCLUDED.backtest_key,
               model_name = EXCLUDED.model_name, summary_json = EXCLUDED.summary_json, completed_at = now()""",
        (outcome.day, key, settings.model_name, Jsonb(outcome.as_json())),
    )
    conn.commit()


def run_backtest(
    conn: psycopg.Connection,
    base: Settings,
    dsn: str,
    plan: BacktestPlan,
    *,
    replace: bool = False,
    on_day: Callable[[int, int, DayOutcome | None], None] | None = None,
) -> BacktestRun:
    """Replay every day of the plan not already replayed (see the module docstring)."""
    require_dev_copy(conn, "backtest")
    started = time.perf_counter()
    world = ReplayWorld.load(conn)
    first_day, last_day = world.days
    if plan.first < first_day or plan.last > last_day:
        raise GiddyUpError(
            f"the simulated world's resulted days run from {first_day} to {last_day}; "
            f"a backtest from {plan.first} to {plan.last} needs them all (make the world with enough days)"
        )
    if (plan.first - first_day).days < MIN_HISTORY_DAYS:
        raise GiddyUpError(
            f"a backtest from {plan.first} leaves the model {(plan.first - first_day).days} days of history "
            f"(the world starts {first_day}); start it at least {MIN_HISTORY_DAYS} days into the world"
        )
    settings = backtest_settings(base, plan)
    key = backtest_key(settings, plan, world)
    run = BacktestRun(plan=plan, settings=settings, key=key)
    recorded = _recorded(conn, plan)
    clash = sorted(day for day, (other, _) in recorded.items() if other != key)
    if clash and not replace:
        raise GiddyUpError(
            f"{len(clash)} day(s) from {clash[0]} were replayed by a backtest with other settings or another "
            "world; use a fresh dev copy, or --replace to clear those days and replay them"
        )
    for day in clash:
        clear_day(conn, day)
        recorded.pop(day)
    days = plan.days
    for index, day in enumerate(days, start=1):
        if day in recorded:
            run.skipped.append(day)
            if on_day:
                on_day(index, len(days), None)
            continue
        world.check_day(conn, day)
        outcome = replay_day(
            conn, settings, dsn, world, day, retrain=plan.retrains_on(day) or (not run.replayed and _no_model(settings))
        )
        _record(conn, key, settings, outcome)
        run.replayed.append(outcome)
        if on_day:
            on_day(index, len(days), outcome)
    run.seconds = time.perf_counter() - started
    return run


def _no_model(settings: Settings) -> bool:
    """No production version in the backtest's registry (a resumed run whose first retrain day
    was done by an earlier run has one)."""
    from giddyup.artifacts import PRODUCTION_ALIAS
    from giddyup.model import registry

    client = registry.configure_mlflow(settings)
    return PRODUCTION_ALIAS not in registry.aliases(client, settings.model_name)


def recorded_days(conn: psycopg.Connection, plan: BacktestPlan) -> list[dict]:
    """The per-day summaries of every replayed day of the plan (for the report)."""
    return [summary for _, (_, summary) in sorted(_recorded(conn, plan).items())]
