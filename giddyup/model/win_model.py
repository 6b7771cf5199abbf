"""The production win model as scoring and refresh use it: resolved once, by alias.

`load_production_model` resolves alias `production` once, loads that exact version (so a
promotion during a run cannot change the model half-way) and makes sure its modeling.models row
exists (scoring rows reference it by model_id); `load_model_version` loads a version by number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from giddyup.artifacts import PRODUCTION_ALIAS
from giddyup.config import Settings, get_settings
from giddyup.errors import GiddyUpError
from giddyup.features.contract import FeatureSet
from giddyup.model.bundle import ModelBundle


@dataclass
class WinModel:
    name: str
    version: str
    model_id: int  # modeling.models row
    bundle: ModelBundle
    run_id: str | None = None

    @property
    def feature_columns(self) -> tuple[str, ...]:
        return self.bundle.feature_columns

    @property
    def combiner(self) -> dict:
        """Price column, Benter coefficients, and "place": the place model (for combine/place)."""
        return self.bundle.combiner

    def _frame(self, features: FeatureSet) -> pl.DataFrame:
        missing = [c for c in self.feature_columns if c not in features.frame.columns]
        if missing:
            raise GiddyUpError(
                f"model {self.name} v{self.version} needs feature columns the feature set lacks: {missing}"
            )
        return features.frame

    def predict_p_model(self, features: FeatureSet) -> pl.DataFrame:
        """runner_id, race_id, p_model (calibrated, race-normalised over the frame's runners)."""
        frame = self._frame(features)
        p_model = self.bundle.p_model(frame) if frame.height else np.zeros(0)
        return frame.select("runner_id", "race_id").with_columns(pl.Series("p_model", p_model, dtype=pl.Float64))

    def predict_vs_market_logit(self, features: FeatureSet) -> pl.DataFrame:
        """runner_id, vs_market_logit: the combination stage's per-runner term from history
        (giddyup.model.combine; 0 for a model without it). It goes with p_model into every
        recombination with the market, so scoring publishes it with the signal."""
        frame = self._frame(features)
        logit = self.bundle.vs_market_logit(frame) if frame.height else np.zeros(0)
        return frame.select("runner_id").with_columns(pl.Series("vs_market_logit", logit, dtype=pl.Float64))

    def explain(self, features: FeatureSet, top: int = 3) -> pl.DataFrame:
        """runner_id, contributions: [{feature, value, contribution}] — the `top` features moving the
        runner's score most relative to its rivals (LightGBM pred_contrib, raw-score units)."""
        return self.bundle.contributions(self._frame(features), top=top)


def load_production_model(settings: Settings | None = None) -> WinModel:
    """The version behind alias production, resolved once."""
    from giddyup.model import registry

    settings = settings or get_settings()
    client = registry.configure_mlflow(settings, must_exist=True)
    version = registry.aliases(client, settings.model_name).get(PRODUCTION_ALIAS)
    if version is None:
        raise GiddyUpError(
            f"model {settings.model_name} has no version with alias production; run `giddyup train --promote auto` "
            "or `giddyup model promote VERSION`"
        )
    return load_model_version(settings, version)


def load_model_version(settings: Settings, version: str) -> WinModel:
    """A registered version by number (the one that first scored a day, or one asked for)."""
    from mlflow.exceptions import MlflowException

    from giddyup import mlflow_errors
    from giddyup.db.connect import connection
    from giddyup.model import registry

    client = registry.configure_mlflow(settings, must_exist=True)
    try:
        client.get_model_version(settings.model_name, version)
    except MlflowException as exc:
        if mlflow_errors.is_unreachable(exc):
            raise mlflow_errors.unavailable(exc) from None
        raise GiddyUpError(f"model {settings.model_name} has no registered version {version}") from None
    bundle = registry.load_bundle(settings.model_name, version)
    entity = client.get_model_version(settings.model_name, version)
    with connection(settings) as conn:
        ids = registry.sync_models_table(conn, client, settings.model_name)
    return WinModel(settings.model_name, version, ids[version], bundle, entity.run_id)
