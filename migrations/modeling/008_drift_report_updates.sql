-- Drift reports are upserted (re-running a date and model version rewrites its row):
-- updated_at says when the row was last rewritten, created_at when it was first written.

ALTER TABLE modeling.drift_reports ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
