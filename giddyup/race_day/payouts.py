"""Settlement arithmetic: what a win, place or each-way bet returns, dead heats, commission, CLV.

Rules:
- A bet is made of legs. `win`: one leg at the odds taken. `place`: one leg at the odds taken
  (a place-market price), paid if the runner finishes within the places. `ew`: the stake is the
  total outlay, half on a win leg at odds O and half on a place leg at 1 + (O − 1) × fraction.
- Places of a place or each-way leg: the bet's ew_places / ew_fraction when it has them (the terms
  when it was struck), else the race's terms from its starters (pricing.each_way_terms).
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
    """The bet's legs, or None when it is void (non-runner, or a place leg with no places)."""
    if result.pos_raw is None:
        return None
    win_share = paid_share(result.pos_num, result.tied, 1)
    if bet.side == "win":
        return [Leg(bet.bet_id, "win", bet.stake, bet.odds, win_share)]
    terms = bet_terms(bet, result)
    if terms is None:
        return None
    place_share = paid_share(result.pos_num, result.tied, terms.places)
    if bet.side == "place":
        return [Leg(bet.bet_id, "place", bet.stake, bet.odds, place_share)]
    half = bet.stake / 2
    place_odds = 1 + (bet.odds - 1) * float(terms.fraction)
    return [
        Leg(bet.bet_id, "win", half, bet.odds, win_share),
        Leg(bet.bet_id, "place", half, place_odds, place_share),
    ]


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
