"""Experiment: can a better second stage (fundamental model + market) reach the HK target?

HK benchmark window: train to 2020-08-31, test 2020-09-01 .. 2022-07-31. Target: combined McFadden
R² at least 0.005 above the market's. Every second-stage variant is fitted on out-of-fold (OOF) rows
of the training window only; the test window is touched only to score. A validation split inside
the training window (fit on OOF rows <= 2019-08-31, score OOF rows 2019-09-01 .. 2020-08-31, with
the isotonic calibrator refitted on the fit rows only) shows whether a choice holds up without
looking at the test window.

Stage 1 (cached in --cache): features, `fit_win_model` on the training window (the same call as
`giddyup evaluate`), OOF rows (p_raw, p_model, p_market) and the test rows with the final booster's
p_raw / p_model. Stage 2: the variants below, on the cached rows.

    PG_DSN=postgresql://postgres@127.0.0.1:5432/giddyup_bench_model_hk \
        .venv/bin/python benchmarks/exp_hk_second_stage.py [--cache DIR] [--refit]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl

from giddyup.model import lgbm
from giddyup.model.calibration import fit_isotonic
from giddyup.model.race_probability import RaceGroups, fit_conditional_logit

TRAIN_UNTIL = dt.date(2020, 8, 31)
TEST_FROM, TEST_UNTIL = dt.date(2020, 9, 1), dt.date(2022, 7, 31)
VALID_FIT_UNTIL = dt.date(2019, 8, 31)  # validation: fit on OOF <= this, score OOF after it
PRICE = "dec"
VS = ("horse_vs_market", "trainer_vs_market_30d", "trainer_vs_market_90d", "jockey_vs_market_90d", "draw_vs_market")
N_BOOT = 400


# ----------------------------------------------------------------------------------------- stage 1
def stage1(cache: Path, refit: bool, n_folds: int = 4) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    meta_file = cache / "meta.json"
    if meta_file.exists() and not refit:
        meta = json.loads(meta_file.read_text())
        return pl.read_parquet(cache / "oof.parquet"), pl.read_parquet(cache / "test.parquet"), meta

    from giddyup.features.build import build_training_features
    from giddyup.features.contract import FeatureSet
    from giddyup.model.params import TrainConfig
    from giddyup.model.train import fit_win_model, predict_frame, resulted_rows

    dsn = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/giddyup_bench_model_hk")
    started = time.perf_counter()
    features = build_training_features(dsn, until=TEST_UNTIL)
    built = time.perf_counter() - started
    frame = features.frame
    train = FeatureSet(
        frame.filter(pl.col("race_date") <= TRAIN_UNTIL), features.feature_columns, features.categorical_columns
    )
    started = time.perf_counter()
    fit = fit_win_model(train, TrainConfig(n_folds=n_folds), price_column="auto")
    fitted = time.perf_counter() - started
    bundle = fit.bundle
    test_rows = resulted_rows(frame.filter(pl.col("race_date") >= TEST_FROM))
    test = predict_frame(bundle, test_rows).with_columns(pl.Series("p_raw", bundle.p_uncalibrated(test_rows)))
    cache.mkdir(parents=True, exist_ok=True)
    fit.oof.write_parquet(cache / "oof.parquet")
    test.write_parquet(cache / "test.parquet")
    meta = {
        "feature_columns": list(features.feature_columns),
        "categorical_columns": [c for c in features.categorical_columns if c in features.feature_columns],
        "price_column": bundle.combiner["price_column"],
        "combiner": {k: v for k, v in bundle.combiner.items() if k != "place"},
        "build_seconds": built,
        "fit_seconds": fitted,
        "rounds": bundle.metadata["rounds"],
    }
    meta_file.write_text(json.dumps(meta, indent=1, default=str))
    return fit.oof, test, meta


# ------------------------------------------------------------------------------------- utilities
def usable(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of resulted races with a complete market (what the combiner is fitted on)."""
    return frame.filter(pl.col("p_market").is_not_nan().all().over("race_id")).sort("race_date", "race_id", "runner_id")


def scored(frame: pl.DataFrame) -> pl.DataFrame:
    """Single-winner races with a complete market (what the benchmark scores)."""
    return usable(frame).filter(pl.col("won").cast(pl.Int32).sum().over("race_id") == 1)


