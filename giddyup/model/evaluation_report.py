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


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.4f}"


def _interval(edge: dict | None) -> str:
    if not edge or edge.get("ci95") is None:
        return "–"
    low, high = edge["ci95"]
    return f"{low:+.4f} to {high:+.4f}"


def _verdict(edge: dict | None) -> str:
    if not edge or edge.get("ci95") is None:
        return "too few race days"
    return "evidence of edge" if edge["evidence_of_edge"] else "no evidence of edge"


def edge_section(result: dict) -> str:
    """The combined model's log-loss gain over the market per race, with its interval, per row."""
    rows = [("all test races" if not result.get("steps") else "pooled (walk-forward)", result)]
    if result.get("single_fit"):
        rows.append(("single fit", result["single_fit"]))
    for step in result.get("steps", []):
        rows.append((f"step {step['step']}" + (f" ({step['season']})" if step.get("season") else ""), step))
    body = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{_fmt(block['edge_vs_market']['n_races'], 0)}</td>"
        f"<td>{_fmt(block['edge_vs_market']['n_days'], 0)}</td>"
        f"<td>{_signed(block['edge_vs_market']['mean_gain_per_race'])}</td>"
        f"<td>{_interval(block['edge_vs_market'])}</td><td>{_verdict(block['edge_vs_market'])}</td></tr>"
        for label, block in rows
        if block.get("edge_vs_market")
    )
    if not body:
        return ""
    method = html.escape(rows[0][1]["edge_vs_market"].get("method", ""))
    return f"""<h2>Evidence of edge: combined against the market</h2>
<p>Per race, the market's log loss minus the combined model's (log p_win − log p_market of the winner):
above zero, the combination priced the winner better. A staking rule needs the 95% interval's lower end
above zero; where it is not, there is no evidence that the model knows more than the price, and a rule
that respects it stakes nothing. This is necessary, not sufficient: the market probability here is the
price with its margin (overround) taken out, and a bet must also beat that margin, which the staking rule's
p × price − 1 &gt; min edge checks. One step of several above zero is what chance often gives: read the
pooled row. Interval: {method}.</p>
<table><tr><th></th><th>races</th><th>race days</th><th>mean gain per race</th><th>95% interval</th><th></th></tr>
{body}</table>"""


def walk_forward_section(result: dict) -> str:
    """Per step: training and test windows, races, R² of each source, ECE."""
    steps = result.get("steps")
    if not steps:
        return ""
    sources = [s for s in ("market", "model", "combined", "oracle") if s in steps[0]]
    head = "".join(f"<th>R² {s}</th>" for s in sources) + "".join(f"<th>ECE {s}</th>" for s in sources)
    body = ""
    for step in steps:
        window = step["window"]
        cells = "".join(f"<td>{_fmt(step[s]['r2'])}</td>" for s in sources)
        cells += "".join(f"<td>{_fmt(step['ece'][s])}</td>" for s in sources)
        body += (
            f"<tr><th>{step['step']}{' (' + html.escape(step['season']) + ')' if step.get('season') else ''}</th>"
            f"<td>{_fmt(window['train_from'])} to {_fmt(step['fit_until'])}</td>"
            f"<td>{_fmt(step['training']['n_races'], 0)}</td>"
            f"<td>{_fmt(window['test_from'])} to {_fmt(window['test_until'])}</td>"
            f"<td>{_fmt(step['n_races'], 0)}</td>{cells}</tr>"
        )
    skipped = result.get("skipped_steps") or []
    note = (
        f"<p>Skipped (nothing to score): {', '.join(_fmt(s['test_from']) + ' to ' + _fmt(s['test_until']) for s in skipped)}.</p>"
        if skipped
        else ""
    )
    return f"""<h2>Walk-forward steps</h2>
<p>Each step's model is trained on the race days shown, all before the step's scored window. ECE over
one step's runners is noisier (fewer runners per bin) than over all of them.</p>
<table><tr><th>step</th><th>trained on race days</th><th>races</th><th>scored window</th><th>races</th>{head}</tr>
{body}</table>{note}"""


def _window_sentence(result: dict) -> str:
    window = result.get("window", {})
    region = " (region " + _fmt(window.get("region")) + ")" if window.get("region") else ""
    walk = result.get("walk_forward")
    if not walk:
        return (
            f"Trained on races up to {_fmt(window.get('train_until'))}; tested {_fmt(window.get('test_from'))} to "
            f"{_fmt(window.get('test_until'))}{region}."
        )
    rule = f" ({_fmt(walk['season_rule'])})" if walk.get("season_rule") else ""
    return (
        f"Walk-forward over {_fmt(window.get('test_from'))} to {_fmt(window.get('test_until'))}{region}: retrained "
        f"every {_fmt(walk['retrain_every'])}{rule}, {walk['n_steps']} steps, each trained on every resulted race "
        "before its first day (calibration and combiner included) and scored on the step. The figures pool every "
        "scored race of every step. Single fit: trained once on races up to "
        f"{_fmt(window.get('train_until'))}, scored on the same races."
    )


def write_html(path: Path, result: dict, figures: dict[str, Figure]) -> Path:
    """evaluation.html: the R² table, scores, walk-forward steps, edge evidence, and every figure inline as PNG."""
    sources = [s for s in ("market", "model", "combined", "oracle") if result.get(s)]
    single = result.get("single_fit") or {}
    single_head = "<th>R² single fit</th><th>log loss single fit</th><th>ECE single fit</th>" if single else ""

    def single_cells(s: str) -> str:
        if not single:
            return ""
        if s not in single:
            return "<td>–</td><td>–</td><td>–</td>"
        return f"<td>{_fmt(single[s]['r2'])}</td><td>{_fmt(single[s]['logloss'])}</td><td>{_fmt(single['ece'].get(s))}</td>"

    rows = "".join(
        f"<tr><th>{s}</th><td>{_fmt(result[s]['r2'])}</td><td>{_fmt(result[s]['logloss'])}</td>"
        f"<td>{_fmt(result.get('ece', {}).get(s))}</td><td>{_fmt(result.get('brier', {}).get(s))}</td>"
        f"<td>{_fmt(result.get('top_pick_strike_rate', {}).get(s))}</td>{single_cells(s)}</tr>"
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
    scores_title = "McFadden R² and scores" + (" (pooled walk-forward, single fit beside)" if single else "")
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>GiddyUp evaluation</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}img{{max-width:100%}}</style></head>
<body><h1>GiddyUp evaluation</h1>
<p>{_window_sentence(result)}
Market price: {_fmt(result.get("market_price"))}. Scored races (one winner, every starter priced):
{result.get("n_races")}, runners {result.get("n_runners")}.</p>
<h2>{scores_title}</h2>
<table><tr><th></th><th>R²</th><th>log loss</th><th>ECE</th><th>Brier</th><th>top pick wins</th>{single_head}</tr>{rows}</table>
<p>R² = 1 − Σ −log p(winner) / Σ log(field size); log loss = mean over races of −log p(winner).</p>
{walk_forward_section(result)}
{edge_section(result)}
<h2>Staking rule at the market price</h2>
<p>{_fmt(result.get("roi", {}).get("rule"))}</p>
<table><tr><th></th><th>bets</th><th>profit</th><th>ROI</th></tr>{roi_rows}</table>
{images}
<h2>All figures (JSON)</h2><pre>{html.escape(json.dumps(result, indent=1, default=str))}</pre>
</body></html>
"""
    path.write_text(body, encoding="utf-8")
    return path
