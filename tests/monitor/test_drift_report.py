"""The drift report built from two frames: real Evidently runs on synthetic runners (no database)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from giddyup.errors import GiddyUpError
from giddyup.monitor.drift import build_drift_report
from giddyup.monitor.drift_result import DRIFT_THRESHOLD, decide_status
from giddyup.monitor.drift_stats import column_threshold

FEATURES = ["rating", "days_since_run", "form", "weight", "jockey_strike", "going", "handicap"]
WARN, ALERT = 0.2, 0.5


def runners(
    n: int,
    seed: int,
    *,
    shift: tuple[str, ...] = (),
    p_model_shift: float = 0.0,
    overround_shift: float = 0.0,
    sources: tuple[float, float] = (0.8, 0.2),
) -> pl.DataFrame:
    """Runners of 10-runner races; `shift` moves the named features by about one standard deviation."""
    rng = np.random.default_rng(seed)
    moved = set(shift)
    rating = rng.normal(80 + 15 * ("rating" in moved), 15, n)
    going_p = [0.1, 0.3, 0.6] if "going" in moved else [0.6, 0.3, 0.1]
    frame = pl.DataFrame(
        {
            "race_id": np.arange(n) // 10,
            "rating": rating,
            "days_since_run": rng.exponential(30 * (2.5 if "days_since_run" in moved else 1), n),
            "form": rng.beta(2 + 3 * ("form" in moved), 5, n),
            "weight": rng.normal(130 + 8 * ("weight" in moved), 8, n).round(),
            "jockey_strike": rng.beta(2, 14 - 8 * ("jockey_strike" in moved), n),
            "going": rng.choice(["Good", "Soft", "Heavy"], n, p=going_p),
            "handicap": rng.random(n) < (0.8 if "handicap" in moved else 0.4),
            "overround": rng.normal(1.15 + overround_shift, 0.03, n),
            "best_odds_src": rng.choice(["live", "bookmaker"], n, p=list(sources)),
        }
    )
    strength = np.exp(frame.get_column("rating").to_numpy() / 15 + p_model_shift * rng.normal(0, 1, n))
    frame = frame.with_columns(strength=strength).with_columns(
        p_model=pl.col("strength") / pl.col("strength").sum().over("race_id")
    )
    frame = frame.with_columns(noisy=pl.col("p_model") * np.exp(rng.normal(0, 0.3, n)))
    return (
        frame.with_columns(p_market=pl.col("noisy") / pl.col("noisy").sum().over("race_id"))
        .with_columns(p_win=(pl.col("p_model") + pl.col("p_market")) / 2)
        .drop("strength", "noisy")
    )


@pytest.fixture(scope="module")
def reference() -> pl.DataFrame:
    return runners(3000, seed=1)


def build(reference: pl.DataFrame, current: pl.DataFrame, **kwargs):
    return build_drift_report(reference, current, FEATURES, warn_share=WARN, alert_share=ALERT, **kwargs)


def test_same_distribution_is_ok(reference):
    report = build(reference, runners(400, seed=2))
    summary = report.summary
    assert summary.status == "ok", summary.reasons
    assert summary.n_features == len(FEATURES)
    assert summary.share_drifted == pytest.approx(0.0, abs=1 / len(FEATURES))
    assert summary.prediction_drifted == []
    assert summary.n_current == 400 and summary.n_reference == 3000
    # Evidently ran on every feature: each has a score and the threshold it was judged against.
    assert all(c.score is not None and c.threshold >= DRIFT_THRESHOLD for c in summary.features)


def test_two_shifted_features_warn_and_are_named(reference):
    summary = build(reference, runners(400, seed=3, shift=("rating", "going"))).summary
    assert summary.status == "warn"
    assert set(summary.drifted_columns) == {"rating", "going"}
    assert summary.share_drifted == pytest.approx(2 / len(FEATURES))
    rating = next(c for c in summary.features if c.column == "rating")
    assert rating.drifted and rating.score >= rating.threshold
    # The reference and today's figures show how much it moved (mean ~80 against ~95).
    assert float(rating.reference_value.split()[-1]) < float(rating.current_value.split()[-1]) - 10


def test_four_shifted_features_alert(reference):
    shifted = ("rating", "days_since_run", "weight", "handicap")
    summary = build(reference, runners(400, seed=4, shift=shifted)).summary
    assert summary.status == "alert"
    assert set(summary.drifted_columns) == set(shifted)
    assert "alert share" in summary.reasons[0]


def test_prediction_drift_raises_ok_to_warn_but_market_drift_does_not(reference):
    predictions = build(reference, runners(400, seed=5, p_model_shift=1.5)).summary
    assert predictions.n_drifted == 0
    assert "p_model" in predictions.prediction_drifted
    assert predictions.status == "warn"
    assert "predictions drifted" in predictions.reasons[0]

    market = build(reference, runners(400, seed=6, overround_shift=0.1)).summary
    assert market.market_drifted == ["overround"]
    assert market.status == "ok"


def test_emptied_and_half_missing_features_count_as_drifted(reference):
    rng = np.random.default_rng(7)
    current = runners(400, seed=7).with_columns(
        rating=pl.lit(None, dtype=pl.Float64),  # a dead feed
        form=pl.when(pl.Series(rng.random(400) < 0.5)).then(None).otherwise(pl.col("form")),
    )
    summary = build(reference, current).summary
    by_name = {c.column: c for c in summary.features}
    assert by_name["rating"].drifted and by_name["rating"].score is None
    assert "missing for every runner today" in by_name["rating"].reason
    assert by_name["form"].drifted and by_name["form"].missing_current == pytest.approx(0.5, abs=0.07)
    assert summary.drifted_columns[0] == "rating"  # an emptied column is the most drifted


def test_source_mix_against_a_baseline(reference):
    today = runners(400, seed=8, sources=(0.1, 0.9))  # live feed mostly off
    baseline = runners(800, seed=9, sources=(0.85, 0.15)).get_column("best_odds_src")
    summary = build(reference, today, source_mix_baseline=baseline, source_mix_baseline_label="last week").summary
    mix = summary.source_mix
    assert mix is not None and mix.drifted and mix.baseline_label == "last week"
    assert mix.current["bookmaker"] > 0.8 and mix.baseline["live"] > 0.8
    assert "best_odds_src" in summary.market_drifted
    assert summary.status == "ok"  # market drift is reported, never changes the status


def test_html_puts_the_verdict_before_evidently(reference):
    report = build(reference, runners(400, seed=3, shift=("rating", "going")))
    page = report.html("2026-03-29 · hrd_win_prob version 7")
    verdict_at = page.index('id="giddyup-verdict"')
    verdict = page[verdict_at : page.index("</section>", verdict_at)]
    assert 'data-status="warn"' in verdict and ">WARN<" in verdict
    assert "2 of 7 model features drifted (29%)" in verdict
    for name in ("rating", "going"):
        assert f">{name}</td>" in verdict
    assert "hrd_win_prob version 7" in verdict
    assert verdict_at < page.index("drawDashboard")  # Evidently's report follows the verdict
    assert "<title>WARN: drift 2026-03-29" in page


def test_evidently_json_holds_the_column_tests(reference):
    import json

    report = build(reference, runners(400, seed=3, shift=("rating",)))
    data = json.loads(report.evidently_json())
    failed = {
        t["metric_config"]["params"]["column"]
        for t in data["tests"]
        if t["metric_config"]["params"]["type"].endswith("ValueDrift") and t["status"] == "FAIL"
    }
    assert failed == set(report.summary.drifted_columns) == {"rating"}


@pytest.mark.parametrize(
    ("share", "predictions", "expected"),
    [
        (0.0, [], "ok"),
        (0.19, [], "ok"),
        (0.2, [], "warn"),
        (0.49, [], "warn"),
        (0.5, [], "alert"),
        (0.1, ["p_win"], "warn"),
        (0.6, ["p_win"], "alert"),
    ],
)
def test_status_thresholds(share, predictions, expected):
    status, reasons = decide_status(share, predictions, warn_share=WARN, alert_share=ALERT)
    assert status == expected
    assert len(reasons) == 1 and f"{share:.0%}" in reasons[0]


def test_threshold_rises_on_small_samples_only():
    assert column_threshold("numerical", 100_000, 5_000) == DRIFT_THRESHOLD
    small, smaller = column_threshold("numerical", 5_000, 400), column_threshold("numerical", 5_000, 100)
    assert DRIFT_THRESHOLD < small < smaller
    assert column_threshold("categorical", 5_000, 200, 30) > column_threshold("categorical", 5_000, 200, 3)


def test_small_day_from_the_reference_is_not_drift(reference):
    # 150 runners: at Evidently's plain 0.1 about a third of numerical features would drift by chance.
    summary = build(reference, runners(150, seed=10)).summary
    assert summary.status == "ok" and summary.n_drifted <= 1


def test_bad_inputs_fail_in_one_line(reference):
    with pytest.raises(GiddyUpError, match="current frame lacks feature columns: weight"):
        build(reference, runners(50, seed=11).drop("weight"))
    with pytest.raises(GiddyUpError, match="rows on both sides"):
        build(reference, runners(50, seed=11).head(0))
    with pytest.raises(GiddyUpError, match="warn share"):
        build_drift_report(reference, reference, FEATURES, warn_share=0.6, alert_share=0.5)


def test_a_column_constant_but_for_rounding_is_tested(reference):
    # A fair book (1/p summing to one) differs from 1.0 only in the last bit: numpy cannot bin that.
    noise = np.array([0.0, 2.220446049250313e-16, -1.1102230246251565e-16])
    fair = reference.with_columns(overround=pl.Series(1.0 + noise[np.arange(reference.height) % 3]))
    summary = build(fair, runners(400, seed=12)).summary
    overround = next(c for c in summary.market if c.column == "overround")
    assert overround.drifted and overround.score is not None  # today's bookmaker books are not fair
