-- Reference copy of the `racing` schema (../shared/specs/racing-schema.md) for dev, test and demo
-- databases only. Production's racing schema belongs to the Go API and its loaders.

CREATE SCHEMA IF NOT EXISTS racing;

CREATE TABLE racing.courses (
    course_id   bigserial PRIMARY KEY,
    course_name text NOT NULL,
    region      text NOT NULL,
    course_norm text GENERATED ALWAYS AS (lower(regexp_replace(course_name, '[^A-Za-z0-9]', '', 'g'))) STORED,
    UNIQUE (course_norm, region)
);

CREATE TABLE racing.horses (
    horse_id   bigserial PRIMARY KEY,
    horse_name text NOT NULL,
    horse_norm text GENERATED ALWAYS AS (lower(regexp_replace(horse_name, '[^A-Za-z0-9]', '', 'g'))) STORED UNIQUE
);

CREATE TABLE racing.trainers (
    trainer_id   bigserial PRIMARY KEY,
    trainer_name text NOT NULL,
    trainer_norm text GENERATED ALWAYS AS (lower(regexp_replace(trainer_name, '[^A-Za-z0-9]', '', 'g'))) STORED UNIQUE
);

CREATE TABLE racing.jockeys (
    jockey_id   bigserial PRIMARY KEY,
    jockey_name text NOT NULL,
    jockey_norm text GENERATED ALWAYS AS (lower(regexp_replace(jockey_name, '[^A-Za-z0-9]', '', 'g'))) STORED UNIQUE
);

CREATE TABLE racing.owners (
    owner_id   bigserial PRIMARY KEY,
    owner_name text NOT NULL,
    owner_norm text GENERATED ALWAYS AS (lower(regexp_replace(owner_name, '[^A-Za-z0-9]', '', 'g'))) STORED UNIQUE
);

CREATE TABLE racing.bloodlines (
    blood_id     bigserial PRIMARY KEY,
    sire         text,
    dam          text,
    damsire      text,
    sire_norm    text GENERATED ALWAYS AS (lower(regexp_replace(coalesce(sire, ''), '[^A-Za-z0-9]', '', 'g'))) STORED,
    dam_norm     text GENERATED ALWAYS AS (lower(regexp_replace(coalesce(dam, ''), '[^A-Za-z0-9]', '', 'g'))) STORED,
    damsire_norm text GENERATED ALWAYS AS (lower(regexp_replace(coalesce(damsire, ''), '[^A-Za-z0-9]', '', 'g'))) STORED,
    UNIQUE (sire_norm, dam_norm, damsire_norm)
);

CREATE TABLE racing.races (
    race_id     bigserial,
    race_key    text NOT NULL,
    race_date   date NOT NULL,
    region      text NOT NULL,
    course_id   bigint REFERENCES racing.courses (course_id),
    off_time    time,
    race_name   text NOT NULL,
    race_type   text NOT NULL,
    class       text,
    pattern     text,
    rating_band text,
    age_band    text,
    sex_rest    text,
    dist_raw    text,
    dist_f      double precision,
    dist_m      integer,
    going       text,
    surface     text,
    ran         integer NOT NULL,
    prelim      boolean DEFAULT false,
    PRIMARY KEY (race_id, race_date),
    UNIQUE (race_key, race_date)
) PARTITION BY RANGE (race_date);

CREATE TABLE racing.runners (
    runner_id   bigserial,
    runner_key  text NOT NULL,
    race_id     bigint NOT NULL,
    race_date   date NOT NULL,
    horse_id    bigint REFERENCES racing.horses (horse_id),
    trainer_id  bigint REFERENCES racing.trainers (trainer_id),
    jockey_id   bigint REFERENCES racing.jockeys (jockey_id),
    owner_id    bigint REFERENCES racing.owners (owner_id),
    blood_id    bigint REFERENCES racing.bloodlines (blood_id),
    num         integer,
    draw        integer,
    age         integer,
    sex         text,
    lbs         integer,
    hg          text,
    "or"        integer,
    pos_raw     text,
    pos_num     integer GENERATED ALWAYS AS (substring(pos_raw FROM '^[0-9]+')::integer) STORED,
    win_flag    boolean GENERATED ALWAYS AS (substring(pos_raw FROM '^[0-9]+')::integer = 1) STORED,
    ovr_btn     double precision,
    btn         double precision,
    time_raw    text,
    secs        double precision,
    dec         double precision CHECK (dec IS NULL OR dec >= 1.01),
    prize       double precision,
    prize_raw   text,
    rpr         integer,
    comment     text,
    win_bsp     double precision CHECK (win_bsp IS NULL OR win_bsp >= 1.01),
    place_bsp   double precision,
    win_ppwap double precision, win_morningwap double precision,
    win_ppmax double precision, win_ppmin double precision,
    win_ipmax double precision, win_ipmin double precision,
    win_morning_vol double precision, win_pre_vol double precision, win_ip_vol double precision,
    win_lose integer,
    place_ppwap double precision, place_morningwap double precision,
    place_ppmax double precision, place_ppmin double precision,
    place_ipmax double precision, place_ipmin double precision,
    place_morning_vol double precision, place_pre_vol double precision, place_ip_vol double precision,
    place_win_lose integer,
    match_jaccard        double precision,
    match_time_diff_min  integer,
    match_reason         text,
    betfair_selection_id bigint,
    best_odds            double precision,
    best_bookmaker       varchar(100),
    price_updated_at     timestamp,
    PRIMARY KEY (runner_id, race_date),
    UNIQUE (runner_key, race_date)
) PARTITION BY RANGE (race_date);

CREATE INDEX ON racing.races (race_date, course_id);
CREATE INDEX ON racing.runners (race_id);
CREATE INDEX ON racing.runners (horse_id, race_date);

-- racing.live_prices: intraday exchange prices for today's races (may be empty).
CREATE TABLE racing.live_prices (
    race_id     bigint,
    runner_id   bigint NOT NULL,
    ts          timestamptz NOT NULL,
    back_price  double precision,
    lay_price   double precision,
    vwap        double precision,
    traded_vol  double precision,
    PRIMARY KEY (runner_id, ts)
);
CREATE INDEX ON racing.live_prices (race_id, ts);

-- Monthly partitions on demand: loaders call this for the date range they are about to write.
CREATE FUNCTION racing.ensure_month_partitions(first_day date, last_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month_start date := date_trunc('month', first_day)::date;
    created integer := 0;
    tbl text;
    part text;
BEGIN
    WHILE month_start <= last_day LOOP
        FOREACH tbl IN ARRAY ARRAY['races', 'runners'] LOOP
            part := format('%s_%s', tbl, to_char(month_start, 'YYYY_MM'));
            IF to_regclass(format('racing.%I', part)) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE racing.%I PARTITION OF racing.%I FOR VALUES FROM (%L) TO (%L)',
                    part, tbl, month_start, (month_start + interval '1 month')::date);
                created := created + 1;
            END IF;
        END LOOP;
        month_start := (month_start + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$;
