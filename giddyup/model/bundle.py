"""A fitted win model: LightGBM booster + isotonic calibrator + combiner (with the place model).

Saved as a folder: `booster.txt` (LightGBM's own text format, categorical levels included) and
`model.json` (feature list, objective, calibration breakpoints, combiner coefficients, metadata).
The MLflow pyfunc (pyfunc.py) wraps exactly this folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl

from giddyup.errors import GiddyUpError
from giddyup.model.calibration import IsotonicCalibrator
from giddyup.model.combine import combine_with_market, vs_market_covariates, vs_market_logit
from giddyup.model.lgbm import to_pandas_features
from giddyup.model.race_probability import RaceGroups

BOOSTER_FILE = "booster.txt"
MODEL_FILE = "model.json"


@dataclass
class ModelBundle:
    booster: lgb.Booster
    feature_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    objective: str
    calibrator: IsotonicCalibrator
    combiner: dict  # coefficients, price column, "place": the place model
    metadata: dict = field(default_factory=dict)

    # --- prediction -------------------------------------------------------------------------
    def _matrix(self, frame: pl.DataFrame):
        return to_pandas_features(frame, self.feature_columns, self.categorical_columns)

    def raw_scores(self, frame: pl.DataFrame) -> np.ndarray:
        if frame.height == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(self._matrix(frame), raw_score=True), dtype=float)

    def p_uncalibrated(self, frame: pl.DataFrame) -> np.ndarray:
        return RaceGroups.of(frame.get_column("race_id").to_numpy()).softmax(self.raw_scores(frame))

    def p_model(self, frame: pl.DataFrame) -> np.ndarray:
        """Calibrated and race-normalised."""
        groups = RaceGroups.of(frame.get_column("race_id").to_numpy())
        return self.calibrator.apply(groups, groups.softmax(self.raw_scores(frame)))

    def vs_market_logit(self, frame: pl.DataFrame) -> np.ndarray:
        """The combiner's v per runner (combine.py) from the frame's covariate columns; zeros without any."""
        names = [n for n in vs_market_covariates(self.combiner) if n in frame.columns]
        columns = {name: frame.get_column(name).cast(pl.Float64).to_numpy() for name in names}
        return vs_market_logit(columns, self.combiner, frame.height)

    def p_win(self, frame: pl.DataFrame, p_model: np.ndarray, p_market: np.ndarray) -> np.ndarray:
        return combine_with_market(
            frame.get_column("race_id").to_numpy(), p_model, p_market, self.combiner, self.vs_market_logit(frame)
        )

    def contributions(self, frame: pl.DataFrame, top: int = 3) -> pl.DataFrame:
        """Per runner, the `top` features that move its score most against its rivals'.

        LightGBM's pred_contrib splits each raw score into per-feature parts; only differences
        within a race matter to a softmax, so each part is taken relative to the race mean.
        """
        schema = {
            "runner_id": frame.schema.get("runner_id", pl.Int64),
            "contributions": pl.List(pl.Struct({"feature": pl.String, "value": pl.String, "contribution": pl.Float64})),
        }
        if frame.height == 0:
            return pl.DataFrame(schema=schema)
        parts = np.asarray(self.booster.predict(self._matrix(frame), pred_contrib=True))[:, :-1]  # drop the bias
        groups = RaceGroups.of(frame.get_column("race_id").to_numpy())
        relative = parts - np.stack(
            [groups.broadcast(groups.sum(parts[:, k]) / groups.sizes) for k in range(parts.shape[1])], axis=1
        )
        best = np.argsort(-np.abs(relative), axis=1)[:, :top]
        values = {name: frame.get_column(name).to_list() for name in self.feature_columns}
        rows = []
        for i, columns in enumerate(best):
            rows.append(
                [
                    {
                        "feature": self.feature_columns[k],
                        "value": _format_value(values[self.feature_columns[k]][i]),
                        "contribution": float(relative[i, k]),
                    }
                    for k in columns
                ]
            )
        return pl.DataFrame({"runner_id": frame.get_column("runner_id"), "contributions": rows}, schema=schema)

    # --- persistence --------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / BOOSTER_FILE))
        (folder / MODEL_FILE).write_text(json.dumps(self.to_json(), indent=2, default=str), encoding="utf-8")
        return folder

    def to_json(self) -> dict:
        return {
            "feature_columns": list(self.feature_columns),
            "categorical_columns": list(self.categorical_columns),
            "objective": self.objective,
            "calibration": self.calibrator.to_dict(),
            "combiner": self.combiner,
            "metadata": self.metadata,
        }

    @classmethod
    def load(cls, folder: Path) -> ModelBundle:
        folder = Path(folder)
        if not (folder / BOOSTER_FILE).exists() or not (folder / MODEL_FILE).exists():
            raise GiddyUpError(f"{folder} is not a saved win model (needs {BOOSTER_FILE} and {MODEL_FILE})")
        data = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
        return cls(
            booster=lgb.Booster(model_file=str(folder / BOOSTER_FILE)),
            feature_columns=tuple(data["feature_columns"]),
            categorical_columns=tuple(data["categorical_columns"]),
            objective=data["objective"],
            calibrator=IsotonicCalibrator.from_dict(data["calibration"]),
            combiner=data["combiner"],
            metadata=data.get("metadata", {}),
        )


def _format_value(value: object) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "missing"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
