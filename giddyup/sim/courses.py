"""The courses of the simulated world: real GB and Irish course names, what each races
(F = Flat turf, A = all-weather Flat, J = jumps), how prestigious it is, how often it races, its
largest field, and (drawn per world) its draw bias, going tendency and speed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from giddyup.sim.params import Tunables

# name, region, kinds, tier (1 = premier), fixtures weight, largest field
COURSE_TABLE: tuple[tuple[str, str, str, int, float, int], ...] = (
    # GB, Flat turf and mixed
    ("Ascot", "GB", "FJ", 1, 1.0, 24),
    ("Ayr", "GB", "FJ", 2, 1.0, 22),
    ("Bath", "GB", "F", 3, 1.0, 18),
    ("Beverley", "GB", "F", 3, 1.0, 20),
    ("Brighton", "GB", "F", 3, 0.9, 16),
    ("Carlisle", "GB", "FJ", 3, 0.9, 18),
    ("Catterick", "GB", "FJ", 3, 1.0, 18),
    ("Chepstow", "GB", "FJ", 2, 1.0, 20),
    ("Chester", "GB", "F", 2, 0.6, 14),
    ("Doncaster", "GB", "FJ", 1, 1.0, 24),
    ("Epsom", "GB", "F", 1, 0.4, 18),
    ("Ffos Las", "GB", "FJ", 3, 0.8, 18),
    ("Goodwood", "GB", "F", 1, 0.8, 24),
    ("Hamilton", "GB", "F", 3, 0.9, 16),
    ("Haydock", "GB", "FJ", 1, 1.1, 20),
    ("Leicester", "GB", "FJ", 3, 1.0, 20),
    ("Musselburgh", "GB", "FJ", 3, 1.0, 16),
    ("Newbury", "GB", "FJ", 1, 1.0, 24),
    ("Newmarket", "GB", "F", 1, 1.3, 24),
    ("Nottingham", "GB", "F", 3, 1.0, 20),
    ("Pontefract", "GB", "F", 2, 0.8, 20),
    ("Redcar", "GB", "F", 3, 1.0, 20),
    ("Ripon", "GB", "F", 2, 0.8, 22),
    ("Salisbury", "GB", "F", 2, 0.8, 20),
    ("Sandown", "GB", "FJ", 1, 1.0, 20),
    ("Thirsk", "GB", "F", 3, 0.9, 20),
    ("Windsor", "GB", "F", 3, 1.0, 20),
    ("Yarmouth", "GB", "F", 3, 1.0, 18),
    ("York", "GB", "F", 1, 0.6, 24),
    # GB, all-weather (some also turf or jumps)
    ("Chelmsford City", "GB", "A", 3, 1.6, 14),
    ("Kempton", "GB", "AJ", 2, 1.5, 14),
    ("Lingfield", "GB", "AFJ", 3, 1.7, 14),
    ("Newcastle", "GB", "AJ", 2, 1.4, 14),
    ("Southwell", "GB", "AJ", 3, 1.5, 14),
    ("Wolverhampton", "GB", "A", 3, 1.9, 13),
    # GB, jumps only
    ("Aintree", "GB", "J", 1, 0.5, 24),
    ("Bangor-on-Dee", "GB", "J", 3, 0.8, 16),
    ("Cartmel", "GB", "J", 3, 0.5, 16),
    ("Cheltenham", "GB", "J", 1, 0.8, 24),
    ("Exeter", "GB", "J", 2, 1.0, 16),
    ("Fakenham", "GB", "J", 3, 0.8, 14),
    ("Fontwell", "GB", "J", 3, 1.2, 16),
    ("Hereford", "GB", "J", 3, 0.8, 16),
    ("Hexham", "GB", "J", 3, 0.8, 16),
    ("Huntingdon", "GB", "J", 3, 1.0, 16),
    ("Kelso", "GB", "J", 3, 0.9, 16),
    ("Ludlow", "GB", "J", 3, 1.0, 16),
    ("Market Rasen", "GB", "J", 3, 1.1, 16),
    ("Newton Abbot", "GB", "J", 3, 1.0, 16),
    ("Perth", "GB", "J", 3, 0.8, 16),
    ("Plumpton", "GB", "J", 3, 1.0, 16),
    ("Sedgefield", "GB", "J", 3, 1.0, 16),
    ("Stratford", "GB", "J", 3, 0.9, 16),
    ("Taunton", "GB", "J", 3, 0.9, 16),
    ("Uttoxeter", "GB", "J", 3, 1.1, 18),
    ("Warwick", "GB", "J", 3, 0.9, 16),
    ("Wetherby", "GB", "J", 2, 1.0, 18),
    ("Wincanton", "GB", "J", 2, 1.0, 16),
    ("Worcester", "GB", "J", 3, 1.0, 16),
    # IRE
    ("Curragh", "IRE", "F", 1, 1.0, 24),
    ("Leopardstown", "IRE", "FJ", 1, 1.0, 22),
    ("Naas", "IRE", "FJ", 2, 1.0, 20),
    ("Navan", "IRE", "FJ", 2, 1.0, 20),
    ("Cork", "IRE", "FJ", 2, 1.0, 20),
    ("Gowran Park", "IRE", "FJ", 2, 1.0, 20),
    ("Limerick", "IRE", "FJ", 3, 1.0, 20),
    ("Tipperary", "IRE", "FJ", 3, 0.9, 20),
    ("Killarney", "IRE", "FJ", 3, 0.6, 18),
    ("Galway", "IRE", "FJ", 2, 0.6, 22),
    ("Listowel", "IRE", "FJ", 3, 0.5, 20),
    ("Roscommon", "IRE", "FJ", 3, 0.6, 18),
    ("Sligo", "IRE", "FJ", 3, 0.5, 18),
    ("Tramore", "IRE", "FJ", 3, 0.6, 16),
    ("Bellewstown", "IRE", "FJ", 3, 0.4, 16),
    ("Ballinrobe", "IRE", "FJ", 3, 0.6, 18),
    ("Down Royal", "IRE", "FJ", 2, 0.6, 18),
    ("Fairyhouse", "IRE", "FJ", 1, 1.0, 22),
    ("Laytown", "IRE", "F", 3, 0.1, 14),
    ("Dundalk", "IRE", "A", 3, 2.2, 14),
    ("Punchestown", "IRE", "J", 1, 1.0, 22),
    ("Thurles", "IRE", "J", 3, 1.0, 18),
    ("Clonmel", "IRE", "J", 3, 0.8, 18),
    ("Wexford", "IRE", "J", 3, 0.7, 18),
    ("Kilbeggan", "IRE", "J", 3, 0.5, 18),
    ("Downpatrick", "IRE", "J", 3, 0.5, 16),
)

KINDS = ("F", "A", "J")  # meeting kinds: Flat turf, all-weather Flat, jumps


@dataclass(frozen=True)
class Courses:
    name: np.ndarray  # str
    region: np.ndarray  # str, GB / IRE
    hosts: np.ndarray  # bool [course, kind]
    tier: np.ndarray
    weight: np.ndarray
    max_field: np.ndarray
    draw_bias: np.ndarray  # lbs, end to end (+: low draws favoured), Flat only
    going_offset: np.ndarray  # + wetter than the region's ground on the day
    speed: np.ndarray  # multiplier on standard times

    @property
    def size(self) -> int:
        return int(self.name.size)


def build_courses(rng: np.random.Generator, tun: Tunables) -> Courses:
    rows = COURSE_TABLE
    n = len(rows)
    hosts = np.array([[kind in row[2] for kind in KINDS] for row in rows])
    flat = hosts[:, 0] | hosts[:, 1]
    # Few strong draw biases, some mild, most none (as at real courses: Chester, Beverley ...).
    u = rng.random(n)
    sign = np.where(rng.random(n) < 0.6, 1.0, -1.0)
    magnitude = np.where(
        u < tun.strong_draw_share,
        tun.strong_draw_lbs * rng.uniform(0.7, 1.3, n),
        np.where(u < tun.strong_draw_share + tun.mild_draw_share, tun.mild_draw_lbs * rng.uniform(0.5, 1.5, n), 0.0),
    )
    return Courses(
        name=np.array([r[0] for r in rows]),
        region=np.array([r[1] for r in rows]),
        hosts=hosts,
        tier=np.array([r[3] for r in rows]),
        weight=np.array([r[4] for r in rows]),
        max_field=np.array([r[5] for r in rows]),
        draw_bias=np.where(flat, sign * magnitude, 0.0),
        going_offset=rng.normal(0.0, 0.3, n),
        speed=rng.normal(1.0, 0.015, n),
    )
