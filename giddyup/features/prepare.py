"""From raw rows to starters with the shared derived columns every feature module uses.

- Non-runners leave: a row of a resulted race with pos_raw NULL (or a withdrawal code) did not
  run; in a declared (prelim) race every row is a declared starter. Field size counts starters.
- Non-finishers (PU, F, UR, ...) stay, as losers: last place for form, in the market's book.
- Race descriptors are normalised across UK/IRE and HK spellings (going, race type, class,
  surface) into numbers and small codes.
- Outcome columns (won, win_share, pos_rel, ...) are NULL for declared races.
"""

from __future__ import annotations

import polars as pl

from giddyup import odds

# Placings that mean "did not start" in some feeds; the convention is pos_raw NULL, these are a guard.
NON_RUNNER_CODES = ("NR", "WV", "WX", "WD", "WV-A", "WX-A", "TNP", "W")
BTN_CAP = 30.0  # lengths: beyond this a beaten distance says nothing more (and non-finishers get it)
LENGTHS_PER_SECOND = 5.0  # the usual conversion of time to distance at the finish

# Going: firmness on one scale for turf, all-weather and HK descriptions (1 firm .. 7 heavy).
GOING_FIRMNESS = {
    "HARD": 1.0,
    "FIRM": 1.5,
    "GOOD TO FIRM": 2.0,
    "FAST": 2.0,
    "WET FAST": 2.5,
    "STANDARD TO FAST": 2.5,
    "GOOD": 3.0,
    "STANDARD": 3.0,
    "GOOD TO YIELDING": 3.5,
    "GOOD TO SOFT": 4.0,
    "YIELDING": 4.0,
    "STANDARD TO SLOW": 4.0,
    "WET SLOW": 4.5,
    "YIELDING TO SOFT": 4.5,
    "SOFT": 5.0,
    "SLOW": 5.0,
    "SOFT TO HEAVY": 6.0,
    "HEAVY": 7.0,
}
RACE_TYPE_CODES = {"flat": 0, "hurdle": 1, "chase": 2, "nh flat": 3}
SEX_CODES = {"c": 0, "f": 1, "g": 2, "m": 3, "h": 4, "r": 5}  # colt, filly, gelding, mare, horse, rig
UNKNOWN_KEY = -1  # a key part for "unknown" so grouping keys never hold NULL


