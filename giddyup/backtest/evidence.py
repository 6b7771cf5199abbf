"""What the replayed days say: every bet with its pnl, closing-line value and, on the simulated
world, its true expected value; and the same races under reference strategies.

The decisions: for each race the decision step decided, every runner of the race's latest signal
set at that instant (what the step bet from): the decision price and its source, p_win, the
market's p, liquidity, the stake; with the result (dead-heat share of a win), the Betfair SP and,
on a simulated world, the true win probability (sim.runner_truth).

Definitions (per bet, stake s at decimal odds O; c the exchange commission on exchange prices):
- pnl: settled, after commission (the reference strategies: s·(share·O − 1), commission on a win);
- closing-line value: O / BSP − 1 (Betfair SP is the close, as in settlement);
- true expected value: s·(p_true·O_net − 1), O_net = 1 + (O − 1)(1 − c): what the bet was worth
  when it was struck, by the simulator's own truth;
- intervals: 95% percentile bootstrap over races (a race's bets move together).

Reference strategies on the same decided races and decision prices:
- oracle: the production staking rule and caps with the true probabilities in place of p_win (the
  ceiling of what any model could take from these prices);
- favourite: one unit on the decision-time favourite of every decided race;
- random: for every bet placed, one at random among the decided races' runners of the same odds
  band, same stake (the floor: the market's margin and noise).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
import psycopg

from giddyup import pricing
from giddyup.odds import EXCHANGE_SOURCES
from giddyup.reports.performance import odds_band

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20261202

_DECISIONS_SQL = """
SELECT d.race_id, d.race_date, d.decided_at, r.off_time, s.horse_id, s.runner_id, s.best_odds_win, s.best_odds_src,
       s.p_win, s.p_market, s.p_model, s.liquidity_ok, s.kelly_fraction, s.edge_win, s.stake_units,
       ru.pos_raw, ru.pos_num, ru.win_bsp, ru.dec,
       (SELECT count(*) FROM racing.runners t
         WHERE t.race_date = ru.race_date AND t.race_id = ru.race_id AND t.pos_num = ru.pos_num) AS tied,
       {truth} AS p_true
FROM modeling.paper_decisions d
JOIN racing.races r ON r.race_id = d.race_id AND r.race_date = d.race_date
JOIN modeling.signals s ON s.race_id = d.race_id AND s.as_of = d.signal_as_of AND s.model_id = d.model_id
LEFT JOIN racing.runners ru ON ru.race_date = d.race_date AND ru.runner_id = s.runner_id
{truth_join}
WHERE d.source = %(source)s AND d.race_date BETWEEN %(first)s AND %(last)s
ORDER BY d.race_date, d.decided_at, d.race_id, s.horse_id
"""

_BETS_SQL = """
SELECT b.bet_id, b.race_id, b.race_date, b.ts, b.horse_id, coalesce(b.matched_odds, b.odds) AS odds, b.odds AS decision_odds,
       b.execution, b.stake, b.pnl, b.clv, b.status, b.exchange,
       s.best_odds_src, s.p_win, s.edge_win, r.off_time, ru.win_bsp, {truth} AS p_true
FROM modeling.bets b
JOIN racing.races r ON r.race_id = b.race_id AND r.race_date = b.race_date
LEFT JOIN modeling.signals s
       ON s.race_id = b.race_id AND s.horse_id = b.horse_id AND s.as_of = b.signal_as_of AND s.model_id = b.model_id
