"""What a simulated world is made from: the run's arguments (`WorldSpec`) and the model's knobs
(`Tunables`). Both are stored in sim.world so a world can be explained (and reproduced) later.

Scale: `scale=1.0` is UK + Irish racing at full size (about 10,500 races a year); presets shrink it
for tests and the demo.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zlib
from dataclasses import dataclass, field

import numpy as np

from giddyup.errors import GiddyUpError


@dataclass(frozen=True)
class Preset:
    days: int
    scale: float
    start: dt.date
    note: str


PRESETS: dict[str, Preset] = {
    # Tests: two months at a third of the size (about 1,000 races), a few seconds end to end.
    "small": Preset(days=61, scale=0.35, start=dt.date(2025, 4, 1), note="tests: ~2 months, ~1,000 races"),
    # The demo: two recent seasons at a reduced size, so that the demo (which also trains) stays quick.
    "demo": Preset(days=730, scale=0.45, start=dt.date(2024, 3, 1), note="demo: 2 seasons, ~12,000 races"),
    # The benchmark world: three years of UK + IRE racing.
    "full": Preset(days=1095, scale=1.0, start=dt.date(2023, 1, 1), note="3 years, ~31,000 races"),
}


@dataclass(frozen=True)
class WorldSpec:
    """The arguments of one `giddyup sim` run: the same spec always gives the same world."""

    seed: int
    start: dt.date
    days: int
    today: dt.date | None = None
    scale: float = 1.0
    preset: str = "full"

    def __post_init__(self) -> None:
        if not 0 <= self.seed < 2**63:
            raise GiddyUpError(f"--seed {self.seed}: use a whole number from 0 to 2^63-1")
        if self.days < 1:
            raise GiddyUpError(f"--days {self.days}: a world needs at least one day of racing")
        if self.days > 366 * 12:
            raise GiddyUpError(f"--days {self.days}: more than 12 years is not supported")
        if not 0.05 <= self.scale <= 2.0:
            raise GiddyUpError(f"scale {self.scale} is outside 0.05..2.0")
        if self.today is not None and self.today < self.end:
            raise GiddyUpError(
                f"--today {self.today} falls inside the simulated history ({self.start}..{self.end - dt.timedelta(days=1)}); "
                f"today's card must come after it (e.g. --today {self.end})"
            )

    @property
    def end(self) -> dt.date:
        """The first day after the resulted history."""
        return self.start + dt.timedelta(days=self.days)

    @property
    def last_day(self) -> dt.date:
        return self.today or self.end - dt.timedelta(days=1)

    def as_json(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "days": self.days,
            "today": self.today.isoformat() if self.today else None,
            "scale": self.scale,
            "preset": self.preset,
        }


def spec_from_args(
    *, seed: int, preset: str, start: dt.date | None, days: int | None, today: dt.date | None
) -> WorldSpec:
    if preset not in PRESETS:
        raise GiddyUpError(f"--preset {preset!r} is not one of {', '.join(PRESETS)}")
    chosen = PRESETS[preset]
    return WorldSpec(
        seed=seed,
        start=start or chosen.start,
        days=days if days is not None else chosen.days,
        today=today,
        scale=chosen.scale,
        preset=preset,
    )


@dataclass(frozen=True)
class Tunables:
    """The knobs of the world model. Ratings and effects are in pounds (lbs), as handicappers use."""

    # --- luck: race-day performance noise. Strength in units = lbs / lbs_per_unit; a Gumbel
    # draw per runner on that scale decides the race, so P(win) = softmax(strength).
    lbs_per_unit_flat: float = 9.3
    lbs_per_unit_jumps: float = 10.4
    # The places behind the winner (results.py): position k ≥ 2 among those left ∝ p_true^λ_k ·
    # exp(−γ p_true). Harville (all 1, γ 0) makes the places far too predictable. Calibrated so that
    # place results against Betfair SP (noisier than p_true) follow the model fitted on real UK/IE
    # races (giddyup.model.place): on a 2-season world every p_win band within 1 standard error.
    finish_exponents: tuple[float, float, float] = (0.871, 0.786, 0.786)
    finish_favourite_discount: float = 0.817

    # --- horses
    ability_flat: tuple[float, float] = (70.0, 15.0)  # mean, sd of the mature rating
    ability_jumps: tuple[float, float] = (115.0, 17.0)
    form_rho: float = 0.7  # run-to-run persistence of a horse's form (lbs)
    form_sd: float = 3.0
    blind_sd: float = 3.0  # a horse's persistent quirk the market under-reads (lbs)
    talent_sd: float = 7.0  # unknown to everyone until the horse has run a few times (lbs)
    talent_runs: float = 2.5  # how fast racing reveals it: hidden share exp(-runs / talent_runs)
    dist_penalty: float = 70.0  # lbs per (log distance off optimum)^2
    going_penalty: float = 0.9  # lbs per going-index^2 at sensitivity 1
    aw_sd: float = 3.0
    layoff_penalty: float = 7.0  # lbs for a long absence, scaled by the horse's fresh-ness
    not_today_rate: float = 0.14  # runners not out to win today (more after a break or on debut)
    not_today_lbs: float = 15.0  # mean lbs they give away

    # --- people
    jockey_skill_sd: float = 1.6
    jockey_form_sd: float = 1.0
    jockey_form_rho: float = 0.98  # per day
    trainer_skill_sd: float = 2.0
    trainer_form_sd: float = 2.6
    trainer_form_rho: float = 0.985  # per day: streaks of several weeks

    # --- courses
    strong_draw_share: float = 0.12  # share of Flat courses with a strong draw bias
    mild_draw_share: float = 0.2
    strong_draw_lbs: float = 9.0  # end-to-end effect in a full field at sprint trip
    mild_draw_lbs: float = 3.0

    # --- private information: how a horse is on the day (known to the market, not to form)
    private_sd: float = 3.6
    private_morning_share: float = 0.45  # variance share known in the morning
    private_preplay_share: float = 0.3  # further share known through the pre-play period

    # --- what the market reads of each component (1 = all of it)
    market_reads: dict[str, float] = field(
        default_factory=lambda: {
            "ability": 1.0,
            "blind": 0.0,
            "form": 0.6,
            "distance": 0.55,
            "going": 0.5,
            "surface": 0.6,
            "draw": 0.35,
            "jockey": 1.0,
            "jockey_form": 0.3,
            "trainer": 1.0,
            "trainer_form": 0.2,
            "fitness": 0.6,
            "weight": 1.0,
            "intent": 0.85,
        }
    )
    market_samples: int = 24  # Monte Carlo draws for the market's calibrated belief

    # --- prices
    sp_flb_alpha: float = 0.86  # bookmaker SP ∝ p^alpha (alpha < 1: favourite-longshot bias)
    bsp_noise: float = 0.035  # per-runner log noise around the market belief at the off
    non_runner_rate: float = 0.045
    dead_heat_share: float = 0.8  # share of photo finishes (< 0.075 lengths) for first called a dead heat

    def as_json(self) -> dict[str, object]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


DEFAULT_TUNABLES = Tunables()


def rng_for(seed: int, stream: str, *extra: int) -> np.random.Generator:
    """An independent, reproducible random stream per (world seed, purpose)."""
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, zlib.crc32(stream.encode()), *extra])
