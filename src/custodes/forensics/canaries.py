"""Canary customers: synthetic people who exist only to be leaked, one set per exposure.

Each is a plausible customer of its country (a name from that locale, a valid mobile number
of that country, an address, an e-mail at a domain that routes to the canary intake), sealed
in the vault like anyone else and flagged only in `forensics_canaries`. They are minted for
the exposure that shows them, so one canary names exactly one exposure: the table's key and
the exposure column make a second assignment impossible.

They never enter the ledger's access index or imported events, so detection and the read
index never count them; attribution's population excludes them explicitly.
"""

from __future__ import annotations

import random
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers
from faker import Faker
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from custodes.access.model import new_id
from custodes.forensics.errors import ForensicsInputError
from custodes.forensics.models import Canary, Exposure
from custodes.marketplace.models import Customer
from custodes.store.engine import transaction
from custodes.vault.keyring import Keyring
from custodes.vault.service import CustomerPII, insert_prepared, prepare_customer

LOCALES = {
    "US": ("en_US", "en-US"),
    "GB": ("en_GB", "en-GB"),
    "CA": ("en_CA", "en-CA"),
    "AU": ("en_AU", "en-AU"),
    "IN": ("en_IN", "en-IN"),
    "DE": ("de_DE", "de-DE"),
    "FR": ("fr_FR", "fr-FR"),
    "ES": ("es_ES", "es-ES"),
    "IT": ("it_IT", "it-IT"),
    "NL": ("nl_NL", "nl-NL"),
    "BR": ("pt_BR", "pt-BR"),
    "MX": ("es_MX", "es-MX"),
    "JP": ("ja_JP", "ja-JP"),
}
DEFAULT_DOMAINS = ("post.custodes-canary.example",)
EXPOSURE_KINDS = ("search", "export", "reveal")


@dataclass(frozen=True)
class CanaryPerson:
    """A minted canary, with its plaintext (held only in memory, for the exposure's output)."""

    customer_id: str
    country: str
    pii: CustomerPII

    def __repr__(self) -> str:
        return f"CanaryPerson({self.customer_id}, {self.country}, <redacted>)"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _mobile(country: str, rng: random.Random) -> str:
    """A valid mobile number of the country (its example number with new subscriber digits)."""
    example = phonenumbers.example_number_for_type(
        country, phonenumbers.PhoneNumberType.MOBILE
    ) or phonenumbers.example_number(country)
    if example is None:  # a region phonenumbers has no example for: use the US plan
        example = phonenumbers.example_number_for_type("US", phonenumbers.PhoneNumberType.MOBILE)
        assert example is not None
    national = str(example.national_number)
    for _ in range(50):
        keep = max(3, len(national) - 6)
        candidate = national[:keep] + "".join(
            str(rng.randrange(10)) for _ in range(len(national) - keep)
        )
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(candidate)
        )
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


_FAKERS: dict[str, Faker] = {}
_FAKER_LOCK = threading.Lock()  # one seeded Faker per locale, used by one thread at a time


def invent(country: str, domains: tuple[str, ...], rng: random.Random) -> tuple[CustomerPII, str]:
    """Plausible PII for one person of `country`; returns it and the customer's language."""
    locale, language = LOCALES.get(country, LOCALES["US"])
    with _FAKER_LOCK:
        fake = _FAKERS.get(locale)
        if fake is None:  # building a Faker costs milliseconds: once per locale
            fake = _FAKERS[locale] = Faker(locale)
        fake.seed_instance(rng.randrange(2**32))
        first, last = fake.first_name(), fake.last_name()
        address = fake.address().replace("\n", ", ")
        handle = fake.user_name()
    name = f"{last} {first}" if country == "JP" else f"{first} {last}"
    local = ".".join(p for p in (_ascii(first), _ascii(last)) if p) or _ascii(handle) or "mail"
    email = f"{local}{rng.randrange(10, 9999)}@{rng.choice(domains)}"
    return CustomerPII(name=name, email=email, phone=_mobile(country, rng), address=address), (
        language
    )


