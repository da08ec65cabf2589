"""Recording: what the one door writes to the ledger for a decision, and nothing else.

A `Record` is one decision as the door saw it; `encode` turns it into the ledger entry (no PII:
pseudonyms and known ids only) and its access-index rows. Ids a caller supplied appear as
themselves only when they name a known record; anything else as a keyed digest, so whatever a
caller typed never becomes public and cannot be shredded away later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from custodes.access.facts import Facts
from custodes.access.model import Justification, Resource
from custodes.access.principal import acting_extra
from custodes.ledger.entry import LedgerEntry, check_token
from custodes.ledger.errors import FormatError
from custodes.ledger.guard import Guard
from custodes.ledger.sequencer import Receipt

MAX_LISTED_SUBJECTS = 50  # beyond this a ledger entry names a digest of the set, not each one
# Marketplace writes name every record they change, in one entry: a request is capped so it fits.
MAX_CHANGED_RECORDS = 500
CHANGES_RECORDS = frozenset({"review.delete", "seller.reinstate"})

Evidence = dict[str, str | int | bool | None]


class Ledger(Protocol):
    def append(
        self, data: bytes, index: Any = (), timeout: float = 10.0, guards: Any = ()
    ) -> Receipt: ...


@dataclass(frozen=True)
class Record:
    """One decision to record: who, what, on which records, why, and the answer."""

    actor: str
    action: str
    resource: Resource
    justification: Justification | None
    outcome: str
    reason: str
    facts: Facts | None
    now: datetime
    approval: str | None = None
    request_id: str | None = None
    kind: str = "access.decision"
    actor_known: bool | None = None  # None: known when the facts found the employee
    evidence: Evidence | None = None  # e.g. the approver's WebAuthn assertion


def ledger_id(key: bytes, ident: str, known: bool) -> str:
    """An id as the ledger (and its public tiles) may hold it: itself when it names a known
    record and passes the PII guard; otherwise a keyed digest. The attempt is still on the
    record, the same string always maps to the same reference, and nobody without the key can
    test guesses against it."""
    return _known_id(key, ident) if known else _digest(key, ident)


@lru_cache(maxsize=1 << 14)
def _known_id(key: bytes, ident: str) -> str:
    """Cached (bounded): the same actors, cases and service tokens recur in every request's
    entry. Only known records' ids are kept; whatever a caller typed is never held on to."""
    try:
        check_token("id", ident)
        return ident
    except FormatError:
        return _digest(key, ident)


def _digest(key: bytes, ident: str) -> str:
    mac = hmac.digest(key, b"ledger-id|" + ident.encode(), "sha256")
    return "id_" + base64.b32encode(mac[:20]).decode().lower()


def _record_ids(record: Record, key: bytes) -> list[str]:
    """The non-customer ids as the ledger holds them (each a keyed digest unless known)."""
    if record.resource.kind == "customer":
        return []
    known = bool(record.facts and record.facts.resource_found)
    return [ledger_id(key, i, known) for i in record.resource.ids]


def _references(record: Record, ids: list[str]) -> tuple[list[str], Evidence]:
    """The entry's resource references, with the count and digest of the whole sorted set."""
    facts, resource = record.facts, record.resource
    extra: Evidence = {}
    if resource.kind == "customer":
        pseudonyms = facts.pseudonyms if facts else {}
        customers = facts.customer_ids if facts else []
        names = sorted(f"customer:{pseudonyms[c]}" for c in customers if c in pseudonyms)
        unknown = len(set(resource.ids)) - len(names)
        if unknown > 0:
            extra["unknown"] = unknown
    else:
        names = sorted(f"{resource.kind}:{i}" for i in ids)
    listed = names
    if names:
        extra["count"] = len(names)
        extra["set"] = hashlib.sha256("\n".join(names).encode()).hexdigest()[:32]
    if len(names) > MAX_LISTED_SUBJECTS and record.action not in CHANGES_RECORDS:
        listed = [f"{resource.kind}set:{extra['set']}"]
    return listed, extra


def _extra(record: Record, extra: Evidence) -> Evidence:
    if record.request_id:
        extra["request"] = record.request_id
    if record.facts is not None and record.facts.context.get("case_kind") == "investigation":
        # Reads under an investigation someone else opened: flagged for review.
        extra["case_kind"] = "investigation"
    extra.update(acting_extra())  # how the actor was proven (access.principal)
    if record.evidence:
        extra.update(record.evidence)
    return extra


def _index_rows(record: Record, ids: list[str], actor: str) -> list[dict[str, Any]]:
    facts, resource = record.facts, record.resource
    subjects = [("customer", c) for c in (facts.customer_ids if facts else [])]
    subjects += [(resource.kind, i) for i in ids]
    if record.request_id:
        subjects.append(("request", record.request_id))
    return [
        {
            "actor": actor,
            "subject_kind": kind,
            "subject_id": ident,
            "action": record.action,
            "decision": record.outcome,
            "time": record.now,
        }
        for kind, ident in subjects
    ]


def encode(record: Record, key: bytes) -> tuple[bytes, list[dict[str, Any]]]:
    """The ledger entry's canonical bytes and its access-index rows."""
    facts, why = record.facts, record.justification
    ids = _record_ids(record, key)  # once: the entry and its index rows name the same ids
    refs, extra = _references(record, ids)
    actor_known = record.actor_known
    if actor_known is None:
        actor_known = bool(facts and facts.employee)
    actor = ledger_id(key, record.actor, actor_known)
    case_known = bool(facts and facts.case_known)
    entry = LedgerEntry(
        time=record.now,
        actor=actor,
        action=record.action,
        decision=record.outcome,
        resources=refs,
        fields=record.resource.fields,
        justification=why.code if why else None,
        case=ledger_id(key, why.case_id, case_known) if why and why.case_id else None,
        approval=record.approval,
        reason=record.reason,
        kind=record.kind,
        extra=_extra(record, extra),
    )
    return entry.encode(), _index_rows(record, ids, actor)


def appended(ledger: Ledger, record: Record, key: bytes, guards: tuple[Guard, ...] = ()) -> Receipt:
    """Append the record and wait until it is committed and inside a signed checkpoint:
    record, then act. With `guards`, `GuardRefused` if one fails where entries are sequenced."""
    entry, rows = encode(record, key)
    return ledger.append(entry, rows, guards=guards)
