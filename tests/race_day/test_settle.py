"""Settlement and closing-line value: the arithmetic (giddyup.race_day.payouts), the job against a
real database (synthetic day, corrected results, non-runners, close fallbacks), and real Betfair
markets from ../shared/data/betfair (a fixture carved from it) loaded as races (dead heats, a
non-runner, a 24-runner handicap)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import psycopg
import pytest

from giddyup.config import Settings
from giddyup.race_day.paper_bets import place_paper_bets
from giddyup.race_day.payouts import Bet, Leg, RunnerResult, commission_by_bet, legs_of, paid_share
from giddyup.race_day.score import score_day
from giddyup.race_day.settle import settle_day
from giddyup.timeutil import off_instant
from tests.support.betfair_markets import write_market_races
from tests.support.cli import run_giddyup
from tests.support.databases import migrate_dsn
from tests.support.frames import query_frame
from tests.support.paths import FIXTURES
from tests.support.synthetic_card import (
    RatingModel,
    rating_features,
    register_model,
    write_card,
    write_live_ticks,
    write_results,
)

UTC = dt.UTC
# The four markets below, carved from ../shared/data/betfair (MIT): see tests/fixtures/README.md.
BETFAIR_CSV = FIXTURES / "betfair" / "betfair_four_markets.csv"
COMMISSION = 0.02


# --- the arithmetic -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pos", "tied", "places", "share"),
    [
        (1, 1, 1, 1.0),
        (2, 1, 1, 0.0),
        (1, 2, 1, 0.5),  # dead heat for first, win bet: half the stake at full odds
        (1, 3, 1, 1 / 3),
        (3, 2, 3, 0.5),  # two share third of three places: one place left for two
        (3, 3, 4, 2 / 3),  # three share third of four places: two places left for three
        (2, 2, 3, 1.0),  # two share second of three places: both places paid in full
        (1, 2, 3, 1.0),
        (4, 1, 3, 0.0),
        (None, 1, 3, 0.0),  # did not finish
    ],
)
def test_paid_share_follows_the_dead_heat_rule(pos: int | None, tied: int, places: int, share: float) -> None:
    assert paid_share(pos, tied, places) == pytest.approx(share)


def _result(pos_raw: str | None, pos: int | None, tied: int = 1, starters: int = 10, handicap: bool = False):
    return RunnerResult(pos_raw, pos, tied, starters, handicap)


def test_each_way_bet_placed_but_not_winning() -> None:
    bet = Bet(1, 10, "ew", 11.0, 2.0, "manual", True, ew_places=3, ew_fraction="1/4")
    legs = legs_of(bet, _result("2", 2))
    assert legs is not None
    assert [leg.market for leg in legs] == ["win", "place"]
    assert sum(leg.pnl for leg in legs) == pytest.approx(-1.0 + (1.0 * 3.5 - 1.0))  # win half lost, place at 3.5


def test_each_way_bet_winning_collects_both_halves() -> None:
    bet = Bet(1, 10, "ew", 6.0, 2.0, "manual", True)  # terms from the race: 10 runners, 3 at 1/5
    legs = legs_of(bet, _result("1", 1))
    assert legs is not None
    assert sum(leg.pnl for leg in legs) == pytest.approx((6.0 - 1) + (2.0 - 1))


def test_non_runners_and_place_bets_without_places_are_void() -> None:
    assert legs_of(Bet(1, 10, "win", 5.0, 1.0, "paper", True), _result(None, None)) is None
    assert legs_of(Bet(2, 10, "place", 2.0, 1.0, "paper", True), _result("1", 1, starters=4)) is None
    lost = legs_of(Bet(3, 10, "win", 5.0, 1.0, "paper", True), _result("PU", None))
    assert lost is not None and lost[0].pnl == -1.0  # a non-finisher loses


def test_commission_is_charged_per_market_on_net_winnings() -> None:
    win = Bet(1, 10, "win", 11.0, 1.0, "paper", True)
    lose = Bet(2, 10, "win", 3.0, 1.0, "paper", True)
    other_race = Bet(3, 11, "win", 2.0, 4.0, "paper", True)
    bookmaker = Bet(4, 10, "win", 11.0, 1.0, "paper", False)
    legs = [
        (win, Leg(1, "win", 1.0, 11.0, 1.0)),  # +10
        (lose, Leg(2, "win", 1.0, 3.0, 0.0)),  # -1
        (other_race, Leg(3, "win", 4.0, 2.0, 0.0)),  # -4: its own market, no commission
        (bookmaker, Leg(4, "win", 1.0, 11.0, 1.0)),  # bookmakers charge none
    ]
    assert commission_by_bet(legs, 0.05) == {1: pytest.approx(0.05 * 9)}


def test_commission_of_a_market_is_shared_by_its_winning_legs() -> None:
    a, b = Bet(1, 10, "win", 3.0, 1.0, "paper", True), Bet(2, 10, "win", 5.0, 1.0, "paper", True)
    legs = [(a, Leg(1, "win", 1.0, 3.0, 0.5)), (b, Leg(2, "win", 1.0, 5.0, 0.5))]  # dead heat: +0.5 and +1.5
    charged = commission_by_bet(legs, 0.1)
    assert charged[1] == pytest.approx(0.1 * 2.0 * 0.5 / 2.0) and charged[2] == pytest.approx(0.1 * 2.0 * 1.5 / 2.0)


# --- a synthetic day end to end ----------------------------------------------------------------
DAY = dt.date(2026, 6, 4)
COMBINER = {"coef": {"log_p_model": 0.6, "log_p_market": 0.6}}


@pytest.fixture(scope="module")
def settled_world(database_factory, tmp_path_factory) -> dict:
    """Scored at 08:00 London, ticks all day, paper bets at every decision point, results in."""
    dsn = database_factory.create()
    migrate_dsn(dsn)
    settings = Settings(artifacts_dir=tmp_path_factory.mktemp("artifacts"), min_liquidity_volume=0.0)
    morning = dt.datetime(2026, 6, 4, 7, 0, tzinfo=UTC)
    with psycopg.connect(dsn) as conn:
        card = write_card(conn, DAY, n_races=6, seed=31, first_off=dt.time(13, 0), last_off=dt.time(16, 0))
        write_live_ticks(conn, card, start=morning, every_minutes=10)
        model_id = register_model(conn, COMBINER)
        conn.commit()
        score_day(
            conn,
            race_date=DAY,
            at=morning,
            model=RatingModel(model_id=model_id, combiner=COMBINER),
            features=rating_features(card),
            settings=settings,
        )
        for row in card.races.iter_rows(named=True):
            place_paper_bets(
                conn, off_instant(DAY, row["off_time"], settings.race_zone) - dt.timedelta(minutes=5), settings
            )
        write_results(conn, card, seed=32)
        conn.commit()
    return {"dsn": dsn, "card": card, "settings": settings}


def _settle(world: dict, at: dt.datetime, race_date: dt.date = DAY):
    with psycopg.connect(world["dsn"]) as conn:
        result = settle_day(conn, race_date, at, world["settings"])
        conn.commit()
    return result


BETS_WITH_RESULTS = """
SELECT b.*, r.pos_num, r.pos_raw, r.win_bsp, r.dec AS sp
FROM modeling.bets b JOIN racing.runners r ON r.race_id = b.race_id AND r.horse_id = b.horse_id
ORDER BY b.bet_id
"""


def test_settles_paper_bets_with_pnl_after_commission_and_clv_at_betfair_sp(settled_world) -> None:
    first = dt.datetime(2026, 6, 4, 20, 0, tzinfo=UTC)
    result = _settle(settled_world, first)
    bets = query_frame(settled_world["dsn"], BETS_WITH_RESULTS)
    assert bets.height > 0 and result.settled == bets.height and result.void == 0
    assert set(bets.get_column("status")) == {"settled"} and (bets.get_column("settled_at") == first).all()
    # A bet struck at Betfair SP (execution 'bsp') is matched at the runner's BSP; the rest at their odds.
    at_bsp = bets.filter(pl.col("execution") == "bsp")
    assert (at_bsp.get_column("matched_odds") == at_bsp.get_column("win_bsp")).all()
    assert (
        bets.filter(pl.col("execution") == "price").get_column("matched_odds")
        == bets.filter(pl.col("execution") == "price").get_column("odds")
    ).all()
    matched = pl.col("matched_odds")
    gross = pl.when(pl.col("pos_num") == 1).then(pl.col("stake") * (matched - 1)).otherwise(-pl.col("stake"))
    per_race = (
        bets.with_columns(gross.alias("gross")).group_by("race_id").agg(pl.col("gross").sum(), pl.col("pnl").sum())
    )
    for row in per_race.iter_rows(named=True):  # each race is one exchange market of paper bets
        assert row["pnl"] == pytest.approx(row["gross"] - COMMISSION * max(row["gross"], 0.0))
    clv = bets.get_column("matched_odds") / bets.get_column("win_bsp") - 1
    assert (bets.get_column("clv") - clv).abs().max() < 1e-12
    assert set(bets.get_column("close_odds_src")) == {"win_bsp"}
    assert (bets.get_column("clv_close_odds") == bets.get_column("win_bsp")).all()
    assert (bets.get_column("result_pos_raw") == bets.get_column("pos_raw")).all()
    assert result.pnl == pytest.approx(bets.get_column("pnl").sum())

    again = _settle(settled_world, first + dt.timedelta(hours=1))
    assert again.changed == 0
    assert query_frame(settled_world["dsn"], BETS_WITH_RESULTS).equals(bets)


def test_a_corrected_result_resettles_the_bet(settled_world) -> None:
    dsn = settled_world["dsn"]
    _settle(settled_world, dt.datetime(2026, 6, 4, 20, 0, tzinfo=UTC))
    bet = query_frame(dsn, BETS_WITH_RESULTS).filter(pl.col("pos_num") != 1).row(0, named=True)
    with psycopg.connect(dsn) as conn:
        winner = conn.execute(
            "SELECT horse_id FROM racing.runners WHERE race_id = %s AND pos_raw = '1'", (bet["race_id"],)
        ).fetchone()[0]  # type: ignore[index]
        # The stewards' correction: the bet's horse is promoted to first, the old winner second.
        conn.execute(
            "UPDATE racing.runners SET pos_raw = '2' WHERE race_id = %s AND horse_id = %s", (bet["race_id"], winner)
        )
        conn.execute(
            "UPDATE racing.runners SET pos_raw = '1' WHERE race_id = %s AND horse_id = %s",
            (bet["race_id"], bet["horse_id"]),
        )
        conn.commit()
    corrected_at = dt.datetime(2026, 6, 4, 22, 0, tzinfo=UTC)
    result = _settle(settled_world, corrected_at)
    assert result.changed >= 1
    after = query_frame(dsn, "SELECT * FROM modeling.bets WHERE bet_id = %s", bet["bet_id"]).row(0, named=True)
    assert after["result_pos_raw"] == "1" and after["pnl"] > 0 and after["settled_at"] == corrected_at
    untouched = query_frame(dsn, "SELECT * FROM modeling.bets WHERE race_id <> %s", bet["race_id"])
    assert (untouched.get_column("settled_at") < corrected_at).all()


def test_non_runners_are_void_and_closes_fall_back_to_sp_then_the_last_snapshot(settled_world) -> None:
    dsn = settled_world["dsn"]
    bets = query_frame(dsn, BETS_WITH_RESULTS)
    assert bets.height >= 3
    void, sp_only, snap_only = (bets.row(i, named=True) for i in range(3))
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "UPDATE racing.runners SET pos_raw = NULL, win_bsp = NULL, dec = NULL WHERE race_id = %s AND horse_id = %s",
            (void["race_id"], void["horse_id"]),
        )
        conn.execute(
            "UPDATE racing.runners SET win_bsp = NULL WHERE race_id = %s AND horse_id = %s",
            (sp_only["race_id"], sp_only["horse_id"]),
        )
        conn.execute(
            "UPDATE racing.runners SET win_bsp = NULL, dec = NULL WHERE race_id = %s AND horse_id = %s",
            (snap_only["race_id"], snap_only["horse_id"]),
        )
        conn.commit()
    _settle(settled_world, dt.datetime(2026, 6, 4, 23, 0, tzinfo=UTC))
    after = {r["bet_id"]: r for r in query_frame(dsn, "SELECT * FROM modeling.bets").iter_rows(named=True)}
    assert after[void["bet_id"]]["status"] == "void" and after[void["bet_id"]]["pnl"] == 0.0
    assert after[void["bet_id"]]["clv"] is None
    assert after[sp_only["bet_id"]]["close_odds_src"] == "sp"
    assert after[sp_only["bet_id"]]["clv_close_odds"] == sp_only["sp"]
    card = settled_world["card"]
    off_time = card.races.filter(pl.col("race_id") == snap_only["race_id"]).get_column("off_time")[0]
    off = off_instant(DAY, off_time, settled_world["settings"].race_zone)
    last = query_frame(
        dsn,
        """SELECT back_price FROM modeling.price_snapshots WHERE race_id = %s AND horse_id = %s AND ts < %s
           ORDER BY ts DESC, array_position(ARRAY['live','bookmaker','exchange_wap'], source) LIMIT 1""",
        snap_only["race_id"],
        snap_only["horse_id"],
        off,
    ).item()
    assert after[snap_only["bet_id"]]["close_odds_src"] == "snapshot"
    assert after[snap_only["bet_id"]]["clv_close_odds"] == last
    assert after[snap_only["bet_id"]]["clv"] == pytest.approx(snap_only["odds"] / last - 1)


def test_bets_of_races_without_results_wait(settled_world) -> None:
    dsn = settled_world["dsn"]
    race_id = settled_world["card"].races.get_column("race_id")[-1]
    with psycopg.connect(dsn) as conn:
        waiting = conn.execute("SELECT count(*) FROM modeling.bets WHERE race_id = %s", (race_id,)).fetchone()[0]  # type: ignore[index]
        conn.execute("UPDATE racing.races SET prelim = true WHERE race_id = %s", (race_id,))
        conn.commit()
    try:
        result = _settle(settled_world, dt.datetime(2026, 6, 4, 23, 30, tzinfo=UTC))
        assert result.awaiting_results == waiting
        assert race_id in result.unsettled_races
    finally:
        with psycopg.connect(dsn) as conn:
            conn.execute("UPDATE racing.races SET prelim = false WHERE race_id = %s", (race_id,))
            conn.commit()


def test_settle_command_prints_the_day_and_is_idempotent(settled_world, giddyup_env) -> None:
    env = giddyup_env(settled_world["dsn"])
    first = run_giddyup("settle", "--date", DAY.isoformat(), "--at", "2026-06-05T01:00:00Z", env=env)
    assert first.returncode == 0, first.stderr
    second = run_giddyup("settle", "--date", DAY.isoformat(), "--at", "2026-06-05T02:00:00Z", env=env)
    assert second.returncode == 0 and "0 rows changed" in second.stdout
    bad = run_giddyup("settle", "--date", "2026-13-01", env=env)
    assert bad.returncode != 0 and "error: --date '2026-13-01' is not a date (YYYY-MM-DD)" in bad.stderr


# --- real Betfair markets -----------------------------------------------------------------------
MARKETS = {
    253344255: "dead heat for first, Listed, 8 runners",
    252229393: "dead heat for first, handicap, 8 runners",
    252767751: "a non-runner, handicap, 10 declared",
    252205218: "24-runner handicap (4 places at 1/4)",
}


def _betfair_markets() -> pl.DataFrame:
    frame = pl.read_csv(BETFAIR_CSV).filter(pl.col("WIN_MARKET_ID").is_in(list(MARKETS)))
    assert frame.get_column("WIN_MARKET_ID").n_unique() == len(MARKETS)
    return frame


def _positions(market: pl.DataFrame) -> pl.DataFrame:
    """pos_raw from the win and place results: winners first (`1DH` when two), the other placed
    runners next, then the rest (both in BSP order); a removed runner (WIN_RESULT -1) has none."""
    runners = market.filter(pl.col("WIN_RESULT") >= 0)
    winners = runners.filter(pl.col("WIN_RESULT") == 1).sort("WIN_BSP")
    placed = runners.filter((pl.col("WIN_RESULT") == 0) & (pl.col("PLACE_RESULT") == 1)).sort("WIN_BSP")
    rest = runners.filter((pl.col("WIN_RESULT") == 0) & (pl.col("PLACE_RESULT") != 1)).sort("WIN_BSP")
    rows = [(s, "1DH" if winners.height > 1 else "1") for s in winners.get_column("SELECTION_ID")]
    position = winners.height + 1
    for selection in [*placed.get_column("SELECTION_ID"), *rest.get_column("SELECTION_ID")]:
        rows.append((selection, str(position)))
        position += 1
    rows += [(s, None) for s in market.filter(pl.col("WIN_RESULT") < 0).get_column("SELECTION_ID")]
    return pl.DataFrame(rows, schema={"SELECTION_ID": pl.Int64, "pos_raw": pl.String}, orient="row")


@pytest.fixture(scope="module")
def betfair_world(database_factory, tmp_path_factory) -> dict:
    """The four markets loaded as resulted races; on every runner a 1-unit win bet and a 2-unit
    each-way bet at Betfair's rated price, and (24-runner race) a 1-unit place bet at place SP."""
    markets = _betfair_markets()
    dsn = database_factory.create()
    migrate_dsn(dsn)
    races, runners = [], []
    for index, (market_id, market) in enumerate(markets.group_by("WIN_MARKET_ID", maintain_order=True)):
        first = market.row(0, named=True)
        race_date = dt.date.fromisoformat(first["LOCAL_RACE_DATE"])
        races.append(
            {
                "market_id": market_id[0],
                "race_date": race_date,
                "region": "GB" if first["COUNTRY_ID"] == 1 else "IRE",
                "course_name": first["TRACK"],
                "off_time": dt.time(14, 0 + 5 * index),
                "race_name": first["RACE_NAME"],
                "race_type": "Flat",
                "ran": int((market.get_column("WIN_RESULT") >= 0).sum()),
                "prelim": False,
            }
        )
        with_pos = market.join(_positions(market), on="SELECTION_ID")
        for row in with_pos.iter_rows(named=True):
            runs = row["WIN_RESULT"] >= 0
            runners.append(
                {
                    "market_id": market_id[0],
                    "race_date": race_date,
                    "horse_name": row["RUNNER_NAME"],
                    "betfair_selection_id": row["SELECTION_ID"],
                    "pos_raw": row["pos_raw"],
                    "win_bsp": row["WIN_BSP"] if runs else None,
                    "place_bsp": row["PLACE_BSP"] if runs else None,
                }
            )
    with psycopg.connect(dsn) as conn:
        race_frame, runner_frame = write_market_races(conn, races, runners)
        conn.commit()
        bets = markets.join(
            runner_frame.select("betfair_selection_id", "race_id", "horse_id", "race_date"),
            left_on="SELECTION_ID",
            right_on="betfair_selection_id",
        )
        for row in bets.iter_rows(named=True):
            for side, stake, odds in (("win", 1.0, row["RATED_PRICE"]), ("ew", 2.0, row["RATED_PRICE"])):
                conn.execute(
                    """INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, source, race_date, exchange)
                       VALUES (%s, %s, %s, %s, %s, %s, 'manual', %s, true)""",
                    (
                        dt.datetime.combine(row["race_date"], dt.time(9), tzinfo=UTC),
                        row["race_id"],
                        row["horse_id"],
                        side,
                        odds,
                        stake,
                        row["race_date"],
                    ),
                )
            if row["WIN_MARKET_ID"] == 252205218:
                conn.execute(
                    """INSERT INTO modeling.bets (ts, race_id, horse_id, side, odds, stake, source, race_date, exchange)
                       VALUES (%s, %s, %s, 'place', %s, 1.0, 'manual', %s, true)""",
                    (
                        dt.datetime.combine(row["race_date"], dt.time(9), tzinfo=UTC),
                        row["race_id"],
                        row["horse_id"],
                        row["PLACE_BSP"],
                        row["race_date"],
                    ),
                )
        conn.commit()
    settings = Settings(artifacts_dir=tmp_path_factory.mktemp("bf"), exchange_commission=COMMISSION)
    world = {"dsn": dsn, "settings": settings}
    for race_date in race_frame.get_column("race_date").unique().to_list():
        _settle(world, dt.datetime(2026, 7, 1, tzinfo=UTC), race_date)
    settled = query_frame(
        dsn,
        """SELECT b.*, r.betfair_selection_id AS "SELECTION_ID" FROM modeling.bets b
           JOIN racing.runners r ON r.race_id = b.race_id AND r.horse_id = b.horse_id""",
    )
    return {**world, "bets": settled.join(markets, on="SELECTION_ID")}


