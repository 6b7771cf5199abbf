"""What the feature stage hands to the model, scoring and drift stages.

One row per starter (non-runners excluded; non-finishers kept as losers). The frame holds:
- ID_COLUMNS: who and where;
- LABEL_COLUMNS: the result (NULL for races not yet run);
- MARKET_COLUMNS: prices and market probabilities, for the combination stage and evaluation only,
  never inputs of the fundamental model;
- the fundamental feature columns listed in `feature_columns`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import polars as pl

ID_COLUMNS = (
    "race_id",
    "runner_id",
    "horse_id",
    "race_date",
    "region",
    "course_id",
    "off_time",
    "field_size",  # starters in the race (non-runners excluded)
)
LABEL_COLUMNS = (
    "won",  # bool: pos_num = 1 (each dead-heat winner too)
    "win_share",  # float: 1/(number of winners) for a winner, else 0; sums to 1 per resulted race
    "pos_num",
    "finished",  # bool: has a numeric position
)
MARKET_COLUMNS = (
    "dec",  # SP
    "win_bsp",
    "win_ppwap",
    "win_morningwap",
    "best_odds",
    "win_pre_vol",
    "win_morning_vol",
    # Built by giddyup.features.market: 1/price normalised over the race's starters
    # (non-finishers included), and the book Σ 1/price. NULL where the race has no such price.
    "p_market_dec",
    "overround_dec",
    "p_market_bsp",
    "overround_bsp",
)


def feature_list_hash(feature_columns, categorical_columns=()) -> str:
    """A short stable hash of a feature list (order matters) and its categorical set."""
    payload = json.dumps({"features": list(feature_columns), "categorical": sorted(categorical_columns)})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FeatureSet:
    frame: pl.DataFrame
    feature_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...] = ()

    def feature_hash(self) -> str:
        return feature_list_hash(self.feature_columns, self.categorical_columns)

    def features(self) -> pl.DataFrame:
        return self.frame.select(self.feature_columns)

    def check(self) -> None:
        """Structural guarantees every consumer relies on."""
        reserved = set(ID_COLUMNS) | set(LABEL_COLUMNS) | set(MARKET_COLUMNS)
        leaked = sorted(reserved.intersection(self.feature_columns))
        if leaked:
            raise ValueError(f"feature columns include id/label/market columns: {leaked}")
        missing = [c for c in (*ID_COLUMNS, *self.feature_columns) if c not in self.frame.columns]
        if missing:
            raise ValueError(f"feature frame lacks columns: {missing}")
        if self.frame.get_column("runner_id").is_duplicated().any():
            raise ValueError("feature frame has more than one row for a runner_id")
        unknown_categoricals = sorted(set(self.categorical_columns) - set(self.feature_columns))
        if unknown_categoricals:
            raise ValueError(f"categorical columns that are not features: {unknown_categoricals}")
