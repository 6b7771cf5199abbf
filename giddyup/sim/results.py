"""Drawing a race's result from its runners' true strength, for many races at once.

Model: the winner is the starter with the best strength + standard Gumbel draw, so P(win) =
softmax(strength) = p_true exactly (the stored truth). The places behind it are drawn as real races
run, not as Harville (Plackett-Luce) says: position k ≥ 2 goes to runner j of those left with
probability ∝ p_true^λ_k · exp(−γ p_true) (the discounted Harville model of giddyup.model.place,
with Tunables.finish_exponents and finish_favourite_discount; positions after the fourth reuse λ_4),
calibrated so that the simulated place results by Betfair SP match the real UK/IE ones. Each
runner's performance is then the race's Gumbel performances handed out in finishing order (the best
to the winner), so beaten lengths and RPR follow the order with the spread of the draws. Jumpers may fall (F),
unseat (UR) or be pulled up (PU); those are drawn among the non-winners only (pulled-up horses
mostly from the back of the field), which leaves the win probabilities exactly as stored. Gaps in
performance become beaten lengths (a length is worth fewer pounds over longer trips); a photo
finish is sometimes called a dead heat; the winner's time reflects trip, ground, course and how
good the winning performance was; RPR is the performance in pounds with the weight carried added
back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from giddyup.sim import segments as seg
from giddyup.sim.calendar import CHASE, FLAT, HURDLE, NHF

EULER_GAMMA = 0.5772156649015329

# Non-finishing rates per race type: fall, unseated rider, pulled up.
NON_FINISH = {
    FLAT: (0.0, 0.0005, 0.002),
    HURDLE: (0.012, 0.008, 0.05),
    CHASE: (0.04, 0.025, 0.08),
    NHF: (0.0, 0.002, 0.015),
}

COMMENTS = {
    "won": [
        "Tracked leaders, led over 1f out, ran on well",
        "Made all, kept on gamely",
        "Held up, smooth headway 2f out, led final furlong, comfortably",
        "Prominent, led inside final furlong, driven out",
        "Chased leaders, challenged final furlong, led close home",
        "Led, kicked clear 2 out, unchallenged",
    ],
    "close": [
        "Chased leaders, every chance final furlong, just held",
        "Held up, headway over 1f out, ran on, not reach winner",
        "Led until headed inside final furlong, kept on",
        "Prominent, ridden 2f out, kept on same pace",
        "Midfield, stayed on final furlong, nearest finish",
    ],
    "mid": [
        "Midfield, never a threat",
        "In touch, ridden over 2f out, one pace",
        "Held up, some late headway, never dangerous",
        "Prominent, weakened final furlong",
        "Towards rear, plugged on, never nearer",
    ],
    "back": [
        "Always towards rear",
        "Chased leaders until weakened 2f out",
        "Slowly away, always behind",
        "Behind, tailed off",
        "Raced keenly, weakened quickly",
    ],
    "PU": [
        "Behind, pulled up before 2 out",
        "Weakened 4 out, pulled up",
        "Lost action, pulled up",
        "Always behind, pulled up before last",
    ],
    "F": ["Fell 3rd", "Fell 4 out", "In touch when fell 2 out", "Fell first", "Held every chance when fell last"],
    "UR": ["Blundered and unseated rider 5th", "Unseated rider 2nd", "Mistake, unseated rider 3 out"],
}


@dataclass
class RaceInputs:
    """Per race (the starters' races, in order): what the result depends on besides strength."""

    race_type: np.ndarray
    dist_f: np.ndarray
    going_index: np.ndarray
    aw: np.ndarray
    speed: np.ndarray  # course speed multiplier
    par: np.ndarray  # typical rating of the race's runners (lbs)
    prize: np.ndarray  # win prize


@dataclass
class Result:
    """Per starter, in input order."""

    perf_rank: np.ndarray  # 0 = best performance
    pos_num: np.ndarray  # 0 for non-finishers
    pos_raw: np.ndarray  # object: '1', '2DH', 'PU', ...
    won: np.ndarray
    btn: np.ndarray  # nan for non-finishers
    ovr_btn: np.ndarray
    secs: np.ndarray
    rpr: np.ndarray  # nan for non-finishers
    comment: np.ndarray
    prize: np.ndarray
    finished: np.ndarray


def lbs_per_length(dist_f: np.ndarray) -> np.ndarray:
    """Pounds a length is worth: about 3 at 5f, 2 at a mile, under 1 at 3m."""
    return 14.0 / dist_f + 0.3


def seconds_per_furlong(race_type: np.ndarray, dist_f: np.ndarray) -> np.ndarray:
    return np.select(
        [race_type == FLAT, race_type == HURDLE, race_type == CHASE],
        [11.6 + 0.075 * dist_f, 13.6 + 0.04 * dist_f, 14.0 + 0.04 * dist_f],
        12.9 + 0.03 * dist_f,
    )


def draw_results(
    rng: np.random.Generator,
    race: np.ndarray,
    strength: np.ndarray,
    lbs_per_unit: np.ndarray,
    weight_adj: np.ndarray,
    jump_skill: np.ndarray,
    races: RaceInputs,
    dead_heat_share: float,
    finish_exponents: tuple[float, ...],
    finish_favourite_discount: float,
) -> Result:
    """`race`: 0-based race number of each starter, sorted (starters of a race contiguous)."""
    n = race.size
    starts = seg.starts_of(race)
    counts = seg.counts_of(starts, n)
    field = np.repeat(counts, counts)
    rtype = races.race_type[race]

    perf = strength + rng.gumbel(size=n)
    rank = finishing_rank(rng, race, strength, perf, starts, counts, finish_exponents, finish_favourite_discount)
    # The race's performances in finishing order: the r-th best goes to the runner finishing r-th.
    by_perf = np.lexsort((-perf, race))
    by_rank = np.lexsort((rank, race))
    perf = perf.copy()
    perf[by_rank] = perf[by_perf]

    # Non-finishers among the non-winners: falls and unseats hit anyone, pull-ups the struggling.
    rates = np.array([NON_FINISH[t] for t in (FLAT, HURDLE, CHASE, NHF)])[rtype]
    clumsy = np.exp(-0.5 * jump_skill)
    back = rank / np.maximum(field - 1, 1)
    stamina = np.clip(1.0 + 0.6 * np.maximum(races.going_index[race], 0.0) + 0.05 * (races.dist_f[race] - 20), 0.5, 3.0)
    p_fall = rates[:, 0] * clumsy
    p_ur = rates[:, 1] * clumsy
    p_pu = rates[:, 2] * 3.0 * back**2 * stamina
    u = rng.random(n)
    code = np.select([u < p_fall, u < p_fall + p_ur, u < p_fall + p_ur + p_pu], [1, 2, 3], 0)
    code = np.where(rank == 0, 0, code)
    finished = code == 0

    # Order of finish: finishers by performance, non-finishers after them.
    key = np.where(finished, perf, perf - 1e6)
    order = np.lexsort((-key, race))
    o_fin = finished[order]
    o_perf = perf[order]
    o_race = race[order]
    first_in_race = np.ones(n, dtype=bool)
    first_in_race[1:] = o_race[1:] != o_race[:-1]
    lpl = lbs_per_length(races.dist_f[o_race])
    gap_units = np.where(first_in_race, 0.0, np.concatenate(([0.0], o_perf[:-1] - o_perf[1:])))
    lengths = gap_units * lbs_per_unit[order] / lpl
    photo = ~first_in_race & o_fin & (lengths < 0.075)
    # Judges separate most photos; dead heats are called mostly for the places that matter.
    place = np.arange(n) - np.repeat(starts, counts)
    dead_heat = photo & (rng.random(n) < dead_heat_share * np.select([place == 1, place <= 3], [1.0, 0.5], 0.1))
    btn = np.where(dead_heat, 0.0, _round_lengths(lengths))
    btn = np.where(first_in_race, 0.0, btn)
    btn = np.where(o_fin, btn, np.nan)
    ovr = seg.seg_cumsum(np.nan_to_num(btn), starts, counts)
    ovr = np.where(o_fin, np.minimum(ovr, 199.0), np.nan)

    # Positions: a dead heat shares the place of the horse it dead-heated with.
    gidx = np.arange(n)
    group_start = np.maximum.accumulate(np.where(dead_heat, -1, gidx))
    race_start = np.repeat(starts, counts)
    o_pos = np.where(o_fin, group_start - race_start + 1, 0)
    next_dh = np.concatenate((dead_heat[1:], [False]))
    in_dh = dead_heat | next_dh
    nf_code = code[order]
    o_pos_raw = np.where(
        o_fin,
        np.char.add(o_pos.astype(str), np.where(in_dh, "DH", "")),
        np.array(["", "F", "UR", "PU"])[nf_code],
    ).astype(object)

    # RPR: the performance in pounds, weight carried added back (the scale of official ratings).
    o_L = lbs_per_unit[order]
    o_rpr = np.where(o_fin, (o_perf - EULER_GAMMA) * o_L + weight_adj[order], np.nan)
    o_rpr = np.round(np.clip(o_rpr, 0, None))

    # Times: standard for the trip and ground, quicker for a better winning performance.
    r_type, r_dist = races.race_type, races.dist_f
    going_factor = np.where(
        races.aw,
        1 + 0.01 * races.going_index,
        1 + 0.025 * races.going_index + 0.02 * np.maximum(races.going_index - 1, 0) ** 2,
    )
    standard = r_dist * seconds_per_furlong(r_type, r_dist) * races.speed * going_factor
    secs_per_length = np.where(r_type == FLAT, 0.18, 0.22)
    winner_rpr = o_rpr[starts]
    pace = rng.normal(0, 0.006, races.race_type.size) * standard
    winner_secs = standard - (winner_rpr - races.par) / lbs_per_length(r_dist) * secs_per_length + np.abs(pace)
    o_secs = np.where(
        o_fin, np.repeat(winner_secs, counts) + np.nan_to_num(ovr) * np.repeat(secs_per_length, counts), np.nan
    )

    o_prize = np.where(
        o_fin & (o_pos <= 4),
        np.repeat(races.prize, counts) * np.array([0, 1, 0.32, 0.16, 0.08])[np.minimum(o_pos, 4)],
        np.nan,
    )
    o_comment = _comments(rng, o_pos, o_fin, nf_code, np.repeat(counts, counts), ovr)

    result = Result(
        perf_rank=rank,
        pos_num=np.empty(n, dtype=np.int64),
        pos_raw=np.empty(n, dtype=object),
        won=np.empty(n, dtype=bool),
        btn=np.empty(n),
        ovr_btn=np.empty(n),
        secs=np.empty(n),
        rpr=np.empty(n),
        comment=np.empty(n, dtype=object),
        prize=np.empty(n),
        finished=finished,
    )
    result.pos_num[order] = o_pos
    result.pos_raw[order] = o_pos_raw
    result.won[order] = o_pos == 1
    result.btn[order] = btn
    result.ovr_btn[order] = ovr
    result.secs[order] = o_secs
    result.rpr[order] = o_rpr
    result.comment[order] = o_comment
    result.prize[order] = o_prize
    return result


def finishing_rank(
    rng: np.random.Generator,
    race: np.ndarray,
    strength: np.ndarray,
    perf: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    exponents: tuple[float, ...],
    favourite_discount: float,
) -> np.ndarray:
    """0-based finishing rank per starter: the winner by `perf` (strength + Gumbel), then one draw per
    later position among those left, with weights p^λ_k · exp(−γ p) (Gumbel-max trick, vectorised
    over races); the runners after the last exponent in one Plackett-Luce draw with it."""
    n = race.size
    p = seg.seg_softmax(strength, starts, counts)
    log_p = np.log(np.maximum(p, 1e-300))
    field = np.repeat(counts, counts)
    placed_at = np.where(seg.rank_within(race, perf, starts, counts) == 0, 0, -1)
    for position, exponent in enumerate(exponents, start=1):
        left = placed_at < 0
        key = np.where(left, exponent * log_p - favourite_discount * p + rng.gumbel(size=n), -np.inf)
        first = (seg.rank_within(race, key, starts, counts) == 0) & left & (field > position)
        placed_at[first] = position
    rest = exponents[-1] * log_p - favourite_discount * p + rng.gumbel(size=n)
    key = np.where(placed_at >= 0, 1e6 - placed_at, rest)  # placed runners first, in their order
    return seg.rank_within(race, key, starts, counts)


def _round_lengths(lengths: np.ndarray) -> np.ndarray:
    """Beaten distances as judges call them: nose, short head, head, neck, then quarters, halves, wholes."""
    return np.select(
        [lengths < 0.075, lengths < 0.15, lengths < 0.25, lengths < 0.4, lengths < 5, lengths < 15],
        [0.05, 0.1, 0.2, 0.3, np.round(lengths * 4) / 4, np.round(lengths * 2) / 2],
        np.round(lengths),
    )


def _comments(
    rng: np.random.Generator,
    pos: np.ndarray,
    finished: np.ndarray,
    nf_code: np.ndarray,
    field: np.ndarray,
    ovr: np.ndarray,
) -> np.ndarray:
    kind = np.select(
        [~finished, pos == 1, (pos <= 3) | (np.nan_to_num(ovr) < 3), pos <= np.maximum(field // 2, 3)],
        [np.array(["", "F", "UR", "PU"])[nf_code], "won", "close", "mid"],
        "back",
    )
    out = np.empty(pos.size, dtype=object)
    for name, texts in COMMENTS.items():
        rows = np.flatnonzero(kind == name)
        if rows.size:
            out[rows] = np.array(texts, dtype=object)[rng.integers(0, len(texts), rows.size)]
    return out
