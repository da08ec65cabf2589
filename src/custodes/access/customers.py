"""Creating a customer: the PII is sealed into the vault, and the write is on the record (by
pseudonym) before anything is stored. A service function, so the API, the CLI and tests all go
through the same rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custodes.access.core import Core
from custodes.access.errors import Conflict
from custodes.access.recording import ledger_id
from custodes.errors import InputError
from custodes.ledger.entry import LedgerEntry
from custodes.marketplace.models import Customer
from custodes.vault.service import (
    CustomerPII,
    MaskedCustomer,
    insert_prepared,
    masked_view,
    prepare_customer,
)
from custodes.vocabulary import Verdict


@dataclass(frozen=True)
class NewCustomer:
    customer_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    region: str | None = None
    language: str | None = None


def create_customer(core: Core, token_id: str, spec: NewCustomer) -> MaskedCustomer:
    """Seal and store a new customer on behalf of the service holding token `token_id` (named
    in the ledger by that id, as every service is, never by the token's free-text name);
    answers with the masked view."""
    if spec.email is None and spec.phone is None:
        raise InputError("a customer needs an email or a phone")
    pii = CustomerPII(name=spec.name, email=spec.email, phone=spec.phone)
    prepared = prepare_customer(core.keyring, spec.customer_id, pii, spec.country)
    with Session(core.engine) as session:
        if session.get(Customer, spec.customer_id) is not None:
            raise Conflict(f"customer {spec.customer_id} already exists")
    # On the record first: if the ledger cannot record the write, nothing is stored.
    core.ledger.append(
        LedgerEntry(
            time=datetime.now(UTC),
            actor="svc:" + ledger_id(core.keyring.pseudonym_key, token_id, True),
            action="customer.create",
            decision=Verdict.RECORDED,
            resources=[f"customer:{prepared.pseudonym}"],
            kind="vault.write",
        ).encode()
    )
    try:
        with Session(core.engine) as session, session.begin():
            session.add(
                Customer(
                    customer_id=spec.customer_id,
                    pseudonym=prepared.pseudonym,
                    country=spec.country,
                    region=spec.region,
                    language=spec.language,
                    created_at=datetime.now(UTC),
                )
            )
            session.flush()
            insert_prepared(session, [prepared])
    except IntegrityError:
        raise Conflict(f"customer {spec.customer_id} already exists") from None
    with Session(core.engine) as session:
        return masked_view(session, [spec.customer_id])[0]
