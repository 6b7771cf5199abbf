"""Performance report of settled bets over a range of race days: HTML (inline PNGs) + JSON.

Counted: settled bets (void bets are listed separately, open ones too). Figures, overall, by odds
band of the odds taken and by race day: bets, staked, pnl, ROI = pnl / staked, mean closing-line
value and the share of bets with a known close that beat it (clv > 0). Plots: cumulative profit
in bet order (by ts) and a histogram of CLV. The files depend only on the rows read, so running
the report again for the same range rewrites the same content.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import psycopg

ODDS_BANDS = (1.01, 2.0, 3.0, 5.0, 10.0, 20.0)  # lower edges; the last band is open-ended

_BETS_SQL = """
SELECT b.bet_id, b.ts, coalesce(b.race_date, r.race_date) AS race_date, b.side, b.source, b.odds, b.stake,
       b.pnl, b.clv, b.status
FROM modeling.bets b
JOIN racing.races r ON r.race_id = b.race_id
WHERE r.race_date BETWEEN %(first)s AND %(last)s AND (%(source)s::text IS NULL OR b.source = %(source)s)
ORDER BY b.ts, b.bet_id
"""

BET_SCHEMA: dict[str, Any] = {
    "bet_id": pl.Int64,
    "ts": pl.Datetime("us", "UTC"),
    "race_date": pl.Date,
    "side": pl.String,
    "source": pl.String,
    "odds": pl.Float64,
    "stake": pl.Float64,
    "pnl": pl.Float64,
    "clv": pl.Float64,
    "status": pl.String,
}


@dataclass(frozen=True)
class PerformanceReport:
    summary: dict
    html_path: Path
    json_path: Path


def odds_band(odds: pl.Expr) -> pl.Expr:
    """The band label of decimal odds: `1.01-2`, `2-3`, ..., `20+`."""
    labels = _band_labels()
    expr = pl.lit(labels[-1])
    for upper, label in reversed(list(zip(ODDS_BANDS[1:], labels, strict=False))):
        expr = pl.when(odds < upper).then(pl.lit(label)).otherwise(expr)
    return expr


def bet_figures() -> list[pl.Expr]:
    with_close = pl.col("clv").is_not_null()
    return [
        pl.len().alias("bets"),
        pl.col("stake").sum().alias("staked"),
        pl.col("pnl").sum().alias("pnl"),
        (pl.col("pnl").sum() / pl.col("stake").sum()).alias("roi"),
        pl.col("clv").mean().alias("mean_clv"),
        (pl.col("clv").filter(with_close) > 0).mean().alias("beat_close_share"),
        with_close.sum().alias("bets_with_close"),
    ]


def performance_tables(bets: pl.DataFrame) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    """Overall figures, by odds band and by day, of the settled bets in `bets`."""
    settled = bets.filter(pl.col("status") == "settled")
    overall = settled.select(bet_figures()).row(0, named=True) if settled.height else _empty_summary()
    overall["void"] = bets.filter(pl.col("status") == "void").height
    overall["open"] = bets.filter(pl.col("status") == "open").height
    band_order = {label: i for i, label in enumerate(_band_labels())}
    by_band = (
        settled.with_columns(odds_band(pl.col("odds")).alias("odds_band"))
        .group_by("odds_band")
        .agg(bet_figures())
        .sort(pl.col("odds_band").replace_strict(band_order, return_dtype=pl.Int32))
    )
    by_day = settled.group_by("race_date").agg(bet_figures()).sort("race_date")
    return json_safe(overall), by_band, by_day


def _band_labels() -> list[str]:
    return [f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(ODDS_BANDS)] + [f"{ODDS_BANDS[-1]:g}+"]


def _empty_summary() -> dict:
    return {
        "bets": 0,
        "staked": 0.0,
        "pnl": 0.0,
        "roi": None,
        "mean_clv": None,
        "beat_close_share": None,
        "bets_with_close": 0,
    }


def json_safe(values: dict) -> dict:
    """JSON-safe: NaN (e.g. ROI of nothing staked) as None, floats rounded for stable files."""
    out: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, float):
            out[key] = None if value != value else round(value, 10)
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


def png_base64(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots(settled: pl.DataFrame) -> tuple[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    cumulative = settled.get_column("pnl").cum_sum().to_list()
    ax.plot(range(1, len(cumulative) + 1), cumulative, color="#1f6f43")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(xlabel="bet (in order placed)", ylabel="cumulative profit (units)", title="Cumulative profit")
    fig.tight_layout()
    profit_png = png_base64(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.2))
    clv = settled.get_column("clv").drop_nulls().to_list()
    ax.hist(clv, bins=min(30, max(5, len(clv) // 3)) if clv else 5, color="#2b5d9b")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set(xlabel="closing-line value (odds taken / close − 1)", ylabel="bets", title="CLV")
    fig.tight_layout()
    clv_png = png_base64(fig)
    plt.close(fig)
    return profit_png, clv_png


def html_table(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def write_performance_report(
    conn: psycopg.Connection, first: dt.date, last: dt.date, out: Path, *, source: str | None = None
) -> PerformanceReport:
    rows = conn.execute(_BETS_SQL, {"first": first, "last": last, "source": source}).fetchall()
    bets = pl.DataFrame(rows, schema=BET_SCHEMA, orient="row")
    summary, by_band, by_day = performance_tables(bets)
    settled = bets.filter(pl.col("status") == "settled")
    profit_png, clv_png = _plots(settled)

    out.mkdir(parents=True, exist_ok=True)
    document = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "source": source,
        "summary": summary,
        "by_odds_band": [json_safe(r) for r in by_band.iter_rows(named=True)],
        "by_day": [json_safe(r) for r in by_day.iter_rows(named=True)],
    }
    json_path = out / "performance.json"
    json_path.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
    summary_table = pl.DataFrame([summary])
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>GiddyUp performance {first} to {last}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;margin-bottom:1.5em}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}</style></head><body>
<h1>Performance {first} to {last}{html.escape(f" (source {source})" if source else "")}</h1>
<h2>Overall</h2>{html_table(summary_table)}
<h2>By odds band (odds taken)</h2>{html_table(by_band)}
<h2>By day</h2>{html_table(by_day)}
<h2>Cumulative profit</h2><img alt="cumulative profit" src="data:image/png;base64,{profit_png}">
<h2>Closing-line value</h2><img alt="CLV histogram" src="data:image/png;base64,{clv_png}">
</body></html>
"""
    html_path = out / "performance.html"
    html_path.write_text(page, encoding="utf-8")
    return PerformanceReport(summary=summary, html_path=html_path, json_path=json_path)
