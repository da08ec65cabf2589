"""Reads through the one door: revealing PII fields, masked search, and non-PII record views.
Each is decided and recorded first; the vault decrypts only after the entry is signed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from custodes.access.core import Core, Outcome
from custodes.access.errors import NotFound
from custodes.access.judging import (
    Ask,
    Judged,
    decide_and_record,
    guards_for,
    judge,
    raced,
    record_of,
    settled,
)
from custodes.access.model import Decision, Justification, Resource
from custodes.access.recording import encode
from custodes.access.requests import create_request
from custodes.errors import InputError
from custodes.ledger.guard import GuardRefused
from custodes.marketplace import views
from custodes.vault import _hazmat
from custodes.vault.service import MaskedCustomer, find_by_email, masked_view
from custodes.vocabulary import Verdict

_VIEWS: dict[str, tuple[str, Callable[[Session, str], dict[str, Any]]]] = {
    "order.view": ("order", views.order_view),
    "review.view": ("review", views.review_view),
    "seller.view": ("seller", views.seller_view),
    "seller.metrics": ("seller", views.seller_metrics),
}


def reveal(
    core: Core, employee_id: str, customer_id: str, fields: tuple[str, ...], why: Justification
) -> Outcome:
    """Justified read of named PII fields of one customer."""
    resource = _reveal_resource(customer_id, fields)
    ask = Ask(employee_id, "customer.view", resource, why)
    decision, _ = decide_and_record(core, ask)
    if decision.outcome == Verdict.PENDING:
        request_id = create_request(core, ask, decision)
        return Outcome(replace(decision, request_id=request_id))
    return revealed(core, decision, customer_id, fields)


async def reveal_async(
    core: Core, employee_id: str, customer_id: str, fields: tuple[str, ...], why: Justification
) -> Outcome | None:
    """`reveal` for the event loop (see `Door.inline`). Returns None, with nothing recorded,
    when the answer would be a pending request or the employee's lock is held by a thread:
    the caller then takes the threaded path."""
    ask = Ask(employee_id, "customer.view", _reveal_resource(customer_id, fields), why)
    judged = judge(core, ask, wait=False)
    if judged is None or judged.outcome == Verdict.PENDING:
        return None  # a busy lock or a request to create: both go to the thread path
    decision = await _appended(core, ask, judged)
    if decision.outcome == Verdict.PENDING:
        # Another worker's reveals filled the window first (the guard refused): a request to
        # approve, as `reveal` makes; its write goes to a thread, off the event loop.
        loop = asyncio.get_running_loop()
        request_id = await loop.run_in_executor(None, create_request, core, ask, decision)
        return Outcome(replace(decision, request_id=request_id))
    return revealed(core, decision, customer_id, fields)


async def _appended(core: Core, ask: Ask, judged: Judged) -> Decision:
    """Record the decision under the guards it needs where entries are sequenced (API workers:
    the rate windows); if one fails, record the refusal instead, as `decide_and_record` does."""
    record = record_of(ask, judged)
    entry, rows = encode(record, core.keyring.pseudonym_key)
    ledger: Any = core.ledger
    reserved, allowed = judged, False
    try:
        try:
            receipt = await ledger.append_async(entry, rows, guards=guards_for(core, ask, judged))
            allowed = judged.outcome == Verdict.ALLOW
        except GuardRefused:
            judged, record = raced(core, ask, judged)
            entry, rows = encode(record, core.keyring.pseudonym_key)
            receipt = await ledger.append_async(entry, rows)
            allowed = judged.outcome == Verdict.ALLOW
    finally:
        settled(core, ask.employee_id, reserved, allowed)
    return core.decided(record, receipt, judged.rules)


def _reveal_resource(customer_id: str, fields: tuple[str, ...]) -> Resource:
    if not fields:
        raise InputError("name at least one field to reveal")
    return Resource("customer", (customer_id,), tuple(fields))


def revealed(core: Core, decision: Decision, customer_id: str, fields: tuple[str, ...]) -> Outcome:
    """After the decision is on the record: the values if allowed, else just the answer."""
    if not decision.allowed:
        return Outcome(decision)
    return Outcome(decision, decrypt(core, customer_id, fields))


def decrypt(core: Core, customer_id: str, fields: tuple[str, ...]) -> dict[str, str | None]:
    values = _hazmat.decrypt_customer(core.reads, core.keyring, customer_id, fields)
    if values is None:
        raise NotFound(f"no customer {customer_id}")
    return values


def search_email(core: Core, employee_id: str, email: str, why: Justification) -> Outcome:
    """Exact-match search through the blind index; results are masked."""
    with Session(core.engine) as session:
        ids = find_by_email(session, core.keyring, email)
    return masked(core, employee_id, ids, why)


def masked(core: Core, employee_id: str, ids: list[str], why: Justification) -> Outcome:
    resource = Resource("customer", tuple(ids))
    decision, _ = decide_and_record(core, Ask(employee_id, "customer.search", resource, why))
    if not decision.allowed:
        return Outcome(decision)
    with Session(core.engine) as session:
        rows: list[MaskedCustomer] = masked_view(session, ids)
    return Outcome(decision, rows)


def view(core: Core, employee_id: str, action: str, record_id: str, why: Justification) -> Outcome:
    """Non-PII reads: order.view, review.view, seller.view, seller.metrics."""
    if action not in _VIEWS:
        raise InputError(f"{action} is not a record view")
    kind, project = _VIEWS[action]
    resource = Resource(kind, (record_id,))
    decision, _ = decide_and_record(core, Ask(employee_id, action, resource, why))
    if not decision.allowed:
        return Outcome(decision)
    with Session(core.engine) as session:
        data = project(session, record_id)
        if action == "order.view":
            data["relay_alias"] = _relay_alias(session, data["seller_id"], data["customer_id"])
    return Outcome(decision, data)


def _relay_alias(session: Session, seller_id: str, customer_id: str) -> str | None:
    """What a seller may know the buyer by: the pair's relay alias (see custodes.relay, which
    sits above access, so its table is read here by name rather than through its module)."""
    alias: str | None = session.execute(
        text("SELECT alias FROM relay_aliases WHERE seller_id = :s AND customer_id = :c"),
        {"s": seller_id, "c": customer_id},
    ).scalar()
    return alias