def _expected_legs(bets: pl.DataFrame, places: dict[int, tuple[int, float]]) -> pl.DataFrame:
    """Gross pnl per bet and market from Betfair's own results (WIN_RESULT, PLACE_RESULT)."""
    runners = bets.unique("SELECTION_ID")
    winners = runners.group_by("WIN_MARKET_ID").agg((pl.col("WIN_RESULT") == 1).sum().alias("winners"))
    rows = []
    for row in bets.join(winners, on="WIN_MARKET_ID").iter_rows(named=True):
        if row["WIN_RESULT"] < 0:
            continue
        won = row["WIN_RESULT"] == 1
        win_share = (1.0 / row["winners"]) if won else 0.0
        placed = row["PLACE_RESULT"] == 1
        _, fraction = places[row["WIN_MARKET_ID"]]
        if row["side"] == "win":
            rows.append((row["bet_id"], row["race_id"], "win", row["stake"] * win_share * row["odds"] - row["stake"]))
        elif row["side"] == "ew":
            half = row["stake"] / 2
            rows.append((row["bet_id"], row["race_id"], "win", half * win_share * row["odds"] - half))
            place_odds = 1 + (row["odds"] - 1) * fraction
            rows.append((row["bet_id"], row["race_id"], "place", half * placed * place_odds - half))
        else:
            rows.append((row["bet_id"], row["race_id"], "place", row["stake"] * placed * row["odds"] - row["stake"]))
    return pl.DataFrame(
        rows, schema={"bet_id": pl.Int64, "race_id": pl.Int64, "market": pl.String, "gross": pl.Float64}, orient="row"
    )


