"""One settings object for every giddyup command.

Values come from the environment (and a `.env` file in the working directory). Connection strings
are secrets: they are held as `SecretStr`, so printing or logging the settings never shows them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from giddyup.artifacts import CHECKOUT_ARTIFACTS_DIR, ArtifactLayout


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_prefix="GIDDYUP_")

    # --- where things live -------------------------------------------------------------------
    pg_dsn: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PG_DSN", "GIDDYUP_PG_DSN"),
        description="PostgreSQL DSN. Unset or empty: the embedded server under artifacts_dir.",
    )
    mlflow_tracking_uri: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "GIDDYUP_MLFLOW_TRACKING_URI"),
        description="MLflow tracking URI. Unset: a SQLite store in artifacts_dir/mlflow.db.",
    )
    model_name: str = Field(
        default="hrd_win_prob",
        validation_alias=AliasChoices("GIDDYUP_MODEL_NAME", "MODEL_NAME"),
    )
    artifacts_dir: Path = Field(default=Path(CHECKOUT_ARTIFACTS_DIR))

    # --- time zones ---------------------------------------------------------------------------
    schedule_tz: str = "Europe/Madrid"  # when jobs run (the Airflow schedules)
    race_tz: str = "Europe/London"  # the zone of racing.races.off_time (no zone in the column)

    # --- pricing and staking --------------------------------------------------------------------
    kelly_multiplier: float = 0.25  # fraction of full Kelly staked (quarter Kelly)
    bank_units: float = 100.0  # stakes are in units of a bank of this size
    max_stake_per_bet: float = 2.0  # units
    max_stake_per_race: float = 3.0  # units
    max_stake_per_day: float = 20.0  # units
    min_edge: float = 0.0  # a stake's edge must beat min_edge + min_edge_per_sqrt_odds × √odds
    min_edge_per_sqrt_odds: float = 0.02  # longer prices must promise more (chosen with the backtest)
    bsp_below_fair: bool = True  # exchange bets at Betfair SP when the price now is below the fair price
    min_liquidity_volume: float = 1000.0  # traded volume (GBP) for liquidity_ok
    exchange_commission: float = 0.02  # on net winnings of exchange bets
    # Stake only on a model version whose holdout showed edge over the market beyond chance
    # (giddyup.pricing.stands_down). False stakes on every version: research, and the tests of the
    # bet machinery on small worlds where no version shows edge.
    require_edge_evidence: bool = True
    # Who places the decision step's bets: live paper trading, or a backtest's replay.
    bet_source: Literal["paper", "backtest"] = "paper"

    # --- intraday cadence ---------------------------------------------------------------------
    refresh_every_minutes: int = 10
    near_off_minutes: int = 15
    near_off_every_minutes: int = 1
    decision_minutes_before_off: int = 5

    # --- drift --------------------------------------------------------------------------------
    drift_warn_share: float = 0.2
    drift_alert_share: float = 0.5

    @field_validator("pg_dsn", "mlflow_tracking_uri", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # PG_DSN= (empty) in a .env or compose file means "not set", i.e. the embedded server.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def schedule_zone(self) -> ZoneInfo:
        return ZoneInfo(self.schedule_tz)

    @property
    def race_zone(self) -> ZoneInfo:
        return ZoneInfo(self.race_tz)

    @property
    def artifacts_path(self) -> Path:
        return self.artifacts_dir.expanduser().resolve()

    @property
    def artifacts(self) -> ArtifactLayout:
        """Every path under the artifacts folder (giddyup.artifacts)."""
        return ArtifactLayout(self.artifacts_path)

    def resolved_mlflow_uri(self) -> str:
        """The tracking URI to use: the configured one, else a SQLite store under artifacts_dir."""
        if self.mlflow_tracking_uri is not None:
            return self.mlflow_tracking_uri.get_secret_value()
        return f"sqlite:///{self.artifacts.mlflow_db}"

    def mlflow_artifact_location(self) -> str:
        return self.artifacts.mlruns.as_uri()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
