"""
### GiddyUp nightly retrain

Every night at 02:30 Europe/Madrid (on the spring clock-change night, when 02:30 does not exist,
Airflow runs it once at 03:30), for the Madrid date D of the run's logical instant:

1. `features` runs `giddyup features build --until D --out $GIDDYUP_ARTIFACTS_DIR/features/D`:
   point-in-time features of every race up to D, written as files under the artifacts directory.
2. `train` runs `giddyup train --as-of D --promote auto`: a LightGBM model trained on what was known
   at the start of D, logged and registered in MLflow (alias `challenger`), with its row in
   `modeling.models`. The promotion gate is inside the command: alias `production` moves only if
   the new version beats the current one on the same holdout.

**Re-run a day by hand** (the run redoes exactly that date; both commands are idempotent):

    airflow dags trigger giddyup_nightly_retrain --logical-date 2026-03-28T01:30:00+00:00

or, without Airflow, the same commands in the giddyup image or a checkout:

    giddyup features build --until 2026-03-28 --out /data/artifacts/features/2026-03-28
    giddyup train --as-of 2026-03-28 --promote auto
"""

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable
from giddyup_tasks import RUN_DATE, SCHEDULE_TZ, TEMPLATE_MACROS, artifacts_dir, giddyup_task

with DAG(
    dag_id="giddyup_nightly_retrain",
    schedule=CronTriggerTimetable("30 2 * * *", timezone=SCHEDULE_TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=SCHEDULE_TZ),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=4),
    default_args={
        "owner": "giddyup-modeling",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(minutes=45),
    },
    tags=["giddyup", "training"],
    doc_md=__doc__,
    user_defined_macros=TEMPLATE_MACROS,
) as dag:
    features = giddyup_task(
        "features",
        ["features", "build", "--until", RUN_DATE, "--out", f"{artifacts_dir()}/features/{RUN_DATE}"],
    )
    train = giddyup_task(
        "train",
        ["train", "--as-of", RUN_DATE, "--promote", "auto"],
        execution_timeout=timedelta(hours=2),
    )
    features >> train
