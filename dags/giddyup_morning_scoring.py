"""
### GiddyUp morning scoring

Every day at 08:00 Europe/Madrid, for the Madrid date D of the run's logical instant T:

1. `score` runs `giddyup score --date D --at T`: prices every declared runner of D's races with
   the `production` model and upserts them into `modeling.signals` with `as_of = T` (one
   transaction; re-running the same T changes no row).
2. `drift` runs `giddyup drift --date D`: the Evidently drift report of D's scored runners against
   the model's training reference. Writes the HTML and JSON under the artifacts folder (drift/D/) and one
   row per (date, model version) in `modeling.drift_reports`, listed on the "Drift reports" page.
   Status `alert` makes the task fail (the report is saved first) so on-call sees it.

**Re-run a day by hand** (08:00 Madrid is 07:00 UTC in winter, 06:00 UTC in summer):

    airflow dags trigger giddyup_morning_scoring --logical-date 2026-03-28T07:00:00+00:00

or the same commands directly:

    giddyup score --date 2026-03-28 --at 2026-03-28T07:00:00+00:00
    giddyup drift --date 2026-03-28
"""

from datetime import timedelta

from airflow.sdk import CronTriggerTimetable
from giddyup_tasks import RUN_DATE, RUN_INSTANT, SCHEDULE_TZ, giddyup_dag, giddyup_task, schedules

with giddyup_dag(
    "giddyup_morning_scoring",
    schedule=CronTriggerTimetable(*schedules.MORNING_SCORING, timezone=SCHEDULE_TZ),
    doc_md=__doc__,
    tags=["scoring", "monitoring"],
    dagrun_timeout=timedelta(hours=2),
    retry_delay=timedelta(minutes=5),
    execution_timeout=timedelta(minutes=30),
) as dag:
    score = giddyup_task("score", ["score", "--date", RUN_DATE, "--at", RUN_INSTANT])
    drift = giddyup_task("drift", ["drift", "--date", RUN_DATE])
    score >> drift
