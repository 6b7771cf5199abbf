-- Backtests replay past days through the race-day jobs in a dev copy; their bets and decisions
-- are kept apart from live paper trading by their source ('backtest' instead of 'paper').

-- A race is decided once per source: live paper trading and a backtest each decide it themselves.
ALTER TABLE modeling.paper_decisions ADD COLUMN source text NOT NULL DEFAULT 'paper'
    CHECK (source IN ('paper', 'backtest'));
ALTER TABLE modeling.paper_decisions DROP CONSTRAINT paper_decisions_pkey;
ALTER TABLE modeling.paper_decisions ADD PRIMARY KEY (race_id, source);

-- The decision step places a bet at most once per race, runner, side and source, for both.
DROP INDEX modeling.bets_paper_once_idx;
CREATE UNIQUE INDEX bets_decided_once_idx ON modeling.bets (race_id, horse_id, side, source)
    WHERE source IN ('paper', 'backtest');

-- The days a backtest has replayed (a resumed backtest skips them), with the day's figures.
CREATE TABLE modeling.backtest_days (
    race_date     date PRIMARY KEY,
    backtest_key  text NOT NULL,         -- what the replay was made with (cadence, rules, world)
    model_name    text NOT NULL,         -- the registered model name its retrains used
    summary_json  jsonb NOT NULL,        -- races, bets, staked, pnl, timings of the day
    completed_at  timestamptz NOT NULL DEFAULT now()
);
