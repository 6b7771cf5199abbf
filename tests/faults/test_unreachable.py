"""The database and the MLflow tracking server unreachable: one line naming what failed and what
to do, a non-zero exit, no secret (the passwords are planted in every URL form), nothing written.

The MLflow server is a real closed port on 127.0.0.1 (nothing listens there): a running MLflow
server that then dies is not started here, as the suite has no MLflow server process.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.faults import (
    DAY,
    REFRESH_AT,
    SCORE_AT,
    SETTLE_AT,
    assert_no_secret,
    assert_one_error_line,
    planted_dsns,
    planted_mlflow_uris,
    row_counts,
    run,
)
from tests.support.paths import FIXTURES

pytestmark = pytest.mark.faults

HKJC = str(FIXTURES / "hkjc" / "hkjc_three_races.csv")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens there


# Every writer with the URL form of PG_DSN; every form of PG_DSN with migrate and score.
CASES = (
    [(("score", "--date", DAY, "--at", SCORE_AT), form) for form in range(4)]
    + [(("migrate",), form) for form in range(4)]
    + [
        (("refresh", "--at", REFRESH_AT), 0),
        (("settle", "--date", DAY, "--at", SETTLE_AT), 1),
        (("load", "hkjc", HKJC), 2),
    ]
)


@pytest.mark.parametrize(("args", "form"), CASES, ids=[f"{a[0]}-form{f}" for a, f in CASES])
def test_database_unreachable(fault_world, tmp_path: Path, args: tuple[str, ...], form: int) -> None:
    port = closed_port()
    dsn = planted_dsns(f"host=127.0.0.1 port={port} user=postgres dbname=giddyup")[form]
    done = run(*args, env=fault_world.env(dsn, tmp_path / "a"))
    assert done.returncode != 0
    line = assert_one_error_line(done.stderr)
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port}/giddyup" in line and "PG_DSN" in line
    assert_no_secret(done.stdout, done.stderr, files_under=tmp_path)


MLFLOW_COMMANDS = [
    ("model", "list"),  # the https form again with --verbose: the traceback shown, redacted
    ("model", "promote", "1"),
    ("score", "--date", DAY, "--at", SCORE_AT),
]


@pytest.mark.parametrize("args", MLFLOW_COMMANDS, ids=lambda a: "-".join(a))
def test_mlflow_unreachable(fault_world, tmp_path: Path, args: tuple[str, ...]) -> None:
    """Issue 13 defects 1 and 2: the traceback with http://user:password@ is gone, and an outage is
    not reported as a missing model or version."""
    dsn = fault_world.clone(fault_world.trained)
    before = row_counts(dsn)
    port = closed_port()
    runs = [(args, uri) for uri in planted_mlflow_uris(port)[:1]]
    if args == ("model", "list"):
        runs.append((("--verbose", *args), planted_mlflow_uris(port)[1]))
    for argv, uri in runs:
        done = run(*argv, env=fault_world.env(planted_dsns(dsn)[0], tmp_path / "a", MLFLOW_TRACKING_URI=uri))
        assert done.returncode != 0
        assert_no_secret(done.stdout, done.stderr, files_under=tmp_path)
        if argv[0] == "--verbose":  # the traceback is shown, redacted; the last line says what failed
            assert "Traceback" in done.stderr
            line = done.stderr.strip().splitlines()[-1]
        else:
            line = assert_one_error_line(done.stderr)
        assert (
            f"cannot reach the MLflow tracking server at {uri.split('://')[0]}://giddyup:***@127.0.0.1:{port}" in line
        )
        assert "MLFLOW_TRACKING_URI" in line
        assert "alias" not in line and "no version" not in line
    assert row_counts(dsn) == before
