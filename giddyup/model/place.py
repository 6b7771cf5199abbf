"""Place probabilities from win probabilities: Harville with discount exponents per position.

The chance that runner j finishes k-th, given the runners already placed ahead of it, is
p_j^λ_k / Σ_{remaining m} p_m^λ_k (λ_1 = 1: the win probabilities themselves). λ_k = 1 is Harville;
λ_k < 1 flattens the later positions, correcting Harville's known overstatement of favourites'
place chances (Benter 1994: λ_2 = 0.81, λ_3 = 0.65; Lo and Bacon-Shone's discounted model).
`fit_place_model` estimates the λ from finishing orders by conditional logit, stage by stage.

P(in the first k) is computed exactly by enumerating ordered prefixes, vectorised over all races
of the same field size: n^k terms per race (k ≤ 4). numpy only (the intraday refresh uses it).
"""

from __future__ import annotations

import numpy as np

from giddyup.errors import GiddyUpError
from giddyup.model.race_probability import RaceGroups, fit_conditional_logit

MAX_PLACES = 4
BENTER_EXPONENTS = (1.0, 0.81, 0.65, 0.65)
_CHUNK_ELEMENTS = 4_000_000  # bound on the prefix tensor per batch (memory)
_P_FLOOR = 1e-9


def default_place_model() -> dict:
    return {"method": "discounted_harville", "exponents": list(BENTER_EXPONENTS), "fitted": False}


def _exponents(model: dict | None) -> np.ndarray:
    model = model or default_place_model()
    if model.get("method") != "discounted_harville":
        raise GiddyUpError(f"unknown place model {model.get('method')!r}")
    exponents = np.asarray(model["exponents"], dtype=float)
    if exponents.size < MAX_PLACES:  # later positions reuse the last exponent
        exponents = np.concatenate([exponents, np.repeat(exponents[-1], MAX_PLACES - exponents.size)])
    return exponents


def _top_k_batch(p: np.ndarray, places: int, exponents: np.ndarray) -> np.ndarray:
    """P(in the first `places`) for R races of n runners each: p has shape (R, n), rows sum to 1."""
    n_races, n = p.shape
    result = p.copy()
    prefix = p  # probability of each ordered prefix, one axis per position filled so far
    for stage in range(1, places):
        q = p ** exponents[stage]

        def along(axis: int, q: np.ndarray = q, stage: int = stage) -> np.ndarray:
            """q laid along one runner axis of the (R, n, ..., n) prefix tensor."""
            return q.reshape([n_races] + [n if a == axis else 1 for a in range(stage + 1)])

        taken = sum(along(t) for t in range(stage))  # q of the runners already placed
        remaining = q.sum(axis=1).reshape([n_races] + [1] * (stage + 1)) - taken
        numerator = along(stage)
        out = np.zeros(np.broadcast_shapes(numerator.shape, remaining.shape))
        step = np.divide(numerator, remaining, out=out, where=remaining > 0)
        prefix = prefix[..., None] * step
        eye = np.eye(n, dtype=bool)
        for t in range(stage):  # the new runner is none of those already placed
            mask_shape = [1] + [n if a in (t, stage) else 1 for a in range(stage + 1)]
            prefix = np.where(eye.reshape(mask_shape), 0.0, prefix)
        result += prefix.sum(axis=tuple(range(1, stage + 1)))
    return result


def place_probabilities(race_id, p_win, places, model: dict | None = None) -> np.ndarray:
    """P(finishing in the first `places`) per runner; sums to min(places, field size) in each race.

    `places` is an int or one value per runner (constant within a race); 0 gives 0. A race with
    no more runners than places gives 1 to every runner. `model` is the place-model dict stored
    with the model version (None: Benter's exponents).
    """
    groups = RaceGroups.of(race_id)
    p_win = np.asarray(p_win, dtype=float)
    if p_win.shape != groups.codes.shape:
        raise GiddyUpError("race_id and p_win must have one value per runner")
    if np.any(~np.isfinite(p_win)) or np.any(p_win < 0):
        raise GiddyUpError("p_win must be a finite probability for every runner")
    places_row = np.broadcast_to(np.asarray(places, dtype=np.int64), p_win.shape)
    race_places = groups.max(places_row).astype(np.int64) if groups.n_races else np.zeros(0, np.int64)
    if np.any(groups.broadcast(race_places) != places_row):
        raise GiddyUpError("places must be the same for every runner of a race")
    if np.any(race_places < 0) or np.any(race_places > MAX_PLACES):
        raise GiddyUpError(f"places must be between 0 and {MAX_PLACES}")
    exponents = _exponents(model)
    p = groups.normalise(np.clip(p_win, _P_FLOOR, None))
    sizes = groups.sizes
    out = np.zeros_like(p)
    for n, k in {(int(s), int(k)) for s, k in zip(sizes, race_places, strict=True)}:
        races = np.flatnonzero((sizes == n) & (race_places == k))
        rows = groups.order[groups.starts[races][:, None] + np.arange(n)[None, :]]  # (R, n) row numbers
        if k == 0:
            continue
        if n <= k:
            out[rows] = 1.0
            continue
        per_chunk = max(1, _CHUNK_ELEMENTS // n**k)
        for first in range(0, races.size, per_chunk):
            chunk = rows[first : first + per_chunk]
            out[chunk] = _top_k_batch(p[chunk], k, exponents)
    return np.clip(out, 0.0, 1.0)


def fit_place_model(race_id, p_win, pos_num, *, max_places: int = MAX_PLACES) -> dict:
    """Fit λ_2..λ_{max_places} by conditional logit of the k-th finisher among those not ahead of it.

    Uses races whose first k positions are each held by exactly one runner (no dead heat, no gap).
    Exponents not fitted (too few races) fall back to Benter's.
    """
    groups = RaceGroups.of(race_id)
    log_p = np.log(np.clip(groups.normalise(np.clip(np.asarray(p_win, dtype=float), _P_FLOOR, None)), _P_FLOOR, None))
    pos = np.asarray(pos_num, dtype=float)
    pos = np.where(np.isfinite(pos), pos, np.inf)
    exponents = list(BENTER_EXPONENTS)
    fitted: dict[str, int] = {}
    clean = np.ones(groups.n_races, dtype=bool)
    for k in range(1, max_places + 1):
        clean &= groups.sum((pos == k).astype(float)) == 1  # one runner at position k
        if k == 1:
            continue
        race_ok = groups.broadcast(clean)
        choosers = race_ok & (pos >= k)  # runners still to be placed
        if groups.sum(choosers.astype(float))[clean].size == 0 or clean.sum() < 50:
            break
        fit = fit_conditional_logit(np.asarray(race_id)[choosers], log_p[choosers], (pos[choosers] == k).astype(float))
        exponents[k - 1] = float(fit.coef[0])
        fitted[str(k)] = fit.n_races
    for k in range(max_places + 1, MAX_PLACES + 1):  # beyond the fitted positions, reuse the last one
        exponents[k - 1] = exponents[max_places - 1] if fitted else BENTER_EXPONENTS[k - 1]
    return {"method": "discounted_harville", "exponents": exponents, "fitted": bool(fitted), "n_races": fitted}
