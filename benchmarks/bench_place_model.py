"""Benchmark: place probabilities against the real place market (issue 12).

On the Betfair UK/IE file of ../shared/data (win BSP normalised as p_win; Betfair's place results
and place BSP as truth and as the market; see giddyup/model/place_check.py for which races are
used): fits on January–March 2026 and checks on April–June, and prints
1. place log loss of each method in both windows and its gap to the place BSP market;
2. calibration out of sample: mean predicted against observed place rate by p_win band, by number
   of places paid, and by both (binomial standard errors, runners taken as independent);
3. each-way value at short prices: the share of runners at win BSP under 3.0 whose each-way bet at
   BSP (the starters' each-way terms) would show value, by each method and by the place market;
4. a simulated world (`--preset`, default small) against the real place rates by p_win band, and
   the shipped model's calibration on it.
No database. Runs in about 2 minutes on 2 cores (the fits are Nelder-Mead over place_probabilities).

    uv run python benchmarks/bench_place_model.py [--csv PATH] [--preset small] [--seed 11]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import numpy as np
import polars as pl

from giddyup.model import place_check
from giddyup.model.place import BENTER_EXPONENTS, default_place_model, fit_place_model_to_place_results, place_model
from giddyup.sim.compare import REAL_BETFAIR_CSV, place_starters
from giddyup.sim.generate import generate
from giddyup.sim.params import spec_from_args

FIRST_CHECK_DAY = dt.date(2026, 4, 1)
# What `giddyup train` fitted on the simulated world before its finishing orders were made realistic.
OLD_SIM_TRAINED = (1.0, 0.955, 0.939, 0.858)


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load1, load5, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, {mem_gb:.0f} GB RAM, load average {load1:.1f} (1 min) / {load5:.1f} (5 min)"


def describe(model: dict) -> str:
    exponents = " / ".join(f"{x:.3f}" for x in model["exponents"][1:])
    return f"{exponents}, γ {model.get('favourite_discount', 0.0):.3f}"


def fit_on(frame: pl.DataFrame, *, favourite_discount: bool) -> dict:
    return fit_place_model_to_place_results(
        frame.get_column("race_id").to_numpy(),
        frame.get_column("p_win").to_numpy(),
        frame.get_column("places").to_numpy(),
        frame.get_column("placed").to_numpy(),
        favourite_discount=favourite_discount,
    )


def show(title: str, table: pl.DataFrame) -> None:
    print(f"\n{title}")
    with pl.Config(tbl_rows=40, tbl_cols=20, tbl_width_chars=200, float_precision=5, tbl_hide_dataframe_shape=True):
        print(table)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", type=Path, default=REAL_BETFAIR_CSV)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(f"machine: {machine()}")

    markets = place_check.read_betfair_place_markets(args.csv)
    fit, check = place_check.split_by_date(markets, FIRST_CHECK_DAY)
    for name, frame in (("fit (Jan–Mar)", fit), ("check (Apr–Jun)", check)):
        paid = dict(
            frame.group_by("race_id").agg(pl.col("places").first())["places"].value_counts().sort("places").iter_rows()
        )
        print(f"{name}: {frame['race_id'].n_unique():,} races, {frame.height:,} runners, places paid {paid}")

    started = time.perf_counter()
    power_only = fit_on(fit, favourite_discount=False)
    with_discount = fit_on(fit, favourite_discount=True)
    print(f"fits on Jan–Mar: {time.perf_counter() - started:.0f} s")
    methods = {
        "plain Harville": place_model([1.0, 1.0, 1.0, 1.0]),
        "Benter's (the old default)": place_model(BENTER_EXPONENTS),
        "trained on the old simulated world": place_model(OLD_SIM_TRAINED),
        "power only, fitted on Jan–Mar": power_only,
        "power + favourite discount, fitted on Jan–Mar": with_discount,
        "shipped (giddyup.model.place defaults)": None,
    }
    market = {name: frame.get_column("p_place_market").to_numpy() for name, frame in (("fit", fit), ("check", check))}
    market_loss = {name: place_check.log_loss(frame, market[name]) for name, frame in (("fit", fit), ("check", check))}
    rows = []
    predictions: dict[str, np.ndarray] = {}
    for name, model in methods.items():
        on_fit = place_check.place_probabilities_of(fit, model)
        on_check = place_check.place_probabilities_of(check, model)
        predictions[name] = on_check
        share, _ = place_check.each_way_value_share(check, on_check)
        loss = place_check.log_loss(check, on_check)
        shown = describe(model if model is not None else default_place_model())
        rows.append((name, shown, place_check.log_loss(fit, on_fit), loss, loss - market_loss["check"], share))
    share, n_short = place_check.each_way_value_share(check, market["check"])
    rows.append(("the place BSP market", "-", market_loss["fit"], market_loss["check"], 0.0, share))
    table = pl.DataFrame(
        rows,
        schema=["method", "λ2 / λ3 / λ4, γ", "log loss Jan–Mar", "log loss Apr–Jun", "gap to market", "EW value <3.0"],
        orient="row",
    )
    show(f"1. place log loss (Apr–Jun out of sample); EW value share of {n_short} runners under 3.0", table)

    shown = {
        "shipped": predictions["shipped (giddyup.model.place defaults)"],
        "benter": predictions["Benter's (the old default)"],
        "market": market["check"],
    }
    for by in (["band"], ["places"], ["places", "band"]):
        table = place_check.calibration(check, shown, by).select(
            *by, "runners", "observed", "std_err", *[f"{k}_minus_observed" for k in shown]
        )
        show(f"2. calibration Apr–Jun by {' and '.join(by)}: predicted − observed (std_err of observed)", table)

    whole = pl.concat([fit, check])
    rows = []
    for name, model in (("Benter's (before)", place_model(BENTER_EXPONENTS)), ("shipped (after)", None)):
        for window, frame in (("Apr–Jun", check), ("Jan–Jun", whole)):
            rows.append(
                (
                    name,
                    window,
                    *place_check.each_way_value_share(frame, place_check.place_probabilities_of(frame, model)),
                )
            )
    for window, frame in (("Apr–Jun", check), ("Jan–Jun", whole)):
        rows.append(
            (
                "the place BSP market",
                window,
                *place_check.each_way_value_share(frame, frame["p_place_market"].to_numpy()),
            )
        )
    show(
        "3. share of runners at win BSP < 3.0 whose each-way bet at BSP shows value (races whose each-way places = places paid)",
        pl.DataFrame(rows, schema=["place probabilities", "window", "share", "runners"], orient="row"),
    )

    started = time.perf_counter()
    world = generate(spec_from_args(seed=args.seed, preset=args.preset, start=None, days=None, today=None))
    sim = place_check.place_markets(place_starters(world.frames))
    print(
        f"\n4. simulated world, preset {args.preset}, seed {args.seed}: {sim['race_id'].n_unique():,} races with a place market, "
        f"generated in {time.perf_counter() - started:.1f} s"
    )
    sim_shipped = place_check.place_probabilities_of(sim)
    sim_harville = place_check.place_probabilities_of(sim, place_model([1.0, 1.0, 1.0, 1.0]))
    print(
        f"   place log loss on the simulated places: shipped {place_check.log_loss(sim, sim_shipped):.5f}, "
        f"Harville {place_check.log_loss(sim, sim_harville):.5f}, its place SP {place_check.log_loss(sim, sim['p_place_market'].to_numpy()):.5f}"
    )
    real = place_check.calibration(whole, {}, ["band"]).select(
        "band", pl.col("observed").alias("real"), pl.col("std_err").alias("real_se")
    )
    table = (
        place_check.calibration(sim, {"shipped": sim_shipped}, ["band"])
        .join(real, on="band")
        .with_columns(
            ((pl.col("observed") - pl.col("real")) / (pl.col("std_err") ** 2 + pl.col("real_se") ** 2).sqrt()).alias(
                "z sim−real"
            ),
            (pl.col("shipped_minus_observed") / pl.col("std_err")).alias("z shipped−sim"),
        )
        .select("band", "runners", pl.col("observed").alias("sim"), "real", "z sim−real", "shipped", "z shipped−sim")
    )
    show(
        "   place rate by p_win band: simulated against real (Jan–Jun), and the shipped model on the simulated races",
        table,
    )


if __name__ == "__main__":
    main()
