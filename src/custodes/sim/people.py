"""People: customers with realistic contact data (employees are in ``staff``).

Customers live in the countries of ``geography`` and speak its languages; their names come from
``names`` and their addresses and numbers from ``contact``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custodes.marketplace.models import EMPLOYEE_ROLES
from custodes.sim.config import DAY, Picker, SimConfig, seconds, stream
from custodes.sim.contact import EmailMaker, PhoneMaker
from custodes.sim.geography import (
    COUNTRIES,
    LANGUAGE_OVERRIDES,
    NAME_LOCALE,
    NAME_MIX,
    local_time_on,
)
from custodes.sim.names import NameBook, PersonName, ascii_slug
from custodes.sim.staff import Employee, make_employees

__all__ = [
    "ROLES",
    "Customer",
    "Employee",
    "NameBook",
    "PersonName",
    "ascii_slug",
    "local_time_on",
    "make_customers",
    "make_employees",
]

ROLES = EMPLOYEE_ROLES


@dataclass(slots=True)
class Customer:
    customer_id: str
    name: str
    email: str
    phone: str | None
    country: str
    region: str
    language: str
    created_at: datetime
    utc_offset: float = 0.0  # not written: for diurnal patterns
    order_rate: float = 0.0  # not written: expected orders per 30 days


def make_customers(config: SimConfig, names: NameBook) -> list[Customer]:
    """Customers who signed up over the six years before the window, ids in signup order."""
    rng = stream(config.seed, "customers")
    country_pick = Picker([(c, c.weight) for c in COUNTRIES])
    region_picks = {c.code: Picker([(r, w) for r, w, _ in c.regions]) for c in COUNTRIES}
    prefixes = {r: p for c in COUNTRIES for r, _, p in c.regions}
    offsets = {c.code: dict(c.region_offsets) for c in COUNTRIES}
    lang_picks = {c.code: Picker(list(c.languages)) for c in COUNTRIES}
    lang_picks.update({r: Picker(list(m)) for r, m in LANGUAGE_OVERRIDES.items()})
    domain_picks = {c.code: Picker(list(c.email_domains)) for c in COUNTRIES}
    emails, phones = EmailMaker(), PhoneMaker()
    history = 6 * 365 * 86400

    rows: list[Customer] = []
    for _ in range(config.customers):
        country = country_pick(rng)
        region = region_picks[country.code](rng)
        language = (lang_picks.get(region) or lang_picks[country.code])(rng)
        locale = NAME_LOCALE[language]
        for other, p in NAME_MIX.get(country.code, ()):
            if rng.random() < p:
                locale = other
                break
        name = names.person(rng, locale)
        email = emails.make(rng, name, domain_picks[country.code](rng))
        phone = phones.make(rng, country, prefixes[region]) if rng.random() < 0.94 else None
        offset = offsets[country.code].get(region, country.utc_offset)
        # Signups grow over time: more recent customers are more numerous.
        ago = seconds(3600 + history * rng.random() ** 1.7)
        created = local_time_on(rng, config.start - ago, offset)
        if created >= config.start:
            created -= DAY
        rate = 0.25 * rng.lognormvariate(0.0, 0.8)
        rows.append(
            Customer(
                "",
                name.display,
                email,
                phone,
                country.code,
                region,
                language,
                created,
                offset,
                rate,
            )
        )
    rows.sort(key=lambda c: c.created_at)  # stable: ties keep generation order
    for i, c in enumerate(rows, 1):
        c.customer_id = f"C{i:06d}"
    return rows
