"""Fixtures of the Airflow tests: Airflow imported with this test process's private configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.support.airflow_env import airflow_home


@pytest.fixture(scope="module")
def airflow() -> Iterator[object]:
    """Airflow, imported with the private configuration; the root logger is restored afterwards
    (Airflow installs its own handler on first import)."""
    airflow_home()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    import airflow as airflow_module

    yield airflow_module
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
