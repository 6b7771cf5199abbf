"""Experiment, kept as a record (issue 10): which decision rule should the paper step follow?

Reads the decisions of a replay made by `giddyup backtest` (every runner of every decided race at
its decision instant: the price, p_win, the market's p, the result, Betfair SP and, on the
simulated world, the true probability), and evaluates candidate rules on them offline: the
stakes each rule would make (the production caps, day by day), struck as the rule says, with the
true expected value of each bet (stake × (p_true × net odds − 1)), its pnl and its closing-line
value against Betfair SP, with 95% intervals from a bootstrap over races. The rule is chosen on
the first half of the replayed days and checked on the second half.

    uv run python benchmarks/exp_staking_rules.py postgresql://postgres@127.0.0.1:5432/giddyup_bench_backtest_11

Output of the run that chose the production rule: exp_staking_rules.out.txt (world seed 11, 60
days, the old rule's decisions). Candidates: R0 the old rule (gross edge at the back price, min
edge 0); R1 edges net of the exchange's commission; R2 R1 plus Betfair SP when the back price is
below the market's fair price; R3 R2 with an odds cap or a minimum edge; R4 R2 with p_win shrunk
toward the market; the oracle (true probabilities) for scale.
"""

import datetime as dt
import sys

import numpy as np
import polars as pl
import psycopg

from giddyup import pricing
from giddyup.backtest import evidence

dsn = sys.argv[1]
with psycopg.connect(dsn) as conn:
    d = evidence.load_decisions(conn, dt.date(2026, 1, 1), dt.date(2026, 12, 31), "backtest", "Europe/London")
