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
