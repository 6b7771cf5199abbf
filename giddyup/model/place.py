"""Place probabilities from win probabilities: Harville with discounts per position.

The chance that runner j finishes k-th (k ≥ 2), given the runners already placed ahead of it, is
q_j / Σ_{remaining m} q_m with q_j = p_j^λ_k · exp(−γ p_j); the winner is drawn with p itself.
λ_k = 1, γ = 0 is Harville. λ_k < 1 flattens the later positions (Lo and Bacon-Shone's discounted
Harville; Benter 1994 used λ_2 = 0.81, λ_3 = 0.65 in Hong Kong); γ > 0, the favourite discount,
lowers the weight of a strong favourite that did not win a little more than a power can without
lifting the outsiders: on real UK/IE races a power alone overstates the place chance of runners
with p_win above a third by 2 to 3 points, which is what each-way value is made of at short odds.

The shipped parameters (UK_IE_EXPONENTS, UK_IE_FAVOURITE_DISCOUNT) are fitted on real place
results: the Betfair UK/IE file of ../shared/data, January to March 2026 (2,164 races; p_win = win
BSP normalised; places = what each place market paid), by place log loss
(`fit_place_model_to_place_results`, λ_4 tied to λ_3). April to June checks them: place log loss
0.50637 against 0.50534 for the place BSP market (benchmarks/bench_place_model.py).

Training (`fit_place_model`) has finishing orders: it fits λ_2..λ_4 and γ by the conditional logit
of the k-th finisher among those not ahead of it, all stages at once with γ shared, as a maximum a
posteriori estimate around the shipped parameters (prior sds PRIOR_SD): a few hundred races barely
move them, a long history of real results can.

P(in the first k) is computed exactly by enumerating ordered prefixes, vectorised over all races
of the same field size: n^k terms per race (k ≤ 4). numpy only (the intraday refresh uses it).
"""

from __future__ import annotations

import numpy as np

from giddyup.errors import GiddyUpError
from giddyup.model.race_probability import RaceGroups

MAX_PLACES = 4
BENTER_EXPONENTS = (1.0, 0.81, 0.65, 0.65)
# Fitted on Jan–Mar 2026 UK/IE place results (see the module docstring).
UK_IE_EXPONENTS = (1.0, 0.831, 0.782, 0.782)
UK_IE_FAVOURITE_DISCOUNT = 0.972
# Prior sds of training's estimate. Fitted apart, Jan–Mar flat and jumps races differ by about 0.2
# in λ and 1.7 in γ, which trade off against each other (their place probabilities differ far less);
# at these sds 3,000 races of a world with other parameters move the estimate most of the way.
PRIOR_SD = {"exponent": 0.1, "favourite_discount": 1.0}
MIN_STAGE_RACES = 50  # a stage with fewer clean races than this keeps the prior
_CHUNK_ELEMENTS = 4_000_000  # bound on the prefix tensor per batch (memory)
_P_FLOOR = 1e-9


def place_model(exponents, favourite_discount: float = 0.0, **extra: object) -> dict:
    """The place-model dict stored with a model version (`combiner["place"]`)."""
    return {
        "method": "discounted_harville",
        "exponents": [float(x) for x in exponents],
        "favourite_discount": float(favourite_discount),
        **extra,
    }


def default_place_model() -> dict:
    return place_model(UK_IE_EXPONENTS, UK_IE_FAVOURITE_DISCOUNT, fitted=False)


def _parameters(model: dict | None) -> tuple[np.ndarray, float]:
    """(λ_1..λ_4, γ); a model stored before the favourite discount existed has γ = 0."""
    model = model or default_place_model()
    if model.get("method") != "discounted_harville":
        raise GiddyUpError(f"unknown place model {model.get('method')!r}")
    exponents = np.asarray(model["exponents"], dtype=float)
    if exponents.size < MAX_PLACES:  # later positions reuse the last exponent
        exponents = np.concatenate([exponents, np.repeat(exponents[-1], MAX_PLACES - exponents.size)])
    return exponents, float(model.get("favourite_discount", 0.0))


def _top_k_batch(p: np.ndarray, places: int, exponents: np.ndarray, discount: float) -> np.ndarray:
    """P(in the first `places`) for R races of n runners each: p has shape (R, n), rows sum to 1."""
    n_races, n = p.shape
    result = p.copy()
    prefix = p  # probability of each ordered prefix, one axis per position filled so far
    for stage in range(1, places):
        q = p ** exponents[stage] * np.exp(-discount * p)

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
    with the model version (None: the shipped UK/IE parameters).
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
    exponents, discount = _parameters(model)
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
            out[chunk] = _top_k_batch(p[chunk], k, exponents, discount)
    return np.clip(out, 0.0, 1.0)


