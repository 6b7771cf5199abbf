"""Feature files: what `giddyup features build` writes and `giddyup train` reads back.

A folder holds features.parquet and manifest.json (feature and categorical columns, their hash,
the window, counts, timings). The manifest is written last and both files are renamed into
place, so a reader that finds the manifest finds a whole parquet file beside it.

The nightly retrain hands features over through these files: `features build --date D` writes
features/D (resulted races before D) under the artifacts folder, and `train --date D` reads them
after checking that they were built up to D − 1 with the feature list this code builds.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from giddyup.errors import GiddyUpError
from giddyup.features.catalog import CATEGORICAL_COLUMNS, FEATURE_COLUMNS
from giddyup.features.contract import FeatureSet, feature_list_hash

FEATURES_FILE = "features.parquet"
MANIFEST_FILE = "manifest.json"


def current_feature_hash() -> str:
    """The hash of the feature list this code builds."""
    return feature_list_hash(FEATURE_COLUMNS, CATEGORICAL_COLUMNS)


def training_manifest(
    built: FeatureSet, *, until: dt.date, since: dt.date | None, regions: list[str] | None, stats: Any
) -> dict[str, Any]:
    """What manifest.json says about a feature set (columns, hash, window, counts, how it was read)."""
    from giddyup.features.build import FEATURE_DESCRIPTIONS
    from giddyup.features.contract import ID_COLUMNS, LABEL_COLUMNS, MARKET_COLUMNS

    frame = built.frame
    return {
        "features": list(built.feature_columns),
        "categorical": list(built.categorical_columns),
        "feature_hash": built.feature_hash(),
        "descriptions": {name: FEATURE_DESCRIPTIONS[name] for name in built.feature_columns},
        "columns": {"id": list(ID_COLUMNS), "label": list(LABEL_COLUMNS), "market": list(MARKET_COLUMNS)},
        "rows": frame.height,
        "races": frame.get_column("race_id").n_unique(),
        "window": {"since": since.isoformat() if since else None, "until": until.isoformat()},
        "race_dates": {
            "first": str(frame.get_column("race_date").min()),
            "last": str(frame.get_column("race_date").max()),
        },
        "regions": regions,
        "region_rows": dict(frame.group_by("region").len().sort("region").iter_rows()),
        "read_path": stats.read_path,
        "rows_read": stats.rows_read,
        "seconds": stats.seconds,
        "polars": pl.__version__,
    }


def build_feature_files(
    dsn: str, folder: Path, *, until: dt.date, since: dt.date | None = None, regions: list[str] | None = None
) -> tuple[FeatureSet, dict[str, Any]]:
    """Build the features of resulted races up to `until` and write them to `folder`."""
    import time

    from giddyup.features.build import BuildStats, build_training_features

    started = time.perf_counter()
    stats = BuildStats()
    built = build_training_features(dsn, until=until, since=since, regions=regions, stats=stats)
    if built.frame.height == 0:
        where = f" in {', '.join(regions)}" if regions else ""
        raise GiddyUpError(
            f"no resulted races with starters from {since or 'the first day'} to {until}{where}; nothing written"
        )
    with stats.timed("write"):
        manifest = training_manifest(built, until=until, since=since, regions=regions, stats=stats)
        write_feature_files(built, folder, manifest)
    stats.seconds["total"] = round(time.perf_counter() - started, 3)
    return built, manifest


def write_feature_files(built: FeatureSet, folder: Path, manifest: dict[str, Any]) -> Path:
    """features.parquet then manifest.json, each written beside its place and renamed into it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / (FEATURES_FILE + ".partial")
        built.frame.write_parquet(partial)
        partial.replace(folder / FEATURES_FILE)
        partial = folder / (MANIFEST_FILE + ".partial")
        partial.write_text(json.dumps(manifest, indent=2) + "\n")
        partial.replace(folder / MANIFEST_FILE)
    except OSError as exc:
        raise GiddyUpError(f"cannot write feature files to {folder}: {exc.strerror or exc}") from None
    return folder / FEATURES_FILE


def read_training_features(folder: Path, until: dt.date) -> FeatureSet | None:
    """The features in `folder` when they were built up to `until` with this code's feature list;
    None when the folder has no manifest (nothing was built there). A folder built for another
    window or feature list is an error that says how to rebuild it."""
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.exists():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        built_until = manifest["window"]["until"]
        built_hash = manifest["feature_hash"]
        features, categorical = tuple(manifest["features"]), tuple(manifest["categorical"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GiddyUpError(f"{manifest_path} is not a feature manifest ({exc}); rebuild it") from None
    if built_until != until.isoformat():
        raise GiddyUpError(
            f"the features in {folder} were built up to {built_until}, not {until}; "
            f"rebuild them with `giddyup features build --date {until + dt.timedelta(days=1)}`"
        )
    if built_hash != current_feature_hash() or feature_list_hash(features, categorical) != built_hash:
        raise GiddyUpError(
            f"the features in {folder} have feature hash {built_hash}, this code builds {current_feature_hash()}; "
            f"rebuild them with `giddyup features build --date {until + dt.timedelta(days=1)}`"
        )
    try:
        frame = pl.read_parquet(folder / FEATURES_FILE)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise GiddyUpError(f"cannot read {folder / FEATURES_FILE}: {exc}; rebuild it") from None
    return FeatureSet(frame, features, categorical)
