-- The instant of the latest signal of every (race_id, horse_id, model_id), kept by triggers on
-- modeling.signals in the writer's own transaction, so "latest price" reads cost an index lookup
-- whatever the history holds. The DISTINCT ON view it replaces cannot use an index for a filter
-- on race_date (not one of its DISTINCT ON keys): a day's card read every signal ever written.
-- The table holds keys and instants only; the rows stay in modeling.signals.

CREATE TABLE modeling.latest_signal_as_of (
    race_id   bigint NOT NULL,
    horse_id  bigint NOT NULL,
    model_id  bigint NOT NULL,
    as_of     timestamptz NOT NULL,   -- max(as_of) of the key's rows in modeling.signals
    race_date date,                   -- race_date of that row (a day's card is read by it)
    PRIMARY KEY (race_id, horse_id, model_id)
);
CREATE INDEX latest_signal_as_of_race_date_idx ON modeling.latest_signal_as_of (race_date);

-- Recompute the latest instant of some keys from modeling.signals (after a delete or an update
-- that moved a row): index lookups on signals_latest_idx, one per key.
CREATE FUNCTION modeling.recompute_latest_signal_as_of(race_ids bigint[], horse_ids bigint[], model_ids bigint[])
RETURNS void LANGUAGE sql AS $$
    WITH keys AS (
        SELECT DISTINCT race_id, horse_id, model_id FROM unnest(race_ids, horse_ids, model_ids) AS k(race_id, horse_id, model_id)
    ), newest AS (
        SELECT k.race_id, k.horse_id, k.model_id, n.as_of, n.race_date
        FROM keys k
        LEFT JOIN LATERAL (
            SELECT s.as_of, s.race_date FROM modeling.signals s
            WHERE s.race_id = k.race_id AND s.horse_id = k.horse_id AND s.model_id = k.model_id
            ORDER BY s.as_of DESC LIMIT 1
        ) n ON true
    ), emptied AS (
        DELETE FROM modeling.latest_signal_as_of l USING newest n
        WHERE n.as_of IS NULL AND l.race_id = n.race_id AND l.horse_id = n.horse_id AND l.model_id = n.model_id
    )
    INSERT INTO modeling.latest_signal_as_of AS l (race_id, horse_id, model_id, as_of, race_date)
    SELECT race_id, horse_id, model_id, as_of, race_date FROM newest WHERE as_of IS NOT NULL
    ON CONFLICT (race_id, horse_id, model_id) DO UPDATE SET as_of = EXCLUDED.as_of, race_date = EXCLUDED.race_date
    WHERE (l.as_of, l.race_date) IS DISTINCT FROM (EXCLUDED.as_of, EXCLUDED.race_date);
$$;

-- Statement-level triggers with transition tables: one set-based statement per publish, and
-- nothing at all for rows an upsert left unchanged (re-publishing identical rows changes nothing).
CREATE FUNCTION modeling.latest_signal_as_of_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO modeling.latest_signal_as_of AS l (race_id, horse_id, model_id, as_of, race_date)
    SELECT DISTINCT ON (race_id, horse_id, model_id) race_id, horse_id, model_id, as_of, race_date
    FROM inserted_signals
    ORDER BY race_id, horse_id, model_id, as_of DESC
    ON CONFLICT (race_id, horse_id, model_id) DO UPDATE SET as_of = EXCLUDED.as_of, race_date = EXCLUDED.race_date
    WHERE EXCLUDED.as_of > l.as_of;
    RETURN NULL;
END
$$;

CREATE FUNCTION modeling.latest_signal_as_of_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only rows whose key, instant or race_date changed matter (a price update moves nothing).
    PERFORM modeling.recompute_latest_signal_as_of(array_agg(race_id), array_agg(horse_id), array_agg(model_id))
    FROM (
        (SELECT as_of, race_id, horse_id, model_id, race_date FROM old_signals
         EXCEPT ALL SELECT as_of, race_id, horse_id, model_id, race_date FROM new_signals)
        UNION ALL
        (SELECT as_of, race_id, horse_id, model_id, race_date FROM new_signals
         EXCEPT ALL SELECT as_of, race_id, horse_id, model_id, race_date FROM old_signals)
    ) moved;
    RETURN NULL;
END
$$;

CREATE FUNCTION modeling.latest_signal_as_of_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only keys whose latest row went: they fall back to their previous row, or disappear.
    PERFORM modeling.recompute_latest_signal_as_of(array_agg(l.race_id), array_agg(l.horse_id), array_agg(l.model_id))
    FROM modeling.latest_signal_as_of l
    JOIN deleted_signals d
      ON d.race_id = l.race_id AND d.horse_id = l.horse_id AND d.model_id = l.model_id AND d.as_of = l.as_of;
    RETURN NULL;
END
$$;

CREATE FUNCTION modeling.latest_signal_as_of_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE modeling.latest_signal_as_of;
    RETURN NULL;
END
$$;

REVOKE EXECUTE ON FUNCTION modeling.recompute_latest_signal_as_of(bigint[], bigint[], bigint[]) FROM PUBLIC;

-- No publisher writes between the backfill and the triggers.
LOCK TABLE modeling.signals IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO modeling.latest_signal_as_of (race_id, horse_id, model_id, as_of, race_date)
SELECT DISTINCT ON (race_id, horse_id, model_id) race_id, horse_id, model_id, as_of, race_date
FROM modeling.signals
ORDER BY race_id, horse_id, model_id, as_of DESC;

CREATE TRIGGER latest_signal_as_of_insert AFTER INSERT ON modeling.signals
    REFERENCING NEW TABLE AS inserted_signals
    FOR EACH STATEMENT EXECUTE FUNCTION modeling.latest_signal_as_of_after_insert();
CREATE TRIGGER latest_signal_as_of_update AFTER UPDATE ON modeling.signals
    REFERENCING OLD TABLE AS old_signals NEW TABLE AS new_signals
    FOR EACH STATEMENT EXECUTE FUNCTION modeling.latest_signal_as_of_after_update();
CREATE TRIGGER latest_signal_as_of_delete AFTER DELETE ON modeling.signals
    REFERENCING OLD TABLE AS deleted_signals
    FOR EACH STATEMENT EXECUTE FUNCTION modeling.latest_signal_as_of_after_delete();
CREATE TRIGGER latest_signal_as_of_truncate AFTER TRUNCATE ON modeling.signals
    FOR EACH STATEMENT EXECUTE FUNCTION modeling.latest_signal_as_of_after_truncate();

-- The internal view keeps its columns (every signals column, in table order) and its meaning
-- (the newest row per race_id, horse_id, model_id); it now reads one row per key. Joining on the
-- whole key lets a filter on race_id reach the small table's primary key.
CREATE OR REPLACE VIEW modeling.latest_signals AS
SELECT s.*
FROM modeling.latest_signal_as_of l
JOIN modeling.signals s
  ON s.as_of = l.as_of AND s.race_id = l.race_id AND s.horse_id = l.horse_id AND s.model_id = l.model_id;
