-- modeling.models and modeling.signals: the public contract read by the Go API
-- (../shared/specs/modeling-schema.md). Add columns freely; never rename or drop one.

CREATE TABLE modeling.models (
    model_id     bigserial PRIMARY KEY,
    name         text NOT NULL DEFAULT 'hrd_win_prob',
    version      text NOT NULL,
    stage        text NOT NULL DEFAULT 'development'
                 CHECK (stage IN ('production', 'staging', 'development')),
    artifact_uri text,
    metrics_json jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, version)
);

CREATE TABLE modeling.signals (
    signal_id       bigserial PRIMARY KEY,
    as_of           timestamptz NOT NULL,
    race_id         bigint NOT NULL,
    horse_id        bigint NOT NULL,
    model_id        bigint NOT NULL REFERENCES modeling.models (model_id),
    p_win           double precision NOT NULL CHECK (p_win > 0 AND p_win <= 1),
    p_place         double precision CHECK (p_place IS NULL OR (p_place > 0 AND p_place <= 1)),
    fair_odds_win   double precision CHECK (fair_odds_win IS NULL OR fair_odds_win >= 1.01),
    fair_odds_place double precision CHECK (fair_odds_place IS NULL OR fair_odds_place >= 1.01),
    best_odds_win   double precision CHECK (best_odds_win IS NULL OR best_odds_win >= 1.01),
    best_odds_src   text,
    ew_places       integer,
    ew_fraction     text,
    edge_win        double precision,
    edge_ew         double precision,
    kelly_fraction  double precision,
    stake_units     double precision,
    liquidity_ok    boolean,
    reasons_json    jsonb,
    -- added by GiddyUp beyond the contract's minimum
    runner_id       bigint,
    race_date       date,
    p_model         double precision,
    p_market        double precision,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (as_of, race_id, horse_id, model_id)
);

-- The API's "latest price per runner" and the refresh job's "morning p_model" both walk this.
CREATE INDEX signals_latest_idx ON modeling.signals (race_id, horse_id, model_id, as_of DESC);
CREATE INDEX signals_race_date_idx ON modeling.signals (race_date, as_of);

CREATE VIEW modeling.latest_signals AS
SELECT DISTINCT ON (race_id, horse_id, model_id) *
FROM modeling.signals
ORDER BY race_id, horse_id, model_id, as_of DESC;
