"""giddyup.redaction (issue 13 defect 1): one redaction for every secret-bearing setting, and the
MLflow SQLite store's folder rules (defect 6). Pure functions and the real file system."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from giddyup.config import Settings
from giddyup.errors import GiddyUpError
from giddyup.mlflow_errors import is_not_found, is_unreachable
from giddyup.model.registry import prepare_sqlite_store
from giddyup.redaction import redact
from tests.support.faults import password_forms

PASSWORD = "pa ss/w@rd:9%"
ENCODED = quote(PASSWORD, safe="")


def _clean(text: str, env: dict[str, str]) -> str:
    out = redact(text, env)
    for form in password_forms(PASSWORD):
        assert form not in out, (form, out)
    return out


@pytest.mark.parametrize(
    "setting",
    [
        ("PG_DSN", f"postgresql://gu:{ENCODED}@db.example:5432/giddyup"),
        ("PG_DSN", f"postgres://gu:{ENCODED}@db.example/giddyup?sslmode=require"),
        ("PG_DSN", f"postgresql://db.example/giddyup?user=gu&password={ENCODED}"),
        ("PG_DSN", "host=db.example user=gu password='pa ss/w@rd:9%' dbname=giddyup"),
        ("MLFLOW_TRACKING_URI", f"http://gu:{ENCODED}@mlflow.example:5000"),
        ("MLFLOW_TRACKING_URI", f"https://gu:{ENCODED}@mlflow.example/mlflow"),
        ("MLFLOW_TRACKING_PASSWORD", PASSWORD),
    ],
)
def test_every_form_of_a_planted_password_is_masked(setting: tuple[str, str]) -> None:
    env = {setting[0]: setting[1]}
    texts = [
        f"failed: {setting[1]}",
        f"API request to {setting[1]}/api/2.0/mlflow/x failed",
        f"raw {PASSWORD} encoded {ENCODED} plus {quote(PASSWORD, safe='').replace('%20', '+')}",
        f"twice {quote(ENCODED, safe='')}",
    ]
    for text in texts:
        _clean(text, env)


def test_urls_keep_their_host_and_lose_their_password() -> None:
    env = {"MLFLOW_TRACKING_URI": f"http://gu:{ENCODED}@127.0.0.1:5000"}
    assert redact("at http://gu:" + ENCODED + "@127.0.0.1:5000/api", env) == "at http://gu:***@127.0.0.1:5000/api"


def test_passwords_of_settings_not_set_are_masked_by_shape() -> None:
    text = (
        "x postgresql://a:b3cret@h/d y http://u:t0ken@h:1/p password=s3cret 'password': 'abc' http%3A%2F%2Fu%3Apw%40h"
    )
    out = redact(text, {})
    assert all(secret not in out for secret in ("b3cret", "t0ken", "s3cret", "'abc'", "%3Apw%40"))
    assert "postgresql://a:***@h/d" in out and "http://u:***@h:1/p" in out


def test_connection_failures_are_told_from_missing_models() -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

    missing = MlflowException("Registered Model with name=x not found", error_code=RESOURCE_DOES_NOT_EXIST)
    assert is_not_found(missing) and not is_unreachable(missing)
    down = MlflowException(
        "API request to http://u:pw@127.0.0.1:1/api/2.0/mlflow/registered-models/get failed with exception "
        "HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded (Caused by NewConnectionError("
        "'Failed to establish a new connection: [Errno 111] Connection refused'))"
    )
    assert is_unreachable(down) and not is_not_found(down)


def test_a_sqlite_store_outside_the_artifacts_folder_gets_no_folders_made(tmp_path: Path) -> None:
    settings = Settings(artifacts_dir=tmp_path / "artifacts")
    elsewhere = tmp_path / "elsewhere" / "deep"
    with pytest.raises(GiddyUpError, match=r"folder of the MLflow SQLite store .* does not exist"):
        prepare_sqlite_store(settings, f"sqlite:///{elsewhere / 'mlflow.db'}")
    assert not (tmp_path / "elsewhere").exists()
    owned = settings.artifacts_path / "mlflow" / "mlflow.db"
    prepare_sqlite_store(settings, f"sqlite:///{owned}")  # under the folder giddyup owns: made
    assert owned.parent.is_dir()
    with pytest.raises(GiddyUpError, match="does not exist, so it has no model"):
        prepare_sqlite_store(settings, f"sqlite:///{owned}", must_exist=True)
    assert not owned.exists()
