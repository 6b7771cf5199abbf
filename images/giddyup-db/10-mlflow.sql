-- MLflow's backend store, beside the racing/modeling database (run once, when the volume is new).
CREATE DATABASE mlflow;
