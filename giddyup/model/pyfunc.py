"""The MLflow pyfunc flavour of the win model (`loader_module`): no pickle, no model code file.

The logged model's data folder is a saved ModelBundle (booster.txt + model.json). MLflow calls
`_load_pyfunc(data_path)`; `predict` takes a pandas frame with race_id and the feature columns
and returns race_id and p_model (calibrated, race-normalised). `get_raw_model()` hands back the
ModelBundle (WinModel uses it for p_model, contributions and the combiner). Loading needs the
giddyup package installed, as it is in the task image.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl

from giddyup.model.bundle import ModelBundle


class PyfuncWinModel:
    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle

    def predict(self, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        frame = pl.from_pandas(pd.DataFrame(model_input))
        p_model = self.bundle.p_model(frame)
        return pd.DataFrame({"race_id": frame.get_column("race_id").to_numpy(), "p_model": p_model})

    def get_raw_model(self) -> ModelBundle:
        return self.bundle


def _load_pyfunc(data_path: str) -> PyfuncWinModel:
    return PyfuncWinModel(ModelBundle.load(Path(data_path)))


def signature_example(bundle: ModelBundle, frame: pl.DataFrame, rows: int = 20) -> pd.DataFrame:
    """A small input example: race_id as integer, numeric features as float64, categoricals as text."""
    sample = frame.head(rows)
    columns: dict[str, object] = {"race_id": sample.get_column("race_id").cast(pl.Int64).to_numpy()}
    for name in bundle.feature_columns:
        series = sample.get_column(name)
        columns[name] = (
            series.cast(pl.String).to_list()
            if name in bundle.categorical_columns
            else series.cast(pl.Float64).to_numpy()
        )
    return pd.DataFrame(columns)
