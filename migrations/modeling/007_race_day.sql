-- Race-day support: paper-bet decisions, settlement commission, and the index the refresh job's
-- due-race check walks every minute.

-- One row per race once the paper-trading step has decided it (with or without bets), so that a
-- race is decided exactly once however often the step runs, and later price moves add no bets.
CREATE TABLE modeling.paper_decisions (
    race_id       bigint PRIMARY KEY,
    race_date     date NOT NULL,
    decided_at    timestamptz NOT NULL,   -- the instant of the run that decided it
    signal_as_of  timestamptz,            -- the latest signal instant it read (NULL: no signal)
    model_id      bigint REFERENCES modeling.models (model_id),
    n_bets        integer NOT NULL,
    total_stake   double precision NOT NULL
);
CREATE INDEX paper_decisions_date_idx ON modeling.paper_decisions (race_date);

-- Exchange commission charged on the bet (its share of its market's commission); pnl is after it.
ALTER TABLE modeling.bets ADD COLUMN IF NOT EXISTS commission double precision;

-- "Latest signal of a race at or before an instant" for the due-race check (every minute).
CREATE INDEX IF NOT EXISTS signals_race_as_of_idx ON modeling.signals (race_id, as_of DESC);
