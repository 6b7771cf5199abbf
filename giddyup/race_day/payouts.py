"""Settlement arithmetic: what a win, place or each-way bet returns, dead heats, commission, CLV.

Rules:
- A bet is made of legs. `win`: one leg at the odds taken. `place`: one leg at the odds taken
  (a place-market price), paid if the runner finishes within the places. `ew`: the stake is the
  total outlay, half on a win leg at odds O and half on a place leg at 1 + (O − 1) × fraction.
- Places of an each-way bet's place half: the bet's ew_places / ew_fraction when it has them (the
  terms when it was struck), else the race's terms from its starters (pricing.each_way_terms). A
  race run with fewer than 5 starters has no each-way places: the win half settles as a win bet and
  only the place half is void (its stake returned).
- Places of a place bet: the bet's places_paid (what its place market pays, stored when it was
  placed: an exchange place market keeps the places it opened with, whatever the starters); without
  it, as an each-way place half, and void when the race has no each-way places.
- Dead heats: when `tied` runners share position p and only `slots` = places − p + 1 of the paying
  places are left for them, each is paid on stake × min(tied, slots) / tied at full odds, the rest
  of the stake being lost. Two dead-heating winners of a win bet: half the stake at full odds.
  A tie wholly inside the places (two second of three places) pays in full.
- A non-runner (no result in a resulted race) is void: pnl 0. A non-finisher (PU, F, UR, ...) loses.
- Exchange commission is charged per market, as the exchange does: the legs of a race's win market
  (or place market) from one source are netted, commission = rate × the net winnings when positive,
  and it is shared among the legs that won in proportion to their winnings. Bookmaker bets
  (`exchange` false) pay none. pnl is after commission.
- Closing odds for closing-line value: for win and each-way bets Betfair SP (win_bsp), else SP
  (dec), else the last price snapshot before the off; for place bets the place Betfair SP.
  clv = odds taken / closing odds − 1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from giddyup.pricing import EachWayTerms, each_way_terms


@dataclass(frozen=True)
class RunnerResult:
    pos_raw: str | None  # None: a non-runner
    pos_num: int | None  # None: did not finish (or non-runner)
    tied: int  # runners sharing pos_num (1 without a dead heat)
    starters: int  # runners with a result in the race
    handicap: bool


@dataclass(frozen=True)
class Bet:
    bet_id: int
    race_id: int
    side: str  # win, place, ew
    odds: float
    stake: float
    source: str
    exchange: bool
    ew_places: int | None = None
    ew_fraction: str | None = None
    places_paid: int | None = None  # a place bet's market: the places it pays


@dataclass(frozen=True)
class Leg:
    bet_id: int
    market: str  # win or place
    stake: float
    odds: float
    paid_share: float  # share of the leg's stake paid as a winner (dead-heat rule)

    @property
    def pnl(self) -> float:
        return self.stake * self.paid_share * self.odds - self.stake


def paid_share(pos_num: int | None, tied: int, places: int) -> float:
    """Share of a stake paid for finishing within the first `places` (dead-heat rule)."""
    if pos_num is None or pos_num < 1 or pos_num > places:
        return 0.0
    tied = max(tied, 1)
    return min(tied, places - pos_num + 1) / tied


def bet_terms(bet: Bet, result: RunnerResult) -> EachWayTerms | None:
    if bet.ew_places is not None:
        fraction = Fraction(bet.ew_fraction) if bet.ew_fraction else Fraction(1, 4)
        return EachWayTerms(bet.ew_places, fraction)
    return each_way_terms(result.starters, result.handicap)


def legs_of(bet: Bet, result: RunnerResult) -> list[Leg] | None:
    """The bet's legs, or None when it is void (non-runner, or a place bet with no places). An
    each-way bet whose race has no each-way places keeps its win half only (the place half is void)."""
    if result.pos_raw is None:
        return None
    win_share = paid_share(result.pos_num, result.tied, 1)
    if bet.side == "win":
        return [Leg(bet.bet_id, "win", bet.stake, bet.odds, win_share)]
    if bet.side == "place" and bet.places_paid is not None:
        return [Leg(bet.bet_id, "place", bet.stake, bet.odds, paid_share(result.pos_num, result.tied, bet.places_paid))]
    terms = bet_terms(bet, result)
    if bet.side == "place":
        if terms is None:
            return None
        return [Leg(bet.bet_id, "place", bet.stake, bet.odds, paid_share(result.pos_num, result.tied, terms.places))]
    half = bet.stake / 2
    win_leg = Leg(bet.bet_id, "win", half, bet.odds, win_share)
    if terms is None or each_way_terms(result.starters, result.handicap) is None:  # under 5 starters
        return [win_leg]
    place_odds = 1 + (bet.odds - 1) * float(terms.fraction)
    return [win_leg, Leg(bet.bet_id, "place", half, place_odds, paid_share(result.pos_num, result.tied, terms.places))]


def commission_by_bet(legs: list[tuple[Bet, Leg]], rate: float) -> dict[int, float]:
    """Commission per bet: per market (race, win/place, source), on positive net winnings."""
    markets: dict[tuple[int, str, str], list[Leg]] = defaultdict(list)
    for bet, leg in legs:
        if bet.exchange:
            markets[(bet.race_id, leg.market, bet.source)].append(leg)
    charged: dict[int, float] = defaultdict(float)
    for market_legs in markets.values():
        net = sum(leg.pnl for leg in market_legs)
        if net <= 0:
            continue
        winnings = sum(leg.pnl for leg in market_legs if leg.pnl > 0)
        for leg in market_legs:
            if leg.pnl > 0:
                charged[leg.bet_id] += rate * net * leg.pnl / winnings
    return dict(charged)


def closing_line_value(odds: float, close: float | None) -> float | None:
    return None if close is None or close <= 0 else odds / close - 1.0
