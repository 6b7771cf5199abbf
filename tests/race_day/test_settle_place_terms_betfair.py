"""Real Betfair markets from ../shared/data/betfair loaded as races and settled by `settle_day`
(issue 12): exchange place bets settle on the places their market paid (stored on the bet), each-way
bets in a race of 4 starters keep their win half; checked against Betfair's own place results.

Skipped without the shared file, failed under CI: the requires_shared_data marker (tests/conftest.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import psycopg
import pytest

from giddyup.config import Settings
from giddyup.race_day.settle import settle_day
from tests.support.betfair_markets import write_market_races
from tests.support.databases import migrate_dsn
from tests.support.frames import query_frame
from tests.support.paths import SHARED_DATA

UTC = dt.UTC
BETFAIR_CSV = SHARED_DATA / "betfair" / "betfair_ukie_ratedprice_vs_bsp_2026H1.csv"
pytestmark = pytest.mark.requires_shared_data
COMMISSION = 0.02
SEVEN_RUNNERS_THREE_PLACES = 252204621  # 7 starters: each-way terms say 2 places, its place market paid 3
FOUR_OF_FIVE_TWO_PLACES = 252767585  # 5 declared, a non-runner: 4 starters, its place market paid 2


def _markets() -> pl.DataFrame:
    markets = [SEVEN_RUNNERS_THREE_PLACES, FOUR_OF_FIVE_TWO_PLACES]
    frame = pl.read_csv(BETFAIR_CSV).filter(pl.col("WIN_MARKET_ID").is_in(markets))
    assert frame.get_column("WIN_MARKET_ID").n_unique() == len(markets)
    return frame.with_columns(
        (pl.col("PLACE_RESULT") == 1).sum().over("WIN_MARKET_ID").alias("places_paid"),
        (pl.col("WIN_RESULT") >= 0).sum().over("WIN_MARKET_ID").alias("starters"),
    )


def _pos_raw(market: pl.DataFrame) -> pl.DataFrame:
    """pos_raw from Betfair's results: the winner, the other placed runners, the rest (each group in
    BSP order); a removed runner (WIN_RESULT -1) none."""
    runners = market.filter(pl.col("WIN_RESULT") >= 0).sort(
        pl.col("WIN_RESULT") == 1, pl.col("PLACE_RESULT") == 1, pl.col("WIN_BSP"), descending=[True, True, False]
    )
    rows = [(s, str(i + 1)) for i, s in enumerate(runners.get_column("SELECTION_ID"))]
    rows += [(s, None) for s in market.filter(pl.col("WIN_RESULT") < 0).get_column("SELECTION_ID")]
    return pl.DataFrame(rows, schema={"SELECTION_ID": pl.Int64, "pos_raw": pl.String}, orient="row")


@pytest.fixture(scope="module")
def settled(database_factory, tmp_path_factory) -> pl.DataFrame:
    """Both markets as resulted races; per runner a 1-unit exchange place bet at place SP (its
    market's places stored on it) and a 2-unit bookmaker each-way bet at Betfair's rated price."""
    markets = _markets()
    dsn = database_factory.create()
    migrate_dsn(dsn)
    races, runners = [], []
    for index, (market_id, market) in enumerate(markets.group_by("WIN_MARKET_ID", maintain_order=True)):
        first = market.row(0, named=True)
        races.append(
            {
                "market_id": market_id[0],
                "race_date": dt.date.fromisoformat(first["LOCAL_RACE_DATE"]),
                "region": "GB" if first["COUNTRY_ID"] == 1 else "IRE",
                "course_name": first["TRACK"],
                "off_time": dt.time(14, 5 * index),
                "race_name": first["RACE_NAME"],
                "race_type": "Hurdle",
                "ran": first["starters"],
                "prelim": False,
            }
        )
        for row in market.join(_pos_raw(market), on="SELECTION_ID").iter_rows(named=True):
            runs = row["WIN_RESULT"] >= 0
            runners.append(
                {
                    "market_id": market_id[0],
                    "race_date": races[-1]["race_date"],
                    "horse_name": row["RUNNER_NAME"],
                    "betfair_selection_id": row["SELECTION_ID"],
                    "pos_raw": row["pos_raw"],
                    "win_bsp": row["WIN_BSP"] if runs else None,
                    "place_bsp": row["PLACE_BSP"] if runs else None,
                }
            )
    with psycopg.connect(dsn) as conn:
        race_frame, runner_frame = write_market_races(conn, races, runners)
        bets = markets.filter(pl.col("WIN_RESULT") >= 0).join(
            runner_frame.select("betfair_selection_id", "race_id", "horse_id", "race_date"),
            left_on="SELECTION_ID",
            right_on="betfair_selection_id",
        )
        for row in bets.iter_rows(named=True):
            struck = dt.datetime.combine(row["race_date"], dt.time(9), tzinfo=UTC)
            conn.execute(
                """INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, source, race_date, exchange,
                                              places_paid)
                   VALUES (%s, %s, %s, 'place', %s, 1.0, 'manual', %s, true, %s)""",
                (struck, row["race_id"], row["horse_id"], row["PLACE_BSP"], row["race_date"], row["places_paid"]),
            )
            conn.execute(
                """INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, source, race_date, exchange)
                   VALUES (%s, %s, %s, 'ew', %s, 2.0, 'manual', %s, false)""",
                (struck, row["race_id"], row["horse_id"], row["RATED_PRICE"], row["race_date"]),
            )
        settings = Settings(artifacts_dir=tmp_path_factory.mktemp("places"), exchange_commission=COMMISSION)
        for race_date in race_frame.get_column("race_date").unique().to_list():
            settle_day(conn, race_date, dt.datetime(2026, 7, 1, tzinfo=UTC), settings)
        conn.commit()
    frame = query_frame(
        dsn,
        """SELECT b.*, r.betfair_selection_id AS "SELECTION_ID" FROM modeling.bets b
           JOIN racing.runners r ON r.race_id = b.race_id AND r.horse_id = b.horse_id""",
    )
    return frame.join(markets, on="SELECTION_ID")


def test_real_place_bets_settle_on_the_places_their_market_paid(settled) -> None:
    place = settled.filter(pl.col("side") == "place")
    assert place.height == 7 + 4 and set(place.get_column("status")) == {"settled"}
    for market_id in (SEVEN_RUNNERS_THREE_PLACES, FOUR_OF_FIVE_TWO_PLACES):
        bets = place.filter(pl.col("WIN_MARKET_ID") == market_id)
        placed = bets.get_column("PLACE_RESULT") == 1
        gross = pl.Series(
            [
                b["stake"] * (b["odds"] - 1) if p else -b["stake"]
                for b, p in zip(bets.iter_rows(named=True), placed, strict=True)
            ]
        )
        commission = COMMISSION * max(gross.sum(), 0.0)  # one place market, net winnings
        assert int(placed.sum()) == bets.get_column("places_paid").max()  # 3 of 7, 2 of 4
        assert bets.get_column("pnl").sum() == pytest.approx(gross.sum() - commission)
        winners = bets.filter(placed)
        assert (winners.get_column("pnl") > 0).all()  # the 3rd of 7 included: each-way terms would pay 2
        assert (bets.filter(~placed).get_column("pnl") == -1.0).all()


def test_real_each_way_bets_with_four_starters_settle_their_win_half(settled) -> None:
    ew = settled.filter((pl.col("side") == "ew") & (pl.col("WIN_MARKET_ID") == FOUR_OF_FIVE_TWO_PLACES))
    assert ew.height == 4 and set(ew.get_column("status")) == {"settled"}
    won = ew.get_column("WIN_RESULT") == 1
    expected = [1.0 * (odds - 1) if w else -1.0 for odds, w in zip(ew.get_column("odds"), won, strict=True)]
    assert ew.get_column("pnl").to_list() == pytest.approx(expected)  # the place half (1 unit) returned
    assert (ew.get_column("commission") == 0).all()  # bookmaker bets


def test_real_each_way_bets_in_a_seven_runner_race_keep_both_halves(settled) -> None:
    ew = settled.filter((pl.col("side") == "ew") & (pl.col("WIN_MARKET_ID") == SEVEN_RUNNERS_THREE_PLACES))
    second = ew.filter(pl.col("result_pos_raw") == "2").row(0, named=True)
    third = ew.filter(pl.col("result_pos_raw") == "3").row(0, named=True)
    # 7 starters: 2 places at 1/4 for a bookmaker each-way bet (the place market's 3 is the exchange's)
    assert second["pnl"] == pytest.approx(-1.0 + (1 + (second["odds"] - 1) / 4) - 1.0)
    assert third["pnl"] == pytest.approx(-2.0)
