"""Rules that run in SQL as well as in Python agree: the handicap rule the feature query uses, and
the one definition of a race's latest signal set that refresh, the day cap, the paper step and
the schedule read."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
import pytest

from giddyup import race_rules
from giddyup.loaders.racing_writer import ensure_partitions
from giddyup.race_day.card import read_card
from giddyup.race_day.latest_signals import read_latest_sets

NAMES = [
    "Sky Bet Handicap",
    "Class 4 Handicap (60-40)",
    "Betfair Nursery Handicap",
    "EBF Nursery",
    "Racing TV H'cap",
    "Sportsbook Hcap",
    "Ladbrokes HCP (Div I)",
    "Classified Stakes (0-60)",
    "Novices' Hurdle",
    "Handicapper's Choice Stakes",
    "handicap",
    "",
]


def test_the_feature_query_reads_the_same_handicap_rule(session_dsn: str) -> None:
    with psycopg.connect(session_dsn) as conn:
        for name in NAMES:
            [(in_sql,)] = conn.execute(
                f"SELECT {race_rules.handicap_sql('n')} FROM (SELECT %s::text AS n) x", (name,)
            ).fetchall()
            assert in_sql is race_rules.is_handicap(name), name


LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 5, 4)
T1 = dt.datetime(2026, 5, 4, 7, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def priced_twice(migrated_dsn: str) -> str:
    """One race priced at T1 by model 1, then at T2 by models 1 and 2 (a day re-scored after a
    promotion), model 2 without one of the runners."""
    with psycopg.connect(migrated_dsn) as conn:
        ensure_partitions(conn, pl.Series([DAY]))
        conn.execute(
            """INSERT INTO racing.races (race_id, race_key, race_date, region, off_time, race_name, race_type, ran, prelim)
               VALUES (1, 'k1', %s, 'GB', '14:00', 'Sky Bet Handicap', 'Flat', 3, true)""",
            (DAY,),
        )
        conn.execute(
            "INSERT INTO modeling.models (model_id, name, version, stage) VALUES (1, 'm', '1', 'development'), (2, 'm', '2', 'production')"
        )
        rows = [
            (T1, 1, 101, 0.5), (T1, 1, 102, 0.3), (T1, 1, 103, 0.2),
            (T2, 1, 101, 0.4), (T2, 1, 102, 0.4), (T2, 1, 103, 0.2),
            (T2, 2, 101, 0.6), (T2, 2, 102, 0.4),
        ]  # fmt: skip
        for as_of, model_id, horse_id, p in rows:
            conn.execute(
                """INSERT INTO modeling.signals (as_of, race_id, horse_id, model_id, p_win, race_date)
                   VALUES (%s, 1, %s, %s, %s, %s)""",
                (as_of, horse_id, model_id, p, DAY),
            )
        conn.commit()
    return migrated_dsn


def test_a_latest_set_is_one_instant_of_one_model(priced_twice: str) -> None:
    with psycopg.connect(priced_twice) as conn:
        at_t1 = read_latest_sets(conn, [1], T1, ("horse_id", "model_id", "as_of"))
        assert at_t1 == [(101, 1, T1), (102, 1, T1), (103, 1, T1)]
        # At T2 the newer registration wins, whole: its two runners, never model 1's third one.
        later = read_latest_sets(conn, [1], T2 + dt.timedelta(minutes=1), ("horse_id", "model_id"))
        assert later == [(101, 2), (102, 2)]
        card = read_card(conn, DAY, T2, LONDON)
        [race] = card.races
        assert (race.latest_signal_as_of, race.latest_model_id) == (T2, 2)
        assert race.handicap and race.prelim and race.off == dt.datetime(2026, 5, 4, 13, 0, tzinfo=dt.UTC)
        assert read_card(conn, DAY, T1 - dt.timedelta(seconds=1), LONDON).races[0].latest_signal_as_of is None


def test_a_race_decided_at_an_instant_is_decided_for_the_paper_step_then_not_for_pricing(priced_twice: str) -> None:
    decided = dt.datetime(2026, 5, 4, 12, 55, tzinfo=dt.UTC)
    with psycopg.connect(priced_twice) as conn:
        conn.execute(
            "INSERT INTO modeling.paper_decisions (race_id, race_date, decided_at, n_bets, total_stake) VALUES (1, %s, %s, 0, 0)",
            (DAY, decided),
        )
        [at_decision] = read_card(conn, DAY, decided, LONDON).races
        assert at_decision.decided_at == decided and not at_decision.decided_before(decided)
        [after] = read_card(conn, DAY, decided + dt.timedelta(minutes=1), LONDON).races
        assert after.decided_before(decided + dt.timedelta(minutes=1))
        [before] = read_card(conn, DAY, decided - dt.timedelta(minutes=1), LONDON).races
        assert before.decided_at is None
