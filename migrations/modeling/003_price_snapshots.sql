-- Every price GiddyUp used or saw, per runner and instant, with its source, so that decisions can
-- be replayed and closing-line value measured even when racing.live_prices is empty.

CREATE TABLE modeling.price_snapshots (
    race_id     bigint NOT NULL,
    runner_id   bigint NOT NULL,
    horse_id    bigint NOT NULL,
    race_date   date,
    ts          timestamptz NOT NULL,        -- the instant the price is for
    source      text NOT NULL,               -- 'live', 'bookmaker', 'exchange_wap', ...
    back_price  double precision,
    lay_price   double precision,
    traded_vol  double precision,
    price_ts    timestamptz,                 -- when the source last updated it, where known
    PRIMARY KEY (runner_id, ts, source)
);
CREATE INDEX price_snapshots_race_ts_idx ON modeling.price_snapshots (race_id, ts);
