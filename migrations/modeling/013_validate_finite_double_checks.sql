-- Validate the checks 012 added NOT VALID. Each VALIDATE scans its table under SHARE UPDATE
-- EXCLUSIVE, which lets publishers and readers carry on; 012 committed first, so its brief
-- ACCESS EXCLUSIVE lock is not held through these scans. A row holding NaN or ±Infinity fails
-- this migration naming the constraint (<table>_<column>_finite): fix the row, re-run migrate.

ALTER TABLE modeling.signals
    VALIDATE CONSTRAINT signals_p_win_finite,
    VALIDATE CONSTRAINT signals_p_place_finite,
    VALIDATE CONSTRAINT signals_fair_odds_win_finite,
    VALIDATE CONSTRAINT signals_fair_odds_place_finite,
    VALIDATE CONSTRAINT signals_best_odds_win_finite,
    VALIDATE CONSTRAINT signals_edge_win_finite,
    VALIDATE CONSTRAINT signals_edge_ew_finite,
    VALIDATE CONSTRAINT signals_kelly_fraction_finite,
    VALIDATE CONSTRAINT signals_stake_units_finite,
    VALIDATE CONSTRAINT signals_p_model_finite,
    VALIDATE CONSTRAINT signals_p_market_finite,
    VALIDATE CONSTRAINT signals_vs_market_logit_finite,
    VALIDATE CONSTRAINT signals_reasons_json_object;

ALTER TABLE modeling.bets
    VALIDATE CONSTRAINT bets_odds_finite,
    VALIDATE CONSTRAINT bets_stake_finite,
    VALIDATE CONSTRAINT bets_expected_ev_finite,
    VALIDATE CONSTRAINT bets_clv_close_odds_finite,
    VALIDATE CONSTRAINT bets_pnl_finite,
    VALIDATE CONSTRAINT bets_clv_finite,
    VALIDATE CONSTRAINT bets_commission_finite;

ALTER TABLE modeling.price_snapshots
    VALIDATE CONSTRAINT price_snapshots_back_price_finite,
    VALIDATE CONSTRAINT price_snapshots_lay_price_finite,
    VALIDATE CONSTRAINT price_snapshots_traded_vol_finite;

ALTER TABLE modeling.drift_reports
    VALIDATE CONSTRAINT drift_reports_share_drifted_finite;

ALTER TABLE modeling.paper_decisions
    VALIDATE CONSTRAINT paper_decisions_total_stake_finite;
