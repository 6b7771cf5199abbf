"""`giddyup score`, `refresh`, `bets paper`, `settle` and `report`: a racing day end to end.

The racing day a job is for is `--date`, the instant it runs for `--at` (cli/options.py); only
when a person leaves the instant out is the wall clock read. Imports of Polars and the model live inside the
command functions, so `refresh` with nothing due loads neither.
"""

from __future__ import annotations

import typer

from giddyup.cli.common import console
from giddyup.cli.options import (
    At,
    FromDate,
    RaceDate,
    ToDate,
    date_window,
    instant_or_now,
    output_folder,
    parse_date,
)

bets_app = typer.Typer(help="Bets: the paper-trading step.", no_args_is_help=True)


def score_command(
    date: RaceDate,
    at: At = None,
    model_version: str | None = typer.Option(
        None,
        "--model-version",
        help="Price the day with this registered version and record it (default: the version that first "
        "scored the day, else production).",
    ),
) -> None:
    """Morning scoring: price every declared runner of the day with the production model."""
    from rich.table import Table

    from giddyup.config import get_settings
    from giddyup.db.connect import connection, database_dsn
    from giddyup.race_day.score import pending_runners_file, score_race_day

    race_date = parse_date(date)
    instant = instant_or_now(at)
    settings = get_settings()
    try:
        with connection(settings) as conn:
            result = score_race_day(
                conn, settings, database_dsn(settings), race_date, instant, model_version=model_version
            )
    except BaseException:  # not committed: the scored runners file must not say otherwise
        pending_runners_file(settings.artifacts.scored_runners(race_date)).unlink(missing_ok=True)
        raise
    result.publish_runners_file()  # committed: now the file may agree with the database

    summary = Table("", "", title=f"scoring {race_date} as of {instant.isoformat()}", show_header=False)
    summary.add_row("model", f"{result.model_name} v{result.model_version} (model_id {result.model_id})")
    summary.add_row("races on the card", str(result.races_on_card))
    summary.add_row("races priced", f"{result.races_priced} ({result.covered_share:.0%} covered)")
    for reason, count in sorted(result.skipped_by_reason().items()):
        summary.add_row("  skipped", f"{count}: {reason}")
    summary.add_row("runners priced", str(result.runners_priced))
    dropped = sum(len(horses) for horses in result.non_runners.values())
    if dropped:
        summary.add_row("non-runners dropped", f"{dropped} (no exchange price while the rest of the race trades)")
    if result.published is not None:
        p = result.published
        summary.add_row("signals", f"{p.inserted} inserted, {p.updated} updated, {p.unchanged} unchanged")
    summary.add_row("price snapshots written", str(result.snapshots_written))
    summary.add_row(
        "scored runners",
        str(result.runners_path) if result.runners_path else "none (nothing priced; file left as it was)",
    )
    console.print(summary)
    if result.top_edges.height:
        edges = Table(*result.top_edges.columns, title="top edges")
        for row in result.top_edges.iter_rows():
            edges.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
        console.print(edges)


def refresh_command(at: At = None) -> None:
    """Reprice the races due at this instant, then place paper bets for races at their decision point."""
    from giddyup.config import get_settings
    from giddyup.db.connect import connection
    from giddyup.race_day.refresh import refresh

    instant = instant_or_now(at)
    settings = get_settings()
    with connection(settings) as conn:
        result = refresh(conn, instant, settings)
    paper = result.paper
    line = (
        f"refresh {instant.isoformat()}: {len(result.due)} of {result.races_today} races due, "
        f"{result.races_priced} repriced ({result.runners_priced} runners)"
    )
    if result.skipped:
        line += f", {len(result.skipped)} skipped"
    dropped = sum(len(horses) for horses in result.non_runners.values())
    if dropped:
        line += f", {dropped} non-runners dropped"
    if paper is not None and paper.races_decided:
        line += f"; paper: {len(paper.races_decided)} races decided, {paper.bets_placed} bets, {paper.staked:.2f} units"
    console.print(line)
    for race_id, reason in sorted(result.skipped.items()):
        console.print(f"  race_id {race_id} skipped: {reason}")
    for race_id, horses in sorted(result.non_runners.items()):
        console.print(
            f"  race_id {race_id}: horse_id {', '.join(map(str, horses))} dropped as non-runners "
            "(no exchange price while the rest of the race trades)"
        )


@bets_app.command("paper")
def paper_command(at: At = None) -> None:
    """Place paper bets for races at or past their decision point and not yet off (once per race)."""
    from giddyup.config import get_settings
    from giddyup.db.connect import connection
    from giddyup.race_day.paper_bets import place_paper_bets

    instant = instant_or_now(at)
    settings = get_settings()
    with connection(settings) as conn:
        result = place_paper_bets(conn, instant, settings)
    console.print(
        f"paper bets {instant.isoformat()}: {len(result.races_decided)} races decided, "
        f"{result.bets_placed} bets, {result.staked:.2f} units staked"
    )


def settle_command(date: RaceDate, at: At = None) -> None:
    """Settle the day's bets whose races have results: pnl, dead heats, non-runners, commission, CLV."""
    from giddyup.config import get_settings
    from giddyup.db.connect import connection
    from giddyup.race_day.settle import settle_day

    race_date = parse_date(date)
    instant = instant_or_now(at)  # recorded as settled_at on the bets it changes
    settings = get_settings()
    with connection(settings) as conn:
        result = settle_day(conn, race_date, instant, settings)
    roi = f", ROI {result.pnl / result.staked:+.1%}" if result.staked else ""
    console.print(
        f"settle {race_date}: {result.bets_seen} bets, {result.settled} settled, {result.void} void, "
        f"{result.awaiting_results} awaiting results, {result.changed} rows changed; "
        f"pnl {result.pnl:+.2f} units on {result.staked:.2f} staked{roi}"
    )


def report_command(
    date_from: FromDate,
    date_to: ToDate,
    out: str | None = typer.Option(
        None, "--out", help="Folder for performance.html and .json. Default: reports/ under the artifacts folder."
    ),
    source: str | None = typer.Option(None, "--source", help="Only bets of this source (e.g. paper)."),
) -> None:
    """Performance report: staked, pnl, ROI, CLV by odds band and by day, with plots (HTML + JSON)."""
    from pathlib import Path

    from giddyup.config import get_settings
    from giddyup.db.connect import connection
    from giddyup.reports.performance import write_performance_report

    first, last = date_window(date_from, date_to)
    settings = get_settings()
    folder = output_folder(Path(out)) if out else settings.artifacts.report_dir(first, last)
    with connection(settings) as conn:
        report = write_performance_report(conn, first, last, folder, source=source)
    totals = report.summary
    console.print(
        f"report {first}..{last}: {totals['bets']} bets, staked {totals['staked']:.2f}, pnl {totals['pnl']:+.2f}, "
        f"ROI {_pct(totals['roi'])}, mean CLV {_pct(totals['mean_clv'])}, beat the close {_share(totals['beat_close_share'])}"
    )
    console.print(f"html: {report.html_path}")
    console.print(f"json: {report.json_path}")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
