"""
### GiddyUp nightly retrain

Every night at 02:30 Europe/Madrid (on the spring clock-change night, when 02:30 does not exist,
Airflow runs it once at 03:30), for the Madrid date D of the run's logical instant:

1. `features` runs `giddyup features build --date D`: point-in-time features of every resulted
   race before D, written to features/D under the artifacts folder.
2. `train` runs `giddyup train --date D --promote auto`: reads those files (checking that they were
   built up to D − 1 with this code's feature list), trains a LightGBM model on what was known at
   the start of D, logs and registers it in MLflow (alias `challenger`), with its row in
   `modeling.models`. The promotion gate is inside the command: alias `production` moves only if
   the new version beats the current one on the same holdout.

**Re-run a day by hand** (the run redoes exactly that date; both commands are idempotent):

    airflow dags trigger giddyup_nightly_retrain --logical-date 2026-03-28T01:30:00+00:00

or, without Airflow, the same commands in the giddyup image or a checkout:

    giddyup features build --date 2026-03-28
    giddyup train --date 2026-03-28 --promote auto
"""

from datetime import timedelta

from airflow.sdk import CronTriggerTimetable
from giddyup_tasks import RUN_DATE, SCHEDULE_TZ, giddyup_dag, giddyup_task, schedules

with giddyup_dag(
    "giddyup_nightly_retrain",
    schedule=CronTriggerTimetable(*schedules.NIGHTLY_RETRAIN, timezone=SCHEDULE_TZ),
    doc_md=__doc__,
    tags=["training"],
    dagrun_timeout=timedelta(hours=4),
    retry_delay=timedelta(minutes=10),
    execution_timeout=timedelta(minutes=45),
) as dag:
    features = giddyup_task("features", ["features", "build", "--date", RUN_DATE])
    train = giddyup_task(
        "train",
        ["train", "--date", RUN_DATE, "--promote", "auto"],
        execution_timeout=timedelta(hours=2),
    )
    features >> train