def test_real_markets_settle_to_the_arithmetic_of_betfairs_own_results(betfair_world) -> None:
    bets = betfair_world["bets"]
    # Each-way terms by the spec: 8 runners 3 at 1/5, 9 starters 3 at 1/5, 24-runner handicap 4 at 1/4.
    places = {253344255: (3, 0.2), 252229393: (3, 0.2), 252767751: (3, 0.2), 252205218: (4, 0.25)}
    expected = _expected_legs(bets, places)
    # Commission per market (race, win or place): on the market's net winnings when positive.
    market_net = expected.group_by("race_id", "market").agg(pl.col("gross").sum())
    total_commission = sum(COMMISSION * max(net, 0.0) for net in market_net.get_column("gross"))
    per_bet = expected.group_by("bet_id").agg(pl.col("gross").sum())
    settled = bets.filter(pl.col("status") == "settled")
    assert set(settled.get_column("bet_id")) == set(per_bet.get_column("bet_id"))
    assert settled.get_column("pnl").sum() == pytest.approx(per_bet.get_column("gross").sum() - total_commission)
    assert settled.get_column("commission").sum() == pytest.approx(total_commission)
    # Bets that lost every leg pay no commission and lose their stake exactly.
    losers = per_bet.filter(pl.col("gross") <= 0).join(settled.select("bet_id", "pnl", "commission"), on="bet_id")
    assert (losers.get_column("pnl") - losers.get_column("gross")).abs().max() < 1e-9
    assert (losers.get_column("commission") == 0).all()


