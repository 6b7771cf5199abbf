"""Price ladders: Betfair's tick ladder for exchange prices, and the traditional fractional odds
bookmakers return as starting prices (rounded against the punter)."""

from __future__ import annotations

import numpy as np

# Betfair increments: (from, to, step)
_BANDS = (
    (1.01, 2.0, 0.01),
    (2.0, 3.0, 0.02),
    (3.0, 4.0, 0.05),
    (4.0, 6.0, 0.1),
    (6.0, 10.0, 0.2),
    (10.0, 20.0, 0.5),
    (20.0, 30.0, 1.0),
    (30.0, 50.0, 2.0),
    (50.0, 100.0, 5.0),
    (100.0, 1000.0, 10.0),
)
BETFAIR_TICKS = np.unique(np.round(np.concatenate([np.arange(lo, hi + step / 2, step) for lo, hi, step in _BANDS]), 2))

_FRACTIONS = (
    (1, 50),
    (1, 33),
    (1, 25),
    (1, 20),
    (1, 16),
    (1, 14),
    (1, 12),
    (1, 10),
    (1, 8),
    (2, 13),
    (1, 6),
    (2, 11),
    (1, 5),
    (2, 9),
    (1, 4),
    (2, 7),
    (3, 10),
    (1, 3),
    (4, 11),
    (2, 5),
    (4, 9),
    (1, 2),
    (8, 15),
    (4, 7),
    (8, 13),
    (4, 6),
    (8, 11),
    (4, 5),
    (5, 6),
    (10, 11),
    (1, 1),
    (21, 20),
    (11, 10),
    (6, 5),
    (5, 4),
    (11, 8),
    (6, 4),
    (13, 8),
    (7, 4),
    (15, 8),
    (2, 1),
    (85, 40),
    (9, 4),
    (5, 2),
    (11, 4),
    (3, 1),
    (10, 3),
    (7, 2),
    (4, 1),
    (9, 2),
    (5, 1),
    (11, 2),
    (6, 1),
    (13, 2),
    (7, 1),
    (15, 2),
    (8, 1),
    (17, 2),
    (9, 1),
    (10, 1),
    (11, 1),
    (12, 1),
    (14, 1),
    (16, 1),
    (18, 1),
    (20, 1),
    (22, 1),
    (25, 1),
    (28, 1),
    (33, 1),
    (40, 1),
    (50, 1),
    (66, 1),
    (80, 1),
    (100, 1),
    (125, 1),
    (150, 1),
    (200, 1),
    (250, 1),
)
SP_LADDER = np.array([1.0 + a / b for a, b in _FRACTIONS])


def to_tick(price: np.ndarray, how: str = "nearest") -> np.ndarray:
    """Round prices to Betfair ticks ('nearest', 'down' = shorter, 'up' = longer)."""
    p = np.clip(np.asarray(price, dtype=float), BETFAIR_TICKS[0], BETFAIR_TICKS[-1])
    hi = np.searchsorted(BETFAIR_TICKS, p, side="left").clip(0, BETFAIR_TICKS.size - 1)
    lo = np.maximum(hi - 1, 0)
    exact = np.isclose(BETFAIR_TICKS[hi], p)
    if how == "up":
        return np.where(exact, BETFAIR_TICKS[hi], BETFAIR_TICKS[hi])
    if how == "down":
        return np.where(exact, BETFAIR_TICKS[hi], BETFAIR_TICKS[lo])
    nearer_low = (p - BETFAIR_TICKS[lo]) < (BETFAIR_TICKS[hi] - p)
    return np.where(exact, BETFAIR_TICKS[hi], np.where(nearer_low, BETFAIR_TICKS[lo], BETFAIR_TICKS[hi]))


def ticks_up(price: np.ndarray, n: int | np.ndarray = 1) -> np.ndarray:
    """The price `n` ticks longer (prices must be on the ladder; `n` may vary per price)."""
    i = np.searchsorted(BETFAIR_TICKS, np.round(price, 2), side="left")
    return BETFAIR_TICKS[np.clip(i + n, 0, BETFAIR_TICKS.size - 1)]


def to_sp(price: np.ndarray) -> np.ndarray:
    """Round down to the fractional odds ladder (bookmakers never round in the punter's favour)."""
    p = np.asarray(price, dtype=float)
    i = np.searchsorted(SP_LADDER, p + 1e-9, side="right") - 1
    return SP_LADDER[np.clip(i, 0, SP_LADDER.size - 1)]
