"""`giddyup sim` (make a simulated world), `giddyup sim compare` (vs real Betfair data) and
`giddyup results --date D` (run today's simulated card)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from giddyup.cli.common import console
from giddyup.cli.options import RaceDate, parse_date

sim_app = typer.Typer(
    help="Write a simulated UK/IRE racing world (with known true probabilities) into a dev-copy database.",
    invoke_without_command=True,
)


@sim_app.callback()
def sim_command(
    ctx: typer.Context,
    seed: int = typer.Option(42, "--seed", help="Same seed (and options): the same world, row for row."),
    start: str | None = typer.Option(
        None, "--start", help="First day of the history (YYYY-MM-DD; default: the preset's)."
    ),
    days: int | None = typer.Option(None, "--days", help="Days of resulted history (default: the preset's)."),
    today: str | None = typer.Option(
        None, "--today", help="Also a prelim card for this day, with live prices (YYYY-MM-DD)."
    ),
    preset: str = typer.Option(
        "full", "--preset", help="small (tests), demo (two seasons, reduced) or full (3 years)."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Empty racing.* and sim.* first (a different world was loaded)."
    ),
) -> None:
    """Make the world and load it (refuses any database that is not a giddyup dev copy)."""
    if ctx.invoked_subcommand is not None:
        return
    from giddyup.db.connect import connection
    from giddyup.db.devcopy import require_dev_copy
    from giddyup.sim.generate import generate
    from giddyup.sim.load import load_world
    from giddyup.sim.params import spec_from_args

    spec = spec_from_args(
        seed=seed,
        preset=preset,
        start=parse_date(start, "--start") if start else None,
        days=days,
        today=parse_date(today, "--today") if today else None,
    )
    with connection() as conn:
        require_dev_copy(conn, "sim")  # refuse before spending time generating
        started = time.perf_counter()
        world = generate(spec)
        generated = time.perf_counter()
        summary = load_world(conn, world, replace=replace)
    loaded = time.perf_counter()
    console.print(
        f"simulated world seed {spec.seed}: {spec.start} .. {spec.end} ({spec.days} days, preset {spec.preset})"
        + (f", today's card {spec.today}" if spec.today else "")
    )
    console.print(
        f"{summary.races} races, {summary.runners} runners, {summary.live_ticks} live price ticks; "
        f"generated in {generated - started:.1f}s, loaded in {loaded - generated:.1f}s"
    )
    if summary.today_kept:
        console.print(f"today's card {spec.today} was already resulted by `giddyup results`; left as it was")


@sim_app.command("compare")
def compare_command(
    real: str | None = typer.Option(
        None, "--real", help="Betfair UK/IE BSP CSV (default: ../shared/data/betfair/...)."
    ),
) -> None:
    """The simulated Betfair SP market next to the real one: pseudo-R², book, favourites, field sizes."""
    from giddyup.db.connect import connection
    from giddyup.sim.compare import REAL_BETFAIR_CSV, compare

    with connection() as conn:
        table = compare(conn, Path(real) if real else REAL_BETFAIR_CSV)
    out = Table("metric", "sim", "real", title="simulated vs real UK/IE market (Betfair SP)")
    for metric, sim_value, real_value in table.iter_rows():
        out.add_row(metric, _fmt(metric, sim_value), _fmt(metric, real_value))
    console.print(out)


def _fmt(metric: str, value: float | None) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.0f}" if metric.endswith("races") else f"{value:.3f}"


def results_command(date: RaceDate) -> None:
    """Run today's simulated races: positions, SP, BSP, prelim=false (sim dev copies only)."""
    from giddyup.db.connect import connection
    from giddyup.sim.day_results import apply_results

    day = parse_date(date)
    with connection() as conn:
        summary = apply_results(conn, day)
    console.print(
        f"results for {day}: {summary.races} races, {summary.starters} starters, {summary.non_runners} non-runners, "
        f"{summary.non_finishers} non-finishers, {summary.dead_heats} dead heats"
    )
