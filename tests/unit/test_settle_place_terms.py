"""Settlement of each-way bets in small fields and of exchange place bets on the places their market
paid (issue 12): the arithmetic. tests/test_settle_place_terms_betfair.py settles real markets."""

from __future__ import annotations

import pytest

from giddyup.race_day.payouts import Bet, RunnerResult, legs_of


def _result(pos: int | None, starters: int) -> RunnerResult:
    return RunnerResult(None if pos is None else str(pos), pos, 1, starters, False)


@pytest.mark.parametrize(("pos", "win_pnl"), [(1, 2 * (5.0 - 1)), (2, -2.0), (4, -2.0)])
def test_each_way_under_five_starters_settles_the_win_half_and_voids_the_place_half(pos: int, win_pnl: float) -> None:
    bet = Bet(1, 10, "ew", 5.0, 4.0, "manual", False)  # 4 units: 2 on the win, 2 on the place
    legs = legs_of(bet, _result(pos, starters=4))
    assert legs is not None and [leg.market for leg in legs] == ["win"]
    assert legs[0].stake == 2.0 and legs[0].pnl == pytest.approx(win_pnl)


def test_each_way_struck_with_terms_still_loses_its_place_half_when_under_five_start() -> None:
    bet = Bet(1, 10, "ew", 5.0, 4.0, "manual", False, ew_places=2, ew_fraction="1/4")
    legs = legs_of(bet, _result(2, starters=4))
    assert legs is not None and [(leg.market, leg.pnl) for leg in legs] == [("win", -2.0)]


def test_exchange_place_bet_settles_on_the_places_its_market_paid() -> None:
    third = _result(3, starters=7)  # each-way terms of 7 starters: 2 places
    assert legs_of(Bet(1, 10, "place", 2.5, 1.0, "manual", True), third)[0].pnl == -1.0  # type: ignore[index]
    paid = legs_of(Bet(2, 10, "place", 2.5, 1.0, "manual", True, places_paid=3), third)
    assert paid is not None and paid[0].pnl == pytest.approx(1.5)
    small = legs_of(Bet(3, 10, "place", 1.8, 1.0, "manual", True, places_paid=2), _result(2, starters=4))
    assert small is not None and small[0].pnl == pytest.approx(0.8)  # a 4-runner place market still pays
