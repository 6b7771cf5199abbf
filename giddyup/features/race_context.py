"""The race and the runner as declared: known before the off, so the race's own values may be used."""

from __future__ import annotations

import polars as pl

DESCRIPTIONS = {
    "race_field_size": "number of starters (non-runners excluded)",
    "race_class_num": "race class (1 best .. 7; 0 for Group/Grade/Listed)",
    "race_dist_f": "race distance in furlongs",
    "race_going_firmness": "going, 1 firm .. 7 heavy (all-weather and HK descriptions mapped)",
    "race_is_aw": "all-weather surface (1) or turf (0)",
    "race_type_code": "race type: 0 Flat, 1 Hurdle, 2 Chase, 3 NH Flat",
    "race_is_handicap": "handicap (1) or not (0)",
    "horse_age": "age in years",
    "horse_sex_code": "sex: 0 colt, 1 filly, 2 gelding, 3 mare, 4 horse, 5 rig",
    "weight_carried_lbs": "weight carried (lb)",
    "horse_has_headgear": "wears headgear today (1) or not (0)",
    "draw": "stall number",
    "draw_rel": "draw among the starters, 0 inside .. 1 outside",
}
CATEGORICAL = ("race_type_code", "horse_sex_code")


def race_context_features(targets: pl.DataFrame) -> pl.DataFrame:
    """One row per target (same order)."""
    return targets.select(
        pl.col("field_size").cast(pl.Int32).alias("race_field_size"),
        pl.col("class_num").cast(pl.Float64).alias("race_class_num"),
        pl.col("dist_f").alias("race_dist_f"),
        pl.col("going_firmness").alias("race_going_firmness"),
        pl.col("is_aw").alias("race_is_aw"),
        pl.col("race_type_code"),
        pl.col("is_handicap").cast(pl.Int8).alias("race_is_handicap"),
        pl.col("age").cast(pl.Float64).alias("horse_age"),
        pl.col("sex_code").alias("horse_sex_code"),
        pl.col("lbs").cast(pl.Float64).alias("weight_carried_lbs"),
        pl.col("has_headgear").cast(pl.Int8).alias("horse_has_headgear"),
        pl.col("draw").cast(pl.Float64).alias("draw"),
        pl.col("draw_rel"),
    )