def log_inputs(frame: pl.DataFrame) -> dict[str, np.ndarray]:
    g = RaceGroups.of(frame.get_column("race_id").to_numpy())
    pm = frame.get_column("p_model").to_numpy()
    pk = g.normalise(frame.get_column("p_market").to_numpy())
    fs = g.broadcast(g.sizes).astype(float)
    out = {"lpm": np.log(pm), "lpk": np.log(pk), "lfs": np.log(fs), "fs": fs, "g": g}
    for name in VS:
        v = frame.get_column(name).cast(pl.Float64).to_numpy()
        out[name] = np.where(np.isfinite(v), v, 0.0)
    # within-race centred log p_market (a race-constant shift cancels; the square does not)
    out["lpk_c"] = out["lpk"] - g.broadcast(g.sum(out["lpk"]) / g.sizes)
    out["lpm_c"] = out["lpm"] - g.broadcast(g.sum(out["lpm"]) / g.sizes)
    ranks = (
        frame.select(pl.col("p_model").rank("ordinal", descending=True).over("race_id")).to_series().to_numpy()
    ).astype(float)
    out["pm_rank_top"] = (ranks == 1).astype(float)
    kr = (
        frame.select(pl.col("p_market").rank("ordinal", descending=True).over("race_id")).to_series().to_numpy()
    ).astype(float)
    out["pk_rank_top"] = (kr == 1).astype(float)
    out["book"] = frame.get_column("overround").to_numpy() if "overround" in frame.columns else None
    return out


def hinge(x: np.ndarray, knots) -> list[np.ndarray]:
    return [np.maximum(x - k, 0.0) for k in knots]


def design(name: str, z: dict, knots: dict) -> np.ndarray:
    """Design matrix (columns) of a linear variant."""
    lpm, lpk, lfs = z["lpm"], z["lpk"], z["lfs"]
    vs = [z[v] for v in VS]
    cols: list[np.ndarray]
    if name == "benter2":
        cols = [lpm, lpk]
    elif name == "baseline":
        cols = [lpm, lpk, *vs]
    elif name == "lpk_sq":
        cols = [lpm, lpk, *vs, lpk**2]
    elif name == "lpk_spline":
        cols = [lpm, lpk, *vs, *hinge(lpk, knots["lpk"])]
    elif name == "fs_inter":
        cols = [lpm, lpk, *vs, lpk * (lfs - 2.5), lpm * (lfs - 2.5)]
    elif name == "sq_fs":
        cols = [lpm, lpk, *vs, lpk**2, lpk * (lfs - 2.5), lpm * (lfs - 2.5)]
    elif name == "spline_fs":
        cols = [lpm, lpk, *vs, *hinge(lpk, knots["lpk"]), lpk * (lfs - 2.5), lpm * (lfs - 2.5)]
    elif name == "spline_both":
        cols = [lpm, lpk, *vs, *hinge(lpk, knots["lpk"]), *hinge(lpm, knots["lpm"])]
    elif name == "pm_x_pk":
        cols = [lpm, lpk, *vs, lpk**2, lpm * lpk]
    elif name == "ranks":
        cols = [lpm, lpk, *vs, z["pm_rank_top"], z["pk_rank_top"]]
    elif name == "all_linear":
        cols = [
            lpm, lpk, *vs, *hinge(lpk, knots["lpk"]), *hinge(lpm, knots["lpm"]),
            lpk * (lfs - 2.5), lpm * (lfs - 2.5), lpm * lpk, z["pm_rank_top"], z["pk_rank_top"],
        ]  # fmt: skip
    else:
        raise ValueError(name)
    return np.column_stack(cols)


LINEAR = (
    "benter2", "baseline", "lpk_sq", "lpk_spline", "fs_inter", "sq_fs", "spline_fs", "spline_both",
    "pm_x_pk", "ranks", "all_linear",
)  # fmt: skip


def fit_linear(x: np.ndarray, frame: pl.DataFrame) -> np.ndarray:
    y = frame.get_column("win_share").cast(pl.Float64).to_numpy()
    start = np.zeros(x.shape[1])
    start[:2] = 0.5
    return fit_conditional_logit(frame.get_column("race_id").to_numpy(), x, y, start=start).coef


