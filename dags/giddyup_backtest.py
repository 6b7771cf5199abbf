"""
### GiddyUp season backtest (triggered by hand)

Replays days of a simulated world through the race-day jobs, as `giddyup backtest` does, split
into chunks that run as separate tasks (dynamic task mapping): each chunk is retried and resumed
on its own, on whichever worker is free. Params: `date_from`, `date_to` (the days to replay),
`retrain_every` (days between retrains, 28 by default) and `chunk_days` (days per chunk, by default
the retrain cadence, so every chunk starts with a retrain as the cadence would have it).

1. `plan_chunks` splits `date_from`..`date_to` into chunks (plain date arithmetic, no giddyup import).
2. `replay_chunk` (mapped) runs `giddyup backtest --from C1 --to C2 --retrain-every N` per chunk:
   each chunk retrains on its first day (its own model name and MLflow store), replays its days
   and resumes where it stopped if retried. The chunks run one at a time: replaying a day turns it
   back into a card in the shared racing tables (its results hidden until the day closes), and a
   later chunk's retrain and features read the earlier days, so two chunks at once would see each
   other's half-replayed days (found by the Celery scale-out test). Rows: `modeling.bets` and
   `paper_decisions` with source `backtest`, signals of the backtest's models,
   `modeling.backtest_days`.
3. `report` runs `giddyup backtest --from D1 --to D2 --report-only`: the report of the whole window
   (backtest.json, backtest.html under backtests/D1_D2/ in the artifacts folder, and an MLflow run
   in the experiment giddyup-backtest).

Only on a dev copy holding a simulated world (`giddyup sim`); the commands refuse anything else.

**Re-run a window** (the chunks already replayed with the same settings are skipped, so a failed
run's retry resumes where it stopped):

    airflow dags trigger giddyup_backtest --conf '{"date_from": "2026-03-01", "date_to": "2026-05-29"}'

or the same work in one process:

    giddyup backtest --from 2026-03-01 --to 2026-05-29 --retrain-every 28
"""

from __future__ import annotations

from datetime import date, timedelta

from airflow.sdk import Param, task
from giddyup_tasks import giddyup_dag, giddyup_mapped_task, giddyup_task

with giddyup_dag(
    "giddyup_backtest",
    schedule=None,
    doc_md=__doc__,
    tags=["backtest"],
    dagrun_timeout=timedelta(hours=12),
    retry_delay=timedelta(minutes=2),
    execution_timeout=timedelta(hours=6),
    max_active_runs=1,
    params={
        "date_from": Param(type="string", format="date", description="First day to replay (YYYY-MM-DD)."),
        "date_to": Param(type="string", format="date", description="Last day to replay (YYYY-MM-DD)."),
        "retrain_every": Param(28, type="integer", minimum=1, description="Days between retrains."),
        "chunk_days": Param(
            None, type=["null", "integer"], minimum=1, description="Days per chunk (default: retrain_every)."
        ),
    },
) as dag:

    @task
    def plan_chunks(params: dict | None = None) -> list[list[str]]:
        """The argv of `giddyup backtest` for each chunk of the window."""
        assert params is not None
        first, last = date.fromisoformat(params["date_from"]), date.fromisoformat(params["date_to"])
        every = int(params["retrain_every"])
        size = int(params.get("chunk_days") or every)
        if last < first:
            raise ValueError(f"date_to {last} is before date_from {first}")
        chunks = []
        start = first
        while start <= last:
            end = min(start + timedelta(days=size - 1), last)
            chunks.append(
                ["backtest", "--from", start.isoformat(), "--to", end.isoformat(), "--retrain-every", str(every)]
            )
            start = end + timedelta(days=1)
        return chunks

    # One chunk at a time (see the DAG doc): chunks share the racing tables they replay in.
    chunks = giddyup_mapped_task("replay_chunk", plan_chunks(), max_active_tis_per_dagrun=1)
    report = giddyup_task(
        "report",
        [
            "backtest", "--from", "{{ params.date_from }}", "--to", "{{ params.date_to }}",
            "--retrain-every", "{{ params.retrain_every }}", "--report-only",
        ],
    )  # fmt: skip
    chunks >> report
