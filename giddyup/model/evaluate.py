"""`giddyup evaluate`: fit on races up to D1, predict D2..D3, score model, combined and market.

Scored races are single-winner races where every starter has a price in the market column. The
market's probability is 1/price normalised within the race. On simulated data the oracle (the
simulator's true probabilities) is scored on the same races.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from matplotlib.figure import Figure

from giddyup.errors import GiddyUpError
from giddyup.features.contract import FeatureSet
from giddyup.model.bundle import ModelBundle
from giddyup.model.edge import logloss_gain
from giddyup.model.evaluation_report import calibration_figure, importance_figure, profit_figure
from giddyup.model.params import TrainConfig
from giddyup.model.race_probability import RaceGroups
from giddyup.model.scores import probability_scores, scored_races, staking_profit
from giddyup.model.train import fit_win_model, predict_frame, resulted_rows

EDGE_GRID = (0.0, 0.05, 0.1, 0.2, 0.3)
SOURCES = {"market": "p_market", "model": "p_model", "combined": "p_win"}
TRAINING_KEYS = (
    "fit_from",
    "fit_until",
    "n_races",
    "n_runners",
    "rounds",
    "fold_best_iterations",
    "fold_valid_logloss",
)


def feature_importance(bundle) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "feature": list(bundle.feature_columns),
            "gain": bundle.booster.feature_importance("gain").astype(float),
            "splits": bundle.booster.feature_importance("split").astype(int),
        }
    ).sort("gain", descending=True)


@dataclass
class ScoredTest:
    """A fitted model and its test races scored: runner rows of scored races with p_raw, p_model,
    p_market, p_win (and p_oracle on a simulated world); `sources` maps a label to its column."""

    bundle: ModelBundle
    scored: pl.DataFrame
    sources: dict[str, str]
    price_column: str


def fit_and_score(
    train: FeatureSet,
    test: FeatureSet,
    *,
    config: TrainConfig,
    market_price: str = "auto",
    truth: pl.DataFrame | None = None,
) -> ScoredTest:
    """Fit the win model on `train` (the training code of `giddyup train`) and predict `test`."""
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
    sources = dict(SOURCES)
    if truth is not None:
        scored = scored.join(truth.select("runner_id", "p_true"), on="runner_id", how="left")
        if scored.get_column("p_true").null_count() == 0:
            groups = RaceGroups.of(scored.get_column("race_id").to_numpy())
            scored = scored.with_columns(
                pl.Series("p_oracle", groups.normalise(scored.get_column("p_true").to_numpy()))
            )
            sources["oracle"] = "p_oracle"
    return ScoredTest(bundle, scored, sources, price_column)


def score_block(scored: pl.DataFrame, sources: dict[str, str]) -> dict:
    """Races, runners, R² and log loss per source, ECE, Brier, top pick, and the edge evidence."""
    scores = {label: probability_scores(scored, column) for label, column in sources.items()}
    return {
        "n_races": scored.get_column("race_id").n_unique(),
        "n_runners": scored.height,
        **{label: {"r2": s["r2"], "logloss": s["logloss"]} for label, s in scores.items()},
        "ece": {label: s["ece"] for label, s in scores.items()},
        "brier": {label: s["brier"] for label, s in scores.items()},
        "top_pick_strike_rate": {label: s["top_pick_strike_rate"] for label, s in scores.items()},
        "edge_vs_market": logloss_gain(scored, sources["combined"], sources["market"]),
    }


def staking_block(
    scored: pl.DataFrame, sources: dict[str, str], price_column: str, min_edge: float
) -> tuple[dict, dict[str, pl.DataFrame]]:
    """The staking rule's summary for model and combined (and over EDGE_GRID), and its bets."""
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
    return roi, curves


def model_summary(bundle: ModelBundle, config: TrainConfig) -> dict:
    """combiner, place_model and training blocks of evaluation.json for one fitted model."""
    return {
        "combiner": {
            k: bundle.combiner[k] for k in ("coef", "std_err", "n_races", "vs_market") if k in bundle.combiner
        },
        "place_model": bundle.combiner.get("place"),
        "training": {
            **{k: bundle.metadata[k] for k in TRAINING_KEYS},
            "objective": config.objective,
            "n_features": len(bundle.feature_columns),
        },
    }


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
    done = fit_and_score(train, test, config=config, market_price=market_price, truth=truth)
    scored, sources, bundle = done.scored, done.sources, done.bundle
    block = score_block(scored, sources)
    roi, curves = staking_block(scored, sources, done.price_column, min_edge)
    uncalibrated = probability_scores(scored, "p_raw")
    result = {
        "n_races": block.pop("n_races"),
        "n_runners": block.pop("n_runners"),
        "market_price": done.price_column,
        "window": window or {},
        **block,
        "roi": roi,
        "model_uncalibrated": {
            "r2": uncalibrated["r2"],
            "logloss": uncalibrated["logloss"],
            "ece": uncalibrated["ece"],
        },
        **model_summary(bundle, config),
        "feature_importance": feature_importance(bundle).head(30).to_dicts(),
    }
    figures = {
        "Calibration (test races)": calibration_figure(scored, dict(sources)),
        "Cumulative profit": profit_figure(curves, roi["rule"]),
        "Feature importance": importance_figure(feature_importance(bundle)),
    }
    return result, figures