d = d.filter(pl.col("p_true").is_not_null())
c = 0.02
RULES = pricing.StakeRules(
    kelly_multiplier=0.25, bank_units=100, max_per_bet=2, max_per_race=3, max_per_day=20, min_edge=0.0
)
days = sorted(d["race_date"].unique().to_list())
half = days[len(days) // 2]
print("days", len(days), "split at", half, "races", d["race_id"].n_unique())


def net(o, exch):
    return np.where(exch, 1 + (o - 1) * (1 - c), o)


def strategy(frame, p, odds_exec, exch, min_edge_fn=None, cap=None):
    edge = p * net(odds_exec, exch) - 1
    kelly = pricing.kelly_fraction(p, net(odds_exec, exch))
    stakeable = frame["liquidity_ok"].fill_null(True).to_numpy().astype(bool) & ~frame["non_runner"].to_numpy()
    if min_edge_fn is not None:
        stakeable &= edge > min_edge_fn(odds_exec)
    if cap is not None:
        stakeable &= odds_exec <= cap
    stakes = np.zeros(frame.height)
    dd = frame["race_date"].to_numpy()
    rr = frame["race_id"].to_numpy()
    for day in np.unique(dd):
        m = dd == day
        stakes[m] = pricing.allocate_stakes(rr[m], kelly[m], edge[m], stakeable[m], RULES)
    return stakes


def evaluate(frame, stakes, odds_exec, exch):
    ptrue = frame["p_true"].to_numpy()
    share = frame["win_share"].to_numpy()
    bsp = frame["win_bsp"].to_numpy()
    s = stakes
    on = s > 0
    odds_exec = np.where(on, np.nan_to_num(odds_exec, nan=1.0), 1.0)
    gross = s * (share * odds_exec - 1)
    pnl = np.where(exch & (gross > 0), gross * (1 - c), gross)
    tev = np.where(on, s * (ptrue * net(odds_exec, exch) - 1), 0.0)
    pnl = np.where(on, pnl, 0.0)
    clv = odds_exec / bsp - 1
    races = frame["race_id"].to_numpy()
    out = {
        "bets": int(on.sum()),
        "staked": float(s.sum()),
        "pnl": float(pnl.sum()),
        "tev": float(tev.sum()),
        "tev_roi": float(tev.sum() / max(s.sum(), 1e-9)),
        "clv": float(np.nanmean(clv[on])) if on.any() else float("nan"),
    }
    # bootstrap over races for tev roi and clv
    ur, inv = np.unique(races[on], return_inverse=True)
    if ur.size:
        t = np.bincount(inv, weights=tev[on])
        st = np.bincount(inv, weights=s[on])
        cl = np.bincount(inv, weights=np.nan_to_num(clv[on]))
        n = np.bincount(inv)
        rng = np.random.default_rng(1)
        pk = rng.integers(0, ur.size, (1000, ur.size))
        out["tev_ci"] = np.percentile(t[pk].sum(1) / st[pk].sum(1), [2.5, 97.5]).round(4).tolist()
        out["clv_ci"] = np.percentile(cl[pk].sum(1) / n[pk].sum(1), [2.5, 97.5]).round(4).tolist()
    return out


def run(frame, label, **kw):
    p_win = frame["p_win"].to_numpy()
    p_mkt = frame["p_market"].to_numpy()
    ptrue = frame["p_true"].to_numpy()
    back = frame["best_odds_win"].to_numpy()
    exch = frame["exchange"].to_numpy().astype(bool)
    fair = 1 / p_mkt
    rows = {}
    # oracle: same rule, true p, at the back price (as the issue defines it)
    s = strategy(frame, ptrue, back, exch)
    rows["oracle@back"] = evaluate(frame, s, back, exch)
    s = strategy(frame, p_win, back, np.zeros_like(exch))
    rows["R0 current (gross edge @back)"] = evaluate(frame, s, back, exch)
    s = strategy(frame, p_win, back, exch)
    rows["R1 net of commission @back"] = evaluate(frame, s, back, exch)
    bspexec = np.where(back >= fair, back, frame["win_bsp"].to_numpy())  # executed odds
    plan_odds = np.maximum(back, fair)  # what the decision expects
    s = strategy(frame, p_win, plan_odds, exch)
    rows["R2 R1 + BSP when back<fair"] = evaluate(frame, s, bspexec, exch)
    s = strategy(frame, ptrue, plan_odds, exch)
    rows["oracle R2 exec"] = evaluate(frame, s, bspexec, exch)
    for w in (0.5, 0.75):
        pw = p_win**w * p_mkt ** (1 - w)
        pw = (
            pw
            / pl.Series(pw)
            .to_frame("x")
            .with_columns(pl.Series("r", frame["race_id"]))
            .select(pl.col("x").sum().over("r"))["x"]
            .to_numpy()
        )
        s = strategy(frame, pw, plan_odds, exch)
        rows[f"R4 R2 + shrink w={w}"] = evaluate(frame, s, bspexec, exch)
    for cap in (10, 20, 50):
        s = strategy(frame, p_win, plan_odds, exch, cap=cap)
        rows[f"R3 R2 + odds<={cap}"] = evaluate(frame, s, bspexec, exch)
    s = strategy(frame, p_win, plan_odds, exch, min_edge_fn=lambda o: 0.02 * np.sqrt(o))
    rows["R3 R2 + min edge .02*sqrt(odds)"] = evaluate(frame, s, bspexec, exch)
    s = strategy(frame, p_win, plan_odds, exch, min_edge_fn=lambda o: np.full(o.shape, 0.05))
    rows["R3 R2 + min edge .05"] = evaluate(frame, s, bspexec, exch)
    print(f"\n== {label}")
    for k, v in rows.items():
        print(
            f"{k:38s} bets {v['bets']:5d} staked {v['staked']:7.1f} pnl {v['pnl']:+7.1f} tEV {v['tev']:+7.1f} tEV_ROI {v['tev_roi']:+.4f} {v.get('tev_ci')} CLV {v['clv']:+.4f} {v.get('clv_ci')}"
        )


run(d.filter(pl.col("race_date") < half), "choose: first half")
run(d.filter(pl.col("race_date") >= half), "check: second half")
