"""`giddyup demo`: the whole day on a simulated world (the main job on the embedded default)."""

from __future__ import annotations

import typer

from giddyup.cli.common import console
from giddyup.cli.options import OptionalRaceDate, parse_date


def demo_command(
    date: OptionalRaceDate = None,
    seed: int = typer.Option(7, "--seed", help="Same seed and date: the same world and the same day."),
    history_days: int = typer.Option(730, "--history-days", help="Days of simulated history before the day."),
) -> None:
    """Simulate a world, retrain, score, reprice every minute, paper-bet, settle, report: one day, end to end.

    The day is --date (default: today in Europe/Madrid).

    Uses the database PG_DSN names, or the embedded server when PG_DSN is unset; it must be empty or
    a previous demo's (which is reset). Reports land under <artifacts>/demo/.
    """
    import datetime as dt

    from giddyup.config import get_settings
    from giddyup.demo.run import run_demo

    settings = get_settings()
    today = parse_date(date, "--date") if date else dt.datetime.now(settings.schedule_zone).date()
    run_demo(settings, today=today, seed=seed, history_days=history_days, console=console)
