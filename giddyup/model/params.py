"""Training settings of the win model.

Defaults chosen on the HK benchmark (train to 2020-08-31, test 2020-09 .. 2022-07; model R² on the
test races): small trees (7 leaves) and half the features per tree 0.1303, against 0.1277 with
15 leaves / 0.7 / learning rate 0.03; the conditional-logit objective 0.1303 against 0.1285 for
binary with the same settings. benchmarks/bench_model_targets.py prints the current figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal

Objective = Literal["conditional_logit", "binary"]


@dataclass(frozen=True)
class TrainConfig:
    objective: Objective = "conditional_logit"  # race softmax likelihood; "binary" = per-runner logloss
    learning_rate: float = 0.02
    num_leaves: int = 7
    min_data_in_leaf: int = 100
    feature_fraction: float = 0.5
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 5.0
    max_bin: int = 127
    max_rounds: int = 3000
    early_stopping_rounds: int = 100
    final_rounds_factor: float = 1.1  # the final fit has more data than the last fold: a few more rounds
    n_folds: int = 4  # forward-chaining folds (n_folds + 1 blocks of race days)
    num_threads: int = 2
    seed: int = 20240601
    calibrate: bool = True  # isotonic on out-of-fold p_model
    holdout_fraction: float = 0.1  # of races (latest race days) kept out of fitting, for metrics and promotion
    holdout_max_races: int = 10_000
    reference_rows: int = 5_000  # holdout runners kept as the drift reference sample

    def lightgbm_params(self) -> dict:
        return {
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": self.bagging_freq,
            "lambda_l2": self.lambda_l2,
            "max_bin": self.max_bin,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def as_dict(self) -> dict:
        return asdict(self)

    def with_(self, **changes) -> TrainConfig:
        return replace(self, **changes)
