"""`/v1/messages/{id}`: trust & safety read a message the relay held, through the one door.

The door decides and records `message.view` about the pair's customer before anything is
shown; a denial is a 403 problem with the decision, like every other refusal of the door.
Reading what a customer or seller wrote is a reveal: it needs the employee's own proof (an ID
token or a signed-in session). A name a service asserts (the legacy header) gets a recorded
deny, and a token that may not name employees a recorded 401 (`access.acting`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.orm import Session

from custodes.access.acting import employee
from custodes.access.model import JUSTIFICATIONS, Justification, Resource
from custodes.access.principal import Principal
from custodes.problems import problem, problem_responses
from custodes.relay.models import RelayAlias, RelayMessage
from custodes.relay.sealing import open_body
from custodes.vault.keyring import Keyring
from custodes.vocabulary import ID_REGEX

_ID = ID_REGEX
Code = Literal[JUSTIFICATIONS]  # type: ignore[valid-type]


def relay_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["relay"])

    @router.get(
        "/messages/{message_id}",
        summary="Read a held message (message.view)",
        responses=problem_responses(400, 401, 403, 404, 422, 503),
    )
    def view_message(
        request: Request,
        message_id: Annotated[str, Path(min_length=1, max_length=40, pattern=_ID)],
        justification: Code = "review_report",
        case_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=_ID)] = None,
        who: Principal = employee("customers:reveal"),
    ) -> Any:
        door = request.app.state.door
        if door is None:
            return problem(503, "this server runs without the access service")
        with Session(request.app.state.engine) as session:
            message = session.get(RelayMessage, message_id)
            pair = session.get(RelayAlias, message.alias) if message and message.alias else None
        if (
            message is None
            or pair is None
            or message.held_ct is None
            or message.kek_version is None
            or message.wrapped_key is None
        ):
            return problem(404, f"no held message {message_id}")
        why = Justification(justification, case_id)
        if who.proven:
            decision = door.held_message(who.employee_id, pair.customer_id, why)
        else:  # a service's word for the employee does not open a message: on the record
            resource = Resource("customer", (pair.customer_id,))
            decision = door.record_refusal(who.employee_id, "message.view", resource, why).decision
        out = {
            "outcome": decision.outcome,
            "reason": decision.reason,
            "action": decision.action,
            "ledger_index": decision.ledger_index,
        }
        if not decision.allowed:
            return problem(403, f"message.view {decision.outcome}: {decision.reason}", decision=out)
        return {"decision": out, "message": _shown(door.keyring, message)}

    return router


def _shown(keyring: Keyring, message: RelayMessage) -> dict[str, Any]:
    """A held message as trust & safety reads it, once the door allowed it."""
    assert message.kek_version is not None and message.wrapped_key is not None
    assert message.held_ct is not None
    raw = open_body(
        keyring, message.message_id, message.kek_version, message.wrapped_key, message.held_ct
    )
    return {
        "message_id": message.message_id,
        "received_at": message.received_at,
        "seller_id": message.seller_id,
        "verdict": message.verdict,
        "reason": message.reason,
        "findings": json.loads(message.findings),
        "raw": raw.decode("utf-8", errors="replace"),
    }
