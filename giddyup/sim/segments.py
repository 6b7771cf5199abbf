"""Per-race arithmetic on flat numpy arrays whose rows are grouped by race (contiguous).

Every hot path of the simulator works on all runners of a day (or of the whole world) at once;
these helpers replace per-race Python loops.
"""

from __future__ import annotations

import numpy as np


def starts_of(group: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in a sorted (grouped) array."""
    if group.size == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(group[1:] != group[:-1]) + 1
    return np.concatenate(([0], change)).astype(np.int64)


def counts_of(starts: np.ndarray, total: int) -> np.ndarray:
    return np.diff(np.append(starts, total))


def seg_sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values, starts) if starts.size else np.zeros(0, dtype=values.dtype)


def seg_max(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.maximum.reduceat(values, starts) if starts.size else np.zeros(0, dtype=values.dtype)


def seg_min(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.minimum.reduceat(values, starts) if starts.size else np.zeros(0, dtype=values.dtype)


def spread(per_group: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Broadcast one value per group back to its rows."""
    return np.repeat(per_group, counts)


def seg_mean(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return seg_sum(values, starts) / np.maximum(counts, 1)


def seg_softmax(x: np.ndarray, starts: np.ndarray, counts: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Softmax within each group; rows where `mask` is False get probability 0.

    `x` may be 2-D (rows x samples): the softmax is taken per column.
    """
    masked = x if mask is None else np.where(mask if x.ndim == 1 else mask[:, None], x, -np.inf)
    top = np.maximum.reduceat(masked, starts, axis=0)
    z = np.exp(masked - np.repeat(top, counts, axis=0))
    total = np.add.reduceat(z, starts, axis=0)
    return z / np.repeat(total, counts, axis=0)


def rank_within(group: np.ndarray, key: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """0-based rank of each row within its group by descending `key` (group must be sorted)."""
    order = np.lexsort((-key, group))
    rank = np.empty(group.size, dtype=np.int64)
    rank[order] = np.arange(group.size) - np.repeat(starts, counts)
    return rank


def seg_cumsum(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group (rows already in the wanted order)."""
    total = np.cumsum(values)
    before = np.concatenate(([0.0], total))[starts]
    return total - np.repeat(before, counts)


def group_index(counts: np.ndarray) -> np.ndarray:
    """Group number of each row, from the group sizes."""
    return np.repeat(np.arange(counts.size), counts)
