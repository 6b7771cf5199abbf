"""The signal publisher: validate a batch of signal rows, then upsert it in one transaction.

Rows go to a temporary staging table by COPY, then into modeling.signals with one
INSERT ... ON CONFLICT (as_of, race_id, horse_id, model_id) DO UPDATE. Rows whose values did not
change are left untouched, so publishing the same batch twice changes nothing. Any invalid row
fails the whole batch before anything is written, with a message naming the race, the horse and
the rule.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import polars as pl
import psycopg

from giddyup.errors import ValidationError
from giddyup.odds import MIN_ODDS

KEY_COLUMNS = ("as_of", "race_id", "horse_id", "model_id")

# column -> (polars dtype, SQL type). Order is the COPY order.
SIGNAL_COLUMNS: dict[str, tuple[pl.DataType | type[pl.DataType], str]] = {
    "as_of": (pl.Datetime("us", "UTC"), "timestamptz"),
    "race_id": (pl.Int64, "bigint"),
    "horse_id": (pl.Int64, "bigint"),
    "model_id": (pl.Int64, "bigint"),
    "p_win": (pl.Float64, "double precision"),
    "p_place": (pl.Float64, "double precision"),
    "fair_odds_win": (pl.Float64, "double precision"),
    "fair_odds_place": (pl.Float64, "double precision"),
    "best_odds_win": (pl.Float64, "double precision"),
    "best_odds_src": (pl.String, "text"),
    "ew_places": (pl.Int32, "integer"),
    "ew_fraction": (pl.String, "text"),
    "edge_win": (pl.Float64, "double precision"),
    "edge_ew": (pl.Float64, "double precision"),
    "kelly_fraction": (pl.Float64, "double precision"),
    "stake_units": (pl.Float64, "double precision"),
    "liquidity_ok": (pl.Boolean, "boolean"),
    "reasons_json": (pl.String, "jsonb"),
    "runner_id": (pl.Int64, "bigint"),
    "race_date": (pl.Date, "date"),
    "p_model": (pl.Float64, "double precision"),
    "p_market": (pl.Float64, "double precision"),
    "vs_market_logit": (pl.Float64, "double precision"),
    "execution": (pl.String, "text"),
    "execution_odds": (pl.Float64, "double precision"),
}
REQUIRED_COLUMNS = ("as_of", "race_id", "horse_id", "model_id", "p_win")
ODDS_COLUMNS = ("fair_odds_win", "fair_odds_place", "best_odds_win", "execution_odds")
PROBABILITY_COLUMNS = ("p_win", "p_place", "p_model", "p_market")
SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class PublishResult:
    rows: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated


def _row_label(row: dict) -> str:
    return f"race_id={row['race_id']} horse_id={row['horse_id']}"


def _first(frame: pl.DataFrame, mask: pl.Expr) -> dict | None:
    bad = frame.filter(mask)
    return bad.row(0, named=True) if bad.height else None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_problem(text: str) -> str | None:
    """Why modeling.signals would refuse `text`, or None. Python's json accepts NaN and Infinity,
    jsonb does not; jsonb also refuses the NUL character (\\u0000) in strings; the column holds
    a JSON object (the API decodes it as one)."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return "is not valid JSON"
    if not isinstance(value, dict):
        return f"is a JSON {_json_kind(value)}, not an object"
    if "\\u0000" in text.lower() and _holds_nul(value):
        return "holds \\u0000, which PostgreSQL jsonb refuses"
    return None


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    kinds = ((list, "array"), (str, "string"), ((int, float), "number"))
    return next((kind for types, kind in kinds if isinstance(value, types)), "null")


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _reasons_as_json_text(frame: pl.DataFrame) -> pl.Series:
    """reasons_json as JSON text. Pass JSON strings (or Python objects in an Object column):
    building a Polars column from dicts infers one struct type and silently drops keys."""
    column = frame.get_column("reasons_json")
    if column.dtype == pl.String:
        for index, text in enumerate(column.to_list()):
            if text is None:
                continue
            problem = _json_problem(text)
            if problem is not None:
                row = frame.row(index, named=True)
                raise ValidationError(f"signal row {_row_label(row)}: reasons_json {problem}")
        return column
    if column.dtype == pl.Object:
        texts = []
        for index, value in enumerate(column.to_list()):
            try:
                text = None if value is None else json.dumps(value, sort_keys=True, allow_nan=False)
            except (TypeError, ValueError) as exc:
                row = frame.row(index, named=True)
                raise ValidationError(f"signal row {_row_label(row)}: reasons_json cannot be JSON: {exc}") from None
            if text is not None and not isinstance(value, dict):
                row = frame.row(index, named=True)
                raise ValidationError(
                    f"signal row {_row_label(row)}: reasons_json is a JSON {_json_kind(value)}, not an object"
                )
            if text is not None and _holds_nul(value):
                row = frame.row(index, named=True)
                raise ValidationError(
                    f"signal row {_row_label(row)}: reasons_json holds \\u0000, which PostgreSQL jsonb refuses"
                )
            texts.append(text)
        return pl.Series("reasons_json", texts, dtype=pl.String)
    raise ValidationError(
        f"signal batch column reasons_json must hold JSON text (String), not {column.dtype}; use json.dumps per row"
    )


