"""Judging: facts, the policy's answer, and the limits that must still hold where the entry is
sequenced. Then the decision is recorded; only after that does anyone see data or act.

A reveal the policy allows is counted against the employee's rate windows in the same locked
step as the count it was judged on: a burst of parallel reveals cannot all pass on one stale
count while their appends are in flight. Should the append then fail, the reveal still counts,
which errs on the strict side.

API workers keep windows too, but theirs are an estimate: seeded from the index, then fed only
with their own recorded reveals (and their reveals in flight), so they miss other workers'. The
exact count is the rate-window guard, decided where entries are sequenced (`guards_for`); a
reveal the estimate let through and the guard refused is recorded as pending (`raced`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from custodes.access.core import Core, stripe
from custodes.access.decide import decide
from custodes.access.facts import Facts, break_glass_active, load_facts
from custodes.access.model import Decision, Justification, Resource
from custodes.access.ratelimit import DAY, HOUR
from custodes.access.recording import Record
from custodes.ledger.guard import Guard, GuardRefused
from custodes.store.engine import READ_ONLY
from custodes.vocabulary import Verdict

# When an entry's guard fails, this is what is recorded instead (per action; "*" otherwise).
RACED = {
    "customer.view": (Verdict.PENDING, "rate_limit"),
    "break_glass": (Verdict.DENY, "break_glass_limit"),
    "customer.search": (Verdict.DENY, "search_rate_limit"),
    "*": (Verdict.DENY, "approval_used"),
}


@dataclass(frozen=True)
class Judged:
    outcome: str
    reason: str
    rules: tuple[str, ...]
    facts: Facts
    now: datetime
    in_flight: tuple[str, ...] = ()  # customers reserved in `Core.in_flight` until the commit


@dataclass(frozen=True)
class Ask:
    """What is being decided: who wants to do what, to which records, and why."""

    employee_id: str
    action: str
    resource: Resource
    why: Justification
    approved: bool = False
    request_id: str | None = None
    approval: str | None = None


def judge(core: Core, ask: Ask, wait: bool = True) -> Judged | None:
    """Facts and the policy's answer; nothing is in the ledger yet. With `wait=False` (the
    event loop, which must not block on a thread) a held lock returns None instead."""
    reserve = ask.action == "customer.view" and bool(ask.resource.fields)
    local = core.config.local_rate_windows
    lock = stripe(core._judging, ask.employee_id)
    if reserve and not lock.acquire(blocking=wait):
        return None
    try:
        now = core.clock()  # inside the lock: windows only move forward
        flying = frozenset(
            () if local or not reserve else core.in_flight.customers(ask.employee_id)
        )
        judged = _judge_unlocked(core, ask, now, flying)
        if reserve and judged.outcome == Verdict.ALLOW:
            customers = judged.facts.customer_ids
            if local:
                core.windows.record(ask.employee_id, customers, now)
            else:
                core.in_flight.add(ask.employee_id, customers)
                judged = replace(judged, in_flight=tuple(customers))
    finally:
        if reserve:
            lock.release()
    return judged


def settled(core: Core, employee_id: str, judged: Judged, recorded: bool) -> None:
    """The append is done (committed, so in the index, or failed): release the reservation.
    A reveal recorded as allowed joins this worker's own windows, its estimate for the next
    count (the guard where entries are sequenced stays the exact one)."""
    if judged.in_flight:
        if recorded:
            core.windows.record(employee_id, list(judged.in_flight), judged.now)
        core.in_flight.remove(employee_id, list(judged.in_flight))


def _judge_unlocked(core: Core, ask: Ask, now: datetime, in_flight: frozenset[str]) -> Judged:
    limits = core.config.limits
    facts = load_facts(
        core.reads,
        ask.employee_id,
        ask.action,
        ask.resource,
        ask.why,
        now,
        limits,
        core.windows,
        in_flight,
    )
    outcome, reason, rules = decide(core.policy, ask.action, facts, limits, ask.approved)
    # Only when the answer is not yet "allow" is a break-glass grant worth a query.
    turned = _with_break_glass(core, ask, facts, now) if outcome != Verdict.ALLOW else None
    if turned is not None:
        outcome, reason, rules = turned
    return Judged(outcome, reason, rules, facts, now)


def _with_break_glass(
    core: Core, ask: Ask, facts: Facts, now: datetime
) -> tuple[str, str, tuple[str, ...]] | None:
    """The decision again under the employee's break-glass grant for this one customer, or
    None when there is no such grant (the facts then stay as they were)."""
    if facts.employee is None or ask.resource.kind != "customer":
        return None
    with core.engine.connect().execution_options(**READ_ONLY) as conn:
        if not break_glass_active(conn, ask.employee_id, facts.customer_ids, now):
            return None
    facts.context["break_glass_active"] = True
    return decide(core.policy, ask.action, facts, core.config.limits, ask.approved)


def guards_for(core: Core, ask: Ask, judged: Judged) -> tuple[Guard, ...]:
    """What must still hold where the entry is sequenced, so limits and "once" are exact
    across threads and worker processes (see `custodes.ledger.guard`)."""
    if judged.outcome != Verdict.ALLOW or judged.facts.employee is None:
        return ()
    actor, action = ask.employee_id, ask.action
    if ask.request_id is not None:  # an execution: at most one per request
        return (Guard("absent", (action,), ("allow",), None, "request", ask.request_id),)
    if action == "break_glass":
        since = judged.now - timedelta(days=1)
        cap = core.config.break_glass_per_day
        return (Guard("below", (action,), ("allow",), actor, "customer", None, since, cap),)
    limits = core.config.limits
    customers = tuple(judged.facts.customer_ids)
    if action == "customer.search" and customers:
        # Masked results still map e-mails to customers: searches are counted too.
        caps = (limits.searches_per_hour, limits.searches_per_day)
        return window_guards(action, actor, judged.now, customers, caps)
    reveal = action == "customer.view" and not judged.facts.context["break_glass_active"]
    if reveal and not core.config.local_rate_windows:
        caps = (limits.per_hour, limits.per_day)
        return window_guards(action, actor, judged.now, customers, caps)
    return ()


def window_guards(
    action: str, actor: str, now: datetime, customers: tuple[str, ...], caps: tuple[int, int]
) -> tuple[Guard, ...]:
    """Distinct customers in the last hour and day, this entry's included, within the caps."""
    return tuple(
        Guard(
            "distinct", (action,), ("allow",), actor, "customer", None, now - window, cap, customers
        )
        for window, cap in zip((HOUR, DAY), caps, strict=True)
    )


