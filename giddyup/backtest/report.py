"""The backtest report: backtest.json and backtest.html in the backtest's folder, and an MLflow run
(experiment giddyup-backtest) holding both with the headline figures as metrics.

Figures (giddyup.backtest.evidence for the definitions): per day and cumulative bets, staked, pnl,
ROI with its 95% interval, mean CLV with its interval, share that beat the close; the same by odds
band, price source and minutes to the off; plots of cumulative profit and CLV. On a simulated
world also the true expected value of every bet, predicted edge against true edge, and the
reference strategies (oracle, favourite, random). The files depend only on the rows read, so the
report of the same days is the same file.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import psycopg

from giddyup import pricing
from giddyup.artifacts import BACKTEST_ARTIFACT_DIR, BACKTEST_EXPERIMENT
from giddyup.backtest import evidence
from giddyup.config import Settings
from giddyup.reports.performance import bet_figures, html_table, json_safe, png_base64

MINUTES_TO_OFF_BANDS = (0.0, 2.0, 5.0, 10.0, 30.0, 120.0)


@dataclass(frozen=True)
class BacktestReport:
    document: dict
    json_path: Path
    html_path: Path
    mlflow_run_id: str | None


def _minutes_band(minutes: pl.Expr) -> pl.Expr:
    expr = pl.lit(f"{MINUTES_TO_OFF_BANDS[-1]:g}+ min")
    for low, high in reversed(list(itertools.pairwise(MINUTES_TO_OFF_BANDS))):
        expr = pl.when(minutes < high).then(pl.lit(f"{low:g}-{high:g} min")).otherwise(expr)
    return expr


def _grouped(bets: pl.DataFrame, by: str, truth: bool) -> list[dict]:
    figures = [*bet_figures()]
    if truth:
        figures.append((pl.col("true_ev").sum() / pl.col("stake").sum()).alias("true_ev_roi"))
    table = bets.filter(pl.col("status") == "settled").group_by(by).agg(figures).sort(by)
    return [json_safe(row) for row in table.iter_rows(named=True)]


def _per_day(bets: pl.DataFrame, days: list[dict]) -> list[dict]:
    settled = bets.filter(pl.col("status") == "settled")
    daily = {
        row["race_date"]: row
        for row in settled.group_by("race_date").agg(bet_figures()).sort("race_date").iter_rows(named=True)
    }
    rows, staked, pnl = [], 0.0, 0.0
    for day in days:
        date = dt.date.fromisoformat(day["day"])
        figures = daily.get(date, {"bets": 0, "staked": 0.0, "pnl": 0.0, "roi": None, "mean_clv": None})
        staked += figures["staked"] or 0.0
        pnl += figures["pnl"] or 0.0
        rows.append(
            json_safe(
                {
                    "day": day["day"],
                    "races": day.get("races"),
                    "bets": figures["bets"],
                    "staked": figures["staked"],
                    "pnl": figures["pnl"],
                    "roi": figures["roi"],
                    "mean_clv": figures["mean_clv"],
                    "cumulative_staked": staked,
                    "cumulative_pnl": pnl,
                    "cumulative_roi": pnl / staked if staked else None,
                    "model_version": day.get("model_version"),
                }
            )
        )
    return rows


def build_document(
    conn: psycopg.Connection, settings: Settings, first: dt.date, last: dt.date, days: list[dict]
) -> tuple[dict, pl.DataFrame, pl.DataFrame]:
    commission = settings.exchange_commission
    bets = evidence.load_bets(conn, first, last, settings.bet_source, settings.race_tz, commission)
    decisions = evidence.load_decisions(conn, first, last, settings.bet_source, settings.race_tz)
    truth = bets.height > 0 and bets.get_column("p_true").null_count() < bets.height
    settled = bets.filter(pl.col("status") == "settled") if bets.height else bets
    headline = evidence.strategy_summary(settled, truth=truth)
    races_run = sum(int(day.get("races") or 0) for day in days)
    document: dict = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": len(days),
        "races": races_run,
        "races_decided": decisions.get_column("race_id").n_unique() if decisions.height else 0,
        **{k: v for k, v in headline.items() if k != "races"},
        "bets_void": bets.filter(pl.col("status") == "void").height if bets.height else 0,
        "bets_open": bets.filter(pl.col("status") == "open").height if bets.height else 0,
        "settings": {
            "bet_source": settings.bet_source,
            "model_name": settings.model_name,
            "kelly_multiplier": settings.kelly_multiplier,
            "min_edge": settings.min_edge,
            "min_edge_per_sqrt_odds": settings.min_edge_per_sqrt_odds,
            "bsp_below_fair": settings.bsp_below_fair,
            "max_stake_per_bet": settings.max_stake_per_bet,
            "max_stake_per_race": settings.max_stake_per_race,
            "max_stake_per_day": settings.max_stake_per_day,
            "exchange_commission": commission,
            "decision_minutes_before_off": settings.decision_minutes_before_off,
        },
        "per_day": _per_day(bets, days) if bets.height else [],
        "models": _models(conn, first, last, settings.require_edge_evidence),
    }
    if settled.height:
        banded = settled.with_columns(
            _minutes_band(pl.col("minutes_to_off")).alias("minutes_to_off_band"),
            pl.col("best_odds_src").alias("price_source"),
        )
        document["by_odds_band"] = _grouped(banded, "odds_band", truth)
        document["by_price_source"] = _grouped(banded, "price_source", truth)
        document["by_minutes_to_off"] = _grouped(banded, "minutes_to_off_band", truth)
        document["by_execution"] = _grouped(banded, "execution", truth)
    if truth and decisions.height:
        rules = pricing.StakeRules.from_settings(settings)
        strategies = {
            "oracle": evidence.oracle_stakes(decisions, rules),
            "favourite": evidence.favourite_stakes(decisions),
            "random": evidence.random_stakes(decisions, settled),
        }
        document["reference"] = {
            name: evidence.strategy_summary(evidence.strategy_bets(decisions, stakes, commission), truth=True)
            for name, stakes in strategies.items()
        }
        oracle = document["reference"]["oracle"]
        document["oracle_true_ev_profit"] = oracle.get("true_ev_profit")
        if document.get("true_ev_profit") is not None and oracle.get("true_ev_profit"):
            document["oracle_share_captured"] = document["true_ev_profit"] / oracle["true_ev_profit"]
    return document, settled, decisions


def _models(conn: psycopg.Connection, first: dt.date, last: dt.date, require_evidence: bool) -> list[dict]:
    """The versions that priced the window, each with its holdout's evidence of edge and whether
    the staking rule stood down on its prices (giddyup.pricing.stands_down, unless the settings
    stake without evidence)."""
    from giddyup.pricing import stands_down

    rows = conn.execute(
        """SELECT m.name, m.version, m.combiner_json, count(DISTINCT s.race_date)
           FROM modeling.models m JOIN modeling.signals s ON s.model_id = m.model_id
           WHERE m.name LIKE '%%-backtest-%%' AND s.race_date BETWEEN %s AND %s
           GROUP BY m.name, m.version, m.combiner_json ORDER BY m.name, m.version""",
        (first, last),
    ).fetchall()
    models = []
    for name, version, combiner, days in rows:
        combiner = combiner or {}
        evidence_block = combiner.get("edge_evidence") or {}
        models.append(
            {
                "model": f"{name} v{version}",
                "days_priced": days,
                "evidence_of_edge": evidence_block.get("evidence_of_edge"),
                "gain_per_race": evidence_block.get("mean_gain_per_race"),
                "gain_ci95": evidence_block.get("ci95"),
                "stood_down": require_evidence and stands_down(combiner) is not None,
            }
        )
    return models


def _plots(settled: pl.DataFrame, truth: bool) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    pictures: dict[str, str] = {}
    ordered = settled.sort("ts", "bet_id")
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    ax.plot(
        np.arange(1, ordered.height + 1), ordered.get_column("pnl").cum_sum().to_numpy(), color="#1f6f43", label="pnl"
    )
    if truth:
        ev = ordered.get_column("true_ev").fill_null(0).cum_sum().to_numpy()
        ax.plot(np.arange(1, ordered.height + 1), ev, color="#b26a00", label="true expected value")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(xlabel="bet (in order placed)", ylabel="units", title="Cumulative profit")
    ax.legend(loc="best")
    fig.tight_layout()
    pictures["Cumulative profit"] = png_base64(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    clv = ordered.get_column("clv").fill_null(0.0).to_numpy()
    counts = np.arange(1, clv.size + 1)
    ax.plot(counts, np.cumsum(clv) / counts, color="#2b5d9b")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set(xlabel="bet (in order placed)", ylabel="mean CLV so far", title="Closing-line value (against Betfair SP)")
    fig.tight_layout()
    pictures["Closing-line value"] = png_base64(fig)
    plt.close(fig)

    if truth:
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        predicted = ordered.get_column("edge_win").to_numpy().astype(float)
        true_edge = ordered.get_column("true_edge").to_numpy().astype(float)
        keep = np.isfinite(predicted) & np.isfinite(true_edge)
        ax.scatter(predicted[keep], true_edge[keep], s=6, alpha=0.4, color="#2b5d9b")
        if keep.sum() >= 10:
            edges = np.quantile(predicted[keep], np.linspace(0, 1, 11))
            which = np.clip(np.searchsorted(edges, predicted[keep], side="right") - 1, 0, 9)
            means = [
                (predicted[keep][which == k].mean(), true_edge[keep][which == k].mean())
                for k in range(10)
                if (which == k).any()
            ]
            ax.plot(*zip(*means, strict=True), color="#c62828", marker="o", label="mean by decile")
            ax.legend(loc="best")
        lim = [min(-0.5, float(np.nanmin(true_edge[keep])) if keep.any() else -0.5), 1.5]
        ax.plot(lim, lim, color="grey", linewidth=0.8)
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.set(
            xlabel="predicted edge (p_win × odds − 1)",
            ylabel="true edge (after commission)",
            title="Predicted against true edge",
        )
        fig.tight_layout()
        pictures["Predicted against true edge"] = png_base64(fig)
        plt.close(fig)
    return pictures


def _headline_rows(document: dict) -> pl.DataFrame:
    keys = ("days", "races", "races_decided", "bets", "staked", "pnl", "roi", "roi_ci", "clv_mean", "clv_ci",
            "beat_close_share", "true_ev_profit", "true_ev_roi", "true_ev_roi_ci", "oracle_true_ev_profit",
            "oracle_share_captured")  # fmt: skip
    return pl.DataFrame(
        {"figure": [k for k in keys if k in document], "value": [show(document[k]) for k in keys if k in document]}
    )


def show(value: object) -> str:
    """A figure as the summary table and the page print it."""
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.4f}"
    return "–" if value is None else str(value)


def _table(rows: list[dict]) -> str:
    return html_table(pl.DataFrame(rows)) if rows else "<p>none</p>"


def render_html(document: dict, pictures: dict[str, str]) -> str:
    first, last = document["from"], document["to"]
    reference = document.get("reference")
    parts = [
        f"<h1>Backtest {html.escape(first)} to {html.escape(last)}</h1>",
        "<p>Every replayed day ran the race-day jobs at their scheduled instants (retrain on the "
        "backtest's cadence, scoring at 08:00 Madrid, refreshes and the paper step through the day, "
        "results, settlement). Intervals are 95% bootstrap intervals over races. CLV is against "
        "Betfair SP. True expected value uses the simulator's true probabilities.</p>",
        "<h2>Headline</h2>",
        html_table(_headline_rows(document)),
    ]
    if reference:
        rows = [{"strategy": "signals (these bets)", **_reference_row(document)}]
        rows += [{"strategy": name, **_reference_row(figures)} for name, figures in reference.items()]
        parts += ["<h2>Reference strategies on the same races and decision prices</h2>", _table(rows)]
    for key, title in (
        ("by_odds_band", "By odds band (odds taken)"),
        ("by_price_source", "By price source"),
        ("by_minutes_to_off", "By minutes to the off"),
        ("by_execution", "By how the bet was struck (the price now, or Betfair SP)"),
        ("per_day", "Per day and cumulative"),
        ("models", "Model versions: evidence of edge on their holdout, and whether staking stood down"),
    ):
        parts += [f"<h2>{title}</h2>", _table(document.get(key, []))]
    for title, png in pictures.items():
        parts += [
            f"<h2>{html.escape(title)}</h2>",
            f'<img alt="{html.escape(title)}" src="data:image/png;base64,{png}">',
        ]
    parts += ["<h2>Settings</h2>", _table([document["settings"]])]
    body = "\n".join(parts)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>GiddyUp backtest {html.escape(first)} to {html.escape(last)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;margin-bottom:1.5em}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}</style></head><body>
{body}
</body></html>
"""


