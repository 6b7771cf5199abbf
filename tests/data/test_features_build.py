"""Feature build on a small generated world in a real PostgreSQL: contents, windows, race day, CLI."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict

import polars as pl
import psycopg
import pytest

from giddyup.errors import GiddyUpError
from giddyup.features.build import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    FEATURE_DESCRIPTIONS,
    build_race_day_features,
    build_training_features,
)
from giddyup.features.contract import ID_COLUMNS, LABEL_COLUMNS, MARKET_COLUMNS, feature_list_hash
from giddyup.features.read import race_day_window, read_runs, training_window
from giddyup.features.shrinkage import shrunk_ratio
from tests.support.cli import run_giddyup
from tests.support.databases import migrate_dsn
from tests.support.features_world import WorldSpec, build_world

UK = WorldSpec(seed=7, style="uk")
HK = WorldSpec(seed=3, style="hk", prelim_day=True)
HK_DECLARATION_DAY = HK.start + dt.timedelta(days=HK.day_step * HK.racing_days)
LAST_DAY = HK.start + dt.timedelta(days=HK.day_step * (HK.racing_days - 1))


@pytest.fixture(scope="module")
def world_dsn(database_factory) -> str:
    dsn = database_factory.create("gu_feat")
    migrate_dsn(dsn)
    build_world(dsn, UK)
    build_world(dsn, HK)
    return dsn


@pytest.fixture(scope="module")
def training(world_dsn):
    return build_training_features(world_dsn, until=LAST_DAY)


def _starts(dsn: str) -> list[dict]:
    """Every starter of a resulted race, straight from SQL (an independent path to the same facts)."""
    with psycopg.connect(dsn) as conn:
        cur = conn.execute(
            """SELECT r.runner_id, r.race_id, r.race_date, ra.off_time, ra.course_id, r.horse_id, r.jockey_id,
                      r.trainer_id, r.pos_num, r."or", r.pos_raw
               FROM racing.runners r JOIN racing.races ra USING (race_id, race_date)
               WHERE NOT ra.prelim AND r.pos_raw IS NOT NULL"""
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_feature_list_is_described_and_never_an_id_label_or_market_column(training):
    assert len(FEATURE_COLUMNS) == len(set(FEATURE_COLUMNS)) > 50
    assert all(FEATURE_DESCRIPTIONS[name].strip() for name in FEATURE_COLUMNS)
    assert set(CATEGORICAL_COLUMNS) <= set(FEATURE_COLUMNS)
    assert not set(FEATURE_COLUMNS) & {*ID_COLUMNS, *LABEL_COLUMNS, *MARKET_COLUMNS}
    assert training.feature_columns == FEATURE_COLUMNS
    training.check()
    for name in FEATURE_COLUMNS:  # LightGBM takes numbers (categoricals as small integer codes)
        assert training.frame.schema[name].is_numeric(), name


def test_one_row_per_starter_non_runners_out_non_finishers_in(world_dsn, training):
    starts = [s for s in _starts(world_dsn) if s["race_date"] <= LAST_DAY]
    frame = training.frame
    assert frame.height == len(starts)
    assert set(frame.get_column("runner_id").to_list()) == {s["runner_id"] for s in starts}
    field = defaultdict(int)
    for s in starts:
        field[s["race_id"]] += 1
    sizes = dict(frame.select("race_id", "field_size").unique().iter_rows())
    assert sizes == dict(field)
    assert frame.filter(~pl.col("finished")).height > 0  # non-finishers stay, as losers
    assert frame.filter(~pl.col("finished") & pl.col("won")).height == 0
    shares = frame.group_by("race_id").agg(pl.col("win_share").sum(), pl.col("won").sum())
    assert shares.filter(pl.col("won") > 0).select((pl.col("win_share") - 1).abs().max()).item() < 1e-12


def test_features_match_a_direct_computation_from_sql(world_dsn, training):
    """A few features recomputed with plain Python over SQL rows, for a random sample of runners."""
    starts = _starts(world_dsn)
    by_horse, by_jockey, by_pair = defaultdict(list), defaultdict(list), defaultdict(list)
    field, winners = defaultdict(int), defaultdict(int)
    for s in starts:
        by_horse[s["horse_id"]].append(s)
        by_jockey[s["jockey_id"]].append(s)
        by_pair[(s["trainer_id"], s["jockey_id"])].append(s)
        field[s["race_id"]] += 1
        winners[s["race_id"]] += s["pos_num"] == 1

    def pos_rel(s: dict) -> float:  # non-finishers count as last
        return 1.0 if s["pos_num"] is None else (s["pos_num"] - 1) / (field[s["race_id"]] - 1)

    rows = training.frame.rows(named=True)
    sample = random.Random(5).sample(rows, 80)
    runner = {s["runner_id"]: s for s in starts}
    for row in sample:
        me = runner[row["runner_id"]]
        day = row["race_date"]
        before = sorted(
            (s for s in by_horse[row["horse_id"]] if s["race_date"] < day),
            key=lambda s: (s["race_date"], s["off_time"]),
        )
        assert row["horse_career_runs"] == len(before)
        assert row["horse_course_runs"] == sum(s["course_id"] == me["course_id"] for s in before)
        rides = [s for s in by_jockey[me["jockey_id"]] if day - dt.timedelta(days=90) <= s["race_date"] < day]
        assert row["jockey_runs_90d"] == len(rides)
        pair = by_pair[(me["trainer_id"], me["jockey_id"])]
        assert row["trainer_jockey_runs_365d"] == sum(
            day - dt.timedelta(days=365) <= s["race_date"] < day for s in pair
        )
        if not before:
            assert row["horse_days_since_last_run"] is None and row["horse_last_pos_rel"] is None
            assert row["horse_career_win_ae"] == 1.0  # no record: the mean
            continue
        last = before[-1]
        assert row["horse_days_since_last_run"] == (day - last["race_date"]).days
        assert row["horse_last_pos_rel"] == pytest.approx(pos_rel(last))
        recent = before[-3:]
        assert row["horse_mean3_pos_rel"] == pytest.approx(sum(map(pos_rel, recent)) / len(recent))
        wins = sum(1 / winners[s["race_id"]] for s in before if s["pos_num"] == 1)
        expected = sum(1 / field[s["race_id"]] for s in before)
        assert row["horse_career_win_ae"] == pytest.approx((wins + 1) / (expected + 1), rel=1e-9)  # shrunk, prior 1
        rated = [s["or"] for s in before if s["or"] is not None]
        if me["or"] is not None and rated:
            assert row["horse_or_change"] == me["or"] - rated[-1]


def test_both_read_paths_give_the_same_frame(world_dsn):
    adbc = read_runs(world_dsn, training_window(LAST_DAY), engine="adbc").sort("runner_id")
    copy_csv = read_runs(world_dsn, training_window(LAST_DAY), engine="copy_csv").sort("runner_id")
    assert adbc.height > 0
    assert adbc.equals(copy_csv)
    # The race-day read holds the day's declarations and only resulted races before it.
    day = read_runs(world_dsn, race_day_window(HK_DECLARATION_DAY))
    on_day = day.filter(pl.col("race_date") == HK_DECLARATION_DAY)
    assert on_day.height > 0 and on_day.get_column("prelim").all()
    assert not day.filter(pl.col("race_date") < HK_DECLARATION_DAY).get_column("prelim").any()


def test_window_and_regions(world_dsn, training):
    since = UK.start + dt.timedelta(days=40)
    window = build_training_features(world_dsn, until=LAST_DAY, since=since, regions=["hk"])
    frame = window.frame
    assert frame.height > 0
    assert frame.get_column("region").unique().to_list() == ["HK"]
    assert frame.get_column("race_date").min() >= since
    # History is the same whatever the output window: the HK rows equal those of the full build.
    full = training.frame.join(frame.select("runner_id"), on="runner_id", how="semi").sort("runner_id")
    assert full.select(FEATURE_COLUMNS).equals(frame.sort("runner_id").select(FEATURE_COLUMNS))
    with pytest.raises(GiddyUpError, match="since"):
        build_training_features(world_dsn, until=since, since=LAST_DAY)


def test_race_day_features_describe_declarations_with_no_labels(world_dsn):
    day = build_race_day_features(world_dsn, race_date=HK_DECLARATION_DAY)
    day.check()
    frame = day.frame
    with psycopg.connect(world_dsn) as conn:
        declared = conn.execute(
            """SELECT count(*) FROM racing.runners r JOIN racing.races ra USING (race_id, race_date)
               WHERE ra.prelim AND r.race_date = %s AND r.pos_raw IS NULL""",
            (HK_DECLARATION_DAY,),
        ).fetchone()[0]
    assert frame.height == declared > 0
    assert frame.select(pl.all_horizontal(pl.col(list(LABEL_COLUMNS)).is_null()).all()).item()
    assert frame.get_column("p_market_dec").null_count() == frame.height  # no SP before the off
    assert frame.get_column("horse_career_runs").max() > 0  # history reaches the card
    assert day.feature_columns == FEATURE_COLUMNS
    empty = build_race_day_features(world_dsn, race_date=LAST_DAY)  # resulted day: no declarations
    assert empty.frame.height == 0


def test_hong_kong_rows_degrade_gracefully(training):
    hk = training.frame.filter(pl.col("region") == "HK")
    assert hk.height > 0
    # No RPR in HK: performance ratings come from results and official ratings.
    assert hk.get_column("horse_best_perf_rating").drop_nulls().len() > hk.height // 2
    assert hk.get_column("horse_official_rating").null_count() > 0  # later-season ratings missing
    assert hk.get_column("p_market_bsp").null_count() == hk.height  # no exchange in HK
    assert hk.get_column("p_market_dec").null_count() == 0
    assert hk.get_column("race_dist_f").null_count() == 0  # furlongs derived from metres
    assert hk.get_column("horse_best_speed_figure").drop_nulls().len() > 0


def test_versus_market_features_reach_both_worlds(training):
    """Residuals against the market come from SP and RPR (UK) and from SP and beaten lengths (HK),
    so the point-in-time and same-day tests see real values in these columns, not NULLs or zeros."""
    from giddyup.features.versus_market import DESCRIPTIONS

    late = training.frame.filter(pl.col("race_date") > LAST_DAY - dt.timedelta(days=20))
    for region in (["GB", "IRE"], ["HK"]):
        rows = late.filter(pl.col("region").is_in(region))
        assert rows.height > 0
        for column in DESCRIPTIONS:
            values = rows.get_column(column).drop_nulls()
            assert values.len() > rows.height // 2, (region, column)
            assert values.n_unique() > 3, (region, column)


def test_shrinkage_pulls_small_records_toward_the_mean():
    frame = pl.DataFrame({"act": [0.0, 1.0, 10.0, 0.0], "exp": [0.0, 0.2, 2.0, 5.0]})
    shrunk = frame.select(shrunk_ratio(pl.col("act"), pl.col("exp"), 1.0)).to_series().to_list()
    raw = [None, 5.0, 5.0, 0.0]
    assert shrunk[0] == 1.0
    for value, ratio in zip(shrunk[1:], raw[1:], strict=True):
        assert min(1.0, ratio) < value < max(1.0, ratio)
    assert abs(shrunk[2] - 5.0) < abs(shrunk[1] - 5.0)  # more evidence, less shrinkage


def test_empty_window_gives_an_empty_valid_feature_set(world_dsn):
    empty = build_training_features(world_dsn, until=UK.start - dt.timedelta(days=1))
    assert empty.frame.height == 0
    empty.check()


def test_unreachable_database_is_a_one_line_error():
    dsn = "postgresql://postgres:secret@127.0.0.1:1/nowhere"
    with pytest.raises(GiddyUpError) as caught:
        build_training_features(dsn, until=LAST_DAY)
    assert "secret" not in str(caught.value) and "\n" not in str(caught.value)


def test_features_build_command_writes_parquet_and_manifest(world_dsn, giddyup_env, tmp_path):
    env = giddyup_env(world_dsn)
    out = tmp_path / "features"
    since = LAST_DAY - dt.timedelta(days=30)
    result = run_giddyup(
        "features", "build", "--until", LAST_DAY.isoformat(), "--since", since.isoformat(), "--region", "GB,IRE",
        "--out", str(out), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    frame = pl.read_parquet(out / "features.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"] == frame.height > 0
    assert manifest["races"] == frame.get_column("race_id").n_unique()
    assert manifest["features"] == list(FEATURE_COLUMNS)
    assert manifest["feature_hash"] == feature_list_hash(FEATURE_COLUMNS, CATEGORICAL_COLUMNS)
    assert manifest["window"] == {"since": since.isoformat(), "until": LAST_DAY.isoformat()}
    assert set(manifest["region_rows"]) <= {"GB", "IRE"}
    assert "adbc" in manifest["read_path"] and manifest["seconds"]["read"] >= 0
    assert frame.get_column("race_date").min() >= since
    assert "features:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--until", "2022-02-30"], "--until"),
        (["--until", "2022-02-01", "--since", "2022-03-01"], "since"),
        (["--until", "2001-01-01"], "no resulted races"),
    ],
)
def test_features_build_command_refuses_bad_input_in_one_line(world_dsn, giddyup_env, tmp_path, args, message):
    env = giddyup_env(world_dsn)
    result = run_giddyup("features", "build", *args, "--out", str(tmp_path / "out"), env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert not (tmp_path / "out" / "features.parquet").exists()


def test_the_nightly_hand_off_train_reads_the_files_features_build_wrote(world_dsn, giddyup_env):
    """`features build --date D` writes features/D (races before D) where `train --date D` reads
    them; files built for another window or feature list are refused in one line, not used."""
    from giddyup.config import get_settings
    from giddyup.features.files import read_training_features

    env = giddyup_env(world_dsn)
    day = LAST_DAY + dt.timedelta(days=1)
    built = run_giddyup("features", "build", "--date", day.isoformat(), env=env)
    assert built.returncode == 0, built.stderr
    folder = get_settings().artifacts.features_dir(day)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["window"]["until"] == LAST_DAY.isoformat()  # what was known when day D began
    features = read_training_features(folder, LAST_DAY)
    assert features is not None and features.frame.height == manifest["rows"]
    assert features.frame.get_column("race_date").max() == LAST_DAY

    assert read_training_features(folder.parent / "2001-01-01", LAST_DAY) is None  # nothing built there
    manifest["window"]["until"] = (LAST_DAY - dt.timedelta(days=1)).isoformat()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused = run_giddyup("train", "--date", day.isoformat(), env=env)
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode != 0 and len(lines) == 1
    assert lines[0].startswith("error:") and "were built up to" in lines[0] and "features build --date" in lines[0]
