"""The promotion gate: does the new version beat production on the same holdout races?

Both versions score the challenger's holdout races (single-winner, complete market) that come
after the last race day production was fitted on, so neither is scored on races it learned from.
The compared figure is the log loss of p_win (what is published); p_model's is reported too.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from giddyup.errors import GiddyUpError
from giddyup.model.bundle import ModelBundle
from giddyup.model.scores import probability_scores, scored_races
from giddyup.model.train import predict_frame

MIN_COMPARED_RACES = 20


def compare_on_holdout(holdout: pl.DataFrame, production: ModelBundle, price_column: str) -> dict:
    """Scores of challenger (holdout's p_model/p_win columns) and production on the same races."""
    races = scored_races(holdout, price_column)
    fit_until = production.metadata.get("fit_until")
    if fit_until:
        races = races.filter(pl.col("race_date") > dt.date.fromisoformat(str(fit_until)[:10]))
    result: dict = {
        "metric": "combined_logloss",
        "compared_from_after": fit_until,
        "n_races": races.get_column("race_id").n_unique() if races.height else 0,
    }
    result["challenger"] = {
        "model_logloss": probability_scores(races, "p_model")["logloss"],
        "combined_logloss": probability_scores(races, "p_win")["logloss"],
    }
    try:
        scored = predict_frame(production, races.drop("p_model", "p_market", "overround", "p_win"))
    except GiddyUpError as exc:
        result["production"] = None
        result["production_error"] = str(exc)
        return result
    result["production"] = {
        "model_logloss": probability_scores(scored, "p_model")["logloss"],
        "combined_logloss": probability_scores(scored, "p_win")["logloss"],
    }
    return result


def decide(comparison: dict | None, mode: str) -> tuple[bool, str]:
    """(promote?, why) for --promote auto|never."""
    if mode == "never":
        return False, "--promote never"
    if comparison is None:
        return True, "no production version yet"
    if comparison.get("production") is None:
        return False, f"production cannot score this holdout ({comparison.get('production_error')}); promote by hand"
    if comparison["n_races"] < MIN_COMPARED_RACES:
        return False, (
            f"only {comparison['n_races']} holdout races after production's training data "
            f"(need {MIN_COMPARED_RACES}); promote by hand"
        )
    new, old = comparison["challenger"]["combined_logloss"], comparison["production"]["combined_logloss"]
    if new < old:
        return True, f"combined log loss {new:.5f} < production {old:.5f} on {comparison['n_races']} races"
    return False, f"combined log loss {new:.5f} does not beat production {old:.5f} on {comparison['n_races']} races"
