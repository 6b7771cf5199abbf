-- Exchange place bets: the number of places the bet's place market pays (its number of winners),
-- stored by whoever places the bet, as the market said when the bet was struck. Settlement pays a
-- `place` bet on it: an exchange place market keeps the places it opened with (a 7-runner race of an
-- 8-runner place market pays 3, where each-way terms from the starters would say 2). NULL: a bet
-- placed without it, settled on the race's each-way terms as before.
ALTER TABLE modeling.bets ADD COLUMN IF NOT EXISTS places_paid integer
    CHECK (places_paid BETWEEN 1 AND 10);
