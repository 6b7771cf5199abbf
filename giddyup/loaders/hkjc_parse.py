"""Vectorised readers of the text columns of the HKJC results file: placings, margins, times, class.

Each reader returns Polars expressions: the parsed value (NULL where there is nothing to store) and
whether the text was understood at all. The loader records each value not understood with file,
column and line (giddyup.loaders.hkjc_issues), so nothing unknown is ever stored as a silent NULL.

Conventions (what a UK reader sees in racing.runners):

| HKJC place_raw            | pos_raw | why |
|---------------------------|---------|-----|
| 1, 2, ...                 | same    | |
| `3 DH`, `3 平頭馬`        | `3DH`   | dead heat, as in UK results |
| PU                        | PU      | pulled up |
| UR                        | UR      | unseated rider |
| FE                        | F       | fell |
| DNF                       | PU      | did not finish: a starter that stopped without falling |
| TNP                       | RR      | took no part: the UK "refused to race" |
| DISQ                      | DSQ     | disqualified (finished, placing removed) |
| WV, WV-A, WX, WX-A, WXNR  | NULL    | withdrawn: a non-runner (no price either) |

Margins (lbw, lengths behind the winner): numbers and fractions as written (`12-3/4` = 12.75,
`3/4`, `1 1/4` as `1-1/4`), the winner `-` = 0, and the usual UK values for the short ones:
| English       | Chinese  | lengths |
|---------------|----------|---------|
| NOSE, +NOSE   | 鼻位     | 0.05    |
| SH            | 短馬頭位 | 0.1     |
| HD            | 頭位     | 0.2     |
| N             | 頸位     | 0.3     |
`ML` / `多個馬位` (many lengths), `DIST` / `遙遙落後` (a distance: far behind) and `TO` (tailed
off) give no number: NULL. `---` (non-finishers, withdrawn, a few finishers and the disqualified):
NULL. English words are read in any letter case.
"""

from __future__ import annotations

import polars as pl

PLACE_CODES = {"PU": "PU", "UR": "UR", "FE": "F", "DNF": "PU", "TNP": "RR", "DISQ": "DSQ"}
WITHDRAWN_PATTERN = r"^W[VX](?:-[A-Z]+|NR)?$"  # WV, WV-A, WX, WX-A, WXNR
DEAD_HEAT_PATTERN = r"^(\d+)\s*(?:DH|平頭馬)$"

LENGTH_WORDS = {
    "-": 0.0,  # the winner
    "NOSE": 0.05,
    "+NOSE": 0.05,
    "鼻位": 0.05,
    "SH": 0.1,
    "短馬頭位": 0.1,
    "HD": 0.2,
    "頭位": 0.2,
    "N": 0.3,
    "頸位": 0.3,
}
NO_MARGIN = ["---", "ML", "多個馬位", "DIST", "遙遙落後", "TO"]  # understood, but no number of lengths
_NUMERIC_LENGTHS = r"^(?:\d+|\d+[- ]\d+/[1-9]\d*|\d+/[1-9]\d*)$"  # 12, 12-3/4 (or 12 3/4), 3/4; no x/0

NO_TIME = "---"
_TIME_PATTERN = r"^(?:(\d+):)?(\d{1,2}(?:\.\d+)?)$"  # 1:12.40 or 58.27

GROUP_NUMBERS = {"One": "1", "Two": "2", "Three": "3"}


def _clean(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars()


def place(text: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(pos_raw, withdrawn, understood) from place_raw."""
    raw = _clean(text)
    finished = raw.str.extract(r"^(\d+)$", 1)
    dead_heat = raw.str.extract(DEAD_HEAT_PATTERN, 1) + pl.lit("DH")
    code = raw.replace_strict(PLACE_CODES, default=None, return_dtype=pl.String)
    pos_raw = pl.coalesce(finished, dead_heat, code)
    withdrawn = raw.str.contains(WITHDRAWN_PATTERN).fill_null(False)
    return pos_raw, withdrawn, pos_raw.is_not_null() | withdrawn


def beaten_lengths(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(lengths behind the winner, understood) from lbw."""
    raw = _clean(text).str.to_uppercase()
    numeric = raw.str.contains(_NUMERIC_LENGTHS).fill_null(False)
    whole = raw.str.extract(r"^(\d+)(?:[- ]|$)", 1).cast(pl.Float64).fill_null(0.0)
    fraction = raw.str.extract(r"(\d+)/\d+$", 1).cast(pl.Float64) / raw.str.extract(r"/(\d+)$", 1).cast(pl.Float64)
    worded = raw.replace_strict(LENGTH_WORDS, default=None, return_dtype=pl.Float64)
    value = pl.when(numeric).then(whole + fraction.fill_null(0.0)).otherwise(worded)
    understood = numeric | raw.is_in(list(LENGTH_WORDS)) | raw.is_in(NO_MARGIN)
    return value, understood.fill_null(False)


def finish_seconds(text: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(time_raw, seconds, understood) from finish_time (`1:12.40` -> 72.4)."""
    raw = _clean(text)
    minutes = raw.str.extract(_TIME_PATTERN, 1).cast(pl.Float64).fill_null(0.0)
    seconds = raw.str.extract(_TIME_PATTERN, 2).cast(pl.Float64)
    timed = raw.str.contains(_TIME_PATTERN).fill_null(False)
    time_raw = pl.when(timed).then(raw)
    secs = pl.when(timed).then((minutes * 60.0 + seconds).round(2))
    return time_raw, secs, timed | (raw == NO_TIME).fill_null(False)


def race_class_fields(race_class: pl.Expr) -> dict[str, pl.Expr]:
    """class, pattern and age_band from race_class.

    `Class N` and `Class N (Restricted)` etc. -> class `Class N`. Group races are `Class 1` with a
    pattern (`Group 1` international, `HK Group 1` domestic), as Group races are in UK results.
    `4 Year Olds` (the HK Classic series) -> age_band `4yo`. Griffin and restricted races: no class.
    """
    raw = _clean(race_class)
    number = raw.str.extract(r"^Class (\d)", 1)
    group_word = raw.str.extract(r"Group (One|Two|Three)$", 1).replace_strict(GROUP_NUMBERS, default=None)
    domestic = raw.str.starts_with("Hong Kong Group").fill_null(False)
    pattern = pl.when(group_word.is_not_null()).then(
        pl.when(domestic).then(pl.lit("HK Group ")).otherwise(pl.lit("Group ")) + group_word
    )
    klass = (
        pl.when(number.is_not_null())
        .then(pl.lit("Class ") + number)
        .when(group_word.is_not_null())
        .then(pl.lit("Class 1"))
    )
    age_band = pl.when(raw == "4 Year Olds").then(pl.lit("4yo"))
    return {"class": klass, "pattern": pattern, "age_band": age_band}


def race_name(race_class: pl.Expr, rating_band: pl.Expr) -> pl.Expr:
    """The file has no race names: `Class 4 Handicap (60-40)`, `Group One`, `Race` when unknown.

    A race with a rating band is a handicap (HKJC's Class races are run as handicaps), so a
    feature that looks for "Handicap" in the name finds HK handicaps the way it finds UK ones.
    """
    base = pl.coalesce(_clean(race_class), pl.lit("Race"))
    band = _clean(rating_band)
    return pl.when(band.is_not_null()).then(base + pl.lit(" Handicap (") + band + pl.lit(")")).otherwise(base)
