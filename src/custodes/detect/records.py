"""Events from decision records: ledgered door decisions, or imported access events.

Each record becomes rows of the canonical ``events`` and ``event_customers`` tables
(``tables.SCHEMAS``), with ``evidence`` naming where it came from (``ledger:INDEX``,
``db:imported_access_events:ID``), resolvable by an investigator.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine

from custodes.access.readers import approvers
from custodes.detect.errors import DetectInputError
from custodes.detect.tables import REVEALING_ACTIONS, SCHEMAS
from custodes.ledger.readers import access_subjects, all_entries
from custodes.marketplace.models import ACCESS_ACTIONS
from custodes.vocabulary import Verdict


def events_from_records(
    records: Iterable[Mapping[str, Any]], *, source: str = "ledger"
) -> tuple[pa.Table, pa.Table]:
    """Events (and their customers) from decision records, e.g. ledger entries.

    Each record: ``index`` (its position in the source, used for ``evidence`` =
    ``SOURCE:INDEX``), ``time`` (aware datetime), ``employee_id``, ``action``, ``customer_ids``,
    ``seller_id``, ``product_id``, ``review_id``, ``case_id``, ``fields``, ``justification`` and
    optionally ``approver_id``. Customers may be pseudonyms, as long as reference data uses the
    same ids. This is the seam for ledgered decisions; it builds columns, not per-event logic.
    """
    columns: dict[str, list[Any]] = {f.name: [] for f in SCHEMAS["events"]}
    links: dict[str, list[Any]] = {"event_id": [], "customer_id": []}
    for r in records:
        index = int(r["index"])
        time: datetime = r["time"]
        if time.tzinfo is None:
            raise DetectInputError(f"{source}:{index}: time has no time zone")
        customers = list(r.get("customer_ids") or ())
        n_fields = len(r.get("fields") or ())
        row = {
            "event_id": index,
            "evidence": r.get("evidence") or f"{source}:{index}",
            "ts": int(time.astimezone(UTC).timestamp()),
            "employee_id": r["employee_id"],
            "action": r["action"],
            "seller_id": r.get("seller_id"),
            "product_id": r.get("product_id"),
            "review_id": r.get("review_id"),
            "case_id": r.get("case_id"),
            "justification": r.get("justification"),
            "n_fields": n_fields,
            "n_customers": len(customers),
            "reveal": n_fields > 0 or r["action"] in REVEALING_ACTIONS,
            "approver_id": r.get("approver_id"),
        }
        for k, v in row.items():
            columns[k].append(v)
        for c in dict.fromkeys(customers):
            links["event_id"].append(index)
            links["customer_id"].append(c)
    return (
        pa.table(columns, schema=SCHEMAS["events"]),
        pa.table(links, schema=SCHEMAS["event_customers"]),
    )


LEDGER_EVENT_BASE = 10**12  # ledger events get ids of their own, beside imported event ids
_LEDGER_ACTIONS = frozenset(ACCESS_ACTIONS)  # what the ledger records that detection reads


def ledger_records(engine: Engine) -> list[dict[str, Any]]:
    """Access decisions that the ledger holds as allowed (or executed after approval).

    Customers come from the private access index (raw ids, as the reference data uses), the
    rest from the entry itself; the approver of an executed request from its signed approval.
    Evidence is ``ledger:INDEX``, resolvable to an inclusion proof.
    """
    with engine.connect() as conn:
        entries = all_entries(conn)
        subjects = access_subjects(conn, "customer")
        signers = approvers(conn)
    customers: dict[int, list[str]] = {}
    for idx, customer in subjects:
        customers.setdefault(int(idx), []).append(customer)
    out = []
    for idx, data in entries:
        entry = json.loads(data)
        if entry.get("kind") != "access.decision" or entry.get("action") not in _LEDGER_ACTIONS:
            continue
        if entry.get("decision") != Verdict.ALLOW:
            continue
        refs: dict[str, str] = {}
        for resource in entry.get("resources", []):
            kind, _, ident = resource.partition(":")
            refs.setdefault(kind, ident)
        out.append(
            {
                "index": LEDGER_EVENT_BASE + int(idx),
                "evidence": f"ledger:{idx}",
                "time": datetime.fromisoformat(entry["time"].replace("Z", "+00:00")),
                "employee_id": entry["actor"],
                "action": entry["action"],
                "customer_ids": customers.get(int(idx), []),
                "seller_id": refs.get("seller"),
                "product_id": None,
                "review_id": refs.get("review"),
                "case_id": entry.get("case"),
                "fields": entry.get("fields") or [],
                "justification": entry.get("justification"),
                "approver_id": signers.get(entry.get("approval") or ""),
            }
        )
    return out
