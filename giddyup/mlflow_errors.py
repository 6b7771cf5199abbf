"""Telling an MLflow outage from a registry answer, and saying it in one line.

MLflow raises `MlflowException` both for "no such model/alias" (error code
RESOURCE_DOES_NOT_EXIST, or INVALID_PARAMETER_VALUE for an unknown alias) and for a server it
cannot reach (a wrapped requests/urllib3 error) or a store it cannot open (SQLAlchemy). Registry
look-ups treat only the former as "not there"; the latter become `MlflowUnavailable`, which names
the store (its URI redacted) and what to do.
"""

from __future__ import annotations

from giddyup.errors import GiddyUpError
from giddyup.redaction import redact

_CONNECTION_WORDS = (
    "failed to establish a new connection",
    "connection refused",
    "max retries exceeded",
    "connection aborted",
    "connection reset",
    "name or service not known",
    "temporary failure in name resolution",
    "read timed out",
    "connect timeout",
    "remote end closed connection",
    "unable to open database file",
    "api request to",
)


class MlflowUnavailable(GiddyUpError):
    """The MLflow tracking/registry store could not be reached or opened."""


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_not_found(exc: BaseException) -> bool:
    """An MLflow answer that the model, version or alias does not exist (not an outage)."""
    code = str(getattr(exc, "error_code", "") or "")
    return code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"} and not is_unreachable(exc)


def is_unreachable(exc: BaseException) -> bool:
    """A connection failure to the MLflow server, or a store that cannot be opened."""
    for link in _chain(exc):
        module = type(link).__module__
        if module.startswith(("requests", "urllib3")) and "Error" in type(link).__name__:
            return True
        if module.startswith("sqlalchemy") and type(link).__name__ in {"OperationalError", "InterfaceError"}:
            return True
        if isinstance(link, ConnectionError | TimeoutError):
            return True
        text = str(link).lower()
        if type(link).__name__ == "MlflowException" and any(word in text for word in _CONNECTION_WORDS):
            return True
    return False


def _reason(exc: BaseException) -> str:
    text = " ".join(str(link) for link in _chain(exc)).lower()
    if "connection refused" in text:
        return "connection refused"
    if "timed out" in text or "timeout" in text:
        return "timed out"
    if "name or service not known" in text or "name resolution" in text:
        return "host name not found"
    if "unable to open database file" in text:
        return "the SQLite file cannot be opened"
    first = (str(exc).strip().splitlines() or ["unknown error"])[0]
    return redact(first)[:160]


def tracking_uri() -> str:
    from giddyup.config import get_settings

    try:
        return get_settings().resolved_mlflow_uri()
    except Exception:  # settings that do not validate: the URI is not what failed
        return "MLFLOW_TRACKING_URI"


def unavailable(exc: BaseException, uri: str | None = None) -> MlflowUnavailable:
    """The one-line error for an MLflow store that cannot be reached."""
    where = redact(uri or tracking_uri())
    return MlflowUnavailable(
        f"cannot reach the MLflow tracking server at {where} ({_reason(exc)}); the model registry is "
        "unreachable, not empty: start the server or fix MLFLOW_TRACKING_URI, then re-run"
    )


def describe(exc: BaseException) -> str | None:
    """One line for an MLflow outage anywhere in an exception's chain; None otherwise."""
    if is_unreachable(exc):
        return str(unavailable(exc))
    return None
