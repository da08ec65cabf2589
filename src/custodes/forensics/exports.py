"""Fingerprinted exports: an approved `customer.export`, executed through the door, written as
CSV with its own canaries among the rows and a recorded manifest (who, when, which customers by
pseudonym, which canaries, the file's SHA-256), so a leaked copy is matched back to it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from custodes.access.model import new_id
from custodes.forensics.canaries import issue
from custodes.forensics.models import ExportManifest
from custodes.marketplace.models import Customer
from custodes.store.engine import transaction
from custodes.vault.keyring import Keyring

COLUMNS = ("customer_id", "name", "email", "phone", "address")


@dataclass(frozen=True)
class ExportResult:
    decision: Any  # custodes.access.model.Decision
    export_id: str | None = None
    exposure_id: str | None = None
    rows: int = 0
    sha256: str | None = None


def write_export(
    engine: Engine,
    keyring: Keyring,
    door: Any,
    employee_id: str,
    request_id: str,
    out: Path,
    canaries: int = 3,
) -> ExportResult:
    """Execute the approved export through the door and write its fingerprinted CSV."""
    outcome = door.execute(employee_id, request_id)
    if not outcome.decision.allowed:
        return ExportResult(outcome.decision)
    records: dict[str, dict[str, Any]] = outcome.data
    fields = sorted({f for r in records.values() for f in r if f in COLUMNS} or {"email"})
    exposure_id, people = issue(
        engine,
        keyring,
        "export",
        employee_id,
        canaries,
        ledger_index=outcome.decision.ledger_index,
        reference=request_id,
    )
    rows = [
        {"customer_id": cid, **{f: values.get(f) for f in fields}}
        for cid, values in sorted(records.items())
        if not values.get("erased")
    ]
    rng = random.Random(secrets.randbits(64))
    for person in people:
        row: dict[str, Any] = {"customer_id": person.customer_id}
        row.update({f: getattr(person.pii, f) for f in fields})
        rows.insert(rng.randrange(len(rows) + 1), row)
    data = _csv(rows, ["customer_id", *fields])
    digest = hashlib.sha256(data).hexdigest()
    _write_atomically(out, data)
    pseudonyms = _pseudonyms(engine, sorted(records))
    export_id = new_id("exp")
    with transaction(engine) as session:
        session.add(
            ExportManifest(
                export_id=export_id,
                exposure_id=exposure_id,
                employee_id=employee_id,
                request_id=request_id,
                created_at=datetime.now(UTC),
                customers=json.dumps(sorted(pseudonyms.get(c, c) for c in records)),
                canaries=json.dumps(sorted(p.customer_id for p in people)),
                rows=len(rows),
                sha256=digest,
            )
        )
    return ExportResult(outcome.decision, export_id, exposure_id, len(rows), digest)


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write_atomically(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)


def _pseudonyms(engine: Engine, customer_ids: list[str]) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(
            select(Customer.customer_id, Customer.pseudonym).where(
                Customer.customer_id.in_(customer_ids)
            )
        ).all()
    return {row.customer_id: row.pseudonym for row in rows}


def match_file(engine: Engine, path: Path) -> dict[str, Any] | None:
    """The manifest of an export whose exact bytes these are, if any."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with Session(engine) as session:
        found = session.scalar(select(ExportManifest).where(ExportManifest.sha256 == digest))
    if found is None:
        return None
    return {
        "export_id": found.export_id,
        "exposure_id": found.exposure_id,
        "employee_id": found.employee_id,
        "request_id": found.request_id,
        "created_at": found.created_at.isoformat(),
        "rows": found.rows,
    }
