"""The CLI's options for the two ideas every job has, each with one name and one type:

- `--date YYYY-MM-DD`: the racing day a job is for (the UK date of the card; the Madrid date of a
  scheduled run). Training for day D uses races before D.
- `--at INSTANT`: the instant a job runs for (ISO-8601 with a zone, stored in UTC). Left out, a
  person's run uses the wall clock: the only place it is read.

Windows are `--from` / `--to` (inclusive days), and `--until` / `--since` for feature windows.
Options are plain text here and parsed in the command (`race_date`, `instant_or_now`), so a bad
value is the one-line `error:` every other mistake gets.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer

from giddyup.errors import GiddyUpError

RaceDate = Annotated[
    str, typer.Option("--date", metavar="YYYY-MM-DD", help="The racing day the job is for (UK date of the card).")
]
OptionalRaceDate = Annotated[
    str | None,
    typer.Option("--date", metavar="YYYY-MM-DD", help="The racing day the job is for (UK date of the card)."),
]
At = Annotated[
    str | None,
    typer.Option(
        "--at",
        metavar="INSTANT",
        help="The instant the job runs for (ISO-8601 with a zone, e.g. 2026-03-28T07:00Z). Default: now.",
    ),
]
FromDate = Annotated[str, typer.Option("--from", metavar="YYYY-MM-DD", help="First racing day (inclusive).")]
ToDate = Annotated[str, typer.Option("--to", metavar="YYYY-MM-DD", help="Last racing day (inclusive).")]


def parse_date(value: str, option: str = "--date") -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise GiddyUpError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def parse_instant(value: str, option: str = "--at") -> dt.datetime:
    """An ISO-8601 instant with a zone (`2026-03-29T12:00:00+00:00` or `...Z`), returned in UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GiddyUpError(f"{option} {value!r} is not an ISO-8601 instant") from None
    if parsed.tzinfo is None:
        raise GiddyUpError(f"{option} {value!r} has no time zone; add Z or an offset such as +01:00")
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise GiddyUpError(f"{option} {value!r} is outside the range of instants giddyup can store") from None


def instant_or_now(value: str | None, option: str = "--at") -> dt.datetime:
    # The only wall-clock read of the jobs: a person ran the command without the instant.
    return parse_instant(value, option) if value else dt.datetime.now(dt.UTC).replace(microsecond=0)


def output_folder(path: Path, option: str = "--out") -> Path:
    """A folder the job may write into, made now, before any work: an --out that is a file, lies
    under a file or cannot be created is one line, not a traceback after minutes of work."""
    if path.exists() and not path.is_dir():
        raise GiddyUpError(f"{option} {path} is a file, not a folder; give a folder (it is created if missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GiddyUpError(
            f"{option} {path}: cannot create the folder ({exc.strerror or exc}); choose a folder giddyup can write"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise GiddyUpError(
            f"{option} {path}: giddyup may not write in this folder; fix its permissions or choose another"
        )
    return path


def date_window(first: str, last: str) -> tuple[dt.date, dt.date]:
    start, end = parse_date(first, "--from"), parse_date(last, "--to")
    if end < start:
        raise GiddyUpError(f"--to {end} is before --from {start}")
    return start, end