def fit_place_model(race_id, p_win, pos_num, *, max_places: int = MAX_PLACES, prior: dict | None = None) -> dict:
    """λ_2..λ_{max_places} and γ from finishing orders: the maximum a posteriori estimate of the
    stage-by-stage conditional logits (all stages at once, γ shared) around `prior` (default: the
    shipped parameters) with sds PRIOR_SD.

    Stage k uses the races whose first k positions are each held by exactly one runner (no dead heat,
    no gap); a stage with fewer than MIN_STAGE_RACES of them is left out, so its λ stays at the prior.
    """
    from scipy.optimize import minimize  # here, not at the top: the refresh imports this module and never fits

    prior_exponents, prior_discount = _parameters(prior or default_place_model())
    groups = RaceGroups.of(race_id)
    p = groups.normalise(np.clip(np.asarray(p_win, dtype=float), _P_FLOOR, None))
    log_p = np.log(p)
    pos = np.asarray(pos_num, dtype=float)
    pos = np.where(np.isfinite(pos), pos, np.inf)
    stages: list[tuple[int, RaceGroups, np.ndarray, np.ndarray, np.ndarray]] = []
    n_races: dict[str, int] = {}
    clean = np.ones(groups.n_races, dtype=bool)
    for k in range(1, max_places + 1):
        clean &= groups.sum((pos == k).astype(float)) == 1  # one runner at position k
        if k == 1:
            continue
        if clean.sum() < MIN_STAGE_RACES:
            break
        choosers = groups.broadcast(clean) & (pos >= k)  # runners still to be placed
        stage_groups = RaceGroups.of(np.asarray(race_id)[choosers])
        stages.append((k, stage_groups, log_p[choosers], p[choosers], (pos[choosers] == k).astype(float)))
        n_races[str(k)] = stage_groups.n_races
    # θ = (λ_2, λ_3, λ_4, γ)
    mean = np.r_[prior_exponents[1:], prior_discount]
    precision = np.r_[[PRIOR_SD["exponent"] ** -2] * (MAX_PLACES - 1), PRIOR_SD["favourite_discount"] ** -2]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value = 0.5 * float(np.sum(precision * (theta - mean) ** 2))
        gradient = precision * (theta - mean)
        for k, stage_groups, lp, pk, chosen in stages:
            log_prob = stage_groups.log_softmax(theta[k - 2] * lp - theta[-1] * pk)
            value -= float(np.sum(chosen * log_prob))
            residual = np.exp(log_prob) - chosen  # each race's chosen runner sums to one
            gradient[k - 2] += float(residual @ lp)
            gradient[-1] -= float(residual @ pk)
        return value, gradient

    theta = minimize(objective, mean, jac=True, method="L-BFGS-B").x if stages else mean
    exponents = [1.0, *(float(x) for x in theta[:-1])]
    return place_model(
        exponents,
        float(theta[-1]),
        fitted=bool(stages),
        n_races=n_races,
        prior={"exponents": [float(x) for x in prior_exponents], "favourite_discount": prior_discount},
    )


def fit_place_model_to_place_results(race_id, p_win, places, placed, *, favourite_discount: bool = True) -> dict:
    """λ_2, λ_3 = λ_4 and γ (0 with favourite_discount=False) minimising the place log loss of
    `placed` (True: paid as placed), for data with place results and no finishing order (an
    exchange place market's winners). `places` per runner, as in place_probabilities.
    Nelder-Mead from the shipped parameters."""
    from scipy.optimize import minimize  # here, not at the top: the refresh imports this module and never fits

    y = np.asarray(placed, dtype=float)
    if y.shape != np.shape(p_win):
        raise GiddyUpError("placed must have one value per runner")

    def parameters(x: np.ndarray) -> tuple[list[float], float]:
        return [1.0, float(x[0]), float(x[1]), float(x[1])], float(x[2]) if favourite_discount else 0.0

    def loss(x: np.ndarray) -> float:
        model = place_model(*parameters(x))
        return place_log_loss(place_probabilities(race_id, p_win, places, model), y)

    start = [UK_IE_EXPONENTS[1], UK_IE_EXPONENTS[2], UK_IE_FAVOURITE_DISCOUNT][: 3 if favourite_discount else 2]
    result = minimize(loss, np.array(start), method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-8})
    exponents, discount = parameters(result.x)
    return place_model(
        exponents,
        discount,
        fitted=True,
        n_races=int(RaceGroups.of(race_id).n_races),
        place_log_loss=float(result.fun),
    )


def place_log_loss(p_place, placed) -> float:
    """Mean binary log loss of place probabilities against place results (1 placed, 0 not)."""
    p = np.clip(np.asarray(p_place, dtype=float), _P_FLOOR, 1 - _P_FLOOR)
    y = np.asarray(placed, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
