"""The one door: every read of PII and every sensitive action passes here.

Order of operations is the point: facts -> decision -> ledger append (committed) -> only then
data or action. If the ledger cannot record, `LedgerUnavailable` propagates and nothing is
revealed or changed (fail closed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from custodes.access import signing
from custodes.access.decide import decide
from custodes.access.facts import (
    Facts,
    RateLimits,
    break_glass_active,
    employee_active,
    independent,
    load_facts,
)
from custodes.access.model import (
    DUAL_CONTROL,
    RESOURCE_KINDS,
    REVEALING,
    Decision,
    Justification,
    Resource,
    new_id,
)
from custodes.access.models import (
    AccessRequest,
    Approval,
    BreakGlassGrant,
    PolicyProposal,
    PolicyVersion,
)
from custodes.access.notify import Notifier, Outbox
from custodes.access.policy import Policy
from custodes.access.principal import acting_extra
from custodes.access.ratelimit import DAY, HOUR, InFlight, RevealWindows
from custodes.errors import CustodesError, InputError
from custodes.ledger.entry import LedgerEntry, check_token
from custodes.ledger.errors import FormatError
from custodes.ledger.guard import Guard, GuardRefused
from custodes.ledger.sequencer import Receipt
from custodes.marketplace.models import Case, Employee, Order, Review, Seller
from custodes.store.engine import READ_ONLY, driver_sql
from custodes.vault import _hazmat
from custodes.vault.errors import ShreddedError
from custodes.vault.keyring import Keyring
from custodes.vault.service import MaskedCustomer, find_by_email, masked_view

if TYPE_CHECKING:
    from custodes.identity.approvals import ApprovalProof

log = logging.getLogger(__name__)
_VAULT_ROW = (
    "SELECT customer_id, kek_version, wrapped_key, name_ct, email_ct, phone_ct, address_ct "
    "FROM vault_records WHERE customer_id = ?"
)
MAX_LISTED_SUBJECTS = 50  # beyond this a ledger entry names a digest of the set, not each one
# Marketplace writes name every record they change, in one entry: a request is capped so it fits.
MAX_CHANGED_RECORDS = 500
CHANGES_RECORDS = frozenset({"review.delete", "seller.reinstate"})


class Ledger(Protocol):
    def append(
        self, data: bytes, index: Any = (), timeout: float = 10.0, guards: Any = ()
    ) -> Receipt: ...


class NotFound(InputError):
    """The request or record does not exist (or is not visible to this caller)."""


class Forbidden(CustodesError):
    """The actor may not do this (recorded as a refusal where it concerns the record)."""


class Conflict(CustodesError):
    """The request is not in a state that allows this (approved twice, executed twice, …)."""


@dataclass
class DoorConfig:
    limits: RateLimits = field(default_factory=RateLimits)
    request_ttl: timedelta = timedelta(hours=24)
    approval_ttl: timedelta = timedelta(hours=24)
    break_glass_ttl: timedelta = timedelta(hours=1)
    break_glass_per_day: int = 3  # grants per employee in any 24 hours
    # In-memory reveal windows are exact only in the process that records every reveal; API
    # workers behind a separate sequencer count from the ledger index instead.
    local_rate_windows: bool = True


@dataclass(frozen=True)
class _Judged:
    outcome: str
    reason: str
    rules: tuple[str, ...]
    facts: Facts
    now: datetime
    in_flight: tuple[str, ...] = ()  # customers reserved in `Door.in_flight` until the commit


# When an entry's guard fails, this is what is recorded instead (per action; "*" otherwise).
_RACED = {
    "customer.view": ("pending", "rate_limit"),
    "break_glass": ("deny", "break_glass_limit"),
    "customer.search": ("deny", "search_rate_limit"),
    "*": ("deny", "approval_used"),
}


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    data: Any = None


def _now() -> datetime:
    return datetime.now(UTC)


class Door:
    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        ledger: Ledger,
        policy: Policy,
        approval_key: Ed25519PrivateKey,
        notifier: Notifier | None = None,
        config: DoorConfig | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.ledger = ledger
        self.policy = policy
        self.approval_key = approval_key
        self.notifier = notifier or Outbox()
        self.config = config or DoorConfig()
        self.clock = clock
        self.windows = RevealWindows()
        # Judging a reveal and counting it is one step per employee (striped: bounded memory).
        self._judging = [threading.Lock() for _ in range(64)]
        # One decision at a time per request, so that racing approvals or executions are
        # recorded as one allow and refusals, not as several allows of which one took effect.
        self._deciding = [threading.Lock() for _ in range(64)]
        self.in_flight = InFlight()

    # -- recording ------------------------------------------------------------------------------
    def _record(self, *args: Any, guards: tuple[Guard, ...] = (), **kwargs: Any) -> Receipt:
        """Append `_entry(...)` (same arguments) and wait until it is committed and inside a
        signed checkpoint: record, then act. With `guards`, `GuardRefused` if one fails."""
        entry, rows = self._entry(*args, **kwargs)
        return self.ledger.append(entry, rows, guards=guards)

    def _entry(
        self,
        employee_id: str,
        action: str,
        resource: Resource,
        justification: Justification | None,
        outcome: str,
        reason: str,
        facts: Facts | None,
        now: datetime,
        approval: str | None = None,
        request_id: str | None = None,
        kind: str = "access.decision",
        actor_known: bool | None = None,
        evidence: dict[str, str | int | bool | None] | None = None,
    ) -> tuple[bytes, list[dict[str, Any]]]:
        """The ledger entry (no PII: pseudonyms only) and its access-index rows.

        Ids a caller supplied appear as themselves only when they name a known record;
        anything else (an unknown employee, case or record id) as a keyed digest. Every
        resource set carries its count and a digest of the whole sorted set."""
        customers = facts.customer_ids if facts else []
        pseudonyms = facts.pseudonyms if facts else {}
        known = bool(facts and facts.resource_found)
        refs: list[str]
        extra: dict[str, str | int | bool | None] = {}
        if resource.kind == "customer":
            names = sorted(f"customer:{pseudonyms[c]}" for c in customers if c in pseudonyms)
            unknown = len(set(resource.ids)) - len(names)
            listed = names
            if unknown > 0:
                extra["unknown"] = unknown
        else:
            names = sorted(f"{resource.kind}:{self._ledger_id(i, known)}" for i in resource.ids)
            listed = names
        if names:
            extra["count"] = len(names)
            extra["set"] = hashlib.sha256("\n".join(names).encode()).hexdigest()[:32]
        if len(names) > MAX_LISTED_SUBJECTS and action not in CHANGES_RECORDS:
            listed = [f"{resource.kind}set:{extra['set']}"]
        refs = listed
        if request_id:
            extra["request"] = request_id
        if facts is not None and facts.context.get("case_kind") == "investigation":
            # Reads under an investigation someone else opened: flagged for review.
            extra["case_kind"] = "investigation"
        extra.update(acting_extra())  # how the actor was proven (access.principal)
        if evidence:
            extra.update(evidence)  # e.g. the approver's WebAuthn assertion
        if actor_known is None:
            actor_known = bool(facts and facts.employee)
        case_known = bool(facts and facts.case_known)
        entry = LedgerEntry(
            time=now,
            actor=self._ledger_id(employee_id, actor_known),
            action=action,
            decision=outcome,
            resources=refs,
            fields=resource.fields,
            justification=justification.code if justification else None,
            case=self._ledger_id(justification.case_id, case_known)
            if justification and justification.case_id
            else None,
            approval=approval,
            reason=reason,
            kind=kind,
            extra=extra,
        )
        subjects = [("customer", c) for c in customers]
        if resource.kind != "customer":
            subjects += [(resource.kind, self._ledger_id(i, known)) for i in resource.ids]
        if request_id:
            subjects.append(("request", request_id))
        actor = self._ledger_id(employee_id, actor_known)
        rows = [
            {
                "actor": actor,
                "subject_kind": k,
                "subject_id": i,
                "action": action,
                "decision": outcome,
                "time": now,
            }
            for k, i in subjects
        ]
        return entry.encode(), rows

    def _ledger_id(self, ident: str, known: bool = True) -> str:
        """An id as the ledger (and its public tiles) may hold it: itself when it names a known
        record and passes the PII guard; otherwise a keyed digest. The attempt is still on the
        record, the same string always maps to the same reference, nobody without the key can
        test guesses against it, and whatever a caller typed never becomes public."""
        return ledger_id(self.keyring.pseudonym_key, ident, known)

    def _decide(
        self,
        employee_id: str,
        action: str,
        resource: Resource,
        justification: Justification,
        approved: bool = False,
        request_id: str | None = None,
        approval: str | None = None,
    ) -> tuple[Decision, Facts]:
        judged = self._judge(employee_id, action, resource, justification, approved)
        assert judged is not None  # a waiting judge always answers
        guards = self._guards(employee_id, action, judged, request_id)
        args = (employee_id, action, resource, justification)
        try:
            try:
                receipt = self._record(
                    *args,
                    judged.outcome,
                    judged.reason,
                    judged.facts,
                    judged.now,
                    approval=approval,
                    request_id=request_id,
                    guards=guards,
                )
            except GuardRefused:
                # Another process got there first (the cap, the limit, the one execution):
                # what is recorded, and answered, is the refusal.
                outcome, reason = _RACED[action if action in _RACED else "*"]
                judged = replace(judged, outcome=outcome, reason=reason, rules=())
                receipt = self._record(
                    *args,
                    outcome,
                    reason,
                    judged.facts,
                    judged.now,
                    request_id=request_id,
                )
        finally:
            self._settled(employee_id, judged)
        decision = Decision(
            judged.outcome,
            judged.reason,
            action,
            receipt.index,
            request_id,
            judged.rules,
            receipt.checkpoint_size,
        )
        return decision, judged.facts

    def _guards(
        self, employee_id: str, action: str, judged: _Judged, request_id: str | None
    ) -> tuple[Guard, ...]:
        """What must still hold where the entry is sequenced, so limits and "once" are exact
        across threads and worker processes (see `custodes.ledger.guard`)."""
        if judged.outcome != "allow" or judged.facts.employee is None:
            return ()
        actor = employee_id
        if request_id is not None:  # an execution: at most one per request
            return (Guard("absent", (action,), ("allow",), None, "request", request_id),)
        if action == "break_glass":
            since = judged.now - timedelta(days=1)
            cap = self.config.break_glass_per_day
            return (Guard("below", (action,), ("allow",), actor, "customer", None, since, cap),)
        limits = self.config.limits
        customers = tuple(judged.facts.customer_ids)
        if action == "customer.search" and customers:
            # Masked results still map e-mails to customers: searches are counted too.
            caps = (limits.searches_per_hour, limits.searches_per_day)
            return _window_guards(action, actor, judged.now, customers, caps)
        reveal = action == "customer.view" and not judged.facts.context["break_glass_active"]
        if reveal and not self.config.local_rate_windows:
            caps = (limits.per_hour, limits.per_day)
            return _window_guards(action, actor, judged.now, customers, caps)
        return ()

    def _judge(
        self,
        employee_id: str,
        action: str,
        resource: Resource,
        justification: Justification,
        approved: bool = False,
        wait: bool = True,
    ) -> _Judged | None:
        """Facts and the policy's answer; nothing is in the ledger yet.

        A reveal the policy allows is counted against the employee's rate windows here, under
        a lock for that employee, in the same step as the count it was judged on: a burst of
        parallel reveals cannot all pass on one stale count while their appends are in flight.
        Should the append then fail, the reveal still counts, which errs on the strict side.
        API workers (no local windows) count from the index plus their own reveals in flight,
        which `_settled` releases once the append is done.
        With `wait=False` (the event loop, which must not block on a thread) a held lock
        returns None instead.
        """
        reserve = action == "customer.view" and bool(resource.fields)
        local = self.config.local_rate_windows
        stripe = _stripe(self._judging, employee_id)
        if reserve and not stripe.acquire(blocking=wait):
            return None
        try:
            now = self.clock()  # inside the lock: windows only move forward
            flying = frozenset(
                () if local or not reserve else self.in_flight.customers(employee_id)
            )
            judged = self._judge_unlocked(
                employee_id, action, resource, justification, approved, now, flying
            )
            if reserve and judged.outcome == "allow":
                customers = judged.facts.customer_ids
                if local:
                    self.windows.record(employee_id, customers, now)
                else:
                    self.in_flight.add(employee_id, customers)
                    judged = replace(judged, in_flight=tuple(customers))
        finally:
            if reserve:
                stripe.release()
        return judged

    def _settled(self, employee_id: str, judged: _Judged) -> None:
        """The append is done (committed, so in the index, or failed): release the reservation."""
        if judged.in_flight:
            self.in_flight.remove(employee_id, list(judged.in_flight))

    def _judge_unlocked(
        self,
        employee_id: str,
        action: str,
        resource: Resource,
        justification: Justification,
        approved: bool,
        now: datetime,
        in_flight: frozenset[str] = frozenset(),
    ) -> _Judged:
        with self.engine.connect().execution_options(**READ_ONLY) as session:
            facts = load_facts(
                session,
                employee_id,
                action,
                resource,
                justification,
                now,
                self.config.limits,
                self.windows if self.config.local_rate_windows else None,
                in_flight,
            )
            outcome, reason, rules = decide(
                self.policy, action, facts, self.config.limits, approved
            )
            # Only when the answer is not yet "allow" is a break-glass grant worth a query.
            could_turn = (
                outcome != "allow" and facts.employee is not None and resource.kind == "customer"
            )
            if could_turn and break_glass_active(session, employee_id, facts.customer_ids, now):
                facts.context["break_glass_active"] = True
                outcome, reason, rules = decide(
                    self.policy, action, facts, self.config.limits, approved
                )
        return _Judged(outcome, reason, rules, facts, now)

    # -- reads ------------------------------------------------------------------------------------
    def reveal(
        self, employee_id: str, customer_id: str, fields: tuple[str, ...], why: Justification
    ) -> Outcome:
        """Justified read of named PII fields of one customer."""
        if not fields:
            raise InputError("name at least one field to reveal")
        resource = Resource("customer", (customer_id,), tuple(fields))
        decision, _ = self._decide(employee_id, "customer.view", resource, why)
        if decision.outcome == "pending":
            request_id = self._create_request(employee_id, "customer.view", resource, why, decision)
            return Outcome(Decision(**{**decision.__dict__, "request_id": request_id}))
        return self._revealed(decision, customer_id, fields)

    def _revealed(self, decision: Decision, customer_id: str, fields: tuple[str, ...]) -> Outcome:
        """After the decision is on the record: the values if allowed, else just the answer."""
        if not decision.allowed:
            return Outcome(decision)
        return Outcome(decision, self._decrypt(customer_id, fields))

    @property
    def inline(self) -> bool:
        """Whether reveals may run on the event loop: reads are local SQLite (microseconds)
        and the ledger can be awaited, so no thread is parked per request."""
        return self.engine.dialect.name == "sqlite" and hasattr(self.ledger, "append_async")

    async def reveal_async(
        self, employee_id: str, customer_id: str, fields: tuple[str, ...], why: Justification
    ) -> Outcome | None:
        """`reveal` for the event loop (see `inline`). Returns None, with nothing recorded, when
        the answer would be a pending request or the employee's lock is held by a thread: the
        caller then takes the threaded path."""
        if not fields:
            raise InputError("name at least one field to reveal")
        resource = Resource("customer", (customer_id,), tuple(fields))
        action = "customer.view"
        judged = self._judge(employee_id, action, resource, why, wait=False)
        if judged is None or judged.outcome == "pending":
            return None  # a busy lock or a request to create: both go to the thread path
        entry, rows = self._entry(
            employee_id,
            action,
            resource,
            why,
            judged.outcome,
            judged.reason,
            judged.facts,
            judged.now,
        )
        try:
            receipt = await self.ledger.append_async(entry, rows)  # type: ignore[attr-defined]
        finally:
            self._settled(employee_id, judged)
        decision = Decision(
            judged.outcome,
            judged.reason,
            action,
            receipt.index,
            None,
            judged.rules,
            receipt.checkpoint_size,
        )
        return self._revealed(decision, customer_id, fields)

    def _decrypt(self, customer_id: str, fields: tuple[str, ...]) -> dict[str, str | None]:
        # A driver row (attribute access by column name) is all the hazmat path needs.
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            record = conn.exec_driver_sql(
                driver_sql(conn.dialect, _VAULT_ROW), (customer_id,)
            ).first()
        if record is None:
            raise NotFound(f"no customer {customer_id}")
        return _hazmat.decrypt_fields(record, fields, self.keyring)  # type: ignore[arg-type]

    def search_email(self, employee_id: str, email: str, why: Justification) -> Outcome:
        """Exact-match search through the blind index; results are masked."""
        with Session(self.engine) as session:
            ids = find_by_email(session, self.keyring, email)
        return self._masked(employee_id, ids, why)

    def masked(self, employee_id: str, customer_id: str, why: Justification) -> Outcome:
        return self._masked(employee_id, [customer_id], why)

    def _masked(self, employee_id: str, ids: list[str], why: Justification) -> Outcome:
        resource = Resource("customer", tuple(ids))
        decision, _ = self._decide(employee_id, "customer.search", resource, why)
        if not decision.allowed:
            return Outcome(decision)
        with Session(self.engine) as session:
            rows: list[MaskedCustomer] = masked_view(session, ids)
        return Outcome(decision, rows)

    def view(self, employee_id: str, action: str, record_id: str, why: Justification) -> Outcome:
        """Non-PII reads: order.view, review.view, seller.view, seller.metrics."""
        kinds = {
            "order.view": "order",
            "review.view": "review",
            "seller.view": "seller",
            "seller.metrics": "seller",
        }
        if action not in kinds:
            raise InputError(f"{action} is not a record view")
        resource = Resource(kinds[action], (record_id,))
        decision, _ = self._decide(employee_id, action, resource, why)
        if not decision.allowed:
            return Outcome(decision)
        with Session(self.engine) as session:
            return Outcome(decision, _record_view(session, action, record_id))

    # -- dual control ---------------------------------------------------------------------------
    def request(
        self, employee_id: str, action: str, resource: Resource, why: Justification
    ) -> Outcome:
        """Ask for a sensitive action; it waits for an independent approver."""
        if action not in DUAL_CONTROL:
            raise InputError(f"{action} does not need a request; call it directly")
        if resource.kind != RESOURCE_KINDS[action]:
            raise InputError(f"{action} acts on {RESOURCE_KINDS[action]} records")
        if action in REVEALING and not resource.fields:
            raise InputError(f"{action} returns customer data: name the fields it returns")
        if action in CHANGES_RECORDS and len(resource.ids) > MAX_CHANGED_RECORDS:
            raise InputError(f"{action} changes at most {MAX_CHANGED_RECORDS} records per request")
        decision, _ = self._decide(employee_id, action, resource, why)
        if decision.outcome != "pending":
            return Outcome(decision)
        request_id = self._create_request(employee_id, action, resource, why, decision)
        return Outcome(Decision(**{**decision.__dict__, "request_id": request_id}))

    def _create_request(
        self,
        employee_id: str,
        action: str,
        resource: Resource,
        why: Justification,
        decision: Decision,
    ) -> str:
        now = self.clock()
        request_id = new_id("rq")
        resource_json = json.dumps(
            {"kind": resource.kind, "ids": list(resource.ids), "fields": list(resource.fields)},
            sort_keys=True,
        )
        why_json = json.dumps(
            {"code": why.code, "case_id": why.case_id, "text": why.text}, sort_keys=True
        )
        digest = signing.request_digest(request_id, employee_id, action, resource_json, why_json)
        with Session(self.engine) as session, session.begin():
            session.add(
                AccessRequest(
                    request_id=request_id,
                    requester_id=employee_id,
                    action=action,
                    resource=resource_json,
                    justification=why_json,
                    digest=digest,
                    status="pending",
                    reason=decision.reason,
                    created_at=now,
                    expires_at=now + self.config.request_ttl,
                    ledger_index=decision.ledger_index,
                )
            )
        self._notify_approvers(request_id, employee_id, action, resource, digest)
        return request_id

    def _notify_approvers(
        self, request_id: str, requester: str, action: str, resource: Resource, digest: bytes
    ) -> None:
        with Session(self.engine) as session:
            candidates = [
                e
                for e in session.scalars(select(Employee).order_by(Employee.employee_id))
                if e.employee_id != requester
            ]
            eligible = []
            now = self.clock()
            for employee in candidates:
                context = _approver_context(session, employee, requester, now)
                if self.policy.evaluate(f"approve.{action}", context).allowed:
                    eligible.append(employee.employee_id)
                if len(eligible) >= 20:
                    break
        if not eligible:
            log.warning("no eligible approver for request %s (%s)", request_id, action)
            return
        body = (
            f"Request {request_id} by {requester} waits for your decision.\n"
            f"Action: {action}\nResource: {resource.kind} x{len(resource.ids)}\n"
            f"Digest: {digest.hex()}\nReview the masked preview in the console.\n"
        )
        try:
            self.notifier.notify(
                [f"{e}@staff.invalid" for e in eligible], f"[custodes] approve {action}?", body
            )
        except OSError as exc:  # notification is best effort; the request still waits
            log.warning("could not notify approvers of %s: %s", request_id, type(exc).__name__)

    def request_action(self, request_id: str) -> str | None:
        """The action a request asks for (None if there is no such request)."""
        with Session(self.engine) as session:
            return session.scalar(
                select(AccessRequest.action).where(AccessRequest.request_id == request_id)
            )

    def preview(self, request_id: str) -> dict[str, Any]:
        """What an approver sees: the request and masked customer data, never plaintext."""
        with Session(self.engine) as session:
            request = session.get(AccessRequest, request_id)
            if request is None:
                raise NotFound(f"no request {request_id}")
            resource = json.loads(request.resource)
            masked = []
            if resource["kind"] == "customer":
                masked = [m.__dict__ for m in masked_view(session, resource["ids"][:50])]
            return {
                "request_id": request.request_id,
                "requester": request.requester_id,
                "action": request.action,
                "resource": resource,
                "justification": json.loads(request.justification),
                "status": request.status,
                "reason": request.reason,
                "digest": request.digest.hex(),
                "created_at": request.created_at,
                "expires_at": request.expires_at,
                "masked_preview": masked,
            }

    def approve(self, proof: ApprovalProof) -> Outcome:
        """Approve with the approver's verified WebAuthn assertion (`identity.finish_approval`)
        over (request digest, approval id, "approve"): the actor is the approver, and the
        assertion goes into the entry, so `audit_approvals` can check it from the ledger."""
        if proof.decision != "approve":
            raise InputError("this assertion refuses the request; it cannot approve it")
        with _stripe(self._deciding, proof.request_id):
            return self._approve(proof.approver_id, proof.request_id, proof.digest.hex(), proof)

    def _approve(
        self, approver_id: str, request_id: str, digest_hex: str, proof: ApprovalProof
    ) -> Outcome:
        """An independent approver signs an approval bound to the exact request they saw."""
        now = self.clock()
        with Session(self.engine) as session:
            request = session.get(AccessRequest, request_id)
            if request is None:
                raise NotFound(f"no request {request_id}")
            approver = session.get(Employee, approver_id)
            context = _approver_context(session, approver, request.requester_id, now)
            resource = _resource_of(request)
        action = f"approve.{request.action}"
        answer = self.policy.evaluate(action, context)
        if approver is None:
            outcome, reason = "deny", "unknown_employee"
        elif not answer.allowed:
            outcome = "deny"
            reason = (
                "not_independent"
                if not context["independent"]
                else (answer.policies[0] if answer.policies else "role_cannot_approve")
            )
        elif request.status != "pending":
            outcome, reason = "deny", f"request_{request.status}"
        elif request.expires_at <= now:
            outcome, reason = "deny", "request_expired"
        elif digest_hex != request.digest.hex():
            outcome, reason = "deny", "request_modified"
        else:
            outcome, reason = "allow", answer.policies[0]
        approval_id = proof.approval_id if outcome == "allow" else None
        facts = self._facts_for(resource)
        record = partial(
            self._record,
            approver_id,
            action,
            resource,
            None,
            facts=facts,
            now=now,
            request_id=request_id,
            kind="access.approval",
            actor_known=approver is not None,
            evidence=proof.ledger_extra(),
        )
        try:
            # One decision per request, wherever the racing approvers are: sequenced.
            guards = (_decided_once(action, request_id),) if outcome == "allow" else ()
            receipt = record(outcome=outcome, reason=reason, approval=approval_id, guards=guards)
        except GuardRefused:
            outcome, reason, approval_id = "deny", "request_decided", None
            receipt = record(outcome=outcome, reason=reason)
        decision = Decision(
            outcome,
            reason,
            action,
            receipt.index,
            request_id,
            answer.policies,
            receipt.checkpoint_size,
        )
        if outcome != "allow":
            return Outcome(decision)
        assert approval_id is not None
        payload = signing.ApprovalPayload(
            approval_id, request_id, digest_hex, approver_id, now, now + self.config.approval_ttl
        )
        text, signature = signing.sign(self.approval_key, payload)
        with Session(self.engine) as session, session.begin():
            changed = session.execute(
                update(AccessRequest)
                .where(AccessRequest.request_id == request_id, AccessRequest.status == "pending")
                .values(status="approved", decided_at=now)
            ).rowcount
            if not changed:
                raise Conflict(f"request {request_id} was decided concurrently")
            session.add(
                Approval(
                    approval_id=approval_id,
                    request_id=request_id,
                    approver_id=approver_id,
                    payload=text,
                    signature=signature,
                    created_at=now,
                    expires_at=payload.expires_at,
                )
            )
        return Outcome(decision, {"approval_id": approval_id})

    def refuse(self, proof: ApprovalProof) -> Outcome:
        """Refuse with the approver's verified WebAuthn assertion over (digest, approval id,
        "refuse"); recorded like an approval, assertion included."""
        if proof.decision != "refuse":
            raise InputError("this assertion approves the request; it cannot refuse it")
        with _stripe(self._deciding, proof.request_id):
            return self._refuse(proof.approver_id, proof.request_id, proof)

    def _refuse(self, approver_id: str, request_id: str, proof: ApprovalProof) -> Outcome:
        now = self.clock()
        with Session(self.engine) as session:
            request = session.get(AccessRequest, request_id)
            if request is None:
                raise NotFound(f"no request {request_id}")
            approver = session.get(Employee, approver_id)
            context = _approver_context(session, approver, request.requester_id, now)
            resource = _resource_of(request)
        action = f"approve.{request.action}"
        allowed = self.policy.evaluate(action, context).allowed and request.status == "pending"
        outcome = "refused" if allowed else "deny"
        reason = "refused_by_approver" if allowed else "cannot_decide"
        if allowed and proof.digest != request.digest:
            allowed, outcome, reason = False, "deny", "request_modified"
        record = partial(
            self._record,
            approver_id,
            action,
            resource,
            None,
            facts=self._facts_for(resource),
            now=now,
            request_id=request_id,
            kind="access.approval",
            actor_known=approver is not None,
            evidence=proof.ledger_extra(),
        )
        try:
            guards = (_decided_once(action, request_id),) if allowed else ()
            receipt = record(outcome=outcome, reason=reason, guards=guards)
        except GuardRefused:
            allowed, outcome, reason = False, "deny", "request_decided"
            receipt = record(outcome=outcome, reason=reason)
        if allowed:
            with Session(self.engine) as session, session.begin():
                session.execute(
                    update(AccessRequest)
                    .where(AccessRequest.request_id == request_id)
                    .values(status="refused", decided_at=now)
                )
                # A refused break-glass review ends the grant it reviews, at once.
                session.execute(
                    update(BreakGlassGrant)
                    .where(
                        BreakGlassGrant.review_request_id == request_id,
                        BreakGlassGrant.expires_at > now,
                    )
                    .values(expires_at=now)
                )
        return Outcome(
            Decision(
                outcome, reason, action, receipt.index, request_id, (), receipt.checkpoint_size
            )
        )

    def execute(self, employee_id: str, request_id: str) -> Outcome:
        with _stripe(self._deciding, request_id):
            return self._execute(employee_id, request_id)

    def _execute(self, employee_id: str, request_id: str) -> Outcome:
        """Carry out an approved request once: verify the signed approval, use it, act, record."""
        now = self.clock()
        with Session(self.engine) as session:
            request = session.get(AccessRequest, request_id)
            if request is None or request.requester_id != employee_id:
                raise NotFound(f"no request {request_id} of yours")
            approval = session.scalar(select(Approval).where(Approval.request_id == request_id))
            resource = _resource_of(request)
            why = Justification(**json.loads(request.justification))
            problem = _approval_problem(self.approval_key, request, approval, now)
        if problem:
            receipt = self._record(
                employee_id,
                request.action,
                resource,
                why,
                "deny",
                problem,
                self._facts_for(resource),
                now,
                request_id=request_id,
                actor_known=True,
            )
            return Outcome(
                Decision(
                    "deny",
                    problem,
                    request.action,
                    receipt.index,
                    request_id,
                    (),
                    receipt.checkpoint_size,
                )
            )
        assert approval is not None
        # Facts and policy again at execution time: a suspended requester cannot execute.
        decision, _ = self._decide(
            employee_id,
            request.action,
            resource,
            why,
            approved=True,
            request_id=request_id,
            approval=approval.approval_id,
        )
        if not decision.allowed:
            return Outcome(decision)
        try:
            with Session(self.engine) as session, session.begin():
                used = session.execute(
                    update(Approval)
                    .where(Approval.approval_id == approval.approval_id, Approval.used_at.is_(None))
                    .values(used_at=now)
                ).rowcount
                if not used:
                    raise Conflict("this approval was already used")
                session.execute(
                    update(AccessRequest)
                    .where(AccessRequest.request_id == request_id)
                    .values(status="executed", executed_at=now)
                )
                result = _perform(session, request.action, resource, employee_id, now)
                if request.action == "policy.apply":
                    result = _adopt_policy(session, resource, employee_id, now, decision)
        except Exception:
            # The record said "allow"; it must also say the action did not happen.
            self._record(
                employee_id,
                request.action,
                resource,
                why,
                "deny",
                "execution_failed",
                self._facts_for(resource),
                now,
                request_id=request_id,
                actor_known=True,
                kind="access.execution",
            )
            raise
        if request.action in REVEALING:
            result = {cid: self._decrypt_or_gone(cid, resource.fields) for cid in resource.ids}
        return Outcome(decision, result)

    def _decrypt_or_gone(self, customer_id: str, fields: tuple[str, ...]) -> dict[str, Any]:
        try:
            return dict(self._decrypt(customer_id, fields))
        except ShreddedError:
            return {"erased": True}

    def _facts_for(self, resource: Resource, why: Justification | None = None) -> Facts:
        """Subjects of a resource (customers and their pseudonyms) for recording non-decisions."""
        with self.engine.connect() as session:
            facts = load_facts(
                session,
                "",
                "none",
                resource,
                why or Justification("legal"),
                self.clock(),
                self.config.limits,
            )
        if why is not None and why.case_id:
            with Session(self.engine) as session:
                facts.case_known = session.get(Case, why.case_id) is not None
        return facts

    # -- break-glass ------------------------------------------------------------------------------
    def break_glass(self, employee_id: str, customer_id: str, why: Justification) -> Outcome:
        """Immediate, time-boxed access to one customer; a mandatory review is opened."""
        if why.code != "break_glass" or len(why.text.strip()) < 10:
            raise InputError("break-glass needs code break_glass and a reason of 10+ characters")
        resource = Resource("customer", (customer_id,), ())
        if self._break_glass_today(employee_id) >= self.config.break_glass_per_day:
            # Emergencies are rare: past the daily cap, the answer is a recorded no.
            now = self.clock()
            receipt = self._record(
                employee_id,
                "break_glass",
                resource,
                why,
                "deny",
                "break_glass_limit",
                self._facts_for(resource, why),
                now,
                actor_known=True,
            )
            return Outcome(
                Decision(
                    "deny",
                    "break_glass_limit",
                    "break_glass",
                    receipt.index,
                    None,
                    (),
                    receipt.checkpoint_size,
                )
            )
        decision, _ = self._decide(employee_id, "break_glass", resource, why)
        if not decision.allowed:
            return Outcome(decision)
        now = self.clock()
        review = self._create_request(employee_id, "break_glass", resource, why, decision)
        with Session(self.engine) as session, session.begin():
            session.add(
                BreakGlassGrant(
                    grant_id=new_id("bg"),
                    employee_id=employee_id,
                    customer_id=customer_id,
                    reason=why.text,
                    granted_at=now,
                    expires_at=now + self.config.break_glass_ttl,
                    review_request_id=review,
                )
            )
        return Outcome(
            replace(decision, request_id=review),
            {"expires_at": now + self.config.break_glass_ttl, "review_request_id": review},
        )

    def _break_glass_today(self, employee_id: str) -> int:
        since = self.clock() - timedelta(days=1)
        with Session(self.engine) as session:
            count = session.scalar(
                select(func.count())
                .select_from(BreakGlassGrant)
                .where(
                    BreakGlassGrant.employee_id == employee_id, BreakGlassGrant.granted_at > since
                )
            )
        return int(count or 0)

    def record_refusal(
        self,
        employee_id: str,
        action: str,
        resource: Resource,
        why: Justification | None,
        request_id: str | None = None,
        reason: str = "own_proof_required",
    ) -> Outcome:
        """Record a deny for a step refused before the door's own rules ran: by default one
        that needs the employee's own proof (an ID token or a session) but came with a name a
        service asserted (`access.principal`); or an approval whose assertion was refused."""
        now = self.clock()
        with Session(self.engine) as session:
            known = session.get(Employee, employee_id) is not None
        receipt = self._record(
            employee_id,
            action,
            resource,
            why,
            "deny",
            reason,
            self._facts_for(resource, why),
            now,
            request_id=request_id,
            actor_known=known,
        )
        return Outcome(
            Decision("deny", reason, action, receipt.index, request_id, (), receipt.checkpoint_size)
        )

    def request_subject(self, request_id: str) -> tuple[str, Resource, Justification] | None:
        """A request's action, resource and justification (None if there is no such request)."""
        with Session(self.engine) as session:
            request = session.get(AccessRequest, request_id)
            if request is None:
                return None
            why = Justification(**json.loads(request.justification))
            return request.action, _resource_of(request), why

    def expire(self) -> int:
        """Mark pending requests past their deadline as expired, each on the record."""
        now = self.clock()
        with Session(self.engine) as session:
            due = list(
                session.scalars(
                    select(AccessRequest).where(
                        AccessRequest.status == "pending", AccessRequest.expires_at <= now
                    )
                )
            )
        expired = 0
        for request in due:
            resource = _resource_of(request)
            # Once per request, however many workers run this loop; and not after a decision.
            once = Guard(
                "absent",
                (request.action, f"approve.{request.action}"),
                ("expired", "allow", "refused"),
                None,
                "request",
                request.request_id,
            )
            try:
                self._record(
                    request.requester_id,
                    request.action,
                    resource,
                    None,
                    "expired",
                    "deadline",
                    self._facts_for(resource),
                    now,
                    request_id=request.request_id,
                    actor_known=True,
                    guards=(once,),
                )
            except GuardRefused:
                continue
            with Session(self.engine) as session, session.begin():
                session.execute(
                    update(AccessRequest)
                    .where(
                        AccessRequest.request_id == request.request_id,
                        AccessRequest.status == "pending",
                    )
                    .values(status="expired", decided_at=now)
                )
            expired += 1
        return expired

    # -- the buyer-seller relay -------------------------------------------------------------------
    def relay_address(self, service: str, seller_id: str, customer_id: str) -> Outcome:
        """The relay forwards a seller's message: the customer's real address for delivery,
        recorded (`message.relay`) before it is decrypted. Allowed only to the relay service,
        for a pair with an order, while the seller is active."""
        now = self.clock()
        resource = Resource("customer", (customer_id,), ("email",))
        with Session(self.engine) as session:
            seller = session.get(Seller, seller_id)
            has_order = session.scalar(
                select(Order.order_id)
                .where(Order.seller_id == seller_id, Order.customer_id == customer_id)
                .limit(1)
            )
        context = {
            **_approver_context(None, None, "", now),  # type: ignore[arg-type]
            "role": "service",
            "active": True,
            "service": service,
            "pair_has_order": has_order is not None,
            "seller_active": seller is not None and seller.status == "active",
        }
        answer = self.policy.evaluate("message.relay", context)
        outcome = "allow" if answer.allowed else "deny"
        reason = answer.policies[0] if answer.policies else "no_rule_permits"
        receipt = self._record(
            service,
            "message.relay",
            resource,
            None,
            outcome,
            reason,
            self._facts_for(resource),
            now,
            actor_known=True,  # the relay's own service principal
        )
        decision = Decision(
            outcome,
            reason,
            "message.relay",
            receipt.index,
            None,
            answer.policies,
            receipt.checkpoint_size,
        )
        if not decision.allowed:
            return Outcome(decision)
        return Outcome(decision, self._decrypt(customer_id, ("email",)).get("email"))

    def held_message(self, employee_id: str, customer_id: str, why: Justification) -> Decision:
        """Trust & safety asks to read a message the relay held: decided and recorded here
        (`message.view`); the relay shows the message only after an allow."""
        resource = Resource("customer", (customer_id,))
        decision, _ = self._decide(employee_id, "message.view", resource, why)
        return decision


