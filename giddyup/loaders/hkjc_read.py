"""Read and check the Hong Kong results file; build race and runner frames (no database here).

`read_hkjc_csv` gives the file as text columns with required columns checked; `parse_hkjc` turns
them into typed frames shaped like racing.races / racing.runners (names still as text) and a
`LoadReport`. The conventions are described in giddyup.loaders.hkjc (what is stored),
giddyup.loaders.hkjc_parse (placings, margins, times, class) and giddyup.loaders.hkjc_issues
(values, rows and races set aside, and `strict`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from giddyup.errors import GiddyUpError, ValidationError
from giddyup.loaders import hkjc_parse
from giddyup.loaders.hkjc_issues import RACE_LEFT_OUT, ROW_LEFT_OUT, IssueLog, SetAside

REGION = "HK"
VENUES = {"ST": "Sha Tin", "HV": "Happy Valley"}
SURFACES = {"TURF": "Turf", "AWT": "AW"}
METRES_PER_FURLONG = 201.168
MIN_DEC = 1.01  # racing.runners.dec CHECK (dec >= 1.01); the pool's 1.0 is stored as this
MIN_ODDS = 1.0  # below it (or NaN, infinite) win_odds are no odds: decimal odds include the stake
HORSE_CODE = r"^[A-Z]+[0-9]+$"  # the brand code, e.g. P010; stored at the end of the name
NO_NAME = "---"  # the file's "nobody" in jockey / trainer (withdrawn horses)

REQUIRED_COLUMNS = (
    "race_id", "date", "venue", "race_no", "race_class", "distance_m", "rating_band", "going",
    "surface", "field_size", "horse_no", "horse_code", "horse_name_en", "horse_name_zh", "jockey",
    "trainer", "rating", "gear", "actual_wt", "draw", "win_odds", "place_raw", "lbw", "finish_time",
)  # fmt: skip
# Columns that describe the race: every row of a race must agree (where given).
RACE_COLUMNS = ("date", "venue", "race_no", "race_class", "distance_m", "rating_band", "going", "surface", "field_size")
INTEGER_COLUMNS = ("race_no", "distance_m", "field_size", "horse_no", "rating", "actual_wt", "draw")

RACE_FIELDS = (
    "race_key", "race_date", "region", "course_id", "race_name", "race_type", "class", "pattern",
    "rating_band", "age_band", "dist_raw", "dist_f", "dist_m", "going", "surface", "ran", "prelim",
)  # fmt: skip
RUNNER_FIELDS = (
    "runner_key", "race_id", "race_date", "horse_id", "trainer_id", "jockey_id", "num", "draw", "lbs",
    "hg", "or", "pos_raw", "ovr_btn", "btn", "time_raw", "secs", "dec",
)  # fmt: skip


@dataclass
class LoadReport:
    """What a load read, stored, left out (rows by reason) and adjusted (values by convention)."""

    source: str
    rows_read: int = 0
    races: int = 0
    starters: int = 0
    non_runners: int = 0
    horses: int = 0
    jockeys: int = 0
    trainers: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows left out
    races_skipped: dict[str, int] = field(default_factory=dict)  # reason -> races left out whole
    set_aside: list[SetAside] = field(default_factory=list)  # every value, row and race set aside
    notes: dict[str, int] = field(default_factory=dict)  # convention applied -> how many
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall time
    strict: bool = False

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def first_set_aside(self, reason: str) -> SetAside | None:
        found = [item for item in self.set_aside if item.reason == reason]
        return min(found, key=lambda item: item.line) if found else None

    def values_set_aside(self) -> dict[str, list[SetAside]]:
        """Values stored as NULL or resolved (their rows loaded), by reason, in order of first line."""
        groups: defaultdict[str, list[SetAside]] = defaultdict(list)
        for item in self.set_aside:
            if item.outcome not in (ROW_LEFT_OUT, RACE_LEFT_OUT):
                groups[item.reason].append(item)
        return dict(sorted(groups.items(), key=lambda group: min(item.line for item in group[1])))

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "strict": self.strict,
            "rows_read": self.rows_read,
            "races": self.races,
            "starters": self.starters,
            "non_runners": self.non_runners,
            "horses": self.horses,
            "jockeys": self.jockeys,
            "trainers": self.trainers,
            "rows_not_loaded": {"total": self.rows_skipped, "rows_by_reason": self.skipped,
                                "races_by_reason": self.races_skipped},
            "values_set_aside": {reason: len(items) for reason, items in self.values_set_aside().items()},
            "conventions": self.notes,
            "set_aside": [item.as_json() for item in sorted(self.set_aside, key=lambda item: item.line)],
            "seconds": self.seconds,
        }  # fmt: skip


@dataclass
class HkjcTables:
    """Parsed races and runners, with names still as text (ids come from the database)."""

    races: pl.DataFrame  # RACE_FIELDS without course_id, plus course_name
    runners: pl.DataFrame  # RUNNER_FIELDS without ids, plus race_key, horse/jockey/trainer names
    report: LoadReport


# --- reading ---------------------------------------------------------------------------------


def read_hkjc_csv(path: Path) -> pl.DataFrame:
    """The file as text columns (nothing inferred), with a `line` column (the header is line 1)."""
    path = Path(path)
    if path.is_dir():
        raise GiddyUpError(f"{path}: is a directory, not a results file (give the CSV file inside it)")
    if not path.is_file():
        raise GiddyUpError(f"{path}: no such file")
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"{path}: not a readable CSV file: {first}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    text = frame.select(REQUIRED_COLUMNS).with_columns(
        pl.col(c).str.strip_chars().replace("", None) for c in REQUIRED_COLUMNS
    )
    return text.with_row_index("line", offset=2)


# --- parsing ---------------------------------------------------------------------------------


RACE_ATTRIBUTE = "NULL on this row (the race's other rows decide)"
# Integer columns: where a value that is not a whole number leaves NULL.
INTEGER_OUTCOMES = {
    "race_no": RACE_ATTRIBUTE,
    "distance_m": RACE_ATTRIBUTE,
    "field_size": RACE_ATTRIBUTE,
    "horse_no": "num NULL",
    "rating": "or NULL",
    "actual_wt": "lbs NULL",
    "draw": "draw NULL",
}
NO_ODDS = "dec NULL (no odds)"


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """`_<column>`: numbers and dates from text (NULL where the text is not one; checked later)."""
    casts = {c: pl.col(c).cast(pl.Int64, strict=False) for c in INTEGER_COLUMNS}
    casts["win_odds"] = pl.col("win_odds").cast(pl.Float64, strict=False)
    casts["date"] = pl.col("date").str.to_date("%Y-%m-%d", strict=False)
    return frame.with_columns(**{f"_{c}": e for c, e in casts.items()})


def _unreadable(column: str) -> pl.Expr:
    return pl.col(column).is_not_null() & pl.col(f"_{column}").is_null()


def _leave_out_races(frame: pl.DataFrame, log: IssueLog) -> pl.DataFrame:
    """Races whose result cannot be stored honestly are left out whole (strict: unreadable values fail)."""
    frame = frame.with_columns(_race_out=pl.lit(None, pl.String))
    frame = log.mark_races(frame, _unreadable("date"), "date", "is not a date (YYYY-MM-DD)")
    frame = log.mark_races(frame, ~pl.col("venue").is_in(list(VENUES)), "venue", f"is not one of {', '.join(VENUES)}")
    frame = log.mark_races(frame, pl.col("place_raw").is_null(), "place_raw", "is empty", misread=False,
                           reason="no place_raw (runner or non-runner unknown)")  # fmt: skip
    frame = log.mark_races(frame, pl.col("place_raw").is_not_null() & ~pl.col("_place_ok"), "place_raw",
                           "is not a placing, non-finisher or withdrawal code")  # fmt: skip
    expected_prefix = pl.col("_date").dt.strftime("%Y-%m-%d") + "_" + pl.col("venue") + "_"
    frame = log.mark_races(frame, ~pl.col("race_id").str.starts_with(expected_prefix), "race_id",
                           "does not start with the row's date and venue")  # fmt: skip
    # Races with no starter (every horse withdrawn) did not take place: one record per race.
    no_starters = ((~pl.col("_withdrawn")).sum().over("race_id") == 0) & (
        pl.col("line") == pl.col("line").min().over("race_id")
    )
    frame = log.mark_races(frame, no_starters, "place_raw", "", misread=False,
                           reason="race with no starters (every horse withdrawn)")  # fmt: skip
    return log.drop_marked_races(frame)


def _set_aside_values(frame: pl.DataFrame, log: IssueLog) -> pl.DataFrame:
    """Values not understood in fields that are not essential: NULL, recorded (strict: the first fails)."""
    for column, outcome in INTEGER_OUTCOMES.items():
        frame = log.set_null(frame, _unreadable(column), column, "is not a whole number", outcome, f"_{column}")
    odds = pl.col("_win_odds")
    frame = log.set_null(frame, _unreadable("win_odds"), "win_odds", "is not a number", NO_ODDS, "_win_odds")
    frame = log.set_null(frame, odds.is_nan() | odds.is_infinite(), "win_odds", "is not a finite number", NO_ODDS,
                         "_win_odds")  # fmt: skip
    frame = log.set_null(frame, odds < MIN_ODDS, "win_odds", "is below 1.0 (decimal odds include the stake)", NO_ODDS,
                         "_win_odds")  # fmt: skip
    surfaces = ", ".join(SURFACES)
    frame = log.set_null(frame, ~pl.col("surface").is_in(list(SURFACES)), "surface", f"is not one of {surfaces}",
                         RACE_ATTRIBUTE, "surface")  # fmt: skip
    frame = log.set_null(frame, pl.col("lbw").is_not_null() & ~pl.col("_lbw_ok"), "lbw", "is not a margin in lengths",
                         "ovr_btn and btn NULL", "ovr_btn")  # fmt: skip
    return log.set_null(frame, pl.col("finish_time").is_not_null() & ~pl.col("_time_ok"), "finish_time",
                        "is not a time (M:SS.ss)", "time_raw and secs NULL", "time_raw", "secs")  # fmt: skip


def _race_values(frame: pl.DataFrame, log: IssueLog) -> pl.DataFrame:
    """One row per race; where its rows disagree on a race column, the value on most rows (NULL on a tie)."""
    per_race = frame.group_by("race_id").agg(
        pl.col("line").min(), *[pl.col(c).drop_nulls().unique().alias(c) for c in RACE_COLUMNS]
    )
    resolved = []
    for column in RACE_COLUMNS:
        clash = per_race.filter(pl.col(column).list.len() > 1).sort("line")
        if not clash.height:
            resolved.append(pl.col(column).list.first())
            continue
        counts: defaultdict[str, list[tuple[object, int, int]]] = defaultdict(list)
        rows = frame.filter(pl.col("race_id").is_in(clash["race_id"].implode()) & pl.col(column).is_not_null())
        for race, value, n, first in rows.group_by("race_id", column).agg(pl.len(), pl.col("line").min()).iter_rows():
            counts[race].append((value, n, first))
        chosen = {race: log.resolve_disagreement(race, column, counts[race]) for race in clash["race_id"]}
        fixed = pl.col("race_id").replace_strict(chosen, default=None, return_dtype=frame.schema[column])
        resolved.append(
            pl.when(pl.col(column).list.len() > 1).then(fixed).otherwise(pl.col(column).list.first()).alias(column)
        )
    return per_race.with_columns(resolved).sort("line")


def _norm_safe(names: pl.Series) -> dict[str, str]:
    """Names without Latin letters or digits get their code points, so *_norm keys stay distinct."""
    tagged = {}
    for name in names.drop_nulls().unique().sort():
        if not any(c.isascii() and c.isalnum() for c in name):
            tagged[name] = f"{name} [{'-'.join(f'{ord(c):04X}' for c in name)}]"
    return tagged


def _horse_names(runners: pl.DataFrame, notes: Counter) -> pl.DataFrame:
    """horse_code -> `NAME (CODE)`, the same for every row of a horse."""
    per_horse = runners.group_by("horse_code").agg(
        pl.col("horse_name_en").drop_nulls().unique().sort().alias("en"),
        pl.col("horse_name_zh").drop_nulls().unique().sort().alias("zh"),
    )
    renamed = int((per_horse["en"].list.len() > 1).sum())
    if renamed:
        notes["horses with several English names: the first alphabetically is stored"] += renamed
    chinese_only = int(((per_horse["en"].list.len() == 0) & (per_horse["zh"].list.len() > 0)).sum())
    if chinese_only:
        notes["horses with only a Chinese name: stored as `中文名 (CODE)`"] += chinese_only
    base = pl.coalesce(pl.col("en").list.first(), pl.col("zh").list.first())
    name = pl.coalesce(base, pl.lit("UNNAMED")) + " (" + pl.col("horse_code") + ")"
    return per_horse.select("horse_code", name.alias("horse_name"))


def _people(runners: pl.DataFrame, column: str, notes: Counter) -> pl.Expr:
    """jockey / trainer names: `---` is nobody; Chinese-only names tagged (see _norm_safe)."""
    named = runners[column].filter(runners[column] != NO_NAME)
    tagged = _norm_safe(named)
    if tagged:
        notes[f"{column}s known only by a Chinese name: code points appended to the name"] += len(tagged)
    missing = int(runners.filter(pl.col("pos_raw").is_not_null())[column].is_in([NO_NAME]).fill_null(True).sum())
    if missing:
        notes[f"starters without a {column}: {column}_id NULL"] += missing
    raw = pl.col(column)
    return pl.when(raw.is_null() | (raw == NO_NAME)).then(None).otherwise(raw.replace(tagged))


def _with_btn(runners: pl.DataFrame, notes: Counter) -> pl.DataFrame:
    """btn: lengths behind the finisher just ahead, in finishing order (by lengths behind the winner).

    NULL when a finisher placed between this horse and the one ahead of it by lengths has no margin
    (ML, TO, ---, set aside): the horse just ahead is then one whose distance is unknown.
    """
    ordered = runners.with_columns(_pos_num=pl.col("pos_raw").str.extract(r"^(\d+)", 1).cast(pl.Int64)).sort(
        ["race_key", "ovr_btn", "_pos_num"], nulls_last=True
    )
    first = pl.int_range(pl.len()).over("race_key") == 0
    ahead = pl.when(first).then(pl.lit(0.0)).otherwise(pl.col("ovr_btn").shift(1).over("race_key"))
    ordered = ordered.with_columns(btn=(pl.col("ovr_btn") - ahead).round(2))
    unknown = ordered.filter(pl.col("_pos_num") > 1, pl.col("ovr_btn").is_null()).select("race_key", _gap="_pos_num")
    if unknown.height:
        ahead_pos = pl.when(first).then(pl.lit(1)).otherwise(pl.col("_pos_num").shift(1).over("race_key"))
        behind_gap = (
            ordered.filter(pl.col("btn").is_not_null())
            .select("race_key", "line", "_pos_num", _ahead_pos=ahead_pos)
            .join(unknown, on="race_key")
            .filter((pl.col("_gap") > pl.col("_ahead_pos")) & (pl.col("_gap") < pl.col("_pos_num")))["line"]
            .unique()
        )
        if behind_gap.len():
            notes["finishers just behind a horse with no margin: btn NULL"] += behind_gap.len()
            ordered = ordered.with_columns(
                btn=pl.when(pl.col("line").is_in(behind_gap.implode())).then(None).otherwise("btn")
            )
    return ordered.sort("line").drop("_pos_num")


def parse_hkjc(raw: pl.DataFrame, source: str, *, strict: bool = False) -> HkjcTables:
    """Check and parse the text frame of `read_hkjc_csv` into race and runner frames.

    Values not understood are set aside by the rules of giddyup.loaders.hkjc_issues; with `strict`
    the first one raises instead. Raises when nothing in the file can be loaded.
    """
    report = LoadReport(source=source, rows_read=raw.height, strict=strict)
    if raw.height == 0:
        raise ValidationError(f"{source}: no rows under the header: nothing to load")
    log = IssueLog(source, strict=strict)
    notes: Counter[str] = Counter()

    # Rows whose race or horse cannot be identified.
    frame = log.drop_rows(raw, pl.any_horizontal(pl.col(c).is_null() for c in ("race_id", "date", "venue")),
                          "race_id", "", reason="no race_id, date or venue")  # fmt: skip
    frame = log.drop_rows(frame, pl.col("horse_code").is_null(), "horse_code", "",
                          reason="no horse_code (the horse cannot be identified)")  # fmt: skip
    frame = log.drop_rows(frame, ~pl.col("horse_code").str.contains(HORSE_CODE), "horse_code",
                          "is not an HKJC brand code (letters then digits, e.g. P010)", misread=True)  # fmt: skip
    frame = log.drop_rows(frame, pl.col("line").rank("ordinal").over("race_id", "horse_code") > 1, "horse_code", "",
                          reason="the same horse_code twice in a race (later rows)")  # fmt: skip

    pos_raw, withdrawn, place_ok = hkjc_parse.place(pl.col("place_raw"))
    ovr_btn, lbw_ok = hkjc_parse.beaten_lengths(pl.col("lbw"))
    time_raw, secs, time_ok = hkjc_parse.finish_seconds(pl.col("finish_time"))
    frame = _typed(frame).with_columns(
        pos_raw=pos_raw, _withdrawn=withdrawn, _place_ok=place_ok, ovr_btn=ovr_btn, _lbw_ok=lbw_ok,
        time_raw=time_raw, secs=secs, _time_ok=time_ok,
    )  # fmt: skip
    frame = _leave_out_races(frame, log)
    frame = _set_aside_values(frame, log)
    typed = [*INTEGER_COLUMNS, "win_odds", "date"]
    frame = frame.drop(typed).rename({f"_{c}": c for c in typed})
    if frame.height == 0:
        reasons = "; ".join(f"{reason}: {rows} rows" for reason, rows in log.rows_left_out.most_common(3))
        raise ValidationError(f"{source}: nothing to load: all {raw.height} rows were left out ({reasons})")
    races = _race_values(frame, log)

    runners = _runner_frame(frame, notes)
    runners = runners.join(_horse_names(runners, notes), on="horse_code", how="left", maintain_order="left")
    runners = runners.with_columns(
        jockey_name=_people(runners, "jockey", notes), trainer_name=_people(runners, "trainer", notes)
    )
    races = _race_frame(races, runners, notes)

    report.races = races.height
    report.starters = int(runners["pos_raw"].is_not_null().sum())
    report.non_runners = runners.height - report.starters
    report.horses = runners["horse_name"].n_unique()
    report.jockeys = runners["jockey_name"].drop_nulls().n_unique()
    report.trainers = runners["trainer_name"].drop_nulls().n_unique()
    report.skipped = dict(log.rows_left_out)
    report.races_skipped = dict(log.races_left_out)
    report.set_aside = log.items
    report.notes = dict(notes)
    # Every row read is a starter, a non-runner or counted as skipped: nothing silently dropped.
    assert report.starters + report.non_runners + report.rows_skipped == report.rows_read
    keep = [*[c for c in RUNNER_FIELDS if c not in ("race_id", "horse_id", "trainer_id", "jockey_id")],
            "race_key", "horse_code", "horse_name", "jockey_name", "trainer_name", "line"]  # fmt: skip
    return HkjcTables(races=races, runners=runners.select(keep).sort("line"), report=report)


def _runner_frame(frame: pl.DataFrame, notes: Counter) -> pl.DataFrame:
    withdrawn = pl.col("_withdrawn")
    starter = ~withdrawn
    counts = frame.select(
        odds_withdrawn=(withdrawn & pl.col("win_odds").is_not_null()).sum(),
        no_odds=(starter & pl.col("win_odds").is_null()).sum(),
        floor=(starter & (pl.col("win_odds") < MIN_DEC)).sum(),
        no_margin=(starter & pl.col("ovr_btn").is_null() & pl.col("time_raw").is_not_null()).sum(),
    ).row(0, named=True)
    if counts["odds_withdrawn"]:
        notes["withdrawn horses with win_odds: odds not stored (non-runner)"] += counts["odds_withdrawn"]
    if counts["no_odds"]:
        notes["starters without usable win_odds (empty or set aside): dec NULL"] += counts["no_odds"]
    if counts["floor"]:
        notes[f"win_odds below {MIN_DEC} stored as {MIN_DEC} (the dec column's floor)"] += counts["floor"]
    if counts["no_margin"]:
        notes["finishers without a margin in lengths (lbw ML, TO, DIST, ---, set aside): ovr_btn and btn NULL"] += (
            counts["no_margin"]
        )

    runners = frame.with_columns(
        race_key=pl.col("race_id"),
        race_date=pl.col("date"),
        runner_key=pl.col("race_id") + "_" + pl.col("horse_code"),
        num=pl.col("horse_no"),
        lbs=pl.col("actual_wt"),
        hg=pl.when(pl.col("gear").str.contains(r"^-+$")).then(None).otherwise(pl.col("gear")),  # `--`: no gear
        **{"or": pl.col("rating")},
        dec=pl.when(starter).then(pl.col("win_odds").clip(lower_bound=MIN_DEC)),
        ovr_btn=pl.when(starter).then(pl.col("ovr_btn")),
        time_raw=pl.when(starter).then(pl.col("time_raw")),
        secs=pl.when(starter).then(pl.col("secs")),
    )
    return _with_btn(runners, notes)


def _race_frame(races: pl.DataFrame, runners: pl.DataFrame, notes: Counter) -> pl.DataFrame:
    starters = runners.group_by("race_key").agg(ran=pl.col("pos_raw").is_not_null().sum().cast(pl.Int64))
    races = races.join(starters, left_on="race_id", right_on="race_key", how="left", maintain_order="left")
    differs = int((races["ran"] != races["field_size"]).fill_null(False).sum())
    if differs:
        notes["races whose field_size differs from the starters listed: ran = starters listed"] += differs
    no_distance = int(races["distance_m"].is_null().sum())
    if no_distance:
        notes["races without distance_m: distance NULL"] += no_distance
    fields = hkjc_parse.race_class_fields(pl.col("race_class"))
    metres = pl.col("distance_m")
    return races.sort("line").select(
        race_key=pl.col("race_id"),
        race_date=pl.col("date"),
        region=pl.lit(REGION),
        course_name=pl.col("venue").replace_strict(VENUES),
        race_name=hkjc_parse.race_name(pl.col("race_class"), pl.col("rating_band")),
        race_type=pl.lit("Flat"),
        **fields,
        rating_band=pl.col("rating_band"),
        dist_raw=pl.when(metres.is_not_null()).then(metres.cast(pl.String) + "m"),
        dist_f=metres / METRES_PER_FURLONG,
        dist_m=metres,
        going=pl.col("going").str.to_titlecase(),
        surface=pl.col("surface").replace_strict(SURFACES),
        ran=pl.col("ran"),
        prelim=pl.lit(False),
    )
