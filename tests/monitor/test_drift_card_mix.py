"""The reference is resampled to the day's card mix, so a jumps-only day is compared with jumps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from giddyup.monitor.card_mix import match_card_mix
from giddyup.monitor.drift import build_drift_report

DAY = dt.date(2026, 11, 26)


def _runners(rng: np.random.Generator, n: int, race_type: int) -> pl.DataFrame:
    # Jumps horses are rated ~45 lbs higher and carry more weight than flat horses: a card-mix effect.
    base = 115.0 if race_type else 70.0
    return pl.DataFrame(
        {
            "race_type_code": np.full(n, race_type, dtype=np.int64),
            "race_is_aw": np.zeros(n, dtype=np.int64),
            "horse_official_rating": rng.normal(base, 12.0, n),
            "weight_carried_lbs": rng.normal(base + 40.0, 6.0, n),
            "trainer_win_ae_90d": rng.normal(1.0, 0.2, n),
        }
    )


def test_matching_the_card_mix_removes_drift_that_is_only_the_kind_of_racing() -> None:
    rng = np.random.default_rng(3)
    reference = pl.concat([_runners(rng, 3000, 0), _runners(rng, 3000, 2)])  # half flat, half chase
    today = _runners(rng, 300, 2)  # a jumps-only card, drawn from the same jumps distribution
    features = ["horse_official_rating", "weight_carried_lbs", "trainer_win_ae_90d"]

    unmatched = build_drift_report(reference, today, features, warn_share=0.2, alert_share=0.5).summary
    match = match_card_mix(reference, today, DAY)
    matched = build_drift_report(match.reference, today, features, warn_share=0.2, alert_share=0.5).summary

    assert set(unmatched.drifted_columns) >= {"horse_official_rating", "weight_carried_lbs"}
    assert list(matched.drifted_columns) == []
    assert matched.status == "ok"
    assert match.matched_on == ("race_type_code", "race_is_aw")
    assert match.reference.height == reference.height
    assert match.reference.get_column("race_type_code").unique().to_list() == [2]
    assert "resampled" in match.describe()


def test_real_drift_within_the_same_kind_of_racing_is_still_flagged() -> None:
    rng = np.random.default_rng(4)
    reference = pl.concat([_runners(rng, 3000, 0), _runners(rng, 3000, 2)])
    today = _runners(rng, 300, 2).with_columns(pl.col("trainer_win_ae_90d") + 0.5)  # a broken feed, say

    match = match_card_mix(reference, today, DAY)
    summary = build_drift_report(
        match.reference, today, ["horse_official_rating", "trainer_win_ae_90d"], warn_share=0.2, alert_share=0.5
    ).summary

    assert list(summary.drifted_columns) == ["trainer_win_ae_90d"]


def test_resampling_is_deterministic_for_a_date_and_notes_unknown_kinds_of_race() -> None:
    rng = np.random.default_rng(5)
    reference = _runners(rng, 1000, 0)
    today = pl.concat([_runners(rng, 90, 0), _runners(rng, 10, 1)])  # hurdles: not in the reference

    first = match_card_mix(reference, today, DAY)
    second = match_card_mix(reference, today, DAY)

    assert first.reference.equals(second.reference)
    assert abs(first.unmatched_share - 0.10) < 1e-9
    assert "10%" in first.describe()


def test_without_card_mix_columns_the_reference_is_used_as_stored() -> None:
    reference = pl.DataFrame({"x": [1.0, 2.0, 3.0]})
    match = match_card_mix(reference, pl.DataFrame({"x": [2.0]}), DAY)
    assert match.matched_on == () and match.reference.equals(reference)


def test_columns_alike_within_races_count_one_observation_per_race() -> None:
    import pandas as pd

    from giddyup.monitor.drift_stats import effective_size

    races = pd.Series(np.repeat(np.arange(12), 10))
    rng = np.random.default_rng(6)
    race_level = pd.Series(np.repeat(rng.normal(8.0, 2.0, 12), 10))  # e.g. distance: one value per race
    runner_level = pd.Series(rng.normal(0.0, 1.0, 120))  # independent of the race

    assert effective_size(race_level, races, "numerical") == 12
    assert effective_size(pd.Series(np.repeat(["Flat", "Chase"], 60)), races, "categorical") == 12
    assert effective_size(runner_level, races, "numerical") > 60  # about 120, less the noise of ρ from 12 races


def test_a_small_card_of_ordinary_races_is_not_flagged_for_its_race_level_columns() -> None:
    rng = np.random.default_rng(7)
    n_ref_races, n_races = 2000, 12
    reference = pl.DataFrame(
        {
            "race_id": np.repeat(np.arange(n_ref_races), 10),
            "race_dist_f": np.repeat(rng.normal(9.0, 3.0, n_ref_races), 10),
            "x": rng.normal(0.0, 1.0, n_ref_races * 10),
        }
    )
    flagged = 0
    for day in range(20):  # twenty ordinary days drawn from the reference's own distribution
        day_rng = np.random.default_rng(100 + day)
        today = pl.DataFrame(
            {
                "race_id": np.repeat(np.arange(n_races), 10),
                "race_dist_f": np.repeat(day_rng.normal(9.0, 3.0, n_races), 10),
                "x": day_rng.normal(0.0, 1.0, n_races * 10),
            }
        )
        summary = build_drift_report(reference, today, ["race_dist_f", "x"], warn_share=0.5, alert_share=1.0).summary
        flagged += "race_dist_f" in summary.drifted_columns
    assert flagged <= 2  # about 1 in 100 by design; without the design effect most days were flagged