def _window_guards(
    action: str, actor: str, now: datetime, customers: tuple[str, ...], caps: tuple[int, int]
) -> tuple[Guard, ...]:
    """Distinct customers in the last hour and day, this entry's included, within the caps."""
    return tuple(
        Guard(
            "distinct", (action,), ("allow",), actor, "customer", None, now - window, cap, customers
        )
        for window, cap in zip((HOUR, DAY), caps, strict=True)
    )


def _decided_once(action: str, request_id: str) -> Guard:
    """An approval or refusal is appended only if the request has neither yet."""
    return Guard("absent", (action,), ("allow", "refused"), None, "request", request_id)


def _stripe(locks: list[threading.Lock], key: str) -> threading.Lock:
    """The lock of `key`'s stripe: per-key serialisation in bounded memory."""
    return locks[hash(key) % len(locks)]


def ledger_id(key: bytes, ident: str, known: bool) -> str:
    """`Door._ledger_id` for callers holding the pseudonym key (see there)."""
    if known:
        try:
            check_token("id", ident)
            return ident
        except FormatError:
            pass
    mac = hmac.digest(key, b"ledger-id|" + ident.encode(), "sha256")
    return "id_" + base64.b32encode(mac[:20]).decode().lower()


def _approver_context(
    session: Session, approver: Employee | None, requester_id: str, now: datetime
) -> dict[str, str | bool]:
    return {
        "role": approver.role if approver else "",
        "active": bool(approver and employee_active(approver, now)),
        "justification": "legal",
        "case_open": False,
        "case_kind": "",
        "case_covers_customer": False,
        "case_covers_seller": False,
        "case_covers_review": False,
        "contact_fields_only": True,
        "break_glass_active": False,
        "independent": bool(approver and independent(session, approver.employee_id, requester_id)),
    }


