"""Bad inputs, one row each: every command's arguments and the HK loader's values.

Each must exit non-zero (2 for usage mistakes, as click does) with exactly one `error:` line on
stderr, no traceback, no planted password anywhere, and every table's row count unchanged. The
database is a clone of the fault world after scoring, refreshing, results and bets (so the
commands have something to refuse to touch). `{file}`, `{folder}`, `{missing}` and `{odds:TEXT}`
(the HK fixture with win_odds TEXT planted) are filled in per run.

The HK values without --strict are loaded as dec NULL (exit 0; tests/data/test_hkjc_bad_odds.py
checks that no NaN or Infinity is stored); with --strict they fail, which is the row here.
An unknown model version is refused in tests/model/test_model_registry.py, and a SQLite store in
a folder that does not exist in tests/unit/test_redaction.py (both load MLflow, slow here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from tests.support.faults import (
    DAY,
    assert_no_secret,
    assert_one_error_line,
    planted_dsns,
    row_counts,
    run,
)
from tests.support.paths import FIXTURES

pytestmark = pytest.mark.faults

HKJC = FIXTURES / "hkjc" / "hkjc_three_races.csv"


@dataclass(frozen=True)
class Bad:
    args: tuple[str, ...]
    says: str  # a fragment of the one error line
    exit_code: int | None = None  # None: any non-zero
    env: tuple[tuple[str, str], ...] = ()


USAGE = 2
CASES: dict[str, Bad] = {
    # typer/click usage mistakes (issue 13 defect 6: a box before)
    "score-without-date": Bad(("score",), "Missing option '--date'", USAGE),
    "sim-seed-text": Bad(("sim", "--preset", "small", "--seed", "abc"), "Invalid value for '--seed'", USAGE),
    "unknown-option": Bad(("score", "--date", DAY, "--seed", "1"), "No such option: --seed", USAGE),
    "option-without-value": Bad(("refresh", "--at"), "requires an argument", USAGE),
    "unknown-command": Bad(("scoer",), "No such command", USAGE),
    "promote-without-version": Bad(("model", "promote"), "Missing argument", USAGE),
    "train-days-text": Bad(("bets", "paper", "--at", "2026-06-13T12:00Z", "--x"), "No such option", USAGE),
    # dates and instants
    "score-bad-date": Bad(("score", "--date", "2026-13-01"), "is not a date"),
    "score-at-without-zone": Bad(("score", "--date", DAY, "--at", "2026-06-13T07:00"), "has no time zone"),
    "refresh-instant-out-of-range": Bad(("refresh", "--at", "9999-12-31T23:59:59-01:00"), "outside the range"),
    "refresh-instant-text": Bad(("refresh", "--at", "yesterday"), "is not an ISO-8601 instant"),
    "settle-feb-30": Bad(("settle", "--date", "2026-02-30"), "is not a date"),
    "results-bad-date": Bad(("results", "--date", "13/06/2026"), "is not a date"),
    "bets-paper-bad-instant": Bad(("bets", "paper", "--at", "noon"), "is not an ISO-8601 instant"),
    "drift-bad-date": Bad(("drift", "--date", "2026-06-99"), "is not a date"),
    "train-bad-date": Bad(("train", "--date", "2025-06-31"), "is not a date"),
    "train-bad-promote": Bad(("train", "--date", DAY, "--promote", "sometimes"), "--promote"),
    "report-reversed-window": Bad(("report", "--from", DAY, "--to", "2026-06-01"), "is before"),
    "backtest-bad-window": Bad(("backtest", "--from", "x", "--to", DAY), "is not a date"),
    "sim-unknown-preset": Bad(("sim", "--preset", "huge"), "huge"),
    "evaluate-windows-out-of-order": Bad(
        ("evaluate", "--train-until", DAY, "--test-from", "2026-06-01", "--test-until", DAY, "--out", "{folder}"),
        "--train-until < --test-from",
    ),
    # output paths (issue 13 defect 4)
    "report-out-is-a-file": Bad(("report", "--from", DAY, "--to", DAY, "--out", "{file}"), "is a file, not a folder"),
    "features-out-under-a-file": Bad(
        ("features", "build", "--until", DAY, "--out", "{file}/features"), "cannot create the folder"
    ),
    "evaluate-out-is-a-file": Bad(
        (
            "evaluate",
            "--train-until",
            "2026-05-20",
            "--test-from",
            "2026-05-21",
            "--test-until",
            DAY,
            "--out",
            "{file}",
        ),
        "is a file, not a folder",
    ),
    "backtest-out-is-a-file": Bad(("backtest", "--from", DAY, "--to", DAY, "--out", "{file}"), "is a file"),
    # the MLflow store (issue 13 defect 6)
    "score-store-elsewhere-does-not-exist": Bad(
        ("score", "--date", DAY, "--at", "2026-06-13T07:00Z"),
        "does not exist, so it has no model",
        env=(("MLFLOW_TRACKING_URI", "sqlite:///{folder}/other-artifacts/mlflow.db"),),
    ),
    # the HK loader: paths and values
    "hkjc-a-directory": Bad(("load", "hkjc", "{folder}"), "is a directory"),
    "hkjc-missing-file": Bad(("load", "hkjc", "{missing}"), "no such file"),
    **{
        f"hkjc-odds-{name}": Bad(("load", "hkjc", "--strict", f"{{odds:{text}}}"), problem, 3)
        for name, text, problem in (
            ("nan", "nan", "is not a finite number"),
            ("infinity", "Infinity", "is not a finite number"),
            ("overflow", "1e400", "is not a finite number"),
            ("negative", "-2.5", "is below 1.0"),
            ("text", "evens", "is not a number"),
        )
    },
}


@pytest.fixture(scope="module")
def bad_world(fault_world, tmp_path_factory) -> dict:
    dsn = fault_world.clone(fault_world.refreshed)
    folder = tmp_path_factory.mktemp("bad-inputs")
    (folder / "existing.txt").write_text("not a folder\n")
    return {"dsn": dsn, "folder": folder, "counts": row_counts(dsn)}


def _fill(text: str, folder: Path) -> str:
    if text.startswith("{odds:"):
        value = text.removeprefix("{odds:").removesuffix("}")
        path = folder / f"odds-{abs(hash(value))}.csv"
        frame = pl.read_csv(HKJC, infer_schema=False)
        planted = pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(value)).otherwise(pl.col("win_odds"))
        frame.with_columns(win_odds=planted).write_csv(path)
        return str(path)
    return text.format(file=folder / "existing.txt", folder=folder, missing=folder / "no-such-thing")


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_one_line(fault_world, bad_world, tmp_path: Path, case: str) -> None:
    bad = CASES[case]
    folder: Path = bad_world["folder"]
    args = [_fill(a, folder) for a in bad.args]
    artifacts = tmp_path / "artifacts"
    extra = {k: _fill(v, folder) for k, v in bad.env}
    env = fault_world.env(planted_dsns(bad_world["dsn"])[len(case) % 4], artifacts, **extra)
    done = run(*args, env=env)
    assert done.returncode != 0, done.stdout[-2000:]
    if bad.exit_code is not None:
        assert done.returncode == bad.exit_code, done.stderr
    line = assert_one_error_line(done.stderr)
    assert bad.says in line, line
    assert_no_secret(done.stdout, done.stderr, files_under=artifacts)
    assert row_counts(bad_world["dsn"]) == bad_world["counts"]
    assert not (folder / "no-such-thing").exists()  # no folder made for a store that is not there
    assert not (folder / "other-artifacts").exists()
    assert not (artifacts / "mlflow.db").exists()  # no empty store made in passing
