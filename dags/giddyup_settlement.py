"""
### GiddyUp settlement and daily report

Every 30 minutes from 13:00 to 22:30 Europe/Madrid, and a final run at 23:45, for the Madrid
date D of the run's logical instant:

1. `settle` runs `giddyup settle --date D`: settles D's bets whose results are in (pnl, dead
   heats, non-runners void, commission) and their closing-line value, updating `modeling.bets`.
   Idempotent; a corrected result re-settles the bet.
2. `report` runs `giddyup report --from D --to D --out $GIDDYUP_ARTIFACTS_DIR/reports/daily/D`:
   the day's performance report (HTML + JSON: bets, staked, pnl, ROI, CLV), rewritten each run.

**Re-run a day by hand** (any logical instant of that Madrid day works):

    airflow dags trigger giddyup_settlement --logical-date 2026-03-28T22:45:00+00:00

or the same commands directly:

    giddyup settle --date 2026-03-28
    giddyup report --from 2026-03-28 --to 2026-03-28 --out /data/artifacts/reports/daily/2026-03-28
"""

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, MultipleCronTriggerTimetable
from giddyup_tasks import RUN_DATE, SCHEDULE_TZ, TEMPLATE_MACROS, artifacts_dir, giddyup_task

with DAG(
    dag_id="giddyup_settlement",
    # Results arrive through the afternoon and evening; the late run catches the last ones.
    schedule=MultipleCronTriggerTimetable("0,30 13-22 * * *", "45 23 * * *", timezone=SCHEDULE_TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=SCHEDULE_TZ),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=25),
    default_args={
        "owner": "giddyup-modeling",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(minutes=10),
    },
    tags=["giddyup", "settlement", "reporting"],
    doc_md=__doc__,
    user_defined_macros=TEMPLATE_MACROS,
) as dag:
    settle = giddyup_task("settle", ["settle", "--date", RUN_DATE])
    report = giddyup_task(
        "report",
        ["report", "--from", RUN_DATE, "--to", RUN_DATE, "--out", f"{artifacts_dir()}/reports/daily/{RUN_DATE}"],
    )
    settle >> report