def going_firmness(going: pl.Expr) -> pl.Expr:
    cleaned = (
        going.str.to_uppercase()
        .str.replace_all(r"\(.*\)", "")
        .str.replace_all(r"[-_/]", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    return cleaned.replace_strict(GOING_FIRMNESS, default=None, return_dtype=pl.Float64)


def going_group(firmness: pl.Expr) -> pl.Expr:
    """0 fast (≤ 2.5), 1 good (≤ 3.5), 2 soft (≤ 5), 3 heavy; UNKNOWN_KEY when not recognised."""
    return (
        pl.when(firmness.is_null())
        .then(UNKNOWN_KEY)
        .when(firmness <= 2.5)
        .then(0)
        .when(firmness <= 3.5)
        .then(1)
        .when(firmness <= 5.0)
        .then(2)
        .otherwise(3)
        .cast(pl.Int8)
    )


def race_type_code(race_type: pl.Expr) -> pl.Expr:
    lowered = race_type.str.to_lowercase()
    return (
        pl.when(lowered.str.contains("chase"))
        .then(RACE_TYPE_CODES["chase"])
        .when(lowered.str.contains("hurdle"))
        .then(RACE_TYPE_CODES["hurdle"])
        .when(lowered.str.contains(r"nh flat|national hunt flat|bumper"))
        .then(RACE_TYPE_CODES["nh flat"])
        .when(lowered.str.contains("flat"))
        .then(RACE_TYPE_CODES["flat"])
        .otherwise(None)
        .cast(pl.Int8)
    )


def class_number(race_class: pl.Expr, pattern: pl.Expr) -> pl.Expr:
    """`Class 4` -> 4; Group/Grade/Listed (in class or pattern) -> 0, above Class 1."""
    digits = race_class.str.extract(r"(?i)class\s*(\d)", 1).cast(pl.Int8)
    elite = pl.concat_str([race_class.fill_null(""), pattern.fill_null("")]).str.contains(r"(?i)group|grade|listed")
    return pl.coalesce(digits, pl.when(elite).then(pl.lit(0, pl.Int8)))


def is_all_weather(surface: pl.Expr) -> pl.Expr:
    lowered = surface.str.to_lowercase()
    return (
        pl.when(lowered.str.contains(r"^aw|all.?weather|polytrack|tapeta|fibresand|dirt|awt"))
        .then(1)
        .when(lowered.str.contains("turf"))
        .then(0)
        .otherwise(None)
        .cast(pl.Int8)
    )


def distance_band(dist_f: pl.Expr) -> pl.Expr:
    """0 sprint (< 6.5f), 1 mile (< 9.5f), 2 middle (< 13f), 3 staying (< 17.5f), 4 long."""
    return (
        pl.when(dist_f.is_null())
        .then(UNKNOWN_KEY)
        .when(dist_f < 6.5)
        .then(0)
        .when(dist_f < 9.5)
        .then(1)
        .when(dist_f < 13.0)
        .then(2)
        .when(dist_f < 17.5)
        .then(3)
        .otherwise(4)
        .cast(pl.Int8)
    )


def field_band(field_size: pl.Expr) -> pl.Expr:
    """0 up to 7 runners, 1 8-11, 2 12-15, 3 16+."""
    return pl.when(field_size <= 7).then(0).when(field_size <= 11).then(1).when(field_size <= 15).then(2).otherwise(3)


def lbs_per_length(dist_f: pl.Expr) -> pl.Expr:
    """Pounds a length is worth: about 3 lb at 5f, 1 lb at 2 miles (the handicappers' scale)."""
    return (15.0 / dist_f).clip(0.5, 3.5)


def prepare_runs(raw: pl.DataFrame) -> pl.DataFrame:
    """Starters of every race in `raw` with the derived columns (see the module docstring)."""
    declared = pl.col("prelim")
    started = declared | (
        pl.col("pos_raw").is_not_null()
        & ~pl.col("pos_raw").str.to_uppercase().str.strip_chars().is_in(list(NON_RUNNER_CODES))
    )
    runs = raw.filter(started).with_columns(pl.len().over("race_id").cast(pl.Int32).alias("field_size"))
    # Text descriptors are parsed once per race, not once per runner.
    races = runs.select("race_id", "going", "race_type", "race_class", "pattern", "surface").unique("race_id")
    described = races.select(
        "race_id",
        going_firmness(pl.col("going")).alias("going_firmness"),
        race_type_code(pl.col("race_type")).alias("race_type_code"),
        class_number(pl.col("race_class"), pl.col("pattern")).alias("class_num"),
        is_all_weather(pl.col("surface")).alias("is_aw"),
    )
    runs = runs.join(described, on="race_id", how="left", maintain_order="left")

    resulted = ~declared
    finished = pl.col("pos_num").is_not_null()
    won = (pl.col("pos_num") == 1).fill_null(False)
    winners = won.cast(pl.Int32).sum().over("race_id")
    places = pl.when(pl.col("field_size") < 5).then(1).when(pl.col("field_size") < 8).then(2).otherwise(3)
    pos_rel = (
        pl.when(~finished)
        .then(1.0)  # a non-finisher is beaten by every finisher
        .when(pl.col("field_size") <= 1)
        .then(0.0)
        .otherwise((pl.col("pos_num") - 1) / (pl.col("field_size") - 1))
        .clip(0.0, 1.0)
    )
    btn = (
        pl.when(~finished)
        .then(BTN_CAP)
        .when(pl.col("pos_num") == 1)
        .then(0.0)
        .otherwise(pl.col("ovr_btn").fill_null(BTN_CAP).clip(0.0, BTN_CAP))
    )
    runs = runs.with_columns(
        pl.when(resulted).then(finished).alias("finished"),
        pl.when(resulted).then(won).alias("won"),
        pl.when(resulted).then(pl.when(won).then(1.0 / winners).otherwise(0.0)).alias("win_share"),
        pl.when(resulted).then((pl.col("pos_num") <= places).fill_null(False).cast(pl.Float64)).alias("placed"),
        pl.when(resulted).then(pos_rel).alias("pos_rel"),
        pl.when(resulted).then(btn).alias("btn_capped"),
        (1.0 / pl.col("field_size")).alias("expected_win"),
        (places.clip(upper_bound=pl.col("field_size")) / pl.col("field_size")).alias("expected_place"),
        # The SP book over every starter, non-finishers included (they were in the betting).
        pl.when(resulted).then(odds.implied_probability("dec")).alias("p_sp"),
        pl.when(resulted).then(odds.implied_probability("win_bsp")).alias("p_bsp"),
        distance_band(pl.col("dist_f")).alias("dist_band"),
        field_band(pl.col("field_size")).cast(pl.Int8).alias("field_band"),
        (pl.col("dist_f") * 2).round(0).truediv(2).alias("dist_key"),
        pl.col("sex")
        .str.to_lowercase()
        .str.slice(0, 1)
        .replace_strict(SEX_CODES, default=None, return_dtype=pl.Int8)
        .alias("sex_code"),
        (pl.col("hg").str.strip_chars().str.len_chars() > 0).fill_null(False).alias("has_headgear"),
        lbs_per_length(pl.col("dist_f")).alias("lbs_per_length"),
    )
    # Draw among the starters (stall numbers skip non-runners): 0 = inside, 1 = outside.
    draw_rank = pl.col("draw").rank("ordinal").over("race_id")
    starters_drawn = pl.col("draw").count().over("race_id")
    runs = runs.with_columns(
        going_group(pl.col("going_firmness")).alias("going_group"),
        pl.when(starters_drawn > 1).then((draw_rank - 1) / (starters_drawn - 1)).alias("draw_rel"),
    )
    # The text has been read into codes; dropping it keeps the many frames made from this one small.
    return runs.drop("going", "race_type", "race_class", "pattern", "surface", "sex", "hg", "pos_raw", "ovr_btn")
