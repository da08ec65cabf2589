"""Does the access index still say what the signed log says?

The index (`ledger_access_index`) is written in the same commit as each entry, and the limits
that must hold across workers (distinct customers revealed per hour and day, searches, the
break-glass cap, one execution per request) are counted from it where entries are sequenced.
Someone with write access to the database cannot change the signed log unseen, but could
delete index rows to make a limit pass twice. Both entries stay in the log; this audit is what
notices: for every allowed entry of a counted action, its index rows must be there and agree
with it (actor, action, decision, time, which customers), and no index row may point at an
entry that does not exist.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from custodes.ledger.entry import format_time
from custodes.store.base import as_utc
from custodes.store.hot_reads import HotReader

# Actions whose allowed entries some guard counts (custodes.access.judging.guards_for).
COUNTED = frozenset({"customer.view", "customer.search", "break_glass"})

_ENTRIES = "SELECT idx, data FROM ledger_entries ORDER BY idx"
_ROWS = (
    "SELECT idx, actor, subject_kind, subject_id, action, decision, time "
    "FROM ledger_access_index ORDER BY idx"
)
_PSEUDONYMS = "SELECT customer_id, pseudonym FROM customers"


@dataclass
class IndexAudit:
    entries: int = 0
    checked: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_index(engine: Engine) -> IndexAudit:
    """Compare every counted entry with its index rows; list each disagreement by entry."""
    reads = HotReader(engine)
    rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in reads.rows(_ROWS):
        rows[int(row[0])].append(row[1:])
    pseudonym_of: dict[str, str] = {str(c): str(p) for c, p in reads.rows(_PSEUDONYMS)}
    audit = IndexAudit()
    for idx, data in reads.rows(_ENTRIES):
        audit.entries += 1
        entry = json.loads(bytes(data))
        mine = rows.pop(int(idx), [])
        if entry.get("action") in COUNTED and entry.get("decision") == "allow":
            audit.checked += 1
            audit.problems += [(int(idx), p) for p in _disagreements(entry, mine, pseudonym_of)]
    for idx in sorted(rows):
        audit.problems.append((idx, "index rows point at no entry"))
    return audit


def _disagreements(
    entry: dict[str, Any], rows: list[tuple[Any, ...]], pseudonym_of: dict[str, str]
) -> list[str]:
    listed = {r.split(":", 1)[1] for r in entry.get("resources", []) if r.startswith("customer:")}
    extra = entry.get("extra", {})
    expected = len(listed) if listed else int(extra.get("count", 0))
    request = extra.get("request")
    if not rows:  # an entry about nobody (a search that found no one) has none
        return ["the entry has no index rows"] if expected or request else []
    found = []
    for actor, _kind, _subject, action, decision, time in rows:
        if (actor, action, decision) != (entry["actor"], entry["action"], entry["decision"]):
            found.append("an index row names another actor, action or decision")
        moment = as_utc(time)
        if moment is None or format_time(moment) != entry["time"]:
            found.append("an index row carries another time")
    customers = [subject for _a, kind, subject, *_ in rows if kind == "customer"]
    if len(customers) != expected:
        found.append(f"{expected} customers in the entry, {len(customers)} in the index")
    elif listed and {pseudonym_of.get(c) for c in customers} != listed:
        found.append("the index names other customers than the entry")
    if request and not any(
        kind == "request" and subject == request for _a, kind, subject, *_ in rows
    ):
        found.append("the entry's request is missing from the index")
    return sorted(set(found))
