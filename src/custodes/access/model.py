"""Who asks, what for, about what, and what was decided."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field

from custodes.errors import InputError
from custodes.marketplace.models import ACCESS_ACTIONS, CASE_KINDS
from custodes.pii import free_text_pii
from custodes.vault.models import PII_FIELDS as VAULT_FIELDS
from custodes.vocabulary import ID, Verdict
from custodes.vocabulary import RESOURCE_KINDS as KINDS

ACTIONS = (*ACCESS_ACTIONS, "break_glass", "policy.apply", "message.relay")
# Irreversible, bulk, or changing who may do what: never done on one person's word.
DUAL_CONTROL = frozenset({"review.delete", "seller.reinstate", "customer.export", "policy.apply"})
REVEALING = frozenset({"customer.view", "customer.export"})
"""Actions whose execution hands out customer PII (the token must carry customers:reveal)."""
JUSTIFICATIONS = (*CASE_KINDS, "legal", "break_glass")  # a case's purpose, or these two
PII_FIELDS = VAULT_FIELDS  # what a reveal may name: exactly the fields the vault seals
RESOURCE_KINDS = {
    "customer.view": "customer",
    "customer.search": "customer",
    "customer.export": "customer",
    "order.view": "order",
    "review.view": "review",
    "review.delete": "review",
    "seller.view": "seller",
    "seller.metrics": "seller",
    "seller.reinstate": "seller",
    "message.view": "customer",
    "break_glass": "customer",
    "policy.apply": "policy",
    "message.relay": "customer",
}
ID_PATTERN = ID  # `custodes.vocabulary.ID`: match with fullmatch


def new_id(prefix: str) -> str:
    """Random ids in lowercase base32: digit runs stay short, so the ledger's PII guard (which
    refuses phone-like digit strings) never mistakes one for a phone number."""
    return f"{prefix}_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


@dataclass(frozen=True)
class Justification:
    """A structured reason: a code, the case it is under, and free text for humans.

    The free text is kept out of the ledger, and text that looks like an e-mail or phone number
    is refused outright, so nobody can paste a customer's contact details into a reason.
    """

    code: str
    case_id: str | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if self.code not in JUSTIFICATIONS:
            raise InputError(f"justification code must be one of {', '.join(JUSTIFICATIONS)}")
        if self.case_id is not None and not ID_PATTERN.fullmatch(self.case_id):
            raise InputError("case_id must be 1-64 letters, digits or _.:-")
        if len(self.text) > 1000:
            raise InputError("justification text is limited to 1000 characters")
        if free_text_pii(self.text):
            raise InputError("justification text must not contain e-mail addresses or phones")


@dataclass(frozen=True)
class Resource:
    """What is touched: one kind of record and its ids, plus the PII fields wanted (if any)."""

    kind: str
    ids: tuple[str, ...]
    fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown resource kind {self.kind!r}")
        for ident in self.ids:
            if not ID_PATTERN.fullmatch(ident):
                raise InputError("ids must be 1-64 letters, digits or _.:-")
        if len(set(self.ids)) != len(self.ids):
            raise InputError("each id may appear once per request")
        if len(self.ids) > 10_000:
            raise InputError("at most 10,000 ids per request")
        for name in self.fields:
            if name not in PII_FIELDS:
                raise InputError(f"unknown field {name!r}; fields are {', '.join(PII_FIELDS)}")


@dataclass(frozen=True)
class Decision:
    """The answer of the one door, and where the ledger recorded it."""

    outcome: str  # a `Verdict`: allow | deny | pending
    reason: str
    action: str
    ledger_index: int | None = None
    request_id: str | None = None
    policies: tuple[str, ...] = field(default=())
    checkpoint_size: int | None = None  # the signed checkpoint covering the entry (receipt)

    @property
    def allowed(self) -> bool:
        return self.outcome == Verdict.ALLOW
