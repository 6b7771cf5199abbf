"""Benchmark: the win model's targets (issue 4), printed, never asserted.

1. HK (../shared/data/hkjc): `giddyup evaluate --train-until 2020-08-31 --test-from 2020-09-01
   --test-until 2022-07-31`. Targets: model R² >= 0.13; combined R² at least 0.005 above market R².
2. Simulated world (`giddyup sim --preset full`, 3 years, about 300,000 runners): `giddyup evaluate`
   on its last six months; model R² against the oracle R² of the simulator's true probabilities.
3. Speed: the whole fit (cross-validation, calibration, combiner, place model, final booster) on
   300,000 runners of the simulated world, target under 5 minutes; and `giddyup train` end to end
   (features, fit, holdout scoring, MLflow logging and registration).

Optionally (--compare-objectives) the HK and simulated evaluations are repeated with each objective
(conditional logit and binary) through the Python API, for the objective choice.

Databases (on the PG_DSN server) are kept between runs and reused: loading the HK file and the
simulated world is idempotent. The machine is shared; its load is printed with the figures.

    PG_DSN=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/bench_model_targets.py
        [--out DIR] [--skip-hk] [--skip-sim] [--skip-speed] [--compare-objectives]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import conninfo

REPO_ROOT = Path(__file__).resolve().parents[1]
HK_FILE = REPO_ROOT.parent / "shared" / "data" / "hkjc" / "hkjc_runs_2013_2022.csv"
HK_DB, SIM_DB = "giddyup_bench_model_hk", "giddyup_bench_model_sim"
HK_WINDOW = ("2020-08-31", "2020-09-01", "2022-07-31")
SIM_SEED = 7
SPEED_RUNNERS = 300_000
TARGETS = {"hk_model_r2": 0.13, "hk_combined_minus_market": 0.005, "train_seconds": 300.0}


def machine() -> str:
    load1, load5, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {load1:.1f} (1 min) / {load5:.1f} (5 min)"


def server_dsn() -> str:
    return conninfo.make_conninfo(
        os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"), dbname="postgres"
    )


def database(name: str) -> tuple[str, bool]:
    """DSN of database `name` (created and migrated as a dev copy when missing); True if new."""
    from giddyup.db.migrate import migrate

    server = server_dsn()
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    dsn = conninfo.make_conninfo(server, dbname=name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn, with_racing_reference=True)
    return dsn, not exists


def giddyup(*args: str, dsn: str, artifacts: Path) -> str:
    env = {**os.environ, "PG_DSN": dsn, "GIDDYUP_ARTIFACTS_DIR": str(artifacts)}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "giddyup.cli.main", *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"giddyup {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def print_evaluation(title: str, result: dict) -> None:
    print(f"\n{title}: {result['n_races']} races, {result['n_runners']} runners, market price {result['market_price']}")
    print(f"  {'':10s} {'R2':>8s} {'logloss':>9s} {'ECE':>8s} {'top pick':>9s}")
    for source in ("market", "model", "combined", "oracle"):
        if source in result:
            print(
                f"  {source:10s} {result[source]['r2']:8.4f} {result[source]['logloss']:9.4f} "
                f"{result['ece'][source]:8.4f} {result['top_pick_strike_rate'][source]:9.3f}"
            )
    raw = result["model_uncalibrated"]
    print(f"  model before isotonic: R2 {raw['r2']:.4f}; combiner {json.dumps(result['combiner']['coef'])}")
    vs_market = result["combiner"].get("vs_market")
    if vs_market:
        terms = ", ".join(
            f"{name} {coef:+.3f} (se {vs_market['std_err'][name]:.3f})" for name, coef in vs_market["coef"].items()
        )
        print(f"  combiner versus-market terms (per lb): {terms}")
    for source in ("model", "combined"):
        roi = result["roi"][source]
        shown = f"{roi['roi']:+.3f}" if roi["roi"] is not None else "n/a"
        print(
            f"  staking {source:8s}: {roi['bets']} bets, profit {roi['profit']:+.1f}, ROI {shown} ({result['roi']['rule']})"
        )


def met(value: float, target: float, above: bool = True) -> str:
    return "MET" if (value >= target if above else value <= target) else "NOT MET"


def hk(out: Path) -> dict:
    dsn, new = database(HK_DB)
    started = time.perf_counter()
    giddyup("load", "hkjc", str(HK_FILE), dsn=dsn, artifacts=out / "artifacts")
    print(f"HK file loaded into {HK_DB} in {time.perf_counter() - started:.0f} s" + (" (new database)" if new else ""))
    started = time.perf_counter()
    train_until, test_from, test_until = HK_WINDOW
    giddyup(
        "evaluate",
        "--train-until",
        train_until,
        "--test-from",
        test_from,
        "--test-until",
        test_until,
        "--out",
        str(out / "hk"),
        dsn=dsn,
        artifacts=out / "artifacts",
    )
    result = json.loads((out / "hk" / "evaluation.json").read_text())
    print_evaluation(f"HK evaluation ({time.perf_counter() - started:.0f} s)", result)
    gap = result["combined"]["r2"] - result["market"]["r2"]
    print(
        f"  target model R2 >= {TARGETS['hk_model_r2']}: {result['model']['r2']:.4f} "
        f"{met(result['model']['r2'], TARGETS['hk_model_r2'])}"
    )
    print(
        f"  target combined - market >= {TARGETS['hk_combined_minus_market']}: {gap:+.4f} "
        f"{met(gap, TARGETS['hk_combined_minus_market'])}"
    )
    return result


def sim_world() -> tuple[str, dt.date]:
    dsn, _ = database(SIM_DB)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT max(race_date) FROM racing.races WHERE NOT prelim").fetchone()
    if row is None or row[0] is None:
        started = time.perf_counter()
        giddyup("sim", "--preset", "full", "--seed", str(SIM_SEED), dsn=dsn, artifacts=Path(tempfile.mkdtemp()))
        print(f"simulated world (seed {SIM_SEED}) written into {SIM_DB} in {time.perf_counter() - started:.0f} s")
        return sim_world()
    return dsn, row[0]


def sim(out: Path) -> dict:
    dsn, last = sim_world()
    test_from = last - dt.timedelta(days=183)
    started = time.perf_counter()
    giddyup(
        "evaluate",
        "--train-until",
        str(test_from - dt.timedelta(days=1)),
        "--test-from",
        str(test_from),
        "--test-until",
        str(last),
        "--out",
        str(out / "sim"),
        dsn=dsn,
        artifacts=out / "artifacts",
    )
    result = json.loads((out / "sim" / "evaluation.json").read_text())
    print_evaluation(
        f"simulated world evaluation, test {test_from}..{last} ({time.perf_counter() - started:.0f} s)", result
    )
    if "oracle" in result:
        print(
            f"  model R2 {result['model']['r2']:.4f} against oracle R2 {result['oracle']['r2']:.4f} "
            f"({result['model']['r2'] / result['oracle']['r2']:.0%} of the oracle; market {result['market']['r2']:.4f})"
        )
    return result


def speed(out: Path) -> dict:
    import polars as pl

    from giddyup.features.build import build_training_features
    from giddyup.features.contract import FeatureSet
    from giddyup.model.params import TrainConfig
    from giddyup.model.train import fit_win_model, resulted_rows

    dsn, last = sim_world()
    started = time.perf_counter()
    features = build_training_features(dsn, until=last)
    built = time.perf_counter() - started
    frame = resulted_rows(features.frame).sort("race_date", "race_id", descending=True)
    # the latest races holding 300,000 runners (whole races)
    frame = frame.filter(pl.int_range(pl.len()) < SPEED_RUNNERS)
    frame = frame.filter(pl.len().over("race_id") == pl.col("field_size"))
    subset = FeatureSet(frame, features.feature_columns, features.categorical_columns)
    config = TrainConfig()
    started = time.perf_counter()
    fit = fit_win_model(subset, config)
    seconds = time.perf_counter() - started
    print(f"\nspeed: features for {features.frame.height} runners built in {built:.0f} s (not counted)")
    print(
        f"  fit on {frame.height} runners, {len(features.feature_columns)} features, {config.n_folds} folds, "
        f"{fit.bundle.metadata['rounds']} final rounds (fold best {fit.bundle.metadata['fold_best_iterations']}), "
        f"{config.num_threads} threads: {seconds:.0f} s; target < {TARGETS['train_seconds']:.0f} s "
        f"{met(seconds, TARGETS['train_seconds'], above=False)}"
    )
    started = time.perf_counter()
    stdout = giddyup(
        "train", "--date", str(last + dt.timedelta(days=1)), "--promote", "auto", dsn=dsn, artifacts=out / "artifacts"
    )
    print(f"  `giddyup train` end to end on the whole world: {time.perf_counter() - started:.0f} s")
    for line in stdout.strip().splitlines()[-6:]:
        print(f"    {line}")
    return {"fit_seconds": seconds, "runners": frame.height}


def compare_objectives() -> None:
    import polars as pl

    from giddyup.features.build import build_training_features
    from giddyup.features.contract import FeatureSet
    from giddyup.model.evaluate import evaluate_feature_sets
    from giddyup.model.params import TrainConfig
    from giddyup.sim.truth import truth_of_runners

    worlds = {"HK": (database(HK_DB)[0], dt.date.fromisoformat(HK_WINDOW[0]), dt.date.fromisoformat(HK_WINDOW[2]))}
    dsn, last = sim_world()
    worlds["sim"] = (dsn, last - dt.timedelta(days=184), last)
    print("\nobjective comparison (same features, same windows):")
    for name, (dsn, train_until, test_until) in worlds.items():
        features = build_training_features(dsn, until=test_until)
        train = FeatureSet(
            features.frame.filter(pl.col("race_date") <= train_until),
            features.feature_columns,
            features.categorical_columns,
        )
        test = FeatureSet(
            features.frame.filter(pl.col("race_date") > train_until),
            features.feature_columns,
            features.categorical_columns,
        )
        truth = truth_of_runners(dsn, test.frame.get_column("runner_id").to_list())
        for objective in ("conditional_logit", "binary"):
            started = time.perf_counter()
            result, _ = evaluate_feature_sets(train, test, config=TrainConfig(objective=objective), truth=truth)
            print(
                f"  {name:4s} {objective:18s} model R2 {result['model']['r2']:.4f} (before isotonic "
                f"{result['model_uncalibrated']['r2']:.4f}), combined {result['combined']['r2']:.4f}, "
                f"market {result['market']['r2']:.4f}, {result['training']['rounds']} rounds, "
                f"{time.perf_counter() - started:.0f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--out", type=Path, default=None, help="Folder for the evaluation reports (default: a temp dir)."
    )
    parser.add_argument("--skip-hk", action="store_true")
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--compare-objectives", action="store_true")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_model_"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}; reports in {out}")
    if not args.skip_hk:
        hk(out)
    if not args.skip_sim:
        sim(out)
    if not args.skip_speed:
        speed(out)
    if args.compare_objectives:
        compare_objectives()
    print(f"\nmachine at the end: {machine()}")


if __name__ == "__main__":
    main()
