"""Made-up names for horses, jockeys, trainers and owners: unique after the racing schema's
normalisation (lowercase alphanumerics), reproducible from the seed, and racing-flavoured."""

from __future__ import annotations

import re

import numpy as np

FIRST_WORDS = """Silver Golden Northern Southern Western Eastern Royal Noble Wild Dark Bright Lucky Brave Bold Swift Quiet Secret
Hidden Mystic Magic Crimson Scarlet Blue Green Black White Red Grey Amber Ivory Jade Ruby Velvet Iron Stone
Storm Thunder Winter Summer Autumn Spring Morning Midnight Evening Desert Ocean River Mountain Highland Celtic
Gallic Roman Spanish Persian Arctic Atlantic Pacific Sunny Misty Windy Frosty Rapid Flying Dancing Singing
Roaring Smiling Dashing Daring Gentle Proud Happy Merry Jolly Lady Lord King Queen Prince Captain Major Doctor
Sir Master Mister Miss Saint Count Baron Duke Sultan Sea Sky Star Moon Sun Fire Ice Snow Rain Cloud Shadow Ghost
Dream Little Big Grand High Great Last First True Final Perfect Classic Ancient Coastal Mighty Glorious Famous
Fearless Restless Timeless Endless Native Polar Solar Lunar Cosmic Electric Crystal Diamond Emerald Sapphire
Copper Bronze Cobalt Indigo Saffron Cherry Maple Willow Oak Cedar Aspen Heather Thistle Shamrock Clover Rose
Lily Tulip Orchid Barley Harvest Meadow Valley Harbour Castle Abbey Chapel Kings Queens Bishops Old Young Double
Triple Lone Hidden Copper Marble Granite Tawny Russet Dusky Hazy Stormy Breezy Twilight Dawn Dusk Noon Nordic
Baltic Tuscan Andean""".split()  # noqa: SIM905

SECOND_WORDS = """Dancer Runner Rider Warrior Knight Legend Hero Spirit Star Arrow Bullet Rocket Comet Flame Blaze Breeze Gale
Tempest Storm Thunder Lightning Wave Tide Current Voyage Journey Quest Venture Dream Vision Promise Fortune
Destiny Glory Honour Valour Courage Heart Soul Song Melody Rhythm Harmony Echo Whisper Secret Mystery Riddle
Puzzle Charm Magic Spell Wonder Miracle Jewel Gem Treasure Crown Sceptre Throne Castle Palace Tower Bridge
Harbour Haven Meadow Valley Glen Hill Ridge Peak Summit Forest Garden Orchard Field Acre Lane Road Path Trail
Express Flyer Glider Sprinter Chaser Hunter Ranger Rover Drifter Wanderer Pilgrim Pioneer Explorer Voyager
Sailor Pilot Admiral Marshal Baron Duchess Princess Empress Sovereign Regent Monarch Falcon Eagle Hawk Raven
Swallow Robin Wren Kestrel Osprey Heron Tiger Lion Panther Leopard Jaguar Wolf Fox Bear Stag Mustang Stallion
Pony Spark Flash Dash Bolt Edge Force Power Pride Fury Rebel Rogue Bandit Outlaw Gambler Dealer Banker Poet
Artist Scholar Sage Wizard Prophet Mariner Minstrel Jester Piper Drummer Fiddler Bard Ballad Sonnet Story Legacy
Heritage Emblem Banner Beacon Lantern Compass Anchor Harpoon Sabre Lance Shield Quiver Mantle Cloak Velvet Satin
Silk Lace Ribbon Medal Trophy Chalice""".split()  # noqa: SIM905

SYLLABLE_CONSONANTS = list("bcdfghjklmnprstvz")
SYLLABLE_VOWELS = list("aeiou")

GIVEN_NAMES = """Tom James Oisin Rachael Harry Jack William Sean Paddy Danny Ryan Ben Sam Charlie Oliver George Callum Daniel
David Michael John Mark Paul Richard Robert Stephen Andrew Adam Luke Joe Kevin Brian Conor Declan Darragh Eoin
Cian Niall Shane Barry Gavin Colm Hollie Bryony Megan Lucy Sarah Emma Kate Jane Alice Amy Rose Grace Hannah
Jessica Laura Rebecca Sophie Chloe Patrick Ciaran Donal Fergal Jamie Kieran Liam Rory Sophie Ellie Phil Hugh
Alan Neil Tony Gary Martin Simon Peter Nicky Jason Dean Lewis Kyle Jordan Aidan Brendan Cathal Dylan""".split()  # noqa: SIM905

