"""`giddyup load hkjc PATH` (real results into a dev copy) and `giddyup data summary` (read only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from giddyup.cli.common import console

if TYPE_CHECKING:
    from giddyup.data_summary import DataSummary
    from giddyup.loaders.hkjc import LoadReport
    from giddyup.loaders.hkjc_issues import SetAside

load_app = typer.Typer(help="Load real results into the racing schema of a dev copy.", no_args_is_help=True)
data_app = typer.Typer(help="Reports on the racing data (read only, any racing database).", no_args_is_help=True)


@load_app.command("hkjc")
def load_hkjc_command(
    path: Annotated[Path, typer.Argument(help="Hong Kong results CSV in the format of ../shared/data/hkjc.")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on the first value not understood instead of setting it aside.")
    ] = False,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the load report, every value set aside, to this file.")
    ] = None,
) -> None:
    """Load Hong Kong results into racing.* (region HK); the same file again changes nothing.

    Values not understood are stored as NULL (or, for a race attribute its rows disagree on, the
    value on most rows); rows and races that cannot be stored honestly are left out. Each is
    counted by reason in the report, with line and race.
    """
    from giddyup.db.connect import connection
    from giddyup.loaders.hkjc import load_hkjc

    with connection() as conn:
        report = load_hkjc(conn, path, strict=strict)
    print_load_report(report)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"wrote {json_path}", markup=False, highlight=False)


def _where(item: SetAside | None) -> str:
    """`; first at line 8, race 2013-09-08_ST_01: 'DIST'` (a disagreement: the values and what was stored)."""
    from giddyup.loaders.hkjc_issues import MOST_ROWS

    if item is None:
        return ""
    if item.outcome == MOST_ROWS:
        value = f": {item.value} -> {item.stored or 'NULL'}"
    else:
        value = "" if item.value is None else f": {item.value!r}"
    return f"; first at line {item.line}, race {item.race}{value}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def print_load_report(report: LoadReport) -> None:
    """The counts, then one line per reason a row, race or value was set aside (with where it first was)."""
    from giddyup.loaders.hkjc_issues import MOST_ROWS

    seconds = report.seconds
    timing = ", ".join(f"{step} {value:.1f}" for step, value in seconds.items())

    def line(text: str) -> None:  # names and values from the file are not Rich markup; never wrapped
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    line(
        f"loaded {report.source}: {report.races} races, {report.starters} starters, "
        f"{report.non_runners} non-runners (withdrawn), {report.horses} horses, {report.jockeys} jockeys, "
        f"{report.trainers} trainers in {sum(seconds.values()):.1f} s ({timing})"
    )
    line(f"rows not loaded ({report.rows_skipped} of {report.rows_read}){':' if report.skipped else ': none'}")
    for reason, rows in sorted(report.skipped.items(), key=lambda item: -item[1]):
        races = report.races_skipped.get(reason)
        left_out = (
            f"{_plural(races, 'race')} left out ({_plural(rows, 'row')})"
            if races
            else f"{_plural(rows, 'row')} left out"
        )
        line(f"  {reason}: {left_out}{_where(report.first_set_aside(reason))}")
    values = report.values_set_aside()
    total = sum(len(items) for items in values.values())
    line(f"values set aside, their rows loaded ({total}){':' if values else ': none'}")
    for reason, items in values.items():
        first = min(items, key=lambda item: item.line)
        counted = _plural(len(items), "race" if first.outcome == MOST_ROWS else "value")
        line(f"  {reason}: {counted}, stored as {first.outcome}{_where(first)}")
    if report.notes:
        notes = Table("convention applied", "count", title="values stored by convention")
        for note, count in sorted(report.notes.items(), key=lambda item: -item[1]):
            notes.add_row(note, str(count))
        console.print(notes)


@data_app.command("summary")
def summary_command(
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the figures to this JSON file.")] = None,
) -> None:
    """Per region and season: races, runners, priced share, market pseudo-R² and overround per price."""
    from giddyup.data_summary import data_summary
    from giddyup.db.connect import connection

    with connection() as conn:
        summary = data_summary(conn)
    console.print(summary_table(summary))
    for region, count in sorted(summary.prelim_races.items()):
        console.print(f"{region}: {count} racecard races (prelim) not counted")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary.as_json(), indent=2) + "\n")
        console.print(f"wrote {json_path}")


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summary_table(summary: DataSummary) -> Table:
    table = Table("region", "season", title="racing data (result races; runners = starters)")
    for heading in ("races", "runners", "non-\nrunners", "single\nwinner"):
        table.add_column(heading, justify="right")
    for price in summary.price_columns:  # two-line headings keep the table narrow with two prices
        for heading in ("priced", "scored\nraces", "pseudo-R²", "overround"):
            table.add_column(f"{price}\n{heading}", justify="right")
    if not summary.rows:
        table.caption = "no result races in this database"
    for row in summary.rows:
        cells = [
            row["region"],
            row["season"],
            str(row["races"]),
            str(row["runners"]),
            str(row["non_runners"]),
            str(row["single_winner_races"]),
        ]
        for price in summary.price_columns:
            figures = row["prices"][price]
            cells += [
                _fmt(figures["priced_share"], ".1%"),
                str(figures["scored_races"]),
                _fmt(figures["pseudo_r2"], ".4f"),
                _fmt(figures["mean_overround"], ".3f"),
            ]
        is_total = row["season"] == "all"
        table.add_row(*cells, style="bold" if is_total else None, end_section=is_total)
    return table
