"""`giddyup features build`: point-in-time features of resulted races, written to a folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from giddyup.cli.common import console
from giddyup.cli.options import OptionalRaceDate, output_folder, parse_date
from giddyup.errors import GiddyUpError

features_app = typer.Typer(help="Point-in-time features from racing history.", no_args_is_help=True)


def _regions(values: list[str] | None) -> list[str] | None:
    """`--region GB --region IRE` or `--region GB,IRE`."""
    if not values:
        return None
    return [part.strip().upper() for value in values for part in value.split(",") if part.strip()]


@features_app.command("build")
def build_command(
    date: OptionalRaceDate = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last race day included (YYYY-MM-DD); needs --out.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for features.parquet and manifest.json (default with --date).")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="First race day included (default: all).")] = None,
    region: Annotated[
        list[str] | None, typer.Option("--region", help="Only these regions (repeat, or GB,IRE). History uses all.")
    ] = None,
) -> None:
    """Features of resulted races, each race using only earlier days.

    --date D: what the model for day D trains on (races before D), written to features/D under the
    artifacts folder, where `giddyup train --date D` reads them (the nightly retrain's hand-off).
    --until D --out DIR: races up to D, written to DIR."""
    from giddyup.config import get_settings
    from giddyup.db.connect import database_dsn
    from giddyup.features.files import FEATURES_FILE, MANIFEST_FILE, build_feature_files

    if (date is None) == (until is None):
        raise GiddyUpError("give either --date D (features for day D's model) or --until D with --out DIR")
    settings = get_settings()
    if date is not None:
        race_date = parse_date(date)
        until_date = race_date - dt.timedelta(days=1)  # races of D itself have not run when the day starts
        folder = out or settings.artifacts.features_dir(race_date)
    else:
        until_date = parse_date(until or "", "--until")
        if out is None:
            raise GiddyUpError("--until needs --out DIR (or use --date D for the artifacts folder)")
        folder = out
    since_date = parse_date(since, "--since") if since else None
    output_folder(folder)
    built, manifest = build_feature_files(
        database_dsn(settings), folder, until=until_date, since=since_date, regions=_regions(region)
    )
    seconds = manifest["seconds"]
    console.print(
        f"features: {manifest['rows']} starters in {manifest['races']} races, "
        f"{manifest['race_dates']['first']} .. {manifest['race_dates']['last']}, "
        f"{len(built.feature_columns)} features (hash {built.feature_hash()})"
    )
    console.print(
        f"read {manifest['rows_read']} rows via {manifest['read_path']} in {seconds.get('read', 0):.1f} s; "
        f"total {seconds.get('total', 0):.1f} s"
    )
    console.print(f"wrote {folder / FEATURES_FILE} and {folder / MANIFEST_FILE}")
