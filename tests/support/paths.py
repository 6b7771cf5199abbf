"""Where things are, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO_ROOT / "dags"
PLUGINS_DIR = REPO_ROOT / "plugins"
MIGRATIONS_DIR = REPO_ROOT / "migrations"
# The real data sets (../shared/data/README.md) live beside the checkout, not in it; small
# fixtures carved from them live in tests/fixtures (README.md there: source and licence).
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FIXTURES = REPO_ROOT / "tests" / "fixtures"
