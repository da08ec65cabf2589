"""Refusals decided before the door's own rules run (a step that needs the employee's own
proof but came with a name a service asserted, an approval whose assertion was refused): they
are recorded like any other decision, so the attempt is on the record."""

from __future__ import annotations

from sqlalchemy.orm import Session

from custodes.access.core import Core, Outcome
from custodes.access.model import Justification, Resource
from custodes.access.recording import Record
from custodes.marketplace.models import Employee
from custodes.vocabulary import Verdict


def record_refusal(
    core: Core,
    employee_id: str,
    action: str,
    resource: Resource,
    why: Justification | None,
    request_id: str | None = None,
    reason: str = "own_proof_required",
) -> Outcome:
    now = core.clock()
    with Session(core.engine) as session:
        known = session.get(Employee, employee_id) is not None
    facts = core.facts_for(resource, why)
    return core.refusal(
        Record(
            employee_id,
            action,
            resource,
            why,
            Verdict.DENY,
            reason,
            facts,
            now,
            request_id=request_id,
            actor_known=known,
        )
    )
