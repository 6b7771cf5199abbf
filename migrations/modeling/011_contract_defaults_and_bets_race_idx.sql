-- Defaults the published contract promises, and the index the API's "bets of a race" read needs.
-- - modeling.bets.ts: a bet inserted without ts is timestamped when it is inserted (the users'
--   documented INSERT names no ts and failed on NOT NULL).
-- - modeling.signals.liquidity_ok: true unless the writer says otherwise (GiddyUp's own jobs
--   write it: NULL there still means "volume unknown").
-- - bets(race_id): the only index starting with race_id is partial (paper bets), so a race's bets
--   were a sequential scan of every bet.

ALTER TABLE modeling.bets ALTER COLUMN ts SET DEFAULT now();
ALTER TABLE modeling.signals ALTER COLUMN liquidity_ok SET DEFAULT true;
CREATE INDEX IF NOT EXISTS bets_race_idx ON modeling.bets (race_id);
