-- The runner's versus-market logit v of the model's combination stage (giddyup/model/combine.py):
-- how far, in log-odds, its history says the market misjudges it (horse, yard, rider, draw).
-- Computed from features at morning scoring and kept with the signal, so the intraday refresh
-- recombines p_model with new prices without rebuilding features. NULL (older rows, or a model
-- without that stage) counts as 0.

ALTER TABLE modeling.signals ADD COLUMN IF NOT EXISTS vs_market_logit double precision;

-- The latest-signal view selects `*`, whose column list PostgreSQL fixes at creation: recreate it
-- so the API sees the new column (columns are only appended, so OR REPLACE is allowed).
CREATE OR REPLACE VIEW modeling.latest_signals AS
SELECT DISTINCT ON (race_id, horse_id, model_id) *
FROM modeling.signals
ORDER BY race_id, horse_id, model_id, as_of DESC;