def _reference_row(figures: dict) -> dict:
    return {
        key: show(figures.get(key))
        for key in ("bets", "staked", "pnl", "roi", "clv_mean", "beat_close_share", "true_ev_profit", "true_ev_roi")
    }


def write_report(
    conn: psycopg.Connection, settings: Settings, first: dt.date, last: dt.date, days: list[dict], out: Path
) -> BacktestReport:
    document, settled, _ = build_document(conn, settings, first, last, days)
    truth = "true_ev_profit" in document
    pictures = _plots(settled, truth) if settled.height else {}
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "backtest.json", out / "backtest.html"
    for path, text in (
        (json_path, json.dumps(document, indent=2, sort_keys=True, default=str)),
        (html_path, render_html(document, pictures)),
    ):
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    run_id = _log_to_mlflow(settings, document, json_path, html_path)
    return BacktestReport(document, json_path, html_path, run_id)


def _log_to_mlflow(settings: Settings, document: dict, json_path: Path, html_path: Path) -> str:
    """One run per backtest window (replaced figures on a re-run: same run name, new run)."""
    from giddyup.model.registry import configure_mlflow

    client = configure_mlflow(settings)
    experiment = client.get_experiment_by_name(BACKTEST_EXPERIMENT)
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment(BACKTEST_EXPERIMENT, artifact_location=settings.mlflow_artifact_location())
    )
    run = client.create_run(experiment_id, run_name=f"backtest {document['from']} to {document['to']}")
    run_id = run.info.run_id
    for key in ("days", "races", "bets", "staked", "pnl", "roi", "clv_mean", "beat_close_share", "true_ev_profit",
                "true_ev_roi", "oracle_true_ev_profit", "oracle_share_captured"):  # fmt: skip
        value = document.get(key)
        if isinstance(value, (int, float)) and value == value:
            client.log_metric(run_id, key, float(value))
    client.log_param(run_id, "from", document["from"])
    client.log_param(run_id, "to", document["to"])
    client.log_artifact(run_id, str(json_path), artifact_path=BACKTEST_ARTIFACT_DIR)
    client.log_artifact(run_id, str(html_path), artifact_path=BACKTEST_ARTIFACT_DIR)
    client.set_terminated(run_id)
    return run_id
