"""Monitoring: Evidently drift reports of the day's scored runners against the training reference.

drift.py builds the report from two frames (no I/O); drift_html.py puts the verdict on top of
Evidently's page; drift_inputs.py finds the model version, its reference and the day's runners;
drift_store.py writes the files, the MLflow run and the modeling.drift_reports row;
drift_job.py is `giddyup drift --date D`. Import submodules directly (they import Evidently,
MLflow and pandas, which `giddyup --help` must not pay for).
"""