def record_of(ask: Ask, judged: Judged) -> Record:
    return Record(
        ask.employee_id,
        ask.action,
        ask.resource,
        ask.why,
        judged.outcome,
        judged.reason,
        judged.facts,
        judged.now,
        approval=ask.approval,
        request_id=ask.request_id,
    )


def raced(core: Core, ask: Ask, judged: Judged) -> tuple[Judged, Record]:
    """The entry's guard failed: another process got there first (the cap, the limit, the one
    execution). What is recorded, and answered, is the refusal its entry made true; except
    that a reveal over the real window is still allowed under a break-glass grant, as it is
    when the count said so before the guard (a worker's estimate did not look for one)."""
    if ask.action == "customer.view" and not judged.facts.context["break_glass_active"]:
        turned = _with_break_glass(core, ask, judged.facts, judged.now)
        if turned is not None and turned[0] == Verdict.ALLOW:
            outcome, reason, rules = turned
            judged = replace(judged, outcome=outcome, reason=reason, rules=rules)
            return judged, record_of(ask, judged)
    outcome, reason = RACED[ask.action if ask.action in RACED else "*"]
    judged = replace(judged, outcome=outcome, reason=reason, rules=())
    return judged, replace(record_of(ask, judged), approval=None)


def decide_and_record(core: Core, ask: Ask) -> tuple[Decision, Facts]:
    """Judge, then record the answer (or, when a guard fails where entries are sequenced, the
    refusal that another process's entry made true) and return it with its receipt."""
    judged = judge(core, ask)
    assert judged is not None  # a waiting judge always answers
    allowed = False
    try:
        try:
            record = record_of(ask, judged)
            receipt = core.record(record, guards_for(core, ask, judged))
            allowed = judged.outcome == Verdict.ALLOW
        except GuardRefused:
            judged, record = raced(core, ask, judged)
            receipt = core.record(record)  # no window guards: a refusal, or break glass
            allowed = judged.outcome == Verdict.ALLOW
    finally:
        settled(core, ask.employee_id, judged, allowed)
    return core.decided(record, receipt, judged.rules), judged.facts
