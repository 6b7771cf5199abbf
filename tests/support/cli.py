"""Running the real `giddyup` program, as a DAG task would."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO_ROOT


def run_giddyup(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `giddyup` console program (the same command a DAG task runs)."""
    return subprocess.run(
        [sys.executable, "-m", "giddyup.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO_ROOT,
    )
