"""One replayed racing day, through the same functions the DAG tasks' commands call, at the
instants the DAGs run them (giddyup.schedules, Europe/Madrid):

02:30  nightly retrain, on the backtest's cadence: `features build --date D` then `train --date D`
       (promotion gate inside)
       the day's card appears (giddyup.sim.replay.open_day): declarations, morning prices, live ticks
08:00  morning scoring: `score --date D --at T`
11:00-22:59, every minute: `refresh --at T` (repricing of the due races, then the paper step)
after the last off: results (close_day), then the day's last settlement run: `settle --date D`

A minute at which no race is due and none awaits its decision writes nothing when the refresh
runs (giddyup.race_day.schedule): the replay asks the schedule's own functions, on the card as the
earlier refreshes of the day left it, and runs the refresh only at the minutes where it has work.
`every_minute=True` runs it at every minute instead; a test checks that both write the same rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from giddyup import schedules
from giddyup.config import Settings
from giddyup.race_day.card import CardRace, read_card
from giddyup.race_day.refresh import RefreshResult, refresh
from giddyup.race_day.schedule import Cadence, awaiting_decision, is_due
from giddyup.race_day.score import score_race_day
from giddyup.race_day.settle import settle_day
from giddyup.sim.replay import ReplayWorld


@dataclass
class DayOutcome:
    day: dt.date
    races: int = 0
    retrained_version: str | None = None
    promoted: bool | None = None
    model_version: str = ""
    races_scored: int = 0
    refresh_runs: int = 0  # minutes at which the refresh ran
    repricings: int = 0  # races repriced, summed over those runs
    races_decided: int = 0
    bets: int = 0
    staked: float = 0.0
    settled: int = 0
    pnl: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["day"] = self.day.isoformat()
        data["staked"] = round(self.staked, 6)
        data["pnl"] = round(self.pnl, 6)
        data["seconds"] = {k: round(v, 3) for k, v in self.seconds.items()}
        return data


class _Clock:
    def __init__(self, outcome: DayOutcome) -> None:
        self.outcome = outcome

    def __call__(self, name: str, work: Callable[[], object]):
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.outcome.seconds[name] = self.outcome.seconds.get(name, 0.0) + time.perf_counter() - started


def _has_work(races: dict[int, CardRace], at: dt.datetime, cadence: Cadence) -> bool:
    return any(is_due(race, at, cadence) or awaiting_decision(race, at, cadence) for race in races.values())


def _remember(races: dict[int, CardRace], result: RefreshResult, at: dt.datetime) -> None:
    """The card as this refresh left it: races it priced have a new latest set, races the paper
    step decided are decided."""
    for race_id in result.due:
        if race_id not in result.skipped:
            races[race_id] = dataclasses.replace(races[race_id], latest_signal_as_of=at)
    for race_id in result.paper.races_decided if result.paper else ():
        races[race_id] = dataclasses.replace(races[race_id], decided_at=at)


def replay_day(
    conn: psycopg.Connection,
    settings: Settings,
    dsn: str,
    world: ReplayWorld,
    day: dt.date,
    *,
    retrain: bool,
    every_minute: bool = False,
) -> DayOutcome:
    """Replay `day` (see the module docstring); each step commits like its command does."""
    from giddyup.features.files import build_feature_files
    from giddyup.model.train_job import train_for_date

    outcome = DayOutcome(day=day)
    timed = _Clock(outcome)
    cadence = Cadence.from_settings(settings)

    if retrain:
        timed(
            "features",
            lambda: build_feature_files(dsn, settings.artifacts.features_dir(day), until=day - dt.timedelta(days=1)),
        )
        report = timed("train", lambda: train_for_date(settings, dsn, day, promote="auto", reuse=True))
        outcome.retrained_version, outcome.promoted = report.version, report.promoted

    opened = timed("card", lambda: world.open_day(conn, day))
    conn.commit()  # the feature build reads the card through its own connection
    outcome.races = opened.races
    if opened.races == 0:
        return outcome

    [morning] = schedules.run_instants(schedules.MORNING_SCORING, day, settings.schedule_tz)
    scored = timed("score", lambda: score_race_day(conn, settings, dsn, day, morning))
    conn.commit()
    outcome.model_version, outcome.races_scored = scored.model_version, scored.races_priced

    instants = schedules.run_instants(schedules.INTRADAY_REFRESH, day, settings.schedule_tz)
    card = read_card(conn, day, instants[0], settings.race_zone, settings.bet_source)
    races = {race.race_id: race for race in card.races}
    started = time.perf_counter()
    for at in instants:
        if not every_minute and not _has_work(races, at, cadence):
            continue
        result = refresh(conn, at, settings)
        conn.commit()
        _remember(races, result, at)
        outcome.refresh_runs += 1
        outcome.repricings += result.races_priced
        if result.paper is not None:
            outcome.races_decided += len(result.paper.races_decided)
            outcome.bets += result.paper.bets_placed
            outcome.staked += result.paper.staked
    outcome.seconds["refresh"] = time.perf_counter() - started

    timed("results", lambda: world.close_day(conn, day))
    conn.commit()
    settled_at = schedules.run_instants(schedules.SETTLEMENT, day, settings.schedule_tz)[-1]
    settled = timed("settle", lambda: settle_day(conn, day, settled_at, settings))
    conn.commit()
    outcome.settled, outcome.pnl = settled.settled, settled.pnl
    return outcome