def _resource_of(request: AccessRequest) -> Resource:
    raw = json.loads(request.resource)
    return Resource(raw["kind"], tuple(raw["ids"]), tuple(raw["fields"]))


def _approval_problem(
    key: Ed25519PrivateKey, request: AccessRequest, approval: Approval | None, now: datetime
) -> str | None:
    if approval is None:
        return "not_approved"
    if approval.used_at is not None or request.status == "executed":
        return "approval_used"
    if approval.expires_at <= now:
        return "approval_expired"
    try:
        payload = signing.verify(key.public_key(), approval.payload, approval.signature)
    except signing.ApprovalInvalid:
        return "approval_signature_invalid"
    current = signing.request_digest(
        request.request_id,
        request.requester_id,
        request.action,
        request.resource,
        request.justification,
    )
    if payload["request_id"] != request.request_id or payload["request_digest"] != current.hex():
        return "request_modified"
    if request.status != "approved":
        return f"request_{request.status}"
    return None


def _adopt_policy(
    session: Session, resource: Resource, employee_id: str, now: datetime, decision: Decision
) -> dict[str, Any]:
    """The approved text becomes the next policy version, pointing at this execution's entry
    (what `policy_store.current_policy` checks before anything is decided under it)."""
    (sha,) = resource.ids
    proposal = session.get(PolicyProposal, sha)
    if proposal is None or decision.ledger_index is None:
        raise NotFound(f"no proposed policy {sha}")
    version = (session.scalar(select(func.max(PolicyVersion.version))) or 0) + 1
    session.add(
        PolicyVersion(
            version=version,
            sha256=sha,
            text=proposal.text,
            applied_by=employee_id,
            applied_at=now,
            ledger_index=decision.ledger_index,
        )
    )
    return {"policy_version": version, "sha256": sha}


