-- How a bet is struck (giddyup/pricing.py, the decision rule chosen with the backtest): on the
-- exchange at the price available now when it is at least the market's fair price, else at
-- Betfair SP. A signal says which and at what odds its stake was sized; a bet says which, and a
-- bet struck at Betfair SP learns its odds (matched_odds) when it is settled.

ALTER TABLE modeling.signals
    ADD COLUMN IF NOT EXISTS execution text CHECK (execution IN ('price', 'bsp')),
    ADD COLUMN IF NOT EXISTS execution_odds double precision
        CHECK (execution_odds >= 1.01 AND execution_odds < 'Infinity'::float8);

ALTER TABLE modeling.bets
    ADD COLUMN IF NOT EXISTS execution text NOT NULL DEFAULT 'price' CHECK (execution IN ('price', 'bsp')),
    ADD COLUMN IF NOT EXISTS matched_odds double precision
        CHECK (matched_odds >= 1.01 AND matched_odds < 'Infinity'::float8);

-- The internal view selects s.*, whose columns PostgreSQL fixed when it was made: recreate it so
-- it carries the new columns (appended, so OR REPLACE is allowed).
CREATE OR REPLACE VIEW modeling.latest_signals AS
SELECT s.*
FROM modeling.latest_signal_as_of l
JOIN modeling.signals s
  ON s.as_of = l.as_of AND s.race_id = l.race_id AND s.horse_id = l.horse_id AND s.model_id = l.model_id;

-- The Go API's views gain them at their ends (docs/API.md).
CREATE OR REPLACE VIEW modeling.api_v1_signals AS
SELECT signal_id, as_of, race_id, race_date, runner_id, horse_id, model_id,
       p_win, p_place, fair_odds_win, fair_odds_place, best_odds_win, best_odds_src,
       ew_places, ew_fraction, edge_win, edge_ew, kelly_fraction, stake_units, liquidity_ok,
       reasons_json, p_model, p_market, created_at, execution, execution_odds
FROM modeling.signals;

CREATE OR REPLACE VIEW modeling.api_v1_latest_signals AS
SELECT s.signal_id, l.as_of, l.race_id, l.race_date, s.runner_id, l.horse_id, l.model_id,
       s.p_win, s.p_place, s.fair_odds_win, s.fair_odds_place, s.best_odds_win, s.best_odds_src,
       s.ew_places, s.ew_fraction, s.edge_win, s.edge_ew, s.kelly_fraction, s.stake_units, s.liquidity_ok,
       s.reasons_json, s.p_model, s.p_market, s.created_at, s.execution, s.execution_odds
FROM modeling.latest_signal_as_of l
JOIN modeling.signals s
  ON s.as_of = l.as_of AND s.race_id = l.race_id AND s.horse_id = l.horse_id AND s.model_id = l.model_id;

CREATE OR REPLACE VIEW modeling.api_v1_bets AS
SELECT bet_id, ts, race_id, race_date, runner_id, horse_id, model_id, signal_as_of,
       side, odds, stake, expected_ev, source, exchange, ew_places, ew_fraction,
       status, result_pos_raw, dead_heat_ways, close_odds_src, clv_close_odds, clv,
       commission, pnl, settled_at, execution, matched_odds
FROM modeling.bets;
