"""Opening and closing cases: a case is what lets its assignee read a customer, so who may open
which kind, for whom, is a rule of the door, and every attempt is on the record.

The API, the CLI and tests call these functions; the HTTP routes only translate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custodes.access.door import Conflict, Door, Forbidden, NotFound, ledger_id
from custodes.access.facts import employee_active, management_chain
from custodes.access.principal import acting_extra
from custodes.errors import InputError
from custodes.ledger.entry import LedgerEntry, check_token
from custodes.ledger.errors import FormatError
from custodes.ledger.guard import Guard, GuardRefused
from custodes.marketplace.models import Case, Customer, Employee, Seller
from custodes.store.engine import rows_changed
from custodes.vocabulary import Verdict

# Who may open a case of each kind (besides never for oneself). An investigation is opened by
# a manager above the investigator, or a privacy officer, and only for an investigator.
CASE_OPENERS: dict[str, frozenset[str]] = {
    "customer_contact": frozenset(
        {"support_agent", "seller_support", "trust_safety", "manager", "privacy_officer"}
    ),
    "order_dispute": frozenset({"support_agent", "trust_safety", "manager"}),
    "review_report": frozenset({"support_agent", "trust_safety", "manager"}),
    "seller_appeal": frozenset({"seller_support", "trust_safety", "manager"}),
    "seller_support": frozenset({"seller_support", "manager"}),
    "investigation": frozenset({"manager", "privacy_officer"}),
}


@dataclass(frozen=True)
class CaseSpec:
    case_id: str
    kind: str
    assignee: str
    customer_id: str | None = None
    seller_id: str | None = None


_UNPROVEN = (Forbidden, "own_proof_required", "opening a case needs the employee's own proof")


def open_case(door: Door, actor_id: str, spec: CaseSpec, proven: bool = True) -> Case:
    """Check, record (refusals too), then create. One case id gives one case and one
    `case.open` entry, however many callers race (the entry is guarded where it is sequenced).
    `proven=False` (a name a service asserted, not the employee's own proof) is refused."""
    now = datetime.now(UTC)
    try:
        check_token("case", spec.case_id)
    except FormatError:
        raise InputError("case ids must not look like an e-mail address or phone number") from None
    with Session(door.engine) as session:
        actor = session.get(Employee, actor_id)
        refusal = _open_refusal(session, actor, spec, now) if proven else _UNPROVEN
        customer = session.get(Customer, spec.customer_id) if spec.customer_id else None
        if refusal is None and spec.customer_id and customer is None:
            raise NotFound(f"no customer {spec.customer_id}")
        if refusal is None and spec.seller_id and session.get(Seller, spec.seller_id) is None:
            raise NotFound(f"no seller {spec.seller_id}")
        if refusal is None and session.get(Case, spec.case_id) is not None:
            refusal = (Conflict, "case_exists", f"case {spec.case_id} already exists")
        known = _known_ids(session, spec, refusal[1]) if refusal is not None else _Known()
    pseudonym = customer.pseudonym if customer else None
    if refusal is not None:
        error, reason, message = refusal
        _record(
            door,
            actor_id,
            actor is not None,
            spec,
            pseudonym,
            "case.open",
            Verdict.DENY,
            reason,
            known=known,
        )
        raise error(message)
    once = Guard("absent", ("case.open",), ("recorded",), None, "case", spec.case_id)
    try:
        _record(door, actor_id, True, spec, pseudonym, "case.open", Verdict.RECORDED, None, (once,))
    except GuardRefused:
        _record(door, actor_id, True, spec, pseudonym, "case.open", Verdict.DENY, "case_exists")
        raise Conflict(f"case {spec.case_id} already exists") from None
    case = Case(
        case_id=spec.case_id,
        kind=spec.kind,
        employee_id=spec.assignee,
        customer_id=spec.customer_id,
        seller_id=spec.seller_id,
        opened_at=now,
    )
    try:
        with Session(door.engine, expire_on_commit=False) as session, session.begin():
            session.add(case)
    except IntegrityError:
        raise Conflict(f"case {spec.case_id} already exists") from None
    return case


def _known_ids(session: Session, spec: CaseSpec, reason: str) -> _Known:
    """A refusal is recorded before its ids are all looked up: only ids of records that exist
    stand in the ledger as themselves, the rest as keyed digests (`ledger_id`)."""
    return _Known(
        case=reason == "case_exists",
        seller=not spec.seller_id or session.get(Seller, spec.seller_id) is not None,
        assignee=session.get(Employee, spec.assignee) is not None,
    )


def _open_refusal(
    session: Session, actor: Employee | None, spec: CaseSpec, now: datetime
) -> tuple[type[Exception], str, str] | None:
    """Why this actor may not open this case, or None."""
    if actor is None or not employee_active(actor, now):
        return Forbidden, "inactive_employee", "the acting employee is unknown or not active"
    if spec.assignee == actor.employee_id:
        return (
            Forbidden,
            "self_assignment",
            "a case is opened for someone else, never for oneself",
        )
    if spec.customer_id is None and spec.seller_id is None:
        raise InputError("a case concerns a customer, a seller, or both")
    assignee = session.get(Employee, spec.assignee)
    if assignee is None:
        raise NotFound(f"no employee {spec.assignee}")
    if not employee_active(assignee, now):
        return Conflict, "assignee_inactive", f"employee {spec.assignee} is not active"
    if actor.role not in CASE_OPENERS.get(spec.kind, frozenset()):
        return Forbidden, "role_cannot_open", f"a {actor.role} may not open {spec.kind} cases"
    if spec.kind == "investigation":
        if assignee.role != "investigator":
            return Forbidden, "not_an_investigator", "investigations are assigned to investigators"
        above = management_chain(session, spec.assignee)
        if actor.role == "manager" and actor.employee_id not in above:
            return (
                Forbidden,
                "not_their_manager",
                "only the investigator's managers or a privacy officer open an investigation",
            )
    return None


def close_case(door: Door, actor_id: str, case_id: str, proven: bool = True) -> Case:
    """Closed by its assignee, someone above them, or a privacy officer; recorded first.
    `proven=False` (a name a service asserted) is a recorded deny: closing ends someone's
    access, so it is the closer's own call, as opening is."""
    now = datetime.now(UTC)
    with Session(door.engine, expire_on_commit=False) as session:
        actor = session.get(Employee, actor_id)
        if actor is None or not employee_active(actor, now):
            raise Forbidden("the acting employee is unknown or not active")
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(f"no case {case_id}")
        if case.closed_at is not None:
            raise Conflict(f"case {case_id} is already closed")
        allowed = (
            actor_id == case.employee_id
            or actor.role == "privacy_officer"
            or actor_id in management_chain(session, case.employee_id)
        )
        customer = session.get(Customer, case.customer_id) if case.customer_id else None
        session.expunge(case)
    spec = CaseSpec(case.case_id, case.kind, case.employee_id, case.customer_id, case.seller_id)
    pseudonym = customer.pseudonym if customer else None
    if not proven:
        _record(door, actor_id, True, spec, pseudonym, "case.close", Verdict.DENY, _UNPROVEN[1])
        raise Forbidden(f"closing a case needs the employee's own proof ({_UNPROVEN[1]})")
    if not allowed:
        _record(door, actor_id, True, spec, pseudonym, "case.close", Verdict.DENY, "cannot_close")
        raise Forbidden("only the assignee, their managers or a privacy officer close it")
    once = Guard("absent", ("case.close",), ("recorded",), None, "case", case_id)
    try:
        _record(
            door, actor_id, True, spec, pseudonym, "case.close", Verdict.RECORDED, None, (once,)
        )
    except GuardRefused:
        raise Conflict(f"case {case_id} is already closed") from None
    with Session(door.engine) as session, session.begin():
        closed = rows_changed(
            session.execute(
                update(Case)
                .where(Case.case_id == case_id, Case.closed_at.is_(None))
                .values(closed_at=now)
            )
        )
    if not closed:
        raise Conflict(f"case {case_id} is already closed")
    case.closed_at = now
    return case


@dataclass(frozen=True)
class _Known:
    """Which of a case entry's ids name records that exist (the case: one being opened now)."""

    case: bool = True
    seller: bool = True
    assignee: bool = True


def _record(
    door: Door,
    actor_id: str,
    actor_known: bool,
    spec: CaseSpec,
    pseudonym: str | None,
    action: str,
    decision: str,
    reason: str | None,
    guards: tuple[Guard, ...] = (),
    known: _Known = _Known(),
) -> None:
    key = door.keyring.pseudonym_key
    actor = ledger_id(key, actor_id, actor_known)
    case_id = ledger_id(key, spec.case_id, known.case)
    refs = [f"case:{case_id}"]
    if pseudonym:
        refs.append(f"customer:{pseudonym}")
    if spec.seller_id:
        refs.append(f"seller:{ledger_id(key, spec.seller_id, known.seller)}")
    now = datetime.now(UTC)
    entry = LedgerEntry(
        time=now,
        actor=actor,
        action=action,
        decision=decision,
        resources=refs,
        case=case_id,
        reason=reason,
        kind="case",
        extra={
            "assignee": ledger_id(key, spec.assignee, known.assignee),
            "case_kind": spec.kind,
            **acting_extra(),  # how the actor was proven (access.principal)
        },
    )
    row = {
        "actor": actor,
        "subject_kind": "case",
        "subject_id": case_id,
        "action": action,
        "decision": decision,
        "time": now,
    }
    door.ledger.append(entry.encode(), [row], guards=guards)
