"""Names: per-locale pools of first and last names, and their ASCII spelling for e-mails.

Names come from Faker, but Faker is only asked for a few hundred names per locale (built once,
kept with their real frequency); people are then composed from those pools with the
simulation's own random stream. That keeps 20,000 customers well under a second. Chinese and
Filipino names come from ``data/names.json`` (Faker's zh_CN lists are unpaired).
"""

from __future__ import annotations

import random
import string
import unicodedata
from dataclasses import dataclass

from faker import Faker

from custodes.sim.config import Picker, stream
from custodes.sim.tables import load

_NAMES = load("names.json")
_FOLD = str.maketrans(_NAMES["ascii_fold"])
_ZH_SURNAMES: tuple[tuple[str, str, float], ...] = tuple(
    (c, p, w) for c, p, w in _NAMES["zh_surnames"]
)
_ZH_GIVEN: tuple[tuple[str, str], ...] = tuple(
    (c, p) for c, p in _NAMES["zh_given_male"] + _NAMES["zh_given_female"]
)
_PH_SURNAMES: tuple[str, ...] = tuple(_NAMES["ph_surnames"])
_SLUG_CHARS = frozenset(string.ascii_lowercase + string.digits)


def ascii_slug(text: str) -> str:
    """Lowercase ASCII letters and digits only: ``"Lüdenscheidt"`` → ``"ludenscheidt"``.

    Accents are dropped (``é`` → ``e``); letters without a decomposition (``ß``, ``ø``, ``ł``)
    are spelled out.
    """
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD).lower())
    return "".join(ch for ch in folded if ch in _SLUG_CHARS)


@dataclass(frozen=True, slots=True)
class PersonName:
    display: str  # as written in customers.csv / employees.csv
    first: str  # ASCII slug, for e-mail addresses
    last: str


@dataclass(slots=True)
class _Pool:
    firsts: list[tuple[str, str]]  # (display, slug)
    lasts: list[tuple[str, str]]
    family_first: bool = False  # "王伟", "佐藤 春香"
    separator: str = " "


class NameBook:
    """Per-locale pools of first and last names, built lazily from seeded Faker instances."""

    POOL_FIRST = 240  # per gender
    POOL_LAST = 320

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._pools: dict[str, _Pool] = {}

    def _faker(self, locale: str) -> Faker:
        fake = Faker(locale)
        fake.seed_instance(f"{self._seed}:{locale}")
        return fake

    def _build(self, locale: str) -> _Pool:
        if locale == "zh_CN":
            rng = stream(self._seed, "names:zh_CN")
            sur = Picker([((c, p), w) for c, p, w in _ZH_SURNAMES])
            lasts = [sur(rng) for _ in range(self.POOL_LAST)]
            firsts = list(_ZH_GIVEN)
            return _Pool(firsts, lasts, family_first=True, separator="")
        if locale == "ja_JP":
            fake = self._faker(locale)
            firsts = []
            for _ in range(self.POOL_FIRST):
                for kanji, _kana, romaji in (
                    fake.first_name_male_pair(),
                    fake.first_name_female_pair(),
                ):
                    firsts.append((kanji, ascii_slug(romaji)))
            lasts = []
            for _ in range(self.POOL_LAST):
                kanji, _kana, romaji = fake.last_name_pair()
                lasts.append((kanji, ascii_slug(romaji)))
            return _Pool(firsts, lasts, family_first=True, separator=" ")
        if locale == "en_PH":
            fake = self._faker("en_US")
            firsts = [(n, ascii_slug(n)) for n in self._first_names(fake)]
            return _Pool(firsts, [(n, ascii_slug(n)) for n in _PH_SURNAMES])
        fake = self._faker(locale)
        firsts = [(n, ascii_slug(n)) for n in self._first_names(fake)]
        lasts = [(n, ascii_slug(n)) for n in (fake.last_name() for _ in range(self.POOL_LAST))]
        return _Pool(firsts, lasts)

    def _first_names(self, fake: Faker) -> list[str]:
        names = []
        for _ in range(self.POOL_FIRST):
            names.append(fake.first_name_male())
            names.append(fake.first_name_female())
        return names

    def person(self, rng: random.Random, locale: str) -> PersonName:
        pool = self._pools.get(locale)
        if pool is None:
            pool = self._pools[locale] = self._build(locale)
        first, first_slug = rng.choice(pool.firsts)
        last, last_slug = rng.choice(pool.lasts)
        display = f"{last}{pool.separator}{first}" if pool.family_first else f"{first} {last}"
        return PersonName(display, first_slug or "user", last_slug or "x")
