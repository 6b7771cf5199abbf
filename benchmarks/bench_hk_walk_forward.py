"""Benchmark: Hong Kong walk-forward, retrained every season (issue 10, part 3), printed, never asserted.

Loads ../shared/data/hkjc/hkjc_runs_2013_2022.csv (seasons 2013/14 .. 2021/22) into a dev-copy
database and runs

    giddyup evaluate --train-until 2018-08-31 --test-from 2018-09-01 --test-until 2022-07-31
        --retrain-every season

so each of the seasons 2018/19, 2019/20, 2020/21 and 2021/22 is scored by a model trained (LightGBM,
calibration, combiner) on every race from 2013-09 up to the day before that season opens, and the
single fit (trained once up to 2018-08-31) is scored on the same races. Prints per season and pooled:
model, combined and market R², the combined model's log-loss gain over the market per race with its
95% interval (bootstrap over race days), the single-fit figures, and the wall time of the command
(features built once, five fits). The machine is shared: its load is printed with the figures.

The database (giddyup_bench_hk_walk_forward on the PG_DSN server) is kept for reuse (loading the
file again is idempotent); drop it when done.

    PG_DSN=postgresql://postgres@127.0.0.1:5432/postgres uv run python benchmarks/bench_hk_walk_forward.py
        [--out DIR] [--runs N] [--retrain-every season|month|DAYS]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench_model_targets import HK_FILE, database, giddyup, machine

HK_DB = "giddyup_bench_hk_walk_forward"
WINDOW = ("2018-08-31", "2018-09-01", "2022-07-31")


def _edge(block: dict) -> str:
    edge = block["edge_vs_market"]
    interval = "n/a" if edge["ci95"] is None else f"[{edge['ci95'][0]:+.4f}, {edge['ci95'][1]:+.4f}]"
    return f"{edge['mean_gain_per_race']:+.4f} {interval:>19s} {'yes' if edge['evidence_of_edge'] else 'no':>5s}"


def _row(label: str, block: dict, trained: str) -> str:
    gap = block["combined"]["r2"] - block["market"]["r2"]
    return (
        f"  {label:22s} {trained:25s} {block['n_races']:6d} {block['model']['r2']:8.4f} {block['combined']['r2']:9.4f} "
        f"{block['market']['r2']:8.4f} {gap:+9.4f} {block['ece']['model']:7.4f} {block['ece']['combined']:7.4f}  "
        f"{_edge(block)}"
    )


def print_table(result: dict, seconds: list[float]) -> None:
    walk = result["walk_forward"]
    print(
        f"\nHK walk-forward, retrained every {walk['retrain_every']} ({walk['season_rule']}), "
        f"market price {result['market_price']}"
    )
    print(
        f"  {'':22s} {'trained on race days':25s} {'races':>6s} {'model R2':>8s} {'combined':>9s} {'market':>8s} "
        f"{'comb-mkt':>9s} {'ECE mod':>7s} {'ECE comb':>7s}  {'gain/race':>8s} {'95% interval':>19s} {'edge?':>5s}"
    )
    for step in result["steps"]:
        label = f"step {step['step']} {step['season'] or step['window']['test_from']}"
        print(_row(label, step, f"{step['window']['train_from']}..{step['fit_until']}"))
    print(_row("pooled walk-forward", result, "(per step, above)"))
    single = result["single_fit"]
    print(_row("single fit", single, f"{single['training']['fit_from']}..{single['training']['fit_until']}"))
    for skipped in result.get("skipped_steps", []):
        print(f"  skipped {skipped['test_from']}..{skipped['test_until']}: {skipped['reason']}")
    print("  gain/race: market log loss minus combined log loss per race (nats); edge? = interval above zero")
    shown = ", ".join(f"{s:.0f}" for s in seconds)
    print(
        f"  wall time of `giddyup evaluate --retrain-every {walk['retrain_every']}` (features once, "
        f"{walk['n_steps']} step fits + the single fit): median {statistics.median(seconds):.0f} s of {len(seconds)} "
        f"run(s) ({shown})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="Folder for the reports (default: a temp dir).")
    parser.add_argument("--runs", type=int, default=1, help="Repeat the evaluation for a median wall time.")
    parser.add_argument("--retrain-every", default="season")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_hk_walk_forward_"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}; reports in {out}")
    dsn, new = database(HK_DB)
    started = time.perf_counter()
    giddyup("load", "hkjc", str(HK_FILE), dsn=dsn, artifacts=out / "artifacts")
    print(f"HK file loaded into {HK_DB} in {time.perf_counter() - started:.0f} s" + (" (new database)" if new else ""))
    train_until, test_from, test_until = WINDOW
    seconds = []
    for _ in range(args.runs):
        started = time.perf_counter()
        stdout = giddyup(
            "evaluate", "--train-until", train_until, "--test-from", test_from, "--test-until", test_until,
            "--retrain-every", args.retrain_every, "--out", str(out / "hk"), dsn=dsn, artifacts=out / "artifacts",
        )  # fmt: skip
        seconds.append(time.perf_counter() - started)
    print(stdout.rstrip())
    print_table(json.loads((out / "hk" / "evaluation.json").read_text()), seconds)
    print(f"\nmachine at the end: {machine()}")


if __name__ == "__main__":
    main()
