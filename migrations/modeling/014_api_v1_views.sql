-- Version 1 of what the Go API reads: views with explicit columns (docs/API.md lists each one
-- with its Go type; tests/database/test_api_views.py holds the views to that list). A table may
-- gain columns without the API seeing them; a view gains a column only at its end (CREATE OR
-- REPLACE VIEW appends); nothing under a published view is renamed, retyped or dropped: a
-- breaking change is a new api_v2_* view next to the old one.

CREATE VIEW modeling.api_v1_models AS
SELECT model_id, name, version, stage, artifact_uri, metrics_json, created_at, updated_at
FROM modeling.models;

CREATE VIEW modeling.api_v1_signals AS
SELECT signal_id, as_of, race_id, race_date, runner_id, horse_id, model_id,
       p_win, p_place, fair_odds_win, fair_odds_place, best_odds_win, best_odds_src,
       ew_places, ew_fraction, edge_win, edge_ew, kelly_fraction, stake_units, liquidity_ok,
       reasons_json, p_model, p_market, created_at
FROM modeling.signals;

-- The newest signal per (race_id, horse_id, model_id). Keys and race_date come from the small
-- latest_signal_as_of table (010), so filters on race_id or race_date use its indexes.
CREATE VIEW modeling.api_v1_latest_signals AS
SELECT s.signal_id, l.as_of, l.race_id, l.race_date, s.runner_id, l.horse_id, l.model_id,
       s.p_win, s.p_place, s.fair_odds_win, s.fair_odds_place, s.best_odds_win, s.best_odds_src,
       s.ew_places, s.ew_fraction, s.edge_win, s.edge_ew, s.kelly_fraction, s.stake_units, s.liquidity_ok,
       s.reasons_json, s.p_model, s.p_market, s.created_at
FROM modeling.latest_signal_as_of l
JOIN modeling.signals s
  ON s.as_of = l.as_of AND s.race_id = l.race_id AND s.horse_id = l.horse_id AND s.model_id = l.model_id;

CREATE VIEW modeling.api_v1_bets AS
SELECT bet_id, ts, race_id, race_date, runner_id, horse_id, model_id, signal_as_of,
       side, odds, stake, expected_ev, source, exchange, ew_places, ew_fraction,
       status, result_pos_raw, dead_heat_ways, close_odds_src, clv_close_odds, clv,
       commission, pnl, settled_at
FROM modeling.bets;

COMMENT ON VIEW modeling.api_v1_models IS 'Read by the Go API (contract v1, docs/API.md): columns are only ever appended';
COMMENT ON VIEW modeling.api_v1_signals IS 'Read by the Go API (contract v1, docs/API.md): columns are only ever appended';
COMMENT ON VIEW modeling.api_v1_latest_signals IS 'Read by the Go API (contract v1, docs/API.md): columns are only ever appended';
COMMENT ON VIEW modeling.api_v1_bets IS 'Read by the Go API (contract v1, docs/API.md): columns are only ever appended';

-- 005 made the read-only role where roles may be created (and its default privileges already
-- cover new views); grant explicitly wherever that role reads the schema, and stay quiet
-- elsewhere: a DBA running 005 later grants SELECT on every table and view of the schema.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'giddyup_api')
       AND has_schema_privilege('giddyup_api', 'modeling', 'USAGE') THEN
        GRANT SELECT ON modeling.api_v1_models, modeling.api_v1_signals, modeling.api_v1_latest_signals,
                        modeling.api_v1_bets TO giddyup_api;
    END IF;
END
$$;
