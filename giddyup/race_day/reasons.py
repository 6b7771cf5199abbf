"""Reasons a person reads: the model's top feature contributions in words, with the feature's value.

`trainer_sr_90d = 0.24, +0.31` becomes "trainer strike rate 24% over 90 days (+0.31)";
`trainer_win_ae_90d = 1.65` becomes "trainer wins vs expected 1.65 over 90 days";
`horse_official_rating_z_in_race = 0.65` becomes "official rating +0.65 sd vs the field".
Names are read as words (a few project abbreviations spelt out); a trailing window (`_90d`,
`_last5`, `_5r`) becomes "over 90 days" / "over the last 5 runs"; `_z_in_race` and
`_rank_in_race` say where the runner stands against its rivals; rates, shares and chances in
[0, 1] are shown as percentages. Contributions are the model's (LightGBM pred_contrib, relative
to the race), in raw-score units.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import cast

# Applied in order to the underscore name (before underscores become spaces).
_PHRASES: tuple[tuple[str, str], ...] = (
    (r"^(horse|race)_", ""),
    (r"^(is|has)_", ""),
    (r"^or(_|$)", r"official_rating\1"),
    (r"market_win_ae", "wins vs market expectation"),
    (r"win_ae", "wins vs expected"),
    (r"place_ae", "places vs expected"),
    (r"trainer_jockey", "trainer-jockey"),
    (r"(^|_)tj(_|$)", r"\1trainer-jockey\2"),
    (r"(^|_)sr(_|$)", r"\1strike rate\2"),
    (r"(^|_)btn(_|$)", r"\1lengths beaten\2"),
    (r"mean3_", "last-3 average "),
    (r"pos_rel", "finishing position (0 = won)"),
    (r"perf_rating", "performance rating"),
    (r"sp_prob", "SP chance"),
    (r"weight_carried_lbs", "weight carried (lb)"),
    (r"_lbs$", " (lb)"),
    (r"(^|_)dist_f$", r"\1distance (furlongs)"),
    (r"_change_f$", " change (furlongs)"),
    (r"(^|_)dsl(_|$)", r"\1days since last run\2"),
    (r"(^|_)aw$", r"\1all-weather"),
    (r"_code$", ""),
    (r"_num$", " number"),
    (r"_rel$", " (0 inside, 1 outside)"),
)
_RATE_WORDS = ("rate", "share", "chance", "prob", "pct")
_FLAG = re.compile(r"(^|_)(is|has)_|_changed$")
_WINDOW = re.compile(r"_(?:(\d+)d|last_?(\d+)|(\d+)r|(\d+)y)$")


def _split_standing(name: str) -> tuple[str, str | None]:
    for suffix, kind in (("_z_in_race", "z"), ("_rank_in_race", "rank"), ("_z", "z"), ("_rank", "rank")):
        if name.endswith(suffix):
            return name[: -len(suffix)], kind
    return name, None


def _split_window(name: str) -> tuple[str, str]:
    match = _WINDOW.search(name)
    if not match:
        return name, ""
    days, last, runs, years = match.groups()
    base = name[: match.start()]
    if days:
        return base, f"over {days} days"
    if years:
        return base, f"over {years} years"
    return base, f"over the last {last or runs} runs"


def _label(base: str) -> str:
    text = base.lower()
    for pattern, replacement in _PHRASES:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"\s+", " ", text.replace("_", " ")).strip()


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]  # the model formats values as text ("0.24")
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _value_text(label: str, value: object, standing: str | None, flag: bool = False) -> str:
    number = _number(value)
    if number is None:
        return "missing" if value is None or isinstance(value, float) else str(value)
    if flag and number in (0.0, 1.0):
        return "yes" if number else "no"
    if standing == "z":
        return f"{number:+.2f} sd vs the field"
    if standing == "rank":
        return f"rank {number:g} in the race"
    if any(word in label for word in _RATE_WORDS) and 0.0 <= number <= 1.0:
        return f"{100 * number:.0f}%"
    if number == int(number) and abs(number) < 1e6:
        return f"{int(number)}"
    return f"{number:.2f}"


def describe_contribution(feature: str, value: object, contribution: float) -> str:
    """e.g. `trainer strike rate 24% over 90 days (+0.31)`."""
    base, standing = _split_standing(feature)
    base, window = _split_window(base)
    label = _label(base)
    value_text = _value_text(label, value, standing, flag=_FLAG.search(feature) is not None)
    words = [label, value_text, window] if standing is None else [label, window, value_text]
    return f"{' '.join(w for w in words if w)} ({contribution:+.2f})"


def _entries(contributions: Iterable[object] | None) -> Iterable[tuple[str, object, float]]:
    """(feature, value, contribution) from dicts (Polars structs) or tuples."""
    for item in contributions or []:
        if isinstance(item, dict):
            yield str(item["feature"]), item.get("value"), float(item["contribution"])
        else:
            feature, value, contribution = cast(tuple[object, object, float], item)
            yield str(feature), value, float(contribution)


def drivers_json(contributions: Iterable[object] | None) -> str:
    """JSON text with `drivers` (sentences) and `contributions` (the figures behind them)."""
    entries = list(_entries(contributions))
    return json.dumps(
        {
            "drivers": [describe_contribution(f, v, c) for f, v, c in entries],
            "contributions": [
                {"feature": f, "value": _json_value(v), "contribution": round(c, 6)} for f, v, c in entries
            ],
        },
        sort_keys=True,
        allow_nan=False,
    )


def _json_value(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)
