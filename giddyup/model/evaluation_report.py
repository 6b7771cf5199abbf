"""Figures (matplotlib, no pyplot state) and the self-contained HTML evaluation report."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.figure import Figure

COLOURS = {"market": "#7f7f7f", "model": "#1f77b4", "combined": "#d62728", "oracle": "#2ca02c"}


def calibration_table(p: np.ndarray, outcome: np.ndarray, bins: int = 15) -> pl.DataFrame:
    """Equal-count bins of predicted probability: mean predicted, observed rate, runners."""
    order = np.argsort(p)
    rows = []
    for chunk in np.array_split(order, min(bins, max(len(p), 1))):
        if chunk.size:
            rows.append((float(p[chunk].mean()), float(outcome[chunk].mean()), int(chunk.size)))
    return pl.DataFrame(rows, schema=["predicted", "observed", "runners"], orient="row")


def calibration_figure(frame: pl.DataFrame, columns: dict[str, str], title: str = "Calibration") -> Figure:
    """One curve per probability column (label → column), against the 0/1 outcome `won`."""
    figure = Figure(figsize=(6.4, 5.2))
    axes = figure.subplots()
    outcome = frame.get_column("won").cast(pl.Float64).to_numpy()
    top = 0.0
    for label, column in columns.items():
        table = calibration_table(frame.get_column(column).to_numpy(), outcome)
        axes.plot(table["predicted"], table["observed"], marker="o", ms=3, label=label, color=COLOURS.get(label))
        top = max(top, float(table["predicted"].to_numpy().max()), float(table["observed"].to_numpy().max()))
    axes.plot([0, top], [0, top], ls="--", lw=1, color="black", label="perfect")
    axes.set_xlabel("predicted win probability (bin mean)")
    axes.set_ylabel("observed win rate")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    return figure


def importance_figure(importance: pl.DataFrame, top: int = 25) -> Figure:
    """Horizontal bars of total gain (columns feature, gain)."""
    shown = importance.sort("gain", descending=True).head(top).reverse()
    figure = Figure(figsize=(6.4, max(2.5, 0.28 * shown.height + 1)))
    axes = figure.subplots()
    axes.barh(shown["feature"].to_list(), shown["gain"].to_list(), color=COLOURS["model"])
    axes.set_xlabel("total gain")
    axes.set_title("LightGBM feature importance")
    figure.tight_layout()
    return figure


def profit_figure(curves: dict[str, pl.DataFrame], title: str) -> Figure:
    figure = Figure(figsize=(7.2, 4.4))
    axes = figure.subplots()
    for label, bets in curves.items():
        if bets.height:
            axes.plot(
                np.arange(1, bets.height + 1),
                bets["cumulative_profit"],
                label=f"{label} ({bets.height} bets)",
                color=COLOURS.get(label),
            )
    axes.axhline(0, color="black", lw=0.8)
    axes.set_xlabel("bets, in race order")
    axes.set_ylabel("cumulative profit (units)")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    return figure


def png_base64(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _fmt(value: object, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def write_html(path: Path, result: dict, figures: dict[str, Figure]) -> Path:
    """evaluation.html: the R² table, scores, and every figure inline as PNG."""
    sources = [s for s in ("market", "model", "combined", "oracle") if result.get(s)]
    rows = "".join(
        f"<tr><th>{s}</th><td>{_fmt(result[s]['r2'])}</td><td>{_fmt(result[s]['logloss'])}</td>"
        f"<td>{_fmt(result.get('ece', {}).get(s))}</td><td>{_fmt(result.get('brier', {}).get(s))}</td>"
        f"<td>{_fmt(result.get('top_pick_strike_rate', {}).get(s))}</td></tr>"
        for s in sources
    )
    roi_rows = "".join(
        f"<tr><th>{s}</th><td>{_fmt(r['bets'], 0)}</td><td>{_fmt(r['profit'], 2)}</td><td>{_fmt(r['roi'])}</td></tr>"
        for s, r in result.get("roi", {}).items()
        if isinstance(r, dict) and "bets" in r
    )
    images = "".join(
        f'<h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" src="data:image/png;base64,{png_base64(fig)}">'
        for title, fig in figures.items()
    )
    window = result.get("window", {})
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GiddyUp evaluation</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}img{{max-width:100%}}</style></head>
<body><h1>GiddyUp evaluation</h1>
<p>Trained on races up to {_fmt(window.get("train_until"))}; tested {_fmt(window.get("test_from"))} to
{_fmt(window.get("test_until"))}{" (region " + _fmt(window.get("region")) + ")" if window.get("region") else ""}.
Market price: {_fmt(result.get("market_price"))}. Scored races (one winner, every starter priced):
{result.get("n_races")}, runners {result.get("n_runners")}.</p>
<h2>McFadden R² and scores</h2>
<table><tr><th></th><th>R²</th><th>log loss</th><th>ECE</th><th>Brier</th><th>top pick wins</th></tr>{rows}</table>
<p>R² = 1 − Σ −log p(winner) / Σ log(field size); log loss = mean over races of −log p(winner).</p>
<h2>Staking rule at the market price</h2>
<p>{_fmt(result.get("roi", {}).get("rule"))}</p>
<table><tr><th></th><th>bets</th><th>profit</th><th>ROI</th></tr>{roi_rows}</table>
{images}
<h2>All figures (JSON)</h2><pre>{html.escape(json.dumps(result, indent=1, default=str))}</pre>
</body></html>
"""
    path.write_text(body, encoding="utf-8")
    return path
