"""Errors a user can cause and fix. The CLI prints their message on one line, with no traceback."""

from __future__ import annotations


class GiddyUpError(Exception):
    """An expected failure: bad input, unreachable database, refused operation.

    The message must say what was wrong (which race, which column, which file) and, where it
    helps, what to do. It must never contain a DSN or password.
    """

    exit_code = 1


class ValidationError(GiddyUpError):
    """Input data broke a rule (e.g. a signal row with p_win outside (0, 1])."""

    exit_code = 3


class NotDevCopyError(GiddyUpError):
    """A write to racing.* was attempted on a database that is not marked as a dev copy."""

    exit_code = 4


class DriftAlert(GiddyUpError):
    """The drift report's status is `alert` (the report is saved before this is raised)."""

    exit_code = 5
