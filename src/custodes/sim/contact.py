"""Contact data: e-mail addresses and phone numbers that look like customers' real ones."""

from __future__ import annotations

import random

import phonenumbers

from custodes.sim.names import PersonName
from custodes.sim.tables import Country


def _email_local(rng: random.Random, name: PersonName, domain: str) -> str:
    a, b = name.first, name.last
    if domain == "qq.com" and rng.random() < 0.5:
        return str(rng.randrange(10_000_000, 3_000_000_000))  # QQ numbers are common
    year = str(rng.randrange(1958, 2007))
    nn = f"{rng.randrange(1, 100):02d}"
    r = rng.random()
    if r < 0.24:
        return f"{a}.{b}"
    if r < 0.34:
        return f"{a}{b}"
    if r < 0.40:
        return f"{a}_{b}"
    if r < 0.52:
        return f"{a[0]}{b}"
    if r < 0.60:
        return f"{a}.{b}{nn}"
    if r < 0.68:
        return f"{a}{b}{year[2:] if rng.random() < 0.5 else year}"
    if r < 0.77:
        return f"{a}{nn}"
    if r < 0.82:
        return f"{b}.{a}"
    if r < 0.87:
        return f"{a}{b[0]}{nn}"
    if r < 0.92:
        return f"{b}{a[0]}"
    if r < 0.96:
        return f"{a}.{b[0]}"
    return f"{b}{year}"


class EmailMaker:
    """Lowercase addresses derived from a name, a number and a country-typical domain; unique."""

    def __init__(self) -> None:
        self._taken: set[str] = set()  # membership only, never iterated

    def make(self, rng: random.Random, name: PersonName, domain: str) -> str:
        local = _email_local(rng, name, domain)[:40].rstrip("._")
        address = f"{local}@{domain}"
        while address in self._taken:
            address = f"{local}{rng.randrange(2, 10_000)}@{domain}"
        self._taken.add(address)
        return address


class PhoneMaker:
    """E.164 mobile numbers that ``phonenumbers`` parses as valid for the country; unique."""

    MAX_TRIES = 200

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def make(self, rng: random.Random, country: Country, prefixes: tuple[str, ...]) -> str:
        prefixes = prefixes or country.phone_prefixes
        cc = phonenumbers.country_code_for_region(country.code)
        for _ in range(self.MAX_TRIES):
            prefix = rng.choice(prefixes)
            rest = country.phone_length - len(prefix)
            if country.code in ("US", "CA"):  # NANP: exchange code starts with 2-9
                digits = prefix + str(rng.randrange(2, 10)) + _digits(rng, rest - 1)
            else:
                digits = prefix + _digits(rng, rest)
            number = phonenumbers.PhoneNumber(country_code=cc, national_number=int(digits))
            if not phonenumbers.is_valid_number_for_region(number, country.code):
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in self._taken:
                self._taken.add(e164)
                return e164
        raise RuntimeError(f"could not generate a valid phone number for {country.code}")


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(10**n)).zfill(n) if n > 0 else ""
