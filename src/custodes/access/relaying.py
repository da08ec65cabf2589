"""The one door's part in the buyer–seller relay: the relay's service principal asks for a
customer's real address to deliver a seller's message (`message.relay`), and trust & safety
asks to read a message the relay held (`message.view`). Both are decided and recorded here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.access.core import Core, Outcome
from custodes.access.judging import Ask, decide_and_record
from custodes.access.model import Decision, Justification, Resource
from custodes.access.reads import decrypt
from custodes.access.recording import Record
from custodes.access.requests import approver_context
from custodes.marketplace.models import Order, Seller
from custodes.vocabulary import Verdict


def relay_address(core: Core, service: str, seller_id: str, customer_id: str) -> Outcome:
    """The customer's real address for delivery, recorded before it is decrypted. Allowed only
    to the relay service, for a pair with an order, while the seller is active."""
    now = core.clock()
    resource = Resource("customer", (customer_id,), ("email",))
    with Session(core.engine) as session:
        seller = session.get(Seller, seller_id)
        has_order = session.scalar(
            select(Order.order_id)
            .where(Order.seller_id == seller_id, Order.customer_id == customer_id)
            .limit(1)
        )
    context = {
        **approver_context(None, None, "", now),  # type: ignore[arg-type]
        "role": "service",
        "active": True,
        "service": service,
        "pair_has_order": has_order is not None,
        "seller_active": seller is not None and seller.status == "active",
    }
    answer = core.policy.evaluate("message.relay", context)
    outcome = Verdict.ALLOW if answer.allowed else Verdict.DENY
    reason = answer.policies[0] if answer.policies else "no_rule_permits"
    record = Record(
        service,
        "message.relay",
        resource,
        None,
        outcome,
        reason,
        core.facts_for(resource),
        now,
        actor_known=True,  # the relay's own service principal
    )
    decision = core.decided(record, core.record(record), answer.policies)
    if not decision.allowed:
        return Outcome(decision)
    return Outcome(decision, decrypt(core, customer_id, ("email",)).get("email"))


def held_message(core: Core, employee_id: str, customer_id: str, why: Justification) -> Decision:
    """Trust & safety asks to read a message the relay held; the relay shows it only after an
    allow."""
    resource = Resource("customer", (customer_id,))
    decision, _ = decide_and_record(core, Ask(employee_id, "message.view", resource, why))
    return decision
