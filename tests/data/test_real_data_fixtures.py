"""The fixtures of tests/fixtures are still exactly the rows of ../shared/data they were carved from
(tests/fixtures/README.md): a fixture that drifted from the real data would test something else."""

from __future__ import annotations

import polars as pl
import pytest

from tests.support.paths import FIXTURES, SHARED_DATA

pytestmark = pytest.mark.requires_shared_data


def test_hkjc_fixture_is_the_header_and_three_races_byte_for_byte() -> None:
    real = (SHARED_DATA / "hkjc" / "hkjc_runs_2013_2022.csv").read_bytes().split(b"\n")
    carved = [*real[0:15], *real[414:427], *real[85135:85149]]  # lines 1-15, 415-427, 85136-85149
    fixture = (FIXTURES / "hkjc" / "hkjc_three_races.csv").read_bytes()
    assert fixture == b"\n".join(carved) + b"\n"


def test_betfair_fixture_is_every_row_of_its_four_markets() -> None:
    fixture = pl.read_csv(FIXTURES / "betfair" / "betfair_four_markets.csv")
    markets = fixture["WIN_MARKET_ID"].unique().to_list()
    real = pl.read_csv(SHARED_DATA / "betfair" / "betfair_ukie_ratedprice_vs_bsp_2026H1.csv")
    assert len(markets) == 4
    assert fixture.equals(real.filter(pl.col("WIN_MARKET_ID").is_in(markets)))