SURNAMES = """Smith Jones Murphy Kelly Brennan Walsh Ryan Byrne Doyle Kennedy Lynch Quinn Moore Taylor Brown Wilson Davies
Evans Thomas Johnson Roberts Walker Wright Thompson Whitfield Hughes Edwards Greene Hall Wood Harris Lewis
Martin Jackson Clarke Turner Hill Scott Cooper Morris Ward Watson Baker Harrison Morgan Young Allen Mitchell
Anderson Phillips Bell Parker Davis Fitzpatrick Carroll Daly Farrell Gallagher Hayes Hogan Keane Lawlor Madden
Molloy Nolan Power Reilly Sheehan Tierney Whelan Ashford Barton Cartwright Dunmore Ellwood Fairbairn Gilmore
Hartley Ingram Kirkwood Lockhart Marsden Norbury Oakley Pemberton Radcliffe Sherwood Thornton Underwood Vickers
Wakefield Yardley Ainsworth Blackwood Crowther Dennison Eastwood Fenwick Goodall Hargreaves Ibbotson Jessop
Kershaw Lister Mowbray Nettleton Ormerod Pickering Royston Stainton Tennant Wainwright Bramley Calder Drury
Everett Forster Garside Holroyd Kitching Lumb Metcalfe Naylor Outhwaite Priestley Rushworth Sugden Tattersall""".split()  # noqa: SIM905

OWNER_FORMS = (
    "Mr & Mrs {s}",
    "{g} {s}",
    "The {w} Partnership",
    "{s} Racing",
    "{w} Racing Club",
    "{s} Bloodstock",
    "Mrs {g} {s}",
    "{w} Syndicate",
)


def _norm(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", name).lower()


def _unique_first(candidates: list[str], count: int, what: str) -> list[str]:
    seen: set[str] = set()
    chosen: list[str] = []
    for name in candidates:
        key = _norm(name)
        if key and key not in seen:
            seen.add(key)
            chosen.append(name)
            if len(chosen) == count:
                return chosen
    raise ValueError(f"could not make {count} distinct {what} names (got {len(chosen)})")


def horse_names(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct horse names: two-word names and invented single words (e.g. 'Zarkami')."""
    firsts = np.array(sorted(set(FIRST_WORDS)))
    seconds = np.array(sorted(set(SECOND_WORDS)))
    pool = int(count * 1.3) + 50
    two_word = rng.random(pool) < 0.55
    a = firsts[rng.integers(0, firsts.size, pool)]
    b = seconds[rng.integers(0, seconds.size, pool)]
    cons = np.array(SYLLABLE_CONSONANTS)
    vows = np.array(SYLLABLE_VOWELS)
    syllables = rng.integers(0, [[cons.size, vows.size]] * 3, size=(pool, 3, 2))
    ending = np.array(["", "", "", "n", "r", "s", "l"])[rng.integers(0, 7, pool)]
    invented = [
        ("".join(cons[s[0]] + vows[s[1]] for s in syl) + end).capitalize()
        for syl, end in zip(syllables, ending, strict=True)
    ]
    candidates = [f"{x} {y}" if two else word for x, y, two, word in zip(a, b, two_word, invented, strict=True)]
    extra = [f"{x} {y} {z}" for x, y, z in zip(a, b, invented, strict=True)]  # fallback if the pool collides
    return _unique_first(candidates + extra, count, "horse")


def person_names(rng: np.random.Generator, count: int, what: str) -> list[str]:
    givens = np.array(GIVEN_NAMES)
    surnames = np.array(SURNAMES)
    pool = count * 3 + 50
    g = givens[rng.integers(0, givens.size, pool)]
    s = surnames[rng.integers(0, surnames.size, pool)]
    candidates = [f"{x} {y}" for x, y in zip(g, s, strict=True)]
    doubles = [f"{x} {y}-{z}" for x, y, z in zip(g, s, surnames[rng.integers(0, surnames.size, pool)], strict=True)]
    return _unique_first(candidates + doubles, count, what)


def owner_names(rng: np.random.Generator, count: int) -> list[str]:
    givens = np.array(GIVEN_NAMES)
    surnames = np.array(SURNAMES)
    words = np.array(sorted(set(SECOND_WORDS)))
    pool = count * 3 + 50
    forms = rng.integers(0, len(OWNER_FORMS), pool)
    g = givens[rng.integers(0, givens.size, pool)]
    s = surnames[rng.integers(0, surnames.size, pool)]
    w = words[rng.integers(0, words.size, pool)]
    candidates = [OWNER_FORMS[f].format(g=x, s=y, w=z) for f, x, y, z in zip(forms, g, s, w, strict=True)]
    numbered = [f"{y} Racing {i + 2}" for i, y in enumerate(s)]
    return _unique_first(candidates + numbered, count, "owner")
