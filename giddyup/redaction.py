"""One redaction for every secret-bearing setting, applied to every line giddyup prints or logs.

The settings that may hold a password (PG_DSN, MLFLOW_TRACKING_URI, MLFLOW_REGISTRY_URI and the
MLflow credentials) are read from the environment when `redact` runs. Their passwords are removed
in every form they may be printed in (raw, percent-encoded once or twice, `+` for spaces), and so
is any `user:password@` in a URL, any `password=...` in a conninfo string or dict, whatever its
origin. `install` wraps stdout and stderr so that tracebacks printed under `--verbose`, log records
and MLflow's own handler pass through the same function.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"

# Settings whose value is a URL or conninfo string that may embed a password.
URL_SETTINGS = ("PG_DSN", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "GIDDYUP_MLFLOW_TRACKING_URI", "DATABASE_URL")
# Settings that are a secret as a whole.
SECRET_SETTINGS = ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "PGPASSWORD")

# scheme://user:password@ (also percent-encoded: scheme%3A%2F%2Fuser%3Apassword%40)
_URL_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@'\"<>]*:)[^\s@'\"<>]*@")
_ENCODED_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*%3A%2F%2F[^\s/%@'\"<>]*%3A)[^\s@'\"<>]*?%40", re.IGNORECASE
)
# password=... in a conninfo string (quoted or not), 'password': '...' in a dict repr
_CONNINFO_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s'\"&;,)]+)", re.IGNORECASE)
_DICT_PASSWORD = re.compile(r"(?P<head>['\"]password['\"]\s*:\s*)(?:'[^']*'|\"[^\"]*\"|[^\s,}]+)", re.IGNORECASE)


def _passwords_in(value: str) -> set[str]:
    found: set[str] = set()
    try:
        parts = urlsplit(value)
        if parts.password:
            found.add(parts.password)
    except ValueError:
        pass
    for match in re.finditer(r"\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", value, re.IGNORECASE):
        raw = match.group(1)
        found.add(raw)
        if raw.startswith("'") and raw.endswith("'"):
            found.add(raw[1:-1].replace("\\'", "'").replace("\\\\", "\\"))
    for match in re.finditer(r"[?&]password=([^&#\s]+)", value, re.IGNORECASE):
        found.add(match.group(1))
    return found


def secrets(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(text, replacement) for every form of every secret held by the settings, longest first.

    A whole setting that holds a password is replaced by itself with the password masked (so
    messages can still say which server); the password alone, in each encoding, by ***."""
    env = os.environ if environ is None else environ
    held = tuple((name, env.get(name, "")) for name in (*URL_SETTINGS, *SECRET_SETTINGS))
    return list(_secrets(held))


@functools.lru_cache(maxsize=8)
def _secrets(held: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    env = dict(held)
    passwords: set[str] = set()
    settings: set[str] = set()
    for name in URL_SETTINGS:
        setting = env.get(name, "").strip()
        found = _passwords_in(setting) if setting else set()
        if found:
            passwords |= found
            settings.add(setting)
    for name in SECRET_SETTINGS:
        if env.get(name, "").strip():
            passwords.add(env[name].strip())
    pairs: dict[str, str] = {}
    for password in passwords:
        for plain in {password, unquote(password), unquote(password.replace("+", " "))}:
            once = quote(plain, safe="")
            for form in (plain, once, quote_plus(plain), quote(once, safe="")):
                if len(form) >= 3:
                    pairs[form] = MASK
    for setting in settings:
        masked = setting
        for form in sorted(pairs, key=len, reverse=True):
            masked = masked.replace(form, MASK)
        pairs[setting] = _patterns(masked)
    return tuple(sorted(pairs.items(), key=lambda pair: len(pair[0]), reverse=True))


def _patterns(text: str) -> str:
    text = _URL_USERINFO.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    text = _ENCODED_USERINFO.sub(lambda m: f"{m.group('head')}{MASK}%40", text)
    text = _CONNINFO_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}", text)
    return _DICT_PASSWORD.sub(lambda m: f"{m.group('head')}'{MASK}'", text)


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with every secret of the settings and every URL/conninfo password replaced by ***."""
    if not text:
        return text
    for secret, replacement in secrets(environ):
        text = text.replace(secret, replacement)
    return _patterns(text)


class RedactingStream(io.TextIOBase):
    """A text stream that redacts each line before it reaches the real stream.

    Text is held back until a newline (or a flush), so a secret split over two writes is still seen
    whole."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, _, self._pending = self._pending.rpartition("\n")
            self._stream.write(redact(complete + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(redact(self._pending))
            self._pending = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class RedactingFilter(logging.Filter):
    """Redacts a log record's message and traceback (for handlers writing to files or elsewhere)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg = redact(record.getMessage())
            record.args = None
        except Exception:  # a record whose arguments do not format: leave it to logging's own report
            return True
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install() -> None:
    """Route stdout, stderr and the root logger's records through `redact` (idempotent)."""
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)  # type: ignore[assignment]
    root = logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for f in root.filters):
        root.addFilter(RedactingFilter())


def protect_handlers() -> None:
    """Add the redacting filter to every handler configured so far (MLflow installs its own)."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
