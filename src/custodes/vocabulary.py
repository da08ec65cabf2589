"""The words every package shares, defined once: what an id looks like, which kinds of subject
the ledger's index names, and the outcomes a decision can have.

These used to be written out in several packages, and the copies had started to differ; now
access, the ledger, its sequencer socket and the dataset reader all import them from here.
"""

from __future__ import annotations

import re
from enum import StrEnum

# Record ids are opaque strings from the marketplace: 1-64 letters, digits or _.:-
ID_CHARS = r"[A-Za-z0-9_.:-]{1,64}"
ID = re.compile(rf"\A{ID_CHARS}\Z")  # anchored: match, search and fullmatch agree
ID_REGEX = f"^{ID_CHARS}$"  # for pydantic/FastAPI `pattern=`

# Kinds of record a decision acts on (an access `Resource`).
RESOURCE_KINDS = ("customer", "order", "review", "seller", "policy")
# What the access index may name: records, and the requests and cases decisions belong to.
SUBJECT_KINDS = ("customer", "seller", "order", "review", "request", "case", "employee", "policy")


class Verdict(StrEnum):
    """The outcome of a decision, as recorded in a ledger entry."""

    ALLOW = "allow"
    DENY = "deny"
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    EXPIRED = "expired"
    EXECUTED = "executed"
    RECORDED = "recorded"


DECISIONS = tuple(v.value for v in Verdict)


def is_id(value: str) -> bool:
    return ID.fullmatch(value) is not None
