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
