-- modeling.bets: bets placed by a person, a bot or the paper-trading step, and their settlement.

CREATE TABLE modeling.bets (
    bet_id          bigserial PRIMARY KEY,
    ts              timestamptz NOT NULL,
    race_id         bigint NOT NULL,
    horse_id        bigint NOT NULL,
    side            text NOT NULL CHECK (side IN ('win', 'ew', 'place')),
    odds            double precision NOT NULL CHECK (odds >= 1.01),
    stake           double precision NOT NULL CHECK (stake > 0),
    expected_ev     double precision,
    source          text NOT NULL DEFAULT 'manual',
    clv_close_odds  double precision,
    pnl             double precision,
    -- added by GiddyUp: what the bet was, and what settlement found
    runner_id       bigint,
    race_date       date,
    model_id        bigint REFERENCES modeling.models (model_id),
    signal_as_of    timestamptz,
    ew_places       integer,
    ew_fraction     text,
    exchange        boolean NOT NULL DEFAULT true,  -- commission applies to exchange bets
    result_pos_raw  text,        -- pos_raw at settlement ('1', '2DH', 'PU', ...; NULL: non-runner)
    dead_heat_ways  integer,     -- runners tied at the settled position (1 without a dead heat)
    close_odds_src  text,        -- 'win_bsp', 'sp', 'snapshot'
    clv             double precision,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'settled', 'void')),
    settled_at      timestamptz
);

-- The paper-trading step places a bet at most once per race, runner, side and source.
CREATE UNIQUE INDEX bets_paper_once_idx ON modeling.bets (race_id, horse_id, side, source)
    WHERE source = 'paper';
CREATE INDEX bets_race_date_idx ON modeling.bets (race_date);
CREATE INDEX bets_open_idx ON modeling.bets (status) WHERE status = 'open';
