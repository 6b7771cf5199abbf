"""
### GiddyUp intraday refresh

Every minute from 11:00 to 22:59 Europe/Madrid, for the run's logical instant T, `refresh` runs
`giddyup refresh --at T`. The command decides which races are due at T (each race every 10
minutes, every minute in its last 15 minutes, none after the off), records the prices it read in
`modeling.price_snapshots`, publishes new `modeling.signals` rows with `as_of = T`, and places the
paper bets whose decision point has come (`modeling.bets`, source `paper`, once per runner).
A minute with nothing due returns in well under a second.

**Re-run an instant by hand** (idempotent: the same T writes the same rows):

    airflow dags trigger giddyup_intraday_refresh --logical-date 2026-03-28T14:55:00+00:00

or the same command directly:

    giddyup refresh --at 2026-03-28T14:55:00+00:00
"""

from datetime import timedelta

from airflow.sdk import CronTriggerTimetable
from giddyup_tasks import RUN_INSTANT, SCHEDULE_TZ, giddyup_dag, giddyup_task, schedules

# One run at a time (the shared header): a slow minute delays the next one instead of racing it.
with giddyup_dag(
    "giddyup_intraday_refresh",
    schedule=CronTriggerTimetable(*schedules.INTRADAY_REFRESH, timezone=SCHEDULE_TZ),
    doc_md=__doc__,
    tags=["scoring", "intraday"],
    dagrun_timeout=timedelta(minutes=5),
    retry_delay=timedelta(seconds=10),
    execution_timeout=timedelta(minutes=3),
) as dag:
    refresh = giddyup_task("refresh", ["refresh", "--at", RUN_INSTANT])