def score(frame: pl.DataFrame, logit: np.ndarray) -> dict:
    """R², log loss of softmax(logit) and of the market on the frame's scored races; plus per-race
    log p(winner) arrays for the bootstrap."""
    g = RaceGroups.of(frame.get_column("race_id").to_numpy())
    won = frame.get_column("won").cast(pl.Float64).to_numpy()
    lp = g.log_softmax(logit)
    lpk = np.log(g.normalise(frame.get_column("p_market").to_numpy()))
    lw, lwk = g.sum(won * lp), g.sum(won * lpk)
    lfs = np.log(g.sizes)
    r2 = 1 - (-lw.sum()) / lfs.sum()
    r2k = 1 - (-lwk.sum()) / lfs.sum()
    return {
        "r2": float(r2), "market_r2": float(r2k), "delta": float(r2 - r2k), "logloss": float(-lw.mean()),
        "market_logloss": float(-lwk.mean()), "n_races": int(g.n_races), "_lw": lw, "_lwk": lwk, "_lfs": lfs,
    }  # fmt: skip


def boot_se(s: dict, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    n = s["_lw"].size
    deltas = []
    for _ in range(N_BOOT):
        i = rng.integers(0, n, n)
        deltas.append((s["_lw"][i].sum() - s["_lwk"][i].sum()) / s["_lfs"][i].sum())
    return float(np.std(deltas))


def knots_of(z: dict) -> dict:
    return {
        "lpk": list(np.quantile(z["lpk"], [0.2, 0.4, 0.6, 0.8, 0.95])),
        "lpm": list(np.quantile(z["lpm"], [0.2, 0.5, 0.8, 0.95])),
    }


# ------------------------------------------------------------------------------ residual booster
class OffsetRaceObjective(lgbm._RaceObjective):
    """The project's race-softmax objective (winner only); LightGBM adds init_score to preds."""


def booster_matrix(frame: pl.DataFrame, meta: dict, extra: dict[str, np.ndarray]):
    x = lgbm.to_pandas_features(frame, meta["feature_columns"], meta["categorical_columns"])
    for name, values in extra.items():
        x[name] = values
    return x


BOOST_PARAMS = {
    "learning_rate": 0.01,
    "num_leaves": 4,
    "min_data_in_leaf": 1500,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 50.0,
    "max_bin": 63,
    "num_threads": 2,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
    "metric": "None",
    "min_sum_hessian_in_leaf": 10.0,
}


def _train_booster(x, race_id, y, offset, categorical, rounds, valid=None, params=None, pos=None, weights=(1.0,)):
    objective = OffsetRaceObjective("conditional_logit", weights)
    p = (params or BOOST_PARAMS) | {"objective": objective.gradient}
    train_set = lgb.Dataset(x, label=y, init_score=offset, categorical_feature=categorical or "auto",
                            free_raw_data=False, params={"max_bin": p["max_bin"], "verbosity": -1})  # fmt: skip
    objective.register(train_set, race_id, y, pos)
    kwargs = {}
    if valid is not None:
        vx, vrace, vy, voff = valid
        valid_set = lgb.Dataset(
            vx, label=vy, init_score=voff, reference=train_set, categorical_feature=categorical or "auto"
        )
        objective.register(valid_set, vrace, vy)
        kwargs = {
            "valid_sets": [valid_set], "valid_names": ["valid"], "feval": objective.metric,
            "callbacks": [lgb.early_stopping(100, verbose=False), lgb.record_evaluation(rec := {})],
        }  # fmt: skip
    booster = lgb.train(p, train_set, num_boost_round=rounds, **kwargs)
    if valid is not None:
        curve = np.array(rec["valid"]["race_logloss"])
        return booster, curve
    return booster, None


def residual_booster(fit: pl.DataFrame, ev: pl.DataFrame, meta: dict, offset_variant: str, with_market: bool,
                     params=None, log=print) -> dict:  # fmt: skip
    """Offset = the variant's conditional logit (fitted on `fit`); booster on fundamental features +
    vs_market + log p_model (+ log p_market when with_market: not integrable as a morning term)."""
    zf, ze = log_inputs(fit), log_inputs(ev)
    kn = knots_of(zf)
    xf_lin, xe_lin = design(offset_variant, zf, kn), design(offset_variant, ze, kn)
    coef = fit_linear(xf_lin, fit)
    off_f, off_e = xf_lin @ coef, xe_lin @ coef
    extra_f = {"log_p_model": zf["lpm"], "lpm_c": zf["lpm_c"]}
    extra_e = {"log_p_model": ze["lpm"], "lpm_c": ze["lpm_c"]}
    if with_market:
        extra_f |= {"log_p_market": zf["lpk"], "lpk_c": zf["lpk_c"]}
        extra_e |= {"log_p_market": ze["lpk"], "lpk_c": ze["lpk_c"]}
    xf, xe = booster_matrix(fit, meta, extra_f), booster_matrix(ev, meta, extra_e)
    race_f = fit.get_column("race_id").to_numpy()
    yf = fit.get_column("win_share").cast(pl.Float64).to_numpy()
    cat = meta["categorical_columns"]
    # rounds: forward-chained CV inside the fit rows (3 folds), offset refitted on each fold's rows
    dates = fit.get_column("race_date").to_numpy()
    best, gains = [], []
    for tr, va in lgbm.forward_folds(dates, 3):
        sub_tr = fit[tr]
        c = fit_linear(xf_lin[tr], sub_tr)
        _, curve = _train_booster(
            xf.iloc[tr], race_f[tr], yf[tr], xf_lin[tr] @ c, cat, 1500,
            valid=(xf.iloc[va], race_f[va], yf[va], xf_lin[va] @ c), params=params,
        )  # fmt: skip
        g = RaceGroups.of(race_f[va])
        base = -float(np.sum(yf[va] * g.log_softmax(xf_lin[va] @ c)) / g.n_races)
        best.append(int(np.argmin(curve)) + 1)
        gains.append(base - float(curve.min()))
    rounds = max(1, int(np.median(best) * 1.1))
    booster, _ = _train_booster(xf, race_f, yf, off_f, cat, rounds, params=params)
    r_e = booster.predict(xe, raw_score=True)
    log(f"    booster ({offset_variant}, market feature {with_market}): fold best rounds {best}, "
        f"fold logloss gain vs offset {[round(x, 5) for x in gains]}, final rounds {rounds}")  # fmt: skip
    return {"logit": off_e + r_e, "rounds": rounds, "fold_best": best, "fold_gain": gains}


# ------------------------------------------- market-offset booster on the whole training window
def full_window_frames(cache: Path) -> tuple[pl.DataFrame, dict]:
    """Every resulted training-window and test row with p_market (the whole window, not only OOF)."""
    file = cache / "full.parquet"
    meta = json.loads((cache / "meta.json").read_text())
    if file.exists():
        return pl.read_parquet(file), meta
    from giddyup.features.build import build_training_features
    from giddyup.model.market import market_probability
    from giddyup.model.train import resulted_rows

    dsn = os.environ.get("PG_DSN", "postgresql://postgres@127.0.0.1:5432/giddyup_bench_model_hk")
    frame = resulted_rows(build_training_features(dsn, until=TEST_UNTIL).frame)
    frame = frame.with_columns(pl.Series("p_market", market_probability(frame, PRICE)))
    frame.write_parquet(file)
    return frame, meta


def market_offset_booster(fit: pl.DataFrame, ev: pl.DataFrame, meta: dict, weights, params=None, log=print) -> dict:
    """r(i) from fundamental features only (no p_model, no price), offset b·log p_market (b fitted on
    `fit`), trained on every fit row; rounds by 3-fold forward-chained CV inside `fit`."""
    zf, ze = (
        log_inputs(fit.with_columns(pl.lit(0.1).alias("p_model"))),
        log_inputs(ev.with_columns(pl.lit(0.1).alias("p_model"))),
    )
    xf_lin, xe_lin = zf["lpk"][:, None], ze["lpk"][:, None]
    race_f = fit.get_column("race_id").to_numpy()
    yf = fit.get_column("win_share").cast(pl.Float64).to_numpy()
    pos = fit.get_column("pos_num").cast(pl.Float64).to_numpy()

    def b_of(rows):
        return fit_conditional_logit(race_f[rows], xf_lin[rows], yf[rows], start=np.ones(1)).coef

    xf, xe = booster_matrix(fit, meta, {}), booster_matrix(ev, meta, {})
    cat = meta["categorical_columns"]
    dates = fit.get_column("race_date").to_numpy()
    best, gains = [], []
    for tr, va in lgbm.forward_folds(dates, 3):
        c = b_of(tr)
        _, curve = _train_booster(
            xf.iloc[tr], race_f[tr], yf[tr], xf_lin[tr] @ c, cat, 2000,
            valid=(xf.iloc[va], race_f[va], yf[va], xf_lin[va] @ c), params=params, pos=pos[tr], weights=weights,
        )  # fmt: skip
        g = RaceGroups.of(race_f[va])
        base = -float(np.sum(yf[va] * g.log_softmax(xf_lin[va] @ c)) / g.n_races)
        best.append(int(np.argmin(curve)) + 1)
        gains.append(base - float(curve.min()))
    rounds = max(1, int(np.median(best) * 1.1))
    c = b_of(np.arange(fit.height))
    booster, _ = _train_booster(xf, race_f, yf, xf_lin @ c, cat, rounds, params=params, pos=pos, weights=weights)
    log(f"    market-offset booster (weights {weights}): b {c[0]:.3f}, fold best rounds {best}, "
        f"fold logloss gain vs market {[round(x, 5) for x in gains]}, final rounds {rounds}")  # fmt: skip
    return {"logit": xe_lin @ c + booster.predict(xe, raw_score=True), "rounds": rounds, "fold_best": best,
            "fold_gain": gains}  # fmt: skip


# ------------------------------------------------------------------------------------------ main
def split_frames(oof: pl.DataFrame, test: pl.DataFrame) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """name -> (fit rows, evaluation rows)."""
    # validation: refit the isotonic calibrator on the fit rows' p_raw only
    fit_v = oof.filter(pl.col("race_date") <= VALID_FIT_UNTIL)
    ev_v = oof.filter((pl.col("race_date") > VALID_FIT_UNTIL) & (pl.col("race_date") <= TRAIN_UNTIL))
    cal = fit_isotonic(fit_v.get_column("p_raw").to_numpy(), fit_v.get_column("win_share").cast(pl.Float64).to_numpy())

    def recal(f: pl.DataFrame) -> pl.DataFrame:
        return f.with_columns(
            pl.Series("p_model", cal.apply(f.get_column("race_id").to_numpy(), f.get_column("p_raw").to_numpy()))
        )

    return {
        "validation": (usable(recal(fit_v)), scored(recal(ev_v))),
        "test": (usable(oof), scored(test)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/hkexp_cache"))
    parser.add_argument("--refit", action="store_true")
    parser.add_argument("--n-folds", type=int, default=4, help="CV folds of stage 1 (more: more OOF rows)")
    parser.add_argument("--skip-boost", action="store_true")
    parser.add_argument("--ceiling", action="store_true", help="also print in-sample (dishonest) fits: an upper bound")
    parser.add_argument("--skip-linear", action="store_true")
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    t0 = time.perf_counter()
    if args.n_folds != 4:
        args.cache = args.cache.with_name(f"{args.cache.name}_folds{args.n_folds}")
    oof, test, meta = stage1(args.cache, args.refit, args.n_folds)
    print(f"stage 1: {oof.height} OOF rows ({oof['race_date'].min()}..{oof['race_date'].max()}), "
          f"{test.height} test rows; build {meta['build_seconds']:.0f} s, fit {meta['fit_seconds']:.0f} s "
          f"(cached: {time.perf_counter() - t0:.0f} s now)")  # fmt: skip
    print(f"production combiner: {json.dumps(meta['combiner']['coef'])}")
    splits = split_frames(oof, test)
    results: dict[str, dict] = {}
    for split, (fit, ev) in splits.items():
        if args.skip_linear and args.skip_boost:
            break
        print(f"\n== {split}: fit on {fit['race_id'].n_unique()} races "
              f"({fit['race_date'].min()}..{fit['race_date'].max()}), score {ev['race_id'].n_unique()} races "
              f"({ev['race_date'].min()}..{ev['race_date'].max()})")  # fmt: skip
        zf, ze = log_inputs(fit), log_inputs(ev)
        kn = knots_of(zf)
        pm_only = score(ev, ze["lpm"])
        print(f"  model alone R2 {pm_only['r2']:.4f}, market R2 {pm_only['market_r2']:.4f}")
        for name in () if args.skip_linear else LINEAR:
            started = time.perf_counter()
            coef = fit_linear(design(name, zf, kn), fit)
            s = score(ev, design(name, ze, kn) @ coef)
            s["se"] = boot_se(s)
            s["seconds"] = time.perf_counter() - started
            s["coef"] = [round(float(c), 4) for c in coef]
            results[f"{split}/{name}"] = s
            print(f"  {name:14s} R2 {s['r2']:.4f} market {s['market_r2']:.4f} delta {s['delta']:+.4f} "
                  f"(se {s['se']:.4f}) logloss {s['logloss']:.4f} (market {s['market_logloss']:.4f}) "
                  f"coef {s['coef'][:2]}..")  # fmt: skip
        if args.ceiling:  # diagnostic only: coefficients fitted on the scored rows themselves (not honest)
            for name in ("benter2", "baseline", "sq_fs", "spline_fs", "all_linear"):
                x = design(name, ze, knots_of(ze))
                s = score(ev, x @ fit_linear(x, ev))
                results[f"{split}/ceiling_{name}"] = s
                print(
                    f"  CEILING in-sample {name:12s} R2 {s['r2']:.4f} delta {s['delta']:+.4f} (fitted on the scored races)"
                )
        if args.skip_boost:
            continue
        for label, offset, with_market, params in (
            ("boost_resid", "baseline", False, None),
            ("boost_resid_b2", "benter2", False, None),
            ("boost_resid_mkt", "baseline", True, None),
            ("boost_resid_lr03", "baseline", False, BOOST_PARAMS | {"learning_rate": 0.03, "min_data_in_leaf": 3000}),
        ):
            started = time.perf_counter()
            b = residual_booster(fit, ev, meta, offset, with_market, params)
            s = score(ev, b["logit"])
            s["se"] = boot_se(s)
            s["seconds"] = time.perf_counter() - started
            s |= {k: b[k] for k in ("rounds", "fold_best", "fold_gain")}
            results[f"{split}/{label}"] = s
            print(f"  {label:14s} R2 {s['r2']:.4f} market {s['market_r2']:.4f} delta {s['delta']:+.4f} "
                  f"(se {s['se']:.4f}) logloss {s['logloss']:.4f} ({s['seconds']:.0f} s)")  # fmt: skip
    if not args.skip_full:
        full, meta = full_window_frames(args.cache)
        full_splits = {
            "validation": (usable(full.filter(pl.col("race_date") <= VALID_FIT_UNTIL)),
                           scored(full.filter((pl.col("race_date") > VALID_FIT_UNTIL) & (pl.col("race_date") <= TRAIN_UNTIL)))),
            "test": (usable(full.filter(pl.col("race_date") <= TRAIN_UNTIL)), scored(full.filter(pl.col("race_date") >= TEST_FROM))),
        }  # fmt: skip
        for split, (fit, ev) in full_splits.items():
            print(f"\n== {split} (whole window): fit on {fit['race_id'].n_unique()} races "
                  f"({fit['race_date'].min()}..{fit['race_date'].max()}), score {ev['race_id'].n_unique()} races")  # fmt: skip
            for label, weights, params in (
                ("mkt_offset_boost", (1.0,), None),
                ("mkt_offset_boost_rank", (1.0, 0.7, 0.5), None),
                (
                    "mkt_offset_boost_lr03",
                    (1.0,),
                    BOOST_PARAMS | {"learning_rate": 0.03, "num_leaves": 7, "min_data_in_leaf": 500, "lambda_l2": 10.0},
                ),
            ):
                started = time.perf_counter()
                b = market_offset_booster(fit, ev, meta, weights, params)
                s = score(ev, b["logit"])
                s["se"] = boot_se(s)
                s["seconds"] = time.perf_counter() - started
                s |= {k: b[k] for k in ("rounds", "fold_best", "fold_gain")}
                results[f"{split}/{label}"] = s
                print(f"  {label:22s} R2 {s['r2']:.4f} market {s['market_r2']:.4f} delta {s['delta']:+.4f} "
                      f"(se {s['se']:.4f}) logloss {s['logloss']:.4f} ({s['seconds']:.0f} s)")  # fmt: skip
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.out:
        args.out.write_text(
            json.dumps(
                {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in results.items()},
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
