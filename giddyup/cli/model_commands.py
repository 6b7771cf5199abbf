"""`giddyup train`, `giddyup evaluate`, `giddyup model list|promote`.

LightGBM, MLflow and Polars are imported inside the command functions (startup stays fast).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from giddyup.cli.common import console
from giddyup.cli.options import RaceDate, output_folder, parse_date
from giddyup.errors import GiddyUpError

model_app = typer.Typer(help="Registered win-model versions: list them, promote one.", no_args_is_help=True)

PROMOTE_MODES = ("auto", "never")
MARKET_PRICES = ("auto", "dec", "win_bsp")


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise GiddyUpError(f"{option} {value!r} is not one of {', '.join(allowed)}")
    return value


Region = Annotated[list[str] | None, typer.Option("--region", help="Only these regions (repeatable: GB, IRE, HK).")]
Since = Annotated[str | None, typer.Option("--since", help="First race day of the training data (default: all).")]
MarketPrice = Annotated[str, typer.Option("--market-price", help="Market price column: auto, dec or win_bsp.")]


def train_command(
    date: RaceDate,
    promote: Annotated[
        str, typer.Option("--promote", help="auto: promote if it beats production on the holdout; never.")
    ] = "auto",
    since: Since = None,
    region: Region = None,
    market_price: MarketPrice = "auto",
) -> None:
    """Train the model for racing day --date on the races before it; register in MLflow (alias
    challenger); gate promotion.

    Reads the features `giddyup features build --date D` wrote under the artifacts folder when they
    are there (the nightly retrain's hand-off), else builds them. With --promote auto, alias
    production moves to the new version only when it beats the current production version by log
    loss on the same holdout races (both figures are printed)."""
    race_date = parse_date(date)
    since_day = parse_date(since, "--since") if since else None
    _choice(promote, PROMOTE_MODES, "--promote")
    _choice(market_price, MARKET_PRICES, "--market-price")

    from giddyup.config import get_settings
    from giddyup.db.connect import database_dsn
    from giddyup.model.train_job import describe, train_for_date

    settings = get_settings()
    with console.status("training (cross-validation, calibration, combiner) and logging to MLflow"):
        report = train_for_date(
            settings,
            database_dsn(settings),
            race_date,
            promote=promote,
            since=since_day,
            regions=region,
            price_column=market_price,
            on_features=console.print,
        )
    for line in describe(report):
        console.print(line)


def evaluate_command(
    train_until: Annotated[str, typer.Option("--train-until", help="Last race day of the training data.")],
    test_from: Annotated[str, typer.Option("--test-from", help="First race day predicted.")],
    test_until: Annotated[str, typer.Option("--test-until", help="Last race day predicted.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for evaluation.json and evaluation.html.")],
    region: Region = None,
    market_price: MarketPrice = "auto",
    since: Since = None,
    min_edge: Annotated[
        float, typer.Option("--min-edge", help="Staking rule: back runners with p x price - 1 above this.")
    ] = 0.1,
    retrain_every: Annotated[
        str | None,
        typer.Option(
            "--retrain-every",
            help="Walk forward: retrain before every season (HK from 1 Sept, else calendar year), month or "
            "N days of the test window on everything before it; pooled figures, the single fit beside.",
        ),
    ] = None,
) -> None:
    """Train up to --train-until, predict a test window, compare model, combined and market.

    Writes DIR/evaluation.json and DIR/evaluation.html (calibration, R² table, staking profit, the
    combined model's log-loss gain over the market with its 95% interval). With --retrain-every,
    also DIR/predictions.parquet (every scored runner of every step)."""
    train_end, test_start, test_end = (
        parse_date(train_until, "--train-until"),
        parse_date(test_from, "--test-from"),
        parse_date(test_until, "--test-until"),
    )
    since_day = parse_date(since, "--since") if since else None
    if not train_end < test_start <= test_end:
        raise GiddyUpError("need --train-until < --test-from <= --test-until")
    _choice(market_price, MARKET_PRICES, "--market-price")
    from giddyup.model.walk_steps import Cadence

    cadence = Cadence.parse(retrain_every) if retrain_every is not None else None
    output_folder(out)  # after the arguments: a refused command makes no folder

    import json

    import polars as pl

    from giddyup.config import get_settings
    from giddyup.db.connect import database_dsn
    from giddyup.features.build import build_training_features
    from giddyup.features.contract import FeatureSet
    from giddyup.model.evaluate import evaluate_feature_sets
    from giddyup.model.evaluation_report import write_html
    from giddyup.sim.truth import truth_of_runners

    dsn = database_dsn(get_settings())
    with console.status("building features"):
        # One build over both windows: each race's features use only earlier days anyway.
        features = build_training_features(dsn, until=test_end, since=since_day, regions=region)
    frame = features.frame
    train = FeatureSet(
        frame.filter(pl.col("race_date") <= train_end), features.feature_columns, features.categorical_columns
    )
    test = FeatureSet(
        frame.filter(pl.col("race_date") >= test_start), features.feature_columns, features.categorical_columns
    )
    if train.frame.height == 0 or test.frame.height == 0:
        raise GiddyUpError(f"no races to {'train on' if train.frame.height == 0 else 'test on'} in that window")
    window = {
        "train_from": str(since_day) if since_day else None,
        "train_until": str(train_end),
        "test_from": str(test_start),
        "test_until": str(test_end),
        "region": ",".join(region) if region else None,
    }
    truth = truth_of_runners(dsn, test.frame.get_column("runner_id").to_list())
    predictions = None
    if cadence is None:
        with console.status("training and scoring"):
            result, figures = evaluate_feature_sets(
                train, test, market_price=market_price, min_edge=min_edge, truth=truth, window=window
            )
    else:
        from giddyup.model.walk_forward import walk_forward

        with console.status(f"walking forward, retraining every {cadence.label}"):
            walked = walk_forward(
                features,
                train_until=train_end,
                test_from=test_start,
                test_until=test_end,
                cadence=cadence,
                market_price=market_price,
                min_edge=min_edge,
                truth=truth,
                window=window,
                on_step=_print_step,
            )
        result, figures, predictions = walked.result, walked.figures, walked.predictions
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "evaluation.json", out / "evaluation.html"]
    written[0].write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    write_html(written[1], result, figures)
    if predictions is not None:
        written.append(out / "predictions.parquet")
        predictions.write_parquet(written[2])

    _print_evaluation(result)
    console.print(f"wrote {', '.join(str(p) for p in written)}")


def _print_step(step: dict) -> None:
    window, edge = step["window"], step["edge_vs_market"]
    interval = "" if edge["ci95"] is None else f" [{edge['ci95'][0]:+.4f}, {edge['ci95'][1]:+.4f}]"
    console.print(
        f"step {step['step']} ({step['season'] or window['test_from']}): trained on {step['training']['n_races']} "
        f"races {window['train_from']}..{step['fit_until']}, scored {step['n_races']} races "
        f"{window['test_from']}..{window['test_until']}: R² model {step['model']['r2']:.4f}, combined "
        f"{step['combined']['r2']:.4f}, market {step['market']['r2']:.4f}; "
        f"log-loss gain over the market per race {edge['mean_gain_per_race']:+.4f}{interval}"
    )


def _print_evaluation(result: dict) -> None:
    from rich.table import Table

    title = f"{result['n_races']} races, {result['n_runners']} runners, market {result['market_price']}"
    if result.get("walk_forward"):
        walk = result["walk_forward"]
        title += f"; retrained every {walk['retrain_every']}, {walk['n_steps']} steps pooled"
    table = Table("", "R²", "log loss", "ECE", "Brier", "top pick", title=title)
    for source in ("market", "model", "combined", "oracle"):
        if source in result:
            table.add_row(
                source,
                f"{result[source]['r2']:.4f}",
                f"{result[source]['logloss']:.4f}",
                f"{result['ece'][source]:.4f}",
                f"{result['brier'][source]:.5f}",
                f"{result['top_pick_strike_rate'][source]:.3f}",
            )
    console.print(table)
    single = result.get("single_fit")
    if single:
        window = single["window"]
        console.print(
            f"single fit (trained up to {window['train_until']}) on {single['n_races']} races: "
            + ", ".join(f"{s} R² {single[s]['r2']:.4f}" for s in ("market", "model", "combined"))
        )
    edge = result["edge_vs_market"]
    interval = "n/a" if edge["ci95"] is None else f"[{edge['ci95'][0]:+.4f}, {edge['ci95'][1]:+.4f}]"
    console.print(
        f"combined vs market: log-loss gain {edge['mean_gain_per_race']:+.4f} per race, 95% interval {interval} "
        f"over {edge['n_days']} race days: "
        + ("evidence of edge" if edge["evidence_of_edge"] else "no evidence of edge")
    )
    for source in ("model", "combined"):
        roi = result["roi"][source]
        shown = f"{roi['roi']:+.3f}" if roi["roi"] is not None else "n/a"
        console.print(f"staking ({source}): {roi['bets']} bets, profit {roi['profit']:+.1f} units, ROI {shown}")


@model_app.command("list")
def list_command() -> None:
    """Registered versions with their aliases, stage and holdout metrics (and sync modeling.models)."""
    from rich.table import Table

    from giddyup.config import get_settings
    from giddyup.db.connect import connection
    from giddyup.model import registry

    settings = get_settings()
    # A store that does not exist is not an empty registry: syncing with it would demote every row.
    client = registry.configure_mlflow(settings, must_exist=True)
    with connection(settings) as conn:
        registry.sync_models_table(conn, client, settings.model_name)
        rows = conn.execute(
            """SELECT version, model_id, stage, holdout_from, holdout_until,
                      metrics_json -> 'model' ->> 'r2', metrics_json -> 'combined' ->> 'r2',
                      metrics_json -> 'market' ->> 'r2', metrics_json -> 'combined' ->> 'logloss', created_at
               FROM modeling.models WHERE name = %s ORDER BY created_at, model_id""",
            (settings.model_name,),
        ).fetchall()
    current = registry.aliases(client, settings.model_name)
    if not rows:
        console.print(f"model {settings.model_name} has no registered version; run `giddyup train --date DATE`")
        return
    table = Table(
        "version",
        "aliases",
        "stage",
        "model_id",
        "holdout",
        "model r2",
        "combined r2",
        "market r2",
        "combined logloss",
        "created",
        title=f"{settings.model_name}",
    )
    for version, model_id, stage, h_from, h_until, m_r2, c_r2, k_r2, c_ll, created in rows:
        held = ", ".join(sorted(a for a, v in current.items() if v == version))
        table.add_row(
            version,
            held,
            stage,
            str(model_id),
            f"{h_from or ''}..{h_until or ''}",
            _num(m_r2),
            _num(c_r2),
            _num(k_r2),
            _num(c_ll),
            created.strftime("%Y-%m-%d"),
        )
    console.print(table)


@model_app.command("promote")
def promote_command(version: Annotated[str, typer.Argument(help="The version to serve as production.")]) -> None:
    """Point alias production at VERSION (by hand, no gate) and mirror it in modeling.models."""
    from giddyup.config import get_settings
    from giddyup.db.connect import connection
    from giddyup.model import registry

    settings = get_settings()
    client = registry.configure_mlflow(settings, must_exist=True)
    with connection(settings) as conn:
        previous = registry.promote(conn, client, settings.model_name, version)
    if previous == version:
        console.print(f"version {version} of {settings.model_name} already is production")
    else:
        console.print(
            f"production is now version {version} of {settings.model_name}" + (f" (was {previous})" if previous else "")
        )


def _num(value: str | None) -> str:
    return f"{float(value):.4f}" if value is not None else ""
