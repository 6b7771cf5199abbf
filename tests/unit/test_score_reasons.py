"""Reasons in words (giddyup.race_day.reasons) and the market line of a signal (price_card)."""

from __future__ import annotations

import json

import pytest

from giddyup.features.catalog import FEATURE_COLUMNS
from giddyup.race_day.price_card import market_sentence, reasons_json
from giddyup.race_day.reasons import describe_contribution, drivers_json


@pytest.mark.parametrize(
    ("feature", "value", "contribution", "text"),
    [
        ("trainer_sr_90d", "0.24", 0.31, "trainer strike rate 24% over 90 days (+0.31)"),
        ("trainer_win_ae_90d", "1.65", 0.09, "trainer wins vs expected 1.65 over 90 days (+0.09)"),
        ("jockey_win_rate_last5", 0.1, -0.05, "jockey win rate 10% over the last 5 runs (-0.05)"),
        ("horse_official_rating_z_in_race", "0.65", 0.21, "official rating +0.65 sd vs the field (+0.21)"),
        ("horse_best_speed_figure_rank_in_race", "2", 0.12, "best speed figure rank 2 in the race (+0.12)"),
        (
            "trainer_win_ae_365d_z_in_race",
            "-1.2",
            -0.3,
            "trainer wins vs expected over 365 days -1.20 sd vs the field (-0.30)",
        ),
        ("horse_mean3_sp_prob", "0.125", 0.2, "last-3 average SP chance 12% (+0.20)"),
        ("horse_days_since_last_run", "45", -0.1, "days since last run 45 (-0.10)"),
        ("weight_carried_lbs", "133", 0.02, "weight carried (lb) 133 (+0.02)"),
        ("race_is_handicap", "1", 0.05, "handicap yes (+0.05)"),
        ("horse_mean3_btn", "4.5", -0.07, "last-3 average lengths beaten 4.50 (-0.07)"),
        ("going", "Soft", 0.05, "going Soft (+0.05)"),
        ("horse_last_perf_rating", None, -0.2, "last performance rating missing (-0.20)"),
        ("horse_last_perf_rating", "missing", -0.2, "last performance rating missing (-0.20)"),
    ],
)
def test_contributions_read_as_sentences_with_the_value(feature, value, contribution, text) -> None:
    assert describe_contribution(feature, value, contribution) == text


def test_every_feature_of_the_catalog_reads_without_underscores() -> None:
    for feature in FEATURE_COLUMNS:
        text = describe_contribution(feature, "0.5", 0.1)
        assert "_" not in text, text
        assert text.endswith("(+0.10)")


def test_drivers_json_accepts_structs_and_tuples() -> None:
    as_structs = [{"feature": "trainer_sr_90d", "value": "0.24", "contribution": 0.31}]
    as_tuples = [("trainer_sr_90d", "0.24", 0.31)]
    assert drivers_json(as_structs) == drivers_json(as_tuples)
    data = json.loads(drivers_json(as_structs))
    assert data["drivers"] == ["trainer strike rate 24% over 90 days (+0.31)"]
    assert data["contributions"] == [{"feature": "trainer_sr_90d", "value": "0.24", "contribution": 0.31}]
    assert json.loads(drivers_json(None)) == {"contributions": [], "drivers": []}


def test_market_line_and_reasons_keep_the_drivers() -> None:
    line = market_sentence(0.18, 0.125, 0.15, 7.5, "live")
    assert line == (
        "model 18.0% vs market 12.5% at 7.50 (live): model above market; combined 15.0%, fair odds 6.67, edge +12.5%"
    )
    reasons = json.loads(reasons_json(drivers_json([("trainer_sr_90d", "0.24", 0.31)]), line))
    assert reasons["market"] == line
    assert reasons["summary"] == f"trainer strike rate 24% over 90 days (+0.31); {line}"
    refreshed = json.loads(reasons_json(json.dumps(reasons), "later line"))  # a refresh rewrites only the market
    assert refreshed["drivers"] == reasons["drivers"] and refreshed["market"] == "later line"
    assert json.loads(reasons_json(None, line))["drivers"] == []
