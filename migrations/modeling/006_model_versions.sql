-- What the scoring, refresh and drift jobs need to know about a registered model version, kept
-- next to its row so they need no MLflow call: the combiner (market price column, Benter
-- coefficients, place-model exponents), the MLflow run, the feature list and the data windows.

ALTER TABLE modeling.models
    ADD COLUMN IF NOT EXISTS combiner_json   jsonb,
    ADD COLUMN IF NOT EXISTS mlflow_run_id   text,
    ADD COLUMN IF NOT EXISTS feature_hash    text,
    ADD COLUMN IF NOT EXISTS feature_columns jsonb,
    ADD COLUMN IF NOT EXISTS data_until      date,   -- last race day of the training data
    ADD COLUMN IF NOT EXISTS fit_until       date,   -- last race day the model was fitted on
    ADD COLUMN IF NOT EXISTS holdout_from    date,
    ADD COLUMN IF NOT EXISTS holdout_until   date,
    ADD COLUMN IF NOT EXISTS updated_at      timestamptz NOT NULL DEFAULT now();

-- At most one production row per model name (the alias is unique in MLflow, so is this).
CREATE UNIQUE INDEX IF NOT EXISTS models_one_production_idx ON modeling.models (name) WHERE stage = 'production';
