"""Where customers live and when they shop: countries, languages and local shopping hours.

Region convention: ``region`` is always an ISO 3166-2 subdivision code — the customer's state,
province or equivalent (``US-CA``, ``GB-SCT``, ``DE-BY``, ``CN-GD``, ``JP-13``) and, for
employees, the location of their office (``US-WA``, ``IE-D``, ``IN-KA``, ``PH-00``). The first
two letters are the country, so a coarser grouping (EU, NA, APAC) can always be derived.
The tables themselves are in ``data/countries.json`` and ``data/languages.json``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from custodes.sim.config import Picker
from custodes.sim.tables import Country, Weighted, countries, load

__all__ = ["COUNTRIES", "COUNTRY_BY_CODE", "Country", "local_time_on"]

COUNTRIES: tuple[Country, ...] = countries()
COUNTRY_BY_CODE = {c.code: c for c in COUNTRIES}

_LANGUAGES = load("languages.json")
LANGUAGE_OVERRIDES: dict[str, Weighted] = {
    region: tuple((k, w) for k, w in mix)
    for region, mix in _LANGUAGES["language_overrides"].items()
}
"""Region-specific language mixes (otherwise the country's mix applies)."""
NAME_LOCALE: dict[str, str] = dict(_LANGUAGES["name_locale"])
"""Which Faker locale names a speaker of each language."""
NAME_MIX: dict[str, Weighted] = {
    country: tuple((k, w) for k, w in mix) for country, mix in _LANGUAGES["name_mix"].items()
}
"""Some customers' names come from another locale than their language suggests."""
SHOPPER_HOURS: tuple[float, ...] = tuple(_LANGUAGES["shopper_hours"])
"""Shoppers are awake in the evening: relative weight of each local hour."""
_HOUR_PICKER = Picker(list(enumerate(SHOPPER_HOURS)))


def local_time_on(rng: random.Random, when: datetime, utc_offset: float) -> datetime:
    """A shopper-hours instant on the local calendar day of ``when`` (returned in UTC)."""
    offset = timedelta(hours=utc_offset)
    local_day = (when + offset).date()
    hour = _HOUR_PICKER(rng)
    local = datetime(local_day.year, local_day.month, local_day.day, tzinfo=UTC)
    return local - offset + timedelta(hours=hour, seconds=rng.randrange(3600))
