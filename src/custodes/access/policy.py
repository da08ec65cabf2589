"""The policy engine: Cedar (via cedarpy) evaluating `policy.cedar` over computed facts.

Rules see only `context` (the principal and resource uids are constants), so the answer is a
function of the facts alone. That makes decisions cacheable per distinct fact set: Cedar stays
the single source of truth, and the cache turns ~100 µs evaluations into dictionary lookups.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from threading import Lock

import cedarpy

from custodes.errors import ConfigError

Context = dict[str, str | bool]
_PRINCIPAL = 'Employee::"subject"'
_RESOURCE = 'Resource::"object"'


@dataclass(frozen=True)
class PolicyAnswer:
    allowed: bool
    policies: tuple[str, ...]  # ids of the rules that decided (permits, or the forbid)


def default_policy_text() -> str:
    return resources.files("custodes.access").joinpath("policy.cedar").read_text()


class Policy:
    """A validated Cedar policy set with a decision cache keyed by (action, facts)."""

    def __init__(self, text: str) -> None:
        try:
            self._set = cedarpy.PolicySet.from_str(text)
        except Exception as exc:
            raise ConfigError(f"the policy does not parse: {exc}") from None
        self.text = text
        self.sha256 = hashlib.sha256(text.encode()).hexdigest()
        self._entities = cedarpy.Entities.from_json_str("[]")
        self._cache: dict[tuple[str, tuple[tuple[str, str | bool], ...]], PolicyAnswer] = {}
        self._lock = Lock()
        self._ids = _policy_ids(text)

    @classmethod
    def default(cls) -> Policy:
        return cls(default_policy_text())

    def evaluate(self, action: str, context: Context) -> PolicyAnswer:
        key = (action, tuple(sorted(context.items())))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        request = {
            "principal": _PRINCIPAL,
            "action": f'Action::"{action}"',
            "resource": _RESOURCE,
            "context": context,
        }
        result = cedarpy.is_authorized(request, self._set, self._entities)
        if result.diagnostics.errors:
            # An evaluation error must never allow: fail closed, and say which rule broke.
            answer = PolicyAnswer(False, ("policy-error",))
        else:
            reasons = tuple(sorted(self._ids.get(r, r) for r in result.diagnostics.reasons))
            answer = PolicyAnswer(result.decision == cedarpy.Decision.Allow, reasons)
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[key] = answer
        return answer


def _policy_ids(text: str) -> dict[str, str]:
    """Map cedarpy's positional ids (policy0, policy1, …) to our `@id` annotations."""
    ids: dict[str, str] = {}
    position = 0
    pending: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith('@id("'):
            pending = stripped[5 : stripped.index('")')]
        elif stripped.startswith(("permit", "forbid")):
            ids[f"policy{position}"] = pending or f"policy{position}"
            position += 1
            pending = None
    return ids


# The facts every rule may read, with their Cedar types: a rule that names anything else (a
# misspelt `context.rolee`) is refused before it can become the policy.
CONTEXT_TYPES = {
    "role": "String",
    "active": "Boolean",
    "justification": "String",
    "case_open": "Boolean",
    "case_kind": "String",
    "case_covers_customer": "Boolean",
    "case_covers_seller": "Boolean",
    "case_covers_review": "Boolean",
    "contact_fields_only": "Boolean",
    "break_glass_active": "Boolean",
    "independent": "Boolean",
}


SERVICE_ACTIONS = frozenset({"message.relay"})
SERVICE_CONTEXT_TYPES = {
    "role": "String",
    "active": "Boolean",
    "service": "String",
    "pair_has_order": "Boolean",
    "seller_active": "Boolean",
}


def schema_json(actions: list[str]) -> str:
    """A Cedar schema for our requests: one principal type, one resource type, the facts."""
    import json

    def record(types: dict[str, str]) -> dict[str, object]:
        return {"type": "Record", "attributes": {n: {"type": k} for n, k in types.items()}}

    def applies(action: str) -> dict[str, object]:
        # The relay's service principal decides on its own facts.
        types = SERVICE_CONTEXT_TYPES if action in SERVICE_ACTIONS else CONTEXT_TYPES
        return {
            "principalTypes": ["Employee"],
            "resourceTypes": ["Resource"],
            "context": record(types),
        }

    return json.dumps(
        {
            "": {
                "entityTypes": {"Employee": {}, "Resource": {}},
                "actions": {action: {"appliesTo": applies(action)} for action in actions},
            }
        }
    )


def validate_policy(text: str, actions: list[str]) -> None:
    """Parse and validate against the schema; ConfigError naming the first problem."""
    Policy(text)
    result = cedarpy.validate_policies(text, schema_json(actions))
    if not result.validation_passed:
        first = str(result.errors[0]) if result.errors else "invalid"
        raise ConfigError(f"the policy does not validate against the schema: {first}")