def test_real_dead_heat_halves_the_win_stake(betfair_world) -> None:
    bets = betfair_world["bets"].filter((pl.col("WIN_MARKET_ID") == 253344255) & (pl.col("side") == "win"))
    winners = bets.filter(pl.col("WIN_RESULT") == 1)
    assert winners.height == 2 and set(winners.get_column("dead_heat_ways")) == {2}
    gross = winners.get_column("odds") * 0.5 - 1  # half of 1 unit at full odds, the other half lost
    net_market = gross.sum() - (bets.height - 2)
    commission = COMMISSION * max(net_market, 0.0)
    share = gross.clip(lower_bound=0) / gross.clip(lower_bound=0).sum()
    assert winners.get_column("pnl").to_list() == pytest.approx((gross - commission * share).to_list())


def test_real_non_runner_bets_are_void(betfair_world) -> None:
    removed = betfair_world["bets"].filter(pl.col("WIN_RESULT") < 0)
    assert removed.height == 2  # its win and each-way bets
    assert set(removed.get_column("status")) == {"void"} and set(removed.get_column("pnl")) == {0.0}


def test_real_clv_is_rated_price_against_betfair_sp(betfair_world) -> None:
    bets = betfair_world["bets"].filter((pl.col("status") == "settled") & (pl.col("side") != "place"))
    expected = bets.get_column("RATED_PRICE") / bets.get_column("WIN_BSP") - 1
    assert (bets.get_column("clv") - expected).abs().max() < 1e-12
    assert set(bets.get_column("close_odds_src")) == {"win_bsp"}
    place = betfair_world["bets"].filter(pl.col("side") == "place")
    assert place.height == 24 and set(place.get_column("close_odds_src")) == {"place_bsp"}
    assert place.get_column("clv").abs().max() < 1e-12  # taken at place SP: no value either way
