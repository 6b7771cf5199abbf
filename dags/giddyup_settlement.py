"""
### GiddyUp settlement and daily report

Every 30 minutes from 13:00 to 22:30 Europe/Madrid, and a final run at 23:45, for the Madrid
date D of the run's logical instant:

1. `settle` runs `giddyup settle --date D`: settles D's bets whose results are in (pnl, dead
   heats, non-runners void, commission) and their closing-line value, updating `modeling.bets`.
   Idempotent; a corrected result re-settles the bet.
2. `report` runs `giddyup report --from D --to D`: the day's performance report (HTML + JSON:
   bets, staked, pnl, ROI, CLV) in reports/daily/D under the artifacts folder, rewritten each run.

**Re-run a day by hand** (any logical instant of that Madrid day works):

    airflow dags trigger giddyup_settlement --logical-date 2026-03-28T22:45:00+00:00

or the same commands directly:

    giddyup settle --date 2026-03-28
    giddyup report --from 2026-03-28 --to 2026-03-28
"""

from datetime import timedelta

from airflow.sdk import MultipleCronTriggerTimetable
from giddyup_tasks import RUN_DATE, SCHEDULE_TZ, giddyup_dag, giddyup_task, schedules

with giddyup_dag(
    "giddyup_settlement",
    schedule=MultipleCronTriggerTimetable(*schedules.SETTLEMENT, timezone=SCHEDULE_TZ),
    doc_md=__doc__,
    tags=["settlement", "reporting"],
    dagrun_timeout=timedelta(minutes=25),
    retry_delay=timedelta(minutes=2),
    execution_timeout=timedelta(minutes=10),
) as dag:
    settle = giddyup_task("settle", ["settle", "--date", RUN_DATE])
    report = giddyup_task("report", ["report", "--from", RUN_DATE, "--to", RUN_DATE])
    settle >> report
