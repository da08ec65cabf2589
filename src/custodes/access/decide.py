"""The decision itself: pure, given the policy and the facts (no database, no clock)."""

from __future__ import annotations

from custodes.access.facts import Facts, RateLimits
from custodes.access.model import DUAL_CONTROL
from custodes.access.policy import Policy


def decide(
    policy: Policy, action: str, facts: Facts, limits: RateLimits, approved: bool = False
) -> tuple[str, str, tuple[str, ...]]:
    """(outcome, reason, deciding rules). Deny by default; dual control and limits -> pending."""
    if facts.employee is None:
        return "deny", "unknown_employee", ()
    if not facts.resource_found:
        return "deny", "unknown_resource", ()
    answer = policy.evaluate(action, facts.context)
    if not answer.allowed:
        return "deny", answer.policies[0] if answer.policies else "no_rule_permits", answer.policies
    if approved:
        return "allow", "approved", answer.policies
    if action in DUAL_CONTROL:
        return "pending", "dual_control", answer.policies
    over = facts.new_customers_hour > limits.per_hour or facts.new_customers_day > limits.per_day
    if action == "customer.view" and over and not facts.context["break_glass_active"]:
        return "pending", "rate_limit", answer.policies
    return "allow", answer.policies[0], answer.policies
