-- The model version that first scored a racing day: a re-run of `giddyup score --date D` (after a
-- promotion, say) prices the day with the same version, and `giddyup drift --date D` compares
-- that version's reference. `score --model-version V` replaces it on purpose.
CREATE TABLE modeling.scored_days (
    race_date      date NOT NULL,
    model_name     text NOT NULL,
    model_version  text NOT NULL,
    model_id       bigint NOT NULL REFERENCES modeling.models (model_id),
    scored_at      timestamptz NOT NULL,   -- the instant of the scoring run that recorded it
    PRIMARY KEY (race_date, model_name)
);
