"""Erasing a customer (crypto-shredding) as the decision of the privacy officer who orders it.

The caller has proven the officer with their own proof (an ID token or a passkey session) and
holds `acting(principal)` while calling `erase`, so the ledger entry says how they were proven:
a name an operator typed or a service asserted never erases anything. A refused proof is
recorded by the caller with `refuse`.

The rules: only an active privacy officer erases; the erasure is recorded before the data key
is destroyed (`customer.erase`, "recorded", the customer's pseudonym), and if destroying it then
fails, a second entry says so. A refusal (not a privacy officer, an unknown customer, one
already erased) is a deny on the record and nothing is erased.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

from sqlalchemy.orm import Session

from custodes.access.core import Core, Outcome
from custodes.access.facts import employee_active
from custodes.access.model import Justification, Resource
from custodes.access.recording import Evidence, Record
from custodes.access.refusals import record_refusal
from custodes.marketplace.models import Customer, Employee
from custodes.store.engine import transaction
from custodes.vault.models import VaultRecord
from custodes.vault.service import erase_customer
from custodes.vocabulary import Verdict

ACTION = "customer.erase"
ERASERS = frozenset({"privacy_officer"})
WHY = Justification("legal", None, "erasure")
ORDERED = "privacy_officer"  # the reason on an erasure's entry: who may order one did
NOT_ERASER = "not_privacy_officer"
UNKNOWN = "unknown_resource"
ALREADY = "already_erased"


def resource(customer_id: str) -> Resource:
    """What an erasure acts on (InputError for an id that is not id-shaped)."""
    return Resource("customer", (customer_id,))


def refuse(core: Core, employee_id: str, customer_id: str, reason: str) -> Outcome:
    """A recorded deny of an erasure in `employee_id`'s name; nothing is erased."""
    return record_refusal(core, employee_id, ACTION, resource(customer_id), WHY, reason=reason)


def erase(
    core: Core, employee_id: str, customer_id: str, evidence: Evidence | None = None
) -> Outcome:
    """Erase `customer_id` as the proven `employee_id`: recorded, then shredded; or a recorded
    deny. `evidence` goes into the entry (the CLI names the account that ran it)."""
    reason = _refusal(core, employee_id, customer_id)
    if reason is not None:
        return refuse(core, employee_id, customer_id, reason)
    wanted = resource(customer_id)
    record = Record(
        employee_id,
        ACTION,
        wanted,
        WHY,
        Verdict.RECORDED,
        ORDERED,
        core.facts_for(wanted, WHY),
        core.clock(),
        kind="admin",
        actor_known=True,
        evidence=dict(evidence or {}),
    )
    receipt = core.record(record)
    try:
        with transaction(core.engine) as session:
            erase_customer(session, customer_id, record.now)
    except BaseException as exc:
        reason = "failed" if isinstance(exc, Exception) else "interrupted"
        failed = replace(record, outcome=Verdict.DENY, reason=reason, now=core.clock())
        with contextlib.suppress(Exception):
            core.record(failed)
        raise
    return Outcome(core.decided(record, receipt), {"erased": True})


def _refusal(core: Core, employee_id: str, customer_id: str) -> str | None:
    """Why this erasure is refused, or None. The officer is checked first, so nobody else
    learns from the answer whether a customer exists."""
    now = core.clock()
    with Session(core.engine) as session:
        officer = session.get(Employee, employee_id)
        if officer is None or officer.role not in ERASERS or not employee_active(officer, now):
            return NOT_ERASER
        vault = session.get(VaultRecord, customer_id)
        if vault is None or session.get(Customer, customer_id) is None:
            return UNKNOWN
        return ALREADY if vault.shredded_at is not None else None


__all__ = ["ACTION", "ALREADY", "NOT_ERASER", "UNKNOWN", "erase", "refuse", "resource"]
