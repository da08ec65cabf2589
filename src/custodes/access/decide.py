"""The decision itself: pure, given the policy and the facts (no database, no clock)."""

from __future__ import annotations

from custodes.access.facts import Facts, RateLimits
from custodes.access.model import DUAL_CONTROL
from custodes.access.policy import Policy
from custodes.vocabulary import Verdict


def decide(
    policy: Policy, action: str, facts: Facts, limits: RateLimits, approved: bool = False
) -> tuple[str, str, tuple[str, ...]]:
    """(outcome, reason, deciding rules). Deny by default; dual control and limits -> pending."""
    if facts.employee is None:
        return Verdict.DENY, "unknown_employee", ()
    if not facts.resource_found:
        return Verdict.DENY, "unknown_resource", ()
    answer = policy.evaluate(action, facts.context)
    if not answer.allowed:
        if answer.policies:
            return Verdict.DENY, answer.policies[0], answer.policies
        return Verdict.DENY, _why_not(policy, action, facts), answer.policies
    if approved:
        return Verdict.ALLOW, "approved", answer.policies
    if action in DUAL_CONTROL:
        return Verdict.PENDING, "dual_control", answer.policies
    over = facts.new_customers_hour > limits.per_hour or facts.new_customers_day > limits.per_day
    if action == "customer.view" and over and not facts.context["break_glass_active"]:
        return Verdict.PENDING, "rate_limit", answer.policies
    return Verdict.ALLOW, answer.policies[0], answer.policies


# A denial no rule explains says what the caller can fix, never more than they may know.
_CASE_REASONS = {
    "": "no_case_cited",
    "not_yours": "case_not_assigned_to_you",
    "closed": "case_closed",
    "not_covering": "case_does_not_cover_this_record",
}


def _why_not(policy: Policy, action: str, facts: Facts) -> str:
    """With the best case imaginable, would the policy allow it? If not, the role cannot."""
    best = {
        **facts.context,
        "case_open": True,
        "case_kind": facts.context["justification"],
        "case_covers_customer": True,
        "case_covers_seller": True,
        "case_covers_review": True,
    }
    if not policy.evaluate(action, best).allowed:
        return "role_not_permitted"
    return _CASE_REASONS.get(facts.case_state, "no_rule_permits")
