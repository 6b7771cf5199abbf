"""The verdict on top of Evidently's HTML page: what on-call reads first at 08:05.

Status, which features drifted and by how much, prediction and market drift, and what to do, in
plain HTML with inline styles (the page must work as a single file, opened from disk or MLflow);
Evidently's own report follows unchanged.
"""

from __future__ import annotations

import re
from html import escape

from giddyup.monitor.drift_result import (
    CATEGORICAL_METHOD,
    DRIFT_THRESHOLD,
    NUMERICAL_METHOD,
    SOURCE_COLUMN,
    ColumnDrift,
    DriftSummary,
    SourceMix,
)

STATUS_COLOURS = {"ok": "#1b7f3b", "warn": "#b26a00", "alert": "#c62828"}
WHAT_TO_DO = {
    "ok": "Nothing to do: today's runners look like the training data.",
    "warn": "Look at the drifted columns below before racing; today's prices are still published.",
    "alert": (
        "Today's prices rest on inputs unlike the training data. Check the feeds behind the drifted "
        "features (a column missing for every runner is a dead feed) and decide whether to pause "
        "betting. The drift task failed on purpose; this report is complete."
    ),
}
_CELL = "padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"


def with_verdict(evidently_html: str | None, summary: DriftSummary, heading: str) -> str:
    """Evidently's page with the verdict inserted first in its body (a page of its own without one)."""
    verdict = render_verdict(summary, heading)
    title = f"<title>{escape(f'{summary.status.upper()}: drift {heading}')}</title>"
    if evidently_html is None:
        return f'<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">{title}</head><body>{verdict}</body></html>'
    page = re.sub(r"<head[^>]*>", lambda m: m.group(0) + title, evidently_html, count=1, flags=re.IGNORECASE)
    page, inserted = re.subn(r"<body[^>]*>", lambda m: m.group(0) + verdict, page, count=1, flags=re.IGNORECASE)
    if not inserted:  # an Evidently page without <body>: keep the verdict first anyway
        page = verdict + page
    return page


def render_verdict(summary: DriftSummary, heading: str) -> str:
    colour = STATUS_COLOURS[summary.status]
    share = f"{summary.n_drifted} of {summary.n_features} model features drifted ({summary.share_drifted:.0%})"
    parts = [
        f'<section id="giddyup-verdict" data-status="{summary.status}" '
        'style="font-family:system-ui,sans-serif;max-width:1100px;margin:16px auto;padding:16px 24px;'
        f'border:3px solid {colour};border-radius:8px;background:#fff;color:#222">',
        f'<div style="display:flex;align-items:center;gap:16px"><span id="giddyup-status" style="background:{colour};'
        'color:#fff;font-size:28px;font-weight:700;padding:6px 18px;border-radius:6px">'
        f"{summary.status.upper()}</span>",
        f'<div><div style="font-size:20px;font-weight:600">Drift report {escape(heading)}</div>',
        f'<div style="font-size:18px">{escape(share)}</div></div></div>',
        "<ul>" + "".join(f"<li>{escape(r)}</li>" for r in summary.reasons) + "</ul>",
        f"<p><b>What to do:</b> {escape(WHAT_TO_DO[summary.status])}</p>",
        "<h2 style='font-size:18px'>Drifted features</h2>",
        _columns_table(summary.drifted_features) if summary.drifted_features else "<p>No model feature drifted.</p>",
        "<h2 style='font-size:18px'>Predictions</h2>",
        _columns_table(summary.prediction, show_all=True)
        if summary.prediction
        else "<p>No prediction columns to compare.</p>",
        "<h2 style='font-size:18px'>Market (reported, never changes the status)</h2>",
        _columns_table(summary.market, show_all=True) if summary.market else "",
        _source_mix(summary.source_mix),
        _all_features(summary),
        f"<p style='color:#555'>Compared {summary.n_current} runners scored on the day with {summary.n_reference} "
        f"runners of the model's training reference. Column test: {NUMERICAL_METHOD} (normed) for numbers, "
        f"{CATEGORICAL_METHOD} for categories, drifted at a distance ≥ {DRIFT_THRESHOLD:g}, or above the chance level of "
        "a sample of the day's effective size where that is higher (runners of one race are alike, so a column "
        "such as the going counts one observation per race; the threshold is shown per row); a column missing on one "
        "side only, or far more often today, counts as drifted."
        + (
            f" Not compared (missing on both sides): {escape(', '.join(summary.untested_features))}."
            if summary.untested_features
            else ""
        )
        + " Evidently's full report follows.</p>",
        "</section>",
    ]
    return "".join(parts)


def _columns_table(columns: tuple[ColumnDrift, ...], *, show_all: bool = False) -> str:
    header = ("column", "drifted", "how much (score / threshold)", "reference", "today", "why")
    rows = []
    for c in columns:
        if not (show_all or c.drifted):
            continue
        how_much = "—" if c.score is None else f"{c.score:.3f} / {c.threshold:g} ({c.severity:.2f}×)"
        style = "color:#c62828;font-weight:600" if c.drifted else ""
        cells = (
            c.column,
            "yes" if c.drifted else "no",
            how_much,
            _with_missing(c.reference_value, c.missing_reference),
            _with_missing(c.current_value, c.missing_current),
            c.reason,
        )
        rows.append(
            f'<tr class="drift-row" style="{style}">'
            + "".join(f'<td style="{_CELL}">{escape(v)}</td>' for v in cells)
            + "</tr>"
        )
    head = "<tr>" + "".join(f'<th style="{_CELL}">{escape(h)}</th>' for h in header) + "</tr>"
    return f'<table style="border-collapse:collapse;font-size:14px">{head}{"".join(rows)}</table>'


def _with_missing(value: str, missing: float) -> str:
    return f"{value} ({missing:.0%} missing)" if missing > 0 else value


def _source_mix(mix: SourceMix | None) -> str:
    if mix is None:
        return f"<p>Price source mix: the runners have no {SOURCE_COLUMN} column.</p>"
    if mix.baseline is None:
        verdict = f"not compared (no baseline: {escape(mix.baseline_label)})"
    else:
        state = "drifted" if mix.drifted else "stable"
        verdict = (
            f"{state} against {escape(mix.baseline_label)} ({mix.method} {mix.score:.3f}, threshold {mix.threshold:g})"
        )
    sources = list(dict.fromkeys([*mix.current, *(mix.baseline or {})]))
    rows = "".join(
        f'<tr><td style="{_CELL}">{escape(s)}</td>'
        f'<td style="{_CELL}">{"—" if mix.baseline is None else f"{mix.baseline.get(s, 0.0):.0%}"}</td>'
        f'<td style="{_CELL}">{mix.current.get(s, 0.0):.0%}</td></tr>'
        for s in sources
    )
    head = "".join(f'<th style="{_CELL}">{h}</th>' for h in ("price source", "baseline share", "today's share"))
    return (
        f"<p>Price source mix ({SOURCE_COLUMN}): <b>{verdict}</b></p>"
        f'<table style="border-collapse:collapse;font-size:14px"><tr>{head}</tr>{rows}</table>'
    )


def _all_features(summary: DriftSummary) -> str:
    ordered = tuple(sorted(summary.features, key=lambda c: (-c.severity, c.column)))
    return (
        f"<details><summary>All {summary.n_features} model features, most drifted first</summary>"
        f"{_columns_table(ordered, show_all=True)}</details>"
    )