def _perform(
    session: Session, action: str, resource: Resource, employee_id: str, now: datetime
) -> dict[str, Any]:
    if action == "review.delete":
        for review_id in resource.ids:
            session.execute(
                update(Review)
                .where(Review.review_id == review_id)
                .values(status="removed", removed_at=now, removed_by=employee_id)
            )
        return {"removed": list(resource.ids)}
    if action == "seller.reinstate":
        for seller_id in resource.ids:
            session.execute(
                update(Seller)
                .where(Seller.seller_id == seller_id)
                .values(status="active", banned_at=None)
            )
        return {"reinstated": list(resource.ids)}
    return {}


def _record_view(session: Session, action: str, record_id: str) -> dict[str, Any]:
    """Non-PII projections of marketplace records."""
    if action == "order.view":
        order = session.get(Order, record_id)
        assert order is not None
        return {
            "order_id": order.order_id,
            "customer_id": order.customer_id,
            "product_id": order.product_id,
            "seller_id": order.seller_id,
            "ordered_at": order.ordered_at,
            # What a seller may know the buyer by: the pair's relay alias (see custodes.relay).
            "relay_alias": session.execute(
                text("SELECT alias FROM relay_aliases WHERE seller_id = :s AND customer_id = :c"),
                {"s": order.seller_id, "c": order.customer_id},
            ).scalar(),
        }
    if action == "review.view":
        review = session.get(Review, record_id)
        assert review is not None
        return {
            "review_id": review.review_id,
            "customer_id": review.customer_id,
            "product_id": review.product_id,
            "seller_id": review.seller_id,
            "rating": review.rating,
            "status": review.status,
            "created_at": review.created_at,
        }
    seller = session.get(Seller, record_id)
    assert seller is not None
    if action == "seller.view":
        return {
            "seller_id": seller.seller_id,
            "name": seller.name,
            "status": seller.status,
            "country": seller.country,
        }
    orders = session.scalar(select(func.count()).where(Order.seller_id == record_id)) or 0
    reviews = session.execute(
        select(func.count(), func.avg(Review.rating)).where(Review.seller_id == record_id)
    ).one()
    return {
        "seller_id": record_id,
        "orders": orders,
        "reviews": reviews[0],
        "average_rating": round(float(reviews[1]), 2) if reviews[1] is not None else None,
    }
