"""`giddyup features build`: point-in-time features of resulted races, written to a folder."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated, cast

import typer

from giddyup.cli.common import console, parse_date
from giddyup.errors import GiddyUpError

features_app = typer.Typer(help="Point-in-time features from racing history.", no_args_is_help=True)


def _regions(values: list[str] | None) -> list[str] | None:
    """`--region GB --region IRE` or `--region GB,IRE`."""
    if not values:
        return None
    return [part.strip().upper() for value in values for part in value.split(",") if part.strip()]


@features_app.command("build")
def build_command(
    until: Annotated[str, typer.Option("--until", help="Last race day included (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for features.parquet and manifest.json.")],
    since: Annotated[str | None, typer.Option("--since", help="First race day included (default: all).")] = None,
    region: Annotated[
        list[str] | None, typer.Option("--region", help="Only these regions (repeat, or GB,IRE). History uses all.")
    ] = None,
) -> None:
    """Features of resulted races from --since to --until: each race uses only earlier days."""
    import polars as pl

    from giddyup.db.connect import database_dsn
    from giddyup.features.build import FEATURE_DESCRIPTIONS, BuildStats, build_training_features
    from giddyup.features.contract import ID_COLUMNS, LABEL_COLUMNS, MARKET_COLUMNS

    until_date = parse_date(until, "--until")
    since_date = parse_date(since, "--since") if since else None
    regions = _regions(region)
    started = time.perf_counter()
    stats = BuildStats()
    built = build_training_features(database_dsn(), until=until_date, since=since_date, regions=regions, stats=stats)
    frame = built.frame
    if frame.height == 0:
        where = f" in {', '.join(regions)}" if regions else ""
        raise GiddyUpError(
            f"no resulted races with starters from {since_date or 'the first day'} to {until_date}{where}; nothing written"
        )
    out.mkdir(parents=True, exist_ok=True)
    with stats.timed("write"):
        frame.write_parquet(out / "features.parquet")
    stats.seconds["total"] = round(time.perf_counter() - started, 3)
    races = frame.get_column("race_id").n_unique()
    first = cast(dt.date, frame.get_column("race_date").min())
    last = cast(dt.date, frame.get_column("race_date").max())
    manifest = {
        "features": list(built.feature_columns),
        "categorical": list(built.categorical_columns),
        "feature_hash": built.feature_hash(),
        "descriptions": {name: FEATURE_DESCRIPTIONS[name] for name in built.feature_columns},
        "columns": {"id": list(ID_COLUMNS), "label": list(LABEL_COLUMNS), "market": list(MARKET_COLUMNS)},
        "rows": frame.height,
        "races": races,
        "window": {"since": since_date.isoformat() if since_date else None, "until": until_date.isoformat()},
        "race_dates": {"first": first.isoformat(), "last": last.isoformat()},
        "regions": regions,
        "region_rows": dict(frame.group_by("region").len().sort("region").iter_rows()),
        "read_path": stats.read_path,
        "rows_read": stats.rows_read,
        "seconds": stats.seconds,
        "polars": pl.__version__,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    console.print(
        f"features: {frame.height} starters in {races} races, {first} .. {last}, "
        f"{len(built.feature_columns)} features (hash {built.feature_hash()})"
    )
    console.print(
        f"read {stats.rows_read} rows via {stats.read_path} in {stats.seconds.get('read', 0):.1f} s; "
        f"total {stats.seconds['total']:.1f} s"
    )
    console.print(f"wrote {out / 'features.parquet'} and {out / 'manifest.json'}")
