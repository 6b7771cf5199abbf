"""`giddyup evaluate`: fit on races up to D1, predict D2..D3, score model, combined and market.

Scored races are single-winner races where every starter has a price in the market column. The
market's probability is 1/price normalised within the race. On simulated data the oracle (the
simulator's true probabilities) is scored on the same races.
"""

from __future__ import annotations

import polars as pl
from matplotlib.figure import Figure

from giddyup.errors import GiddyUpError
from giddyup.features.contract import FeatureSet
from giddyup.model.evaluation_report import calibration_figure, importance_figure, profit_figure
from giddyup.model.params import TrainConfig
from giddyup.model.race_probability import RaceGroups
from giddyup.model.scores import probability_scores, scored_races, staking_profit
from giddyup.model.train import fit_win_model, predict_frame, resulted_rows

EDGE_GRID = (0.0, 0.05, 0.1, 0.2, 0.3)


def feature_importance(bundle) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "feature": list(bundle.feature_columns),
            "gain": bundle.booster.feature_importance("gain").astype(float),
            "splits": bundle.booster.feature_importance("split").astype(int),
        }
    ).sort("gain", descending=True)


def evaluate_feature_sets(
    train: FeatureSet,
    test: FeatureSet,
    *,
    config: TrainConfig | None = None,
    market_price: str = "auto",
    min_edge: float = 0.1,
    truth: pl.DataFrame | None = None,
    window: dict | None = None,
) -> tuple[dict, dict[str, Figure]]:
    """(evaluation.json content, figures). `truth`: runner_id, p_true (simulated worlds only)."""
    config = config or TrainConfig()
    fit = fit_win_model(train, config, price_column=market_price)
    bundle = fit.bundle
    price_column = bundle.combiner["price_column"]
    test_rows = resulted_rows(test.frame)
    if test_rows.height == 0:
        raise GiddyUpError("no resulted race in the test period")
    if price_column not in test_rows.columns:
        raise GiddyUpError(f"the test races have no {price_column} column")
    predicted = predict_frame(bundle, test_rows).with_columns(pl.Series("p_raw", bundle.p_uncalibrated(test_rows)))
    scored = scored_races(predicted, price_column)
    if scored.height == 0:
        raise GiddyUpError(f"no test race has one winner and a {price_column} price for every starter")
    sources = {"market": "p_market", "model": "p_model", "combined": "p_win"}
    if truth is not None:
        scored = scored.join(truth.select("runner_id", "p_true"), on="runner_id", how="left")
        if scored.get_column("p_true").null_count() == 0:
            groups = RaceGroups.of(scored.get_column("race_id").to_numpy())
            scored = scored.with_columns(
                pl.Series("p_oracle", groups.normalise(scored.get_column("p_true").to_numpy()))
            )
            sources["oracle"] = "p_oracle"
    scores = {label: probability_scores(scored, column) for label, column in sources.items()}
    uncalibrated = probability_scores(scored, "p_raw")

    roi: dict = {"rule": f"1 unit on every runner with p x {price_column} - 1 > {min_edge}, at {price_column}"}
    curves = {}
    for label in ("model", "combined"):
        summary, bets = staking_profit(scored, sources[label], price_column, min_edge)
        roi[label] = summary
        curves[label] = bets
    roi["by_min_edge"] = {
        label: {str(edge): staking_profit(scored, sources[label], price_column, edge)[0]["roi"] for edge in EDGE_GRID}
        for label in ("model", "combined")
    }

    result = {
        "n_races": scored.get_column("race_id").n_unique(),
        "n_runners": scored.height,
        "market_price": price_column,
        "window": window or {},
        **{label: {"r2": s["r2"], "logloss": s["logloss"]} for label, s in scores.items()},
        "ece": {label: s["ece"] for label, s in scores.items()},
        "brier": {label: s["brier"] for label, s in scores.items()},
        "top_pick_strike_rate": {label: s["top_pick_strike_rate"] for label, s in scores.items()},
        "roi": roi,
        "model_uncalibrated": {
            "r2": uncalibrated["r2"],
            "logloss": uncalibrated["logloss"],
            "ece": uncalibrated["ece"],
        },
        "combiner": {
            k: bundle.combiner[k] for k in ("coef", "std_err", "n_races", "vs_market") if k in bundle.combiner
        },
        "place_model": bundle.combiner.get("place"),
        "training": {
            **{
                k: bundle.metadata[k]
                for k in (
                    "fit_from",
                    "fit_until",
                    "n_races",
                    "n_runners",
                    "rounds",
                    "fold_best_iterations",
                    "fold_valid_logloss",
                )
            },
            "objective": config.objective,
            "n_features": len(bundle.feature_columns),
        },
        "feature_importance": feature_importance(bundle).head(30).to_dicts(),
    }
    figures = {
        "Calibration (test races)": calibration_figure(scored, {k: v for k, v in sources.items()}),
        "Cumulative profit": profit_figure(curves, roi["rule"]),
        "Feature importance": importance_figure(feature_importance(bundle)),
    }
    return result, figures
