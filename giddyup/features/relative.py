"""Each runner against its rivals in the same race: rank and z-score over the race's starters.

Only features that are themselves point in time are compared, so the comparison adds no look
ahead; it adds the race's own field (known at declaration). Rank 1 is the best of the race by
the feature's own sense of better (highest rating, lowest finishing position, ...); runners
without a value get no rank and do not count in the mean and spread.
"""

from __future__ import annotations

import polars as pl

# feature -> True when higher is better
COMPARED = {
    "horse_official_rating": True,
    "weight_carried_lbs": True,  # heaviest first: in handicaps the best-rated carry most
    "horse_best_perf_rating": True,
    "horse_mean3_perf_rating": True,
    "horse_best_speed_figure": True,
    "horse_mean3_pos_rel": False,
    "horse_career_win_ae": True,
    "horse_mean3_sp_prob": True,
    "jockey_win_ae_365d": True,
    "trainer_win_ae_365d": True,
}
RACE = "race_id"


def _descriptions() -> dict[str, str]:
    from giddyup.features import connections, horse_form, race_context

    meaning = {**race_context.DESCRIPTIONS, **horse_form.DESCRIPTIONS, **connections.DESCRIPTIONS}
    out = {}
    for name, higher in COMPARED.items():
        sense = "highest" if higher else "lowest"
        out[f"{name}_rank_in_race"] = f"rank in this race by {meaning[name]} (1 = {sense})"
        out[f"{name}_z_in_race"] = f"{meaning[name]}: standard deviations above the race's mean"
    return out


DESCRIPTIONS = _descriptions()


def relative_features(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per row of `frame` (same order); `frame` holds race_id and the COMPARED features."""
    # Sorted by race, windows may hand back their groups as they are ("explode"), which for
    # ranks is several times faster than scattering them back to rows; the order is restored after.
    ordered = frame.select(RACE, *COMPARED).with_row_index("_row").sort(RACE, maintain_order=True)
    columns = []
    for name, higher in COMPARED.items():
        value = pl.col(name).cast(pl.Float64)
        spread = value.std().over(RACE)
        rank = value.rank("min", descending=higher).over(RACE, mapping_strategy="explode")
        columns.append(rank.cast(pl.Float64).alias(f"{name}_rank_in_race"))
        columns.append(
            pl.when(spread > 0)
            .then((value - value.mean().over(RACE)) / spread)
            .when(spread == 0)
            .then(0.0)
            .alias(f"{name}_z_in_race")
        )
    return ordered.with_columns(columns).sort("_row").select(list(DESCRIPTIONS))
