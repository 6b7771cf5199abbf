-- One row per drift report (date and model version), read by on-call.

CREATE TABLE modeling.drift_reports (
    report_id        bigserial PRIMARY KEY,
    report_date      date NOT NULL,
    model_id         bigint REFERENCES modeling.models (model_id),
    model_version    text NOT NULL,
    n_features       integer NOT NULL,
    n_drifted        integer NOT NULL,
    share_drifted    double precision NOT NULL,
    drifted_columns  jsonb NOT NULL DEFAULT '[]'::jsonb,
    status           text NOT NULL CHECK (status IN ('ok', 'warn', 'alert')),
    details_json     jsonb,                 -- prediction and market drift figures
    html_path        text NOT NULL,
    json_path        text NOT NULL,
    mlflow_run_id    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (report_date, model_version)
);
CREATE INDEX drift_reports_date_idx ON modeling.drift_reports (report_date DESC);