def prepare_signals(signals: pl.DataFrame) -> pl.DataFrame:
    """Check columns and types, cast to the table's types, serialise reasons_json."""
    unknown = sorted(set(signals.columns) - set(SIGNAL_COLUMNS))
    if unknown:
        raise ValidationError(f"signal batch has columns modeling.signals does not: {', '.join(unknown)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in signals.columns]
    if missing:
        raise ValidationError(f"signal batch lacks required column(s): {', '.join(missing)}")
    as_of_dtype = signals.schema["as_of"]
    if not isinstance(as_of_dtype, pl.Datetime) or as_of_dtype.time_zone is None:
        raise ValidationError("signal batch column as_of must be a time-zone-aware datetime (UTC instant)")

    frame = signals
    if "reasons_json" in frame.columns:
        frame = frame.with_columns(_reasons_as_json_text(frame))
    casts = []
    for name in frame.columns:
        dtype, _ = SIGNAL_COLUMNS[name]
        if dtype.is_integer() and frame.schema[name].is_float():
            # A strict cast truncates 1.5 to 1 without complaint: ids must arrive whole.
            fractional = _first(frame, pl.col(name).is_not_null() & (pl.col(name) != pl.col(name).round(0)))
            if fractional is not None:
                raise ValidationError(
                    f"signal row race_id={fractional['race_id']} horse_id={fractional['horse_id']}: "
                    f"{name}={fractional[name]} is not a whole number"
                )
        if name == "as_of":
            casts.append(pl.col(name).dt.convert_time_zone("UTC").cast(dtype))
        else:
            casts.append(pl.col(name).cast(dtype, strict=True))
    try:
        return frame.select(casts)
    except pl.exceptions.PolarsError as exc:
        raise ValidationError(f"signal batch has a column of the wrong type: {str(exc).splitlines()[0]}") from None


def _row_rules(frame: pl.DataFrame) -> list[tuple[pl.Expr, object]]:
    """Every per-row rule, in the order they are reported: (mask of breaking rows, message)."""
    rules: list[tuple[pl.Expr, object]] = []
    for name in REQUIRED_COLUMNS:
        rules.append((pl.col(name).is_null(), lambda row, name=name: f"{name} is NULL"))
    for name, (dtype, _) in SIGNAL_COLUMNS.items():
        if name in frame.columns and dtype == pl.Float64:
            rules.append(
                (
                    pl.col(name).is_nan() | pl.col(name).is_infinite(),
                    lambda row, name=name: f"{name}={row[name]} is NaN or infinite",
                )
            )
    for name in PROBABILITY_COLUMNS:
        if name in frame.columns:
            rules.append(
                (
                    (pl.col(name) <= 0) | (pl.col(name) > 1),
                    lambda row, name=name: f"{name}={row[name]} is outside (0, 1]",
                )
            )
    for name in ODDS_COLUMNS:
        if name in frame.columns:
            rules.append(
                (
                    pl.col(name) < MIN_ODDS,
                    lambda row, name=name: (
                        f"{name}={row[name]} is below {MIN_ODDS} (odds must be NULL or >= {MIN_ODDS})"
                    ),
                )
            )
    return rules


def validate_signals(frame: pl.DataFrame) -> None:
    """Raise ValidationError naming the first row (race_id, horse_id) that breaks a rule."""
    rules = _row_rules(frame)
    # One pass over the batch for every rule; the offending row is looked up only when one breaks.
    broken = frame.select([mask.fill_null(False).any().alias(str(i)) for i, (mask, _) in enumerate(rules)]).row(0)
    for (mask, message), is_broken in zip(rules, broken, strict=True):
        if is_broken:
            row = _first(frame, mask)
            assert row is not None
            raise ValidationError(f"signal row {_row_label(row)}: {message(row)}")  # type: ignore[operator]

    duplicated = _first(frame, pl.struct(*KEY_COLUMNS).is_duplicated())
    if duplicated is not None:
        raise ValidationError(
            f"signal row {_row_label(duplicated)}: appears twice in the batch for as_of={duplicated['as_of']} model_id={duplicated['model_id']}"
        )

    sums = (
        frame.group_by("as_of", "race_id", "model_id")
        .agg(pl.col("p_win").sum().alias("total"), pl.col("horse_id").min().alias("horse_id"))
        .filter((pl.col("total") - 1.0).abs() > SUM_TOLERANCE)
        .sort("race_id")
    )
    if sums.height:
        row = sums.row(0, named=True)
        raise ValidationError(
            f"signal row {_row_label(row)}: p_win of race_id={row['race_id']} sums to {row['total']:.9f}, "
            f"not 1 within {SUM_TOLERANCE:g} (as_of={row['as_of']}, model_id={row['model_id']})"
        )


def _check_models_exist(conn: psycopg.Connection, frame: pl.DataFrame) -> None:
    model_ids = frame.get_column("model_id").unique().sort().to_list()
    known = {
        r[0]
        for r in conn.execute("SELECT model_id FROM modeling.models WHERE model_id = ANY(%s)", (model_ids,)).fetchall()
    }
    for model_id in model_ids:
        if model_id not in known:
            row = frame.filter(pl.col("model_id") == model_id).row(0, named=True)
            raise ValidationError(
                f"signal row {_row_label(row)}: model_id={model_id} does not exist in modeling.models"
            )


def _csv_payload(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    # NULL is written as \N so that an empty string stays an empty string.
    frame.write_csv(buffer, include_header=False, null_value="\\N", datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z")
    return buffer.getvalue()


def publish_signals(conn: psycopg.Connection, signals: pl.DataFrame) -> PublishResult:
    """Validate and upsert a batch of signals in one transaction; all rows or none."""
    frame = prepare_signals(signals)
    validate_signals(frame)
    if frame.height == 0:
        return PublishResult(0, 0, 0)
    columns = frame.columns
    column_list = ", ".join(columns)
    staging_types = ", ".join(f"{c} {SIGNAL_COLUMNS[c][1]}" for c in columns)
    non_key = [c for c in columns if c not in KEY_COLUMNS]
    if non_key:
        update = ", ".join(f"{c} = EXCLUDED.{c}" for c in non_key)
        changed = (
            f"({', '.join('s.' + c for c in non_key)}) IS DISTINCT FROM ({', '.join('EXCLUDED.' + c for c in non_key)})"
        )
        conflict = f"DO UPDATE SET {update} WHERE {changed}"
    else:
        conflict = "DO NOTHING"

    with conn.transaction():
        _check_models_exist(conn, frame)
        # Inside a caller's open transaction a previous publish's stage table may still exist.
        conn.execute("DROP TABLE IF EXISTS pg_temp.signals_stage")
        conn.execute(f"CREATE TEMP TABLE signals_stage ({staging_types}) ON COMMIT DROP")
        with conn.cursor().copy(f"COPY signals_stage ({column_list}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
            copy.write(_csv_payload(frame))
        rows = conn.execute(
            f"""INSERT INTO modeling.signals AS s ({column_list})
                SELECT {column_list} FROM signals_stage
                ON CONFLICT (as_of, race_id, horse_id, model_id) {conflict}
                RETURNING (xmax = 0) AS inserted"""
        ).fetchall()
    inserted = sum(1 for (flag,) in rows if flag)
    return PublishResult(rows=frame.height, inserted=inserted, updated=len(rows) - inserted)
