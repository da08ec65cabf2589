"""Break-glass: immediate, time-boxed access to one customer in an emergency, capped per
employee per day, and always followed by a mandatory review request."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodes.access.core import Core, Outcome
from custodes.access.judging import Ask, decide_and_record
from custodes.access.model import Justification, Resource, new_id
from custodes.access.models import BreakGlassGrant
from custodes.access.recording import Record
from custodes.access.requests import create_request
from custodes.errors import InputError
from custodes.vocabulary import Verdict


def break_glass(core: Core, employee_id: str, customer_id: str, why: Justification) -> Outcome:
    """Immediate, time-boxed access to one customer; a mandatory review is opened."""
    if why.code != "break_glass" or len(why.text.strip()) < 10:
        raise InputError("break-glass needs code break_glass and a reason of 10+ characters")
    resource = Resource("customer", (customer_id,), ())
    if grants_today(core, employee_id) >= core.config.break_glass_per_day:
        # Emergencies are rare: past the daily cap, the answer is a recorded no.
        now = core.clock()
        facts = core.facts_for(resource, why)
        return core.refusal(
            Record(
                employee_id,
                "break_glass",
                resource,
                why,
                Verdict.DENY,
                "break_glass_limit",
                facts,
                now,
                actor_known=True,
            )
        )
    ask = Ask(employee_id, "break_glass", resource, why)
    decision, _ = decide_and_record(core, ask)
    if not decision.allowed:
        return Outcome(decision)
    now = core.clock()
    review = create_request(core, ask, decision)
    expires = now + core.config.break_glass_ttl
    with Session(core.engine) as session, session.begin():
        session.add(
            BreakGlassGrant(
                grant_id=new_id("bg"),
                employee_id=employee_id,
                customer_id=customer_id,
                reason=why.text,
                granted_at=now,
                expires_at=expires,
                review_request_id=review,
            )
        )
    return Outcome(
        replace(decision, request_id=review), {"expires_at": expires, "review_request_id": review}
    )


def grants_today(core: Core, employee_id: str) -> int:
    since = core.clock() - timedelta(days=1)
    with Session(core.engine) as session:
        count = session.scalar(
            select(func.count())
            .select_from(BreakGlassGrant)
            .where(BreakGlassGrant.employee_id == employee_id, BreakGlassGrant.granted_at > since)
        )
    return int(count or 0)