LEFT JOIN racing.runners ru ON ru.race_date = b.race_date AND ru.runner_id = b.runner_id
{truth_join}
WHERE b.source = %(source)s AND b.race_date BETWEEN %(first)s AND %(last)s
ORDER BY b.ts, b.bet_id
"""


def _has_truth(conn: psycopg.Connection) -> bool:
    return bool(conn.execute("SELECT to_regclass('sim.runner_truth') IS NOT NULL").fetchone()[0])  # type: ignore[index]


def _query(conn: psycopg.Connection, sql: str, params: dict, runner: str) -> pl.DataFrame:
    truth = _has_truth(conn)
    text = sql.format(
        truth="t.p_true" if truth else "NULL::float8",
        truth_join=f"LEFT JOIN sim.runner_truth t ON t.runner_id = {runner}" if truth else "",
    )
    cursor = conn.execute(text, params)
    names = [d.name for d in cursor.description or ()]
    return pl.DataFrame(cursor.fetchall(), schema=names, orient="row", infer_schema_length=None)


def _with_off(frame: pl.DataFrame, race_tz: str, instant: str) -> pl.DataFrame:
    """minutes_to_off of each row's `instant` (the off is the UK-local off time, as everywhere)."""
    off = (
        pl.col("race_date")
        .dt.combine(pl.col("off_time"))
        .dt.replace_time_zone(race_tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    return frame.with_columns(
        ((off - pl.col(instant).dt.convert_time_zone("UTC")).dt.total_seconds() / 60).round(1).alias("minutes_to_off")
    )


def load_bets(
    conn: psycopg.Connection, first: dt.date, last: dt.date, source: str, race_tz: str, commission: float
) -> pl.DataFrame:
    """The bets the decision step placed in the window, with their price source, minutes to the
    off, closing-line value and (simulated world) true expected value."""
    bets = _query(conn, _BETS_SQL, {"first": first, "last": last, "source": source}, "b.runner_id")
    if bets.height == 0:
        return bets
    bets = _with_off(bets.with_columns(pl.col("ts").dt.convert_time_zone("UTC")), race_tz, "ts")
    return bets.with_columns(
        odds_band(pl.col("odds")).alias("odds_band"),
        _true_ev(pl.col("stake"), pl.col("odds"), pl.col("exchange"), commission).alias("true_ev"),
        (pl.col("p_true") * _net_odds(pl.col("odds"), pl.col("exchange"), commission) - 1).alias("true_edge"),
    )


def load_decisions(conn: psycopg.Connection, first: dt.date, last: dt.date, source: str, race_tz: str) -> pl.DataFrame:
    """Every runner of every decided race at its decision instant (see the module docstring)."""
    frame = _query(conn, _DECISIONS_SQL, {"first": first, "last": last, "source": source}, "s.runner_id")
    if frame.height == 0:
        return frame
    frame = _with_off(frame.with_columns(pl.col("decided_at").dt.convert_time_zone("UTC")), race_tz, "decided_at")
    return frame.with_columns(
        pl.col("best_odds_src").is_in(list(EXCHANGE_SOURCES)).alias("exchange"),
        # The share of a win stake paid: 1 for a winner, 1/k in a k-way dead heat, 0 otherwise.
        pl.when(pl.col("pos_num") == 1).then(1.0 / pl.col("tied")).otherwise(0.0).alias("win_share"),
        pl.col("pos_raw").is_null().alias("non_runner"),
    )


def _net_odds(odds: pl.Expr, exchange: pl.Expr, commission: float) -> pl.Expr:
    return pl.when(exchange).then(1 + (odds - 1) * (1 - commission)).otherwise(odds)


def _true_ev(stake: pl.Expr, odds: pl.Expr, exchange: pl.Expr, commission: float) -> pl.Expr:
    return stake * (pl.col("p_true") * _net_odds(odds, exchange, commission) - 1)


def strategy_bets(decisions: pl.DataFrame, stakes: np.ndarray, commission: float) -> pl.DataFrame:
    """The bets a strategy's `stakes` (one per decision row) make, settled at the decision price:
    pnl (commission on exchange winnings; non-runners void), CLV against Betfair SP, true EV."""
    odds = pl.col("best_odds_win")
    gross = pl.col("stake") * (pl.col("win_share") * odds - 1)
    return (
        decisions.with_columns(pl.Series("stake", stakes, dtype=pl.Float64))
        .filter((pl.col("stake") > 0) & ~pl.col("non_runner"))
        .with_columns(
            pl.when(pl.col("exchange") & (gross > 0)).then(gross * (1 - commission)).otherwise(gross).alias("pnl"),
            (odds / pl.col("win_bsp") - 1).alias("clv"),
            _true_ev(pl.col("stake"), odds, pl.col("exchange"), commission).alias("true_ev"),
            odds.alias("odds"),
        )
    )


def oracle_stakes(decisions: pl.DataFrame, rules: pricing.StakeRules) -> np.ndarray:
    """The production staking rule and caps with the true probabilities in place of p_win."""
    return _rule_stakes(decisions, decisions.get_column("p_true").fill_null(0.0).to_numpy(), rules)


def _rule_stakes(decisions: pl.DataFrame, p: np.ndarray, rules: pricing.StakeRules) -> np.ndarray:
    """allocate_stakes day by day (the day cap spans a day's decided races)."""
    odds = decisions.get_column("best_odds_win").to_numpy()
    stakeable = decisions.get_column("liquidity_ok").fill_null(True).to_numpy().astype(bool)
    stakes = np.zeros(decisions.height)
    days = decisions.get_column("race_date").to_numpy()
    races = decisions.get_column("race_id").to_numpy()
    for day in np.unique(days):
        rows = days == day
        stakes[rows] = pricing.allocate_stakes(
            races[rows], pricing.kelly_fraction(p[rows], odds[rows]), pricing.edge_win(p[rows], odds[rows]),
            stakeable[rows], rules,
        )  # fmt: skip
    return stakes


def favourite_stakes(decisions: pl.DataFrame) -> np.ndarray:
    """One unit on each decided race's shortest-priced runner at the decision instant."""
    ranked = decisions.with_row_index("row").with_columns(
        pl.col("best_odds_win").rank("ordinal").over("race_id").alias("rank")
    )
    stakes = np.zeros(decisions.height)
    stakes[ranked.filter(pl.col("rank") == 1).get_column("row").to_numpy()] = 1.0
    return stakes


def random_stakes(decisions: pl.DataFrame, placed: pl.DataFrame, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """For every placed bet, the same stake on a random decided runner of the same odds band."""
    rng = np.random.default_rng(seed)
    bands = decisions.select(odds_band(pl.col("best_odds_win")).alias("band")).get_column("band").to_numpy()
    stakes = np.zeros(decisions.height)
    for band, stake in zip(placed.get_column("odds_band").to_list(), placed.get_column("stake").to_list(), strict=True):
        pool = np.flatnonzero(bands == band)
        if pool.size:
            stakes[rng.choice(pool)] += stake
    return stakes


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None
    high: float | None

    def as_list(self) -> list[float | None]:
        return [self.low, self.high]


def bootstrap_ratio(bets: pl.DataFrame, numerator: str, denominator: str | None) -> Interval:
    """Σ numerator / Σ denominator (or the mean of numerator) with a 95% interval, resampling races."""
    if bets.height == 0:
        return Interval(None, None, None)
    per_race = (
        bets.filter(pl.col(numerator).is_not_null())
        .group_by("race_id")
        .agg(
            pl.col(numerator).sum().alias("num"),
            (pl.col(denominator).sum() if denominator else pl.len().cast(pl.Float64)).alias("den"),
        )
        .sort("race_id")
    )
    num, den = per_race.get_column("num").to_numpy(), per_race.get_column("den").to_numpy()
    if num.size == 0 or den.sum() == 0:
        return Interval(None, None, None)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, num.size, size=(BOOTSTRAP_SAMPLES, num.size))
    ratios = num[picks].sum(axis=1) / np.maximum(den[picks].sum(axis=1), 1e-12)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return Interval(float(num.sum() / den.sum()), float(low), float(high))


def strategy_summary(bets: pl.DataFrame, *, truth: bool) -> dict:
    """bets, staked, pnl, ROI and mean CLV with intervals, share that beat the close, true EV."""
    if bets.height == 0:  # e.g. the rule stood down all along: the same keys, nothing measured
        empty: dict = {"bets": 0, "races": 0, "staked": 0.0, "pnl": 0.0, "roi": None, "roi_ci": [None, None]}
        empty.update(clv_mean=None, clv_ci=[None, None], beat_close_share=None)
        if truth:
            empty.update(true_ev_profit=0.0, true_ev_roi=None, true_ev_roi_ci=[None, None])
        return empty
    roi = bootstrap_ratio(bets, "pnl", "stake")
    clv = bootstrap_ratio(bets, "clv", None)
    with_close = bets.filter(pl.col("clv").is_not_null())
    out = {
        "bets": bets.height,
        "races": bets.get_column("race_id").n_unique(),
        "staked": float(bets.get_column("stake").sum()),
        "pnl": float(bets.get_column("pnl").fill_null(0).sum()),
        "roi": roi.value,
        "roi_ci": roi.as_list(),
        "clv_mean": clv.value,
        "clv_ci": clv.as_list(),
        "beat_close_share": float((with_close.get_column("clv") > 0).mean()) if with_close.height else None,  # type: ignore[arg-type]
    }
    if truth and bets.get_column("p_true").null_count() < bets.height:
        ev = bootstrap_ratio(bets, "true_ev", "stake")
        out.update(
            true_ev_profit=float(bets.get_column("true_ev").fill_null(0).sum()),
            true_ev_roi=ev.value,
            true_ev_roi_ci=ev.as_list(),
        )
    return out
