-- Every double precision column of the modeling tables refuses NaN and ±Infinity. PostgreSQL
-- orders NaN above every number, so a check like `odds >= 1.01` let NaN (and Infinity) through,
-- and JSON encoders (Go's encoding/json among them) refuse both. `x > '-Infinity' AND
-- x < 'Infinity'` is false for NaN, Infinity and -Infinity, and NULL passes as before.
-- Added NOT VALID (a brief lock, no scan); 013 validates them in its own transaction, which
-- scans under a lock that lets reads and writes go on. New rows are checked from here on.
-- reasons_json is a JSON object or NULL (the API decodes it as one).

ALTER TABLE modeling.signals
    ADD CONSTRAINT signals_p_win_finite CHECK (p_win > '-Infinity'::float8 AND p_win < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_p_place_finite CHECK (p_place > '-Infinity'::float8 AND p_place < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_fair_odds_win_finite CHECK (fair_odds_win > '-Infinity'::float8 AND fair_odds_win < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_fair_odds_place_finite CHECK (fair_odds_place > '-Infinity'::float8 AND fair_odds_place < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_best_odds_win_finite CHECK (best_odds_win > '-Infinity'::float8 AND best_odds_win < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_edge_win_finite CHECK (edge_win > '-Infinity'::float8 AND edge_win < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_edge_ew_finite CHECK (edge_ew > '-Infinity'::float8 AND edge_ew < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_kelly_fraction_finite CHECK (kelly_fraction > '-Infinity'::float8 AND kelly_fraction < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_stake_units_finite CHECK (stake_units > '-Infinity'::float8 AND stake_units < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_p_model_finite CHECK (p_model > '-Infinity'::float8 AND p_model < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_p_market_finite CHECK (p_market > '-Infinity'::float8 AND p_market < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT signals_vs_market_logit_finite CHECK (vs_market_logit > '-Infinity'::float8 AND vs_market_logit < 'Infinity'::float8) NOT VALID;

ALTER TABLE modeling.bets
    ADD CONSTRAINT bets_odds_finite CHECK (odds > '-Infinity'::float8 AND odds < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT bets_stake_finite CHECK (stake > '-Infinity'::float8 AND stake < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT bets_expected_ev_finite CHECK (expected_ev > '-Infinity'::float8 AND expected_ev < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT bets_clv_close_odds_finite CHECK (clv_close_odds > '-Infinity'::float8 AND clv_close_odds < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT bets_pnl_finite CHECK (pnl > '-Infinity'::float8 AND pnl < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT bets_clv_finite CHECK (clv > '-Infinity'::float8 AND clv < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT bets_commission_finite CHECK (commission > '-Infinity'::float8 AND commission < 'Infinity'::float8) NOT VALID;

ALTER TABLE modeling.price_snapshots
    ADD CONSTRAINT price_snapshots_back_price_finite CHECK (back_price > '-Infinity'::float8 AND back_price < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT price_snapshots_lay_price_finite CHECK (lay_price > '-Infinity'::float8 AND lay_price < 'Infinity'::float8) NOT VALID,
    ADD CONSTRAINT price_snapshots_traded_vol_finite CHECK (traded_vol > '-Infinity'::float8 AND traded_vol < 'Infinity'::float8) NOT VALID;

ALTER TABLE modeling.drift_reports
    ADD CONSTRAINT drift_reports_share_drifted_finite CHECK (share_drifted > '-Infinity'::float8 AND share_drifted < 'Infinity'::float8) NOT VALID;

ALTER TABLE modeling.paper_decisions
    ADD CONSTRAINT paper_decisions_total_stake_finite CHECK (total_stake > '-Infinity'::float8 AND total_stake < 'Infinity'::float8) NOT VALID;

ALTER TABLE modeling.signals
    ADD CONSTRAINT signals_reasons_json_object CHECK (reasons_json IS NULL OR jsonb_typeof(reasons_json) = 'object') NOT VALID;