def _new_customer_id(session: Session, taken: set[str]) -> str:
    """An id shaped like the marketplace's (C + digits), unused."""
    while True:
        candidate = f"C{secrets.randbelow(10**7):07d}"
        if candidate not in taken and session.get(Customer, candidate) is None:
            taken.add(candidate)
            return candidate


@dataclass(frozen=True)
class Minting:
    """How canaries are made: their countries and the domains their addresses live at."""

    countries: tuple[str, ...] = ("US", "GB", "DE", "FR", "ES")
    domains: tuple[str, ...] = DEFAULT_DOMAINS


def mint(
    session: Session,
    keyring: Keyring,
    count: int,
    exposure_id: str | None,
    now: datetime,
    minting: Minting = Minting(),
) -> list[CanaryPerson]:
    """Make `count` canaries in `session`: customers sealed in the vault like anyone else,
    flagged in `forensics_canaries`, assigned to `exposure_id` (or stocked when None)."""
    rng = random.Random(secrets.randbits(64))
    taken: set[str] = set()
    people: list[CanaryPerson] = []
    prepared = []
    for _ in range(count):
        customer_id = _new_customer_id(session, taken)
        country = rng.choice(minting.countries)
        pii, language = invent(country, minting.domains, rng)
        people.append(CanaryPerson(customer_id, country, pii))
        sealed = prepare_customer(keyring, customer_id, pii, country)
        prepared.append(sealed)
        session.add(
            Customer(
                customer_id=customer_id,
                pseudonym=sealed.pseudonym,
                country=country,
                language=language,
                created_at=now - timedelta(days=rng.randrange(30, 2000)),
            )
        )
    session.flush()
    insert_prepared(session, prepared)
    for person in people:
        session.add(
            Canary(
                customer_id=person.customer_id,
                created_at=now,
                exposure_id=exposure_id,
                assigned_at=now if exposure_id else None,
            )
        )
    session.flush()
    return people


def assign(session: Session, exposure_id: str, count: int, now: datetime) -> list[str]:
    """Up to `count` stocked canaries, now this exposure's. Each is taken by a conditional
    update on its still-empty exposure column, so two exposures racing for one get it once."""
    taken: list[str] = []
    while len(taken) < count:
        candidates = session.scalars(
            select(Canary.customer_id)
            .where(Canary.exposure_id.is_(None))
            .order_by(func.random())
            .limit(count - len(taken))
        ).all()
        if not candidates:
            break  # the stock is out: the caller mints the rest
        for customer_id in candidates:
            won = session.execute(
                update(Canary)
                .where(Canary.customer_id == customer_id, Canary.exposure_id.is_(None))
                .values(exposure_id=exposure_id, assigned_at=now)
            )
            if won.rowcount == 1:  # type: ignore[attr-defined]
                taken.append(customer_id)
    return taken


def stock(engine: Engine, keyring: Keyring, count: int, minting: Minting = Minting()) -> int:
    """Canaries made ahead, for search pages to take without minting on the request path."""
    with transaction(engine) as session:
        return len(mint(session, keyring, count, None, datetime.now(UTC), minting))


def issue(
    engine: Engine,
    keyring: Keyring,
    kind: str,
    employee_id: str,
    count: int = 3,
    *,
    ledger_index: int | None = None,
    reference: str | None = None,
    minting: Minting = Minting(),
    now: datetime | None = None,
) -> tuple[str, list[CanaryPerson]]:
    """Record an exposure and mint its own canaries (sealed, flagged); one transaction."""
    if kind not in EXPOSURE_KINDS:
        raise ForensicsInputError(f"exposure kind must be one of {EXPOSURE_KINDS}")
    now = now or datetime.now(UTC)
    exposure_id = new_id("ex")
    with transaction(engine) as session:
        session.add(
            Exposure(
                exposure_id=exposure_id,
                kind=kind,
                employee_id=employee_id,
                created_at=now,
                ledger_index=ledger_index,
                reference=reference,
            )
        )
        session.flush()
        people = mint(session, keyring, count, exposure_id, now, minting)
    return exposure_id, people


def canary_ids(engine: Engine) -> set[str]:
    """Every canary's customer id: what counts, analytics and letters must leave out."""
    with engine.connect() as conn:
        return set(conn.scalars(select(Canary.customer_id)))
